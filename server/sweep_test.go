package server

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/posclient"
	"github.com/multipos/multipos/sandbox/wallet"
	"github.com/multipos/multipos/server/connector"
	"github.com/multipos/multipos/server/store"
)

// sweeps is how many sweeper actions of a kind the rig's server counted.
func (r *rig) sweeps(action string) float64 {
	r.t.Helper()
	return metric(r.t, r.met, "multipos_sweeper_actions_total", map[string]string{"action": action})
}

func (r *rig) get(id string) api.Order {
	r.t.Helper()
	o, err := r.st.Get(context.Background(), id)
	if err != nil {
		r.t.Fatal(err)
	}
	return o
}

func TestExpirySweep(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		ctx := context.Background()
		o := r.order(api.Alipay, "000001", 100)
		paid := r.order(api.Alipay, "000002", 200)
		r.ali.HoldNotifications()
		if err := r.ali.CustomerPay(ctx, paid.OutTradeNo); err != nil { // paid at the last moment, not yet notified
			t.Fatal(err)
		}
		r.sweep()
		if got, _ := r.srv.OrderByTrace(ctx, "T1", "000001"); got.State != api.StatePending {
			t.Fatalf("swept before expiry: %+v", got)
		}
		r.clock.Advance(ttl + time.Second)
		r.sweep()
		got := r.wait("T1", o)
		if got.State != api.StateClosed || got.Reason != api.ReasonExpired {
			t.Fatalf("expired order: %+v", got)
		}
		if st, _ := r.ali.Query(ctx, o.OutTradeNo); st.State != connector.WalletClosed {
			t.Fatalf("at the wallet: %s", st.State)
		}
		if got := r.wait("T1", paid); got.State != api.StateSuccess || got.TradeNo == "" {
			t.Fatalf("paid at the last moment: %+v", got)
		}
		if h, err := r.srv.History(ctx, o.ID); err != nil || len(h) != 3 || h[2].Actor != "sweeper" || h[2].Reason != api.ReasonExpired {
			t.Fatalf("history %+v, %v", h, err)
		}
		if r.sweeps("closed") != 1 || r.sweeps("settled") != 1 {
			t.Fatalf("sweeper counted %v closed, %v settled", r.sweeps("closed"), r.sweeps("settled"))
		}
		// Nothing is left to do.
		queries := r.ali.Calls(wallet.OpQuery)
		r.clock.Advance(time.Hour)
		r.sweep()
		if n := r.ali.Calls(wallet.OpQuery); n != queries {
			t.Fatalf("%d more queries", n-queries)
		}
	})
}

// A fresh QR order keeps its journal entry's check time (no index entries
// written for it on PostgreSQL); when the sweeper finds it still payable
// then, it asks the wallet (the fallback for a lost notification) and
// otherwise leaves it open, asking again every qrPollEvery until its code
// expires; only then is it closed.
func TestSweepPutsOffPayableOrders(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		o := r.order(api.Alipay, "000001", 100)
		r.clock.Advance(DefaultChannelTimeout + createdGrace + time.Second)
		if !r.clock.Now().Before(o.ExpiresAt) {
			t.Fatalf("the test needs the check time before expiry (%v)", o.ExpiresAt)
		}
		r.sweep()
		if got := r.get(o.ID); got.State != api.StatePending || got.Version != o.Version {
			t.Fatalf("a payable order was changed: %+v", got)
		}
		if q, c := r.ali.Calls(wallet.OpQuery), r.ali.Calls(wallet.OpClose); q != 1 || c != 0 {
			t.Fatalf("%d queries and %d closes for a payable order, want 1 and 0", q, c)
		}
		r.sweep() // not due again before qrPollEvery
		if q := r.ali.Calls(wallet.OpQuery); q != 1 {
			t.Fatalf("%d queries within the poll interval", q)
		}
		r.clock.Advance(qrPollEvery)
		r.sweep()
		if q := r.ali.Calls(wallet.OpQuery); q != 2 {
			t.Fatalf("%d queries after the poll interval, want 2", q)
		}
		r.clock.Advance(ttl)
		r.sweep()
		if got := r.wait("T1", o); got.State != api.StateClosed || got.Reason != api.ReasonExpired {
			t.Fatalf("after expiry: %+v", got)
		}
		if r.sweeps("closed") != 1 || r.sweeps("deferred") != 0 {
			t.Fatalf("sweeper counted %v closed, %v deferred", r.sweeps("closed"), r.sweeps("deferred"))
		}
	})
}

// The customer paid, but the wallet's notification never came: the
// sweeper's query finds the payment while the code is still payable.
func TestSweepFindsPaymentWithoutNotification(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		o := r.order(api.WeChat, "000001", 100)
		r.wx.HoldNotifications()
		if err := r.wx.CustomerPay(context.Background(), o.OutTradeNo); err != nil {
			t.Fatal(err)
		}
		r.clock.Advance(DefaultChannelTimeout + createdGrace + time.Second)
		r.sweep()
		if got := r.wait("T1", o); got.State != api.StateSuccess || got.TradeNo == "" {
			t.Fatalf("after the query: %+v", got)
		}
		if h := r.history(o.ID); len(h) != 3 || h[2] != api.StateSuccess {
			t.Fatalf("history %v", h)
		}
	})
}

func TestRunClosesExpiredOrders(t *testing.T) {
	onBoth(t, func(o *Options) { o.SweepInterval = 5 * time.Millisecond }, func(t *testing.T, r *rig) {
		ctx, cancel := context.WithCancel(context.Background())
		stopped := make(chan error, 1)
		go func() { stopped <- r.srv.Run(ctx) }()
		o := r.order(api.WeChat, "000001", 100)
		r.clock.Advance(ttl + time.Second)
		got := r.wait("T1", o)
		cancel()
		if err := <-stopped; err != nil {
			t.Fatalf("Run: %v", err)
		}
		if got.State != api.StateClosed || got.Reason != api.ReasonExpired {
			t.Fatalf("%+v", got)
		}
	})
}

// A precreate whose answer was lost is closed at the wallet once its code
// would have expired, so that it can never be paid unseen.
func TestSweepClosesUnknownOrders(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		ctx := context.Background()
		r.wx.LoseNextReply(wallet.OpPrecreate)
		o, err := r.client("T1").CreateWalletOrder(ctx, posclient.NewRequestID(), api.CreateWalletOrder{Trace: "000001", Channel: api.WeChat, Amount: 300})
		if err != nil || o.State != api.StateUnknown {
			t.Fatalf("%+v, %v", o, err)
		}
		if st, err := r.wx.Query(ctx, o.OutTradeNo); err != nil || st.State != connector.WalletWaiting {
			t.Fatalf("the precreate did reach the wallet: %+v, %v", st, err)
		}
		r.clock.Advance(ttl + time.Second)
		r.sweep()
		if got := r.wait("T1", o); got.State != api.StateClosed || got.Reason != api.ReasonExpired {
			t.Fatalf("%+v", got)
		}
		if st, _ := r.wx.Query(ctx, o.OutTradeNo); st.State != connector.WalletClosed {
			t.Fatalf("at the wallet: %s", st.State)
		}
	})
}

// The sweeper does not wait for the code to expire to ask about an
// unknown precreate: it applies what the wallet knows, or closes it.
func TestSweepResolvesUnknownPrecreates(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		ctx := context.Background()
		unknown := func(trace string, fault func()) api.Order {
			fault()
			o, err := r.client("T1").CreateWalletOrder(ctx, posclient.NewRequestID(),
				api.CreateWalletOrder{Trace: trace, Channel: api.Alipay, Amount: 400})
			if err != nil || o.State != api.StateUnknown {
				t.Fatalf("%+v, %v", o, err)
			}
			return o
		}
		waiting := unknown("000001", func() { r.ali.LoseNextReply(wallet.OpPrecreate) })
		paid := unknown("000002", func() { r.ali.LoseNextReply(wallet.OpPrecreate) })
		lost := unknown("000003", func() { r.ali.FailNext(wallet.OpPrecreate, connector.ErrUnknownOutcome) })
		r.ali.HoldNotifications()
		if err := r.ali.CustomerPay(ctx, paid.OutTradeNo); err != nil { // the customer scanned the code the terminal never showed
			t.Fatal(err)
		}
		r.sweep()
		if got := r.get(waiting.ID); got.State != api.StateUnknown {
			t.Fatalf("swept before its check time: %+v", got)
		}
		r.clock.Advance(unknownRetry + time.Second)
		r.sweep()
		if got := r.get(waiting.ID); got.State != api.StateClosed || got.Reason != api.ReasonUnknownOutcome {
			t.Fatalf("waiting at the wallet: %+v", got)
		}
		if st, _ := r.ali.Query(ctx, waiting.OutTradeNo); st.State != connector.WalletClosed {
			t.Fatalf("at the wallet: %s", st.State)
		}
		if got := r.get(paid.ID); got.State != api.StateSuccess || got.TradeNo == "" {
			t.Fatalf("paid: %+v", got)
		}
		if got := r.get(lost.ID); got.State != api.StateClosed || got.Reason != api.ReasonUnknownOutcome {
			t.Fatalf("never reached the wallet: %+v", got)
		}
		if h := r.history(paid.ID); !sameStates(h, []api.State{api.StateCreated, api.StateUnknown, api.StateSuccess}) {
			t.Fatalf("history %v", h)
		}
		if used := r.info("T1").Channels[0].DailyUsed; used != 400 {
			t.Fatalf("used today %d", used)
		}
	})
}

func TestSweepReversesUnknownCardSale(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		r.bank.LoseNextReply()
		o, err := r.sell(r.cardSale("approved", "123456", "T1", "000001", 700))
		if err != nil || o.State != api.StateUnknown {
			t.Fatalf("lost reply: %+v, %v", o, err)
		}
		if l := r.bank.Ledger(); len(l) != 1 || l[0].Reversed {
			t.Fatalf("the bank booked %+v", l)
		}
		r.sweep()
		if r.bank.Reversals() != 0 {
			t.Fatal("reversed before its check time")
		}
		r.clock.Advance(unknownRetry + time.Second)
		r.sweep()
		got := r.wait("T1", o)
		if got.State != api.StateClosed || got.Reason != api.ReasonReversed {
			t.Fatalf("after the sweep: %+v", got)
		}
		if l := r.bank.Ledger(); len(l) != 1 || !l[0].Reversed || l[0].Charged() != 0 || r.bank.Reversals() != 1 {
			t.Fatalf("the bank: %+v, %d reversals", l, r.bank.Reversals())
		}
		if h := r.history(o.ID); !sameStates(h, []api.State{api.StateCreated, api.StateUnknown, api.StateClosed}) {
			t.Fatalf("history %v", h)
		}
		if r.sweeps("reversed") != 1 {
			t.Fatalf("%v reversals counted", r.sweeps("reversed"))
		}
		if used := r.info("T1").Channels[2].DailyUsed; used != 0 {
			t.Fatalf("a reversed sale counts %d", used)
		}
	})
}

// Faults armed one after another (a campaign's runs at once) do not all
// fall on the one reversal being retried: a later arming spares the
// reversal an earlier one struck, and waits for another.
func TestLaterFaultSparesAStruckReversal(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		r.bank.LoseNextReply()
		o, err := r.sell(r.cardSale("approved", "123456", "T1", "000001", 700))
		if err != nil || o.State != api.StateUnknown {
			t.Fatalf("lost reply: %+v, %v", o, err)
		}
		r.bank.DropNextReversals(1)
		r.clock.Advance(unknownRetry + time.Second)
		r.sweep()
		if got := r.get(o.ID); got.State != api.StateUnknown {
			t.Fatalf("after a dropped reversal: %+v", got)
		}
		r.bank.DropNextReversals(1) // armed by someone else meanwhile
		r.clock.Advance(backoff(0) + time.Second)
		r.sweep()
		if got := r.wait("T1", api.Order{ID: o.ID}); got.State != api.StateClosed || got.Reason != api.ReasonReversed {
			t.Fatalf("the second arming struck the same reversal: %+v", got)
		}
	})
}

func TestSweepRetriesFailedReversal(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		r.bank.LoseNextReply()
		o, err := r.sell(r.cardSale("approved", "123456", "T1", "000001", 700))
		if err != nil || o.State != api.StateUnknown {
			t.Fatalf("lost reply: %+v, %v", o, err)
		}
		r.bank.DropNextReversals(2)
		r.clock.Advance(unknownRetry + time.Second)
		r.sweep() // a failure is not an error of the sweep: it is deferred
		if got := r.get(o.ID); got.State != api.StateUnknown || r.sweeps("deferred") != 1 {
			t.Fatalf("after a failed reversal: %+v, %v deferred", got, r.sweeps("deferred"))
		}
		r.sweep()
		if r.sweeps("deferred") != 1 {
			t.Fatal("retried before the clock moved")
		}
		r.clock.Advance(backoff(0) + time.Second)
		r.sweep()
		if r.sweeps("deferred") != 2 {
			t.Fatalf("%v deferred after the second try", r.sweeps("deferred"))
		}
		// The next try waits longer.
		r.clock.Advance(backoff(0) + time.Second)
		r.sweep()
		if r.sweeps("deferred") != 2 || r.bank.Reversals() != 0 {
			t.Fatal("retried before its back-off ran out")
		}
		r.clock.Advance(backoff(1) - backoff(0))
		r.sweep()
		got := r.wait("T1", api.Order{ID: o.ID})
		if got.State != api.StateClosed || got.Reason != api.ReasonReversed || r.bank.Reversals() != 1 || !r.bank.Ledger()[0].Reversed {
			t.Fatalf("after the third try: %+v, %d reversals", got, r.bank.Reversals())
		}
		if h, _ := r.srv.History(context.Background(), o.ID); len(h) != 3 {
			t.Fatalf("history %+v", h)
		}
	})
}

// A server that died while a channel call was out leaves the transaction
// CREATED; the sweeper resolves it once the call would have timed out.
func TestSweepResolvesCrashedCreates(t *testing.T) {
	onBoth(t, func(o *Options) { o.ChannelTimeout = 2 * time.Second }, func(t *testing.T, r *rig) {
		ctx := context.Background()
		now := r.clock.Now()
		crash := func(o api.Order, op, hash string) api.Order {
			o.TerminalID, o.CreatedAt = "T1", now
			created, prev, err := r.st.Create(ctx, store.NewTx{Order: o, MerchantID: m1, StoreID: "S1", Day: r.srv.day(now),
				CheckAfter: now.Add(r.srv.opts.ChannelTimeout + createdGrace),
				Request:    store.Request{RequestID: "crash-" + o.Trace, Op: op, Hash: hash}, Actor: "terminal"})
			if err != nil || prev != nil || created.State != api.StateCreated {
				t.Fatalf("%+v, %v", created, err)
			}
			return created
		}
		w := crash(api.Order{Trace: "000001", Channel: api.WeChat, Kind: api.KindWalletQR, Amount: 800, OutTradeNo: "T1crash000001"},
			string(api.KindWalletQR), requestHash(string(api.WeChat), "800", "", "000001", ""))
		s := r.cardSale("approved", "123456", "T1", "000002", 900)
		c := crash(api.Order{Trace: s.Trace, Channel: api.Card, Kind: api.KindCardSale, Amount: s.Amount, MaskedPAN: "621234******0002", Entry: "chip"},
			string(api.KindCardSale), "h")
		// The sale did reach the bank before the crash.
		blk, _ := hex.DecodeString(s.PINBlock)
		res, err := r.link.Sale(ctx, connector.Sale{TerminalID: "T1", MerchantID: m1, Trace: s.Trace, Amount: s.Amount,
			PAN: s.PAN, Expiry: s.Expiry, Track2: s.Track2, Entry: s.Entry, PINBlock: [8]byte(blk)})
		if err != nil || !res.Approved() {
			t.Fatalf("%+v, %v", res, err)
		}
		r.clock.Advance(r.srv.opts.ChannelTimeout + createdGrace - time.Second)
		r.sweep()
		if r.get(w.ID).State != api.StateCreated || r.get(c.ID).State != api.StateCreated {
			t.Fatal("resolved while the call could still be out")
		}
		r.clock.Advance(2 * time.Second)
		r.sweep()
		if got := r.get(w.ID); got.State != api.StateClosed || got.Reason != api.ReasonUnknownOutcome {
			t.Fatalf("wallet order: %+v", got)
		}
		if got := r.get(c.ID); got.State != api.StateClosed || got.Reason != api.ReasonReversed {
			t.Fatalf("card sale: %+v", got)
		}
		if l := r.bank.Ledger(); len(l) != 1 || !l[0].Reversed {
			t.Fatalf("the bank: %+v", l)
		}
		if r.wx.Calls(wallet.OpClose) != 1 {
			t.Fatalf("%d closes at the wallet", r.wx.Calls(wallet.OpClose))
		}
		for _, ch := range []int{1, 2} {
			if used := r.info("T1").Channels[ch].DailyUsed; used != 0 {
				t.Fatalf("channel %d: %d used", ch, used)
			}
		}
		// The terminal repeating the crashed request learns the outcome.
		start := time.Now()
		status, body := r.post("T1", "/v1/orders", "crash-000001", api.CreateWalletOrder{Trace: "000001", Channel: api.WeChat, Amount: 800})
		if status != http.StatusOK || errCodeOrState(t, body) != string(api.StateClosed) {
			t.Fatalf("replay after the crash: %d %s", status, body)
		}
		quick(t, "replay of a resolved crash", time.Since(start))
		if r.wx.Calls(wallet.OpPrecreate) != 0 {
			t.Fatal("the replay went to the wallet")
		}
	})
}

// errCodeOrState is an answer's error code, or its order's state.
func errCodeOrState(t *testing.T, body []byte) string {
	t.Helper()
	var v struct {
		Code  string `json:"code"`
		State string `json:"state"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("answer %q: %v", body, err)
	}
	return v.Code + v.State
}

// An expired order the wallet cannot be asked about stays open and is
// looked at again later: it is never closed here while it might be paid there.
func TestSweepDefersUnreachableWallet(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		o := r.order(api.WeChat, "000001", 100)
		r.clock.Advance(ttl + time.Second)
		r.wx.FailNext(wallet.OpQuery, connector.ErrUnknownOutcome)
		r.sweep()
		if got := r.get(o.ID); got.State != api.StatePending || r.sweeps("deferred") != 1 {
			t.Fatalf("after a failed query: %+v, %v deferred", got, r.sweeps("deferred"))
		}
		r.sweep()
		if n := r.wx.Calls(wallet.OpQuery); n != 1 {
			t.Fatalf("asked %d times before the back-off ran out", n)
		}
		r.clock.Advance(backoff(0))
		r.sweep()
		if got := r.wait("T1", o); got.State != api.StateClosed || got.Reason != api.ReasonExpired {
			t.Fatalf("after the retry: %+v", got)
		}
	})
}

// The wallet closed a QR order while its code was still payable (not this
// server): the sweeper's query closes it here too, saying so.
func TestSweepFindsOrderClosedAtWallet(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		o := r.order(api.Alipay, "000001", 100)
		if err := r.ali.Close(context.Background(), o.OutTradeNo); err != nil {
			t.Fatal(err)
		}
		r.clock.Advance(DefaultChannelTimeout + createdGrace + time.Second)
		r.sweep()
		if got := r.wait("T1", o); got.State != api.StateClosed || got.Reason != api.ReasonClosedAtChannel {
			t.Fatalf("after the query: %+v", got)
		}
	})
}

// A reversal the bank answers with anything but 00 is no reversal: the sale
// stays UNKNOWN and the reversal is sent again.
func TestSweepRetriesRefusedReversal(t *testing.T) {
	onSQLite(t, nil, func(t *testing.T, r *rig) {
		r.bank.LoseNextReply()
		o, err := r.sell(r.cardSale("approved", "123456", "T1", "000001", 700))
		if err != nil || o.State != api.StateUnknown {
			t.Fatalf("lost reply: %+v, %v", o, err)
		}
		r.bank.FailNextReversals(1, "96")
		r.clock.Advance(unknownRetry + time.Second)
		r.sweep()
		if got := r.get(o.ID); got.State != api.StateUnknown || r.bank.Ledger()[0].Reversed {
			t.Fatalf("after a refused reversal: %+v, bank %+v", got, r.bank.Ledger())
		}
		r.clock.Advance(backoff(0) + time.Second)
		r.sweep()
		got := r.wait("T1", api.Order{ID: o.ID})
		if got.State != api.StateClosed || got.Reason != api.ReasonReversed || !r.bank.Ledger()[0].Reversed || r.bank.Reversals() != 1 {
			t.Fatalf("after the second try: %+v, bank %+v", got, r.bank.Ledger())
		}
	})
}
