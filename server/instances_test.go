package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/bundle"
	"github.com/multipos/multipos/config"
	"github.com/multipos/multipos/money"
	"github.com/multipos/multipos/posclient"
	"github.com/multipos/multipos/sandbox/acquirer"
	"github.com/multipos/multipos/sandbox/wallet"
	"github.com/multipos/multipos/server/connector"
	"github.com/multipos/multipos/server/connector/bank"
	"github.com/multipos/multipos/server/metrics"
	"github.com/multipos/multipos/server/pki"
	"github.com/multipos/multipos/server/store"
	"github.com/multipos/multipos/server/store/storetest"
)

// pair is two server instances, A and B, on one PostgreSQL database, each
// behind its own TLS listener, sharing the authority, the clock and the
// stand-ins, both running (Run: sweeper and LISTEN).
type pair struct {
	t       *testing.T
	clock   *clock
	ca      *pki.Authority
	st      [2]*store.Store
	srv     [2]*Server
	met     [2]*metrics.Metrics
	url     [2]string
	ali, wx *wallet.Wallet
	bank    *acquirer.Host
	links   [2]*bank.Client // each instance's own link to the bank
	bundles map[string]bundle.Bundle
	card    map[string]*posclient.CardKeys

	mu      sync.Mutex
	clients map[string]*posclient.Client
	probes  int
}

func newPair(t *testing.T, mod func(*Options)) *pair {
	t.Helper()
	p := &pair{t: t, clock: newClock(), clients: map[string]*posclient.Client{}}
	dsn := storetest.DSN(t, store.Postgres)
	p.st[0], p.st[1] = storetest.OpenDSN(t, dsn), storetest.OpenDSN(t, dsn)
	p.ca = newAuthority(t)
	quiet := slog.New(slog.DiscardHandler)
	// The wallets keep their own clock: codes do not expire there on their
	// own, so that closing them is the sweeper's work.
	p.ali, p.wx = standIns(t, newClock(), quiet)
	var keys [2]*Keyring
	keys[0], keys[1] = NewKeyring(p.st[0], p.ca), NewKeyring(p.st[1], p.ca)
	p.bank, p.links[0] = startBank(t, p.clock, quiet, keys[0])
	p.links[1] = dialBank(t, p.bank, p.links[0].Addr(), keys[1])
	p.card = map[string]*posclient.CardKeys{}
	for i, name := range []string{"A", "B"} {
		p.met[i] = metrics.New()
		opts := Options{Store: p.st[i], Wallets: map[api.Channel]connector.Wallet{api.Alipay: p.ali, api.WeChat: p.wx},
			Acquirer: p.links[i], Keys: keys[i], QRTTL: ttl, Now: p.clock.Now, Logger: quiet, Metrics: p.met[i], Demo: true, Instance: name}
		if mod != nil {
			mod(&opts)
		}
		srv, err := New(opts)
		if err != nil {
			t.Fatal(err)
		}
		p.srv[i] = srv
		p.url[i] = serveTLS(t, srv.Handler(), p.ca)
	}
	p.bundles = provision(t, p.st[0], p.ca, p.url[0], p.clock.Now())
	p.notifyTo(p.srv[0])
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, srv := range p.srv {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Run(ctx); err != nil {
				t.Errorf("Run: %v", err)
			}
		}()
	}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	p.waitListening()
	return p
}

// fanout delivers each notification to every server at once, as a load
// balancer retrying on another instance, or two deliveries crossing, do.
type fanout []connector.Notifier

func (f fanout) Notify(ctx context.Context, n connector.Notification) error {
	errs := make([]error, len(f))
	var wg sync.WaitGroup
	for i, to := range f {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = to.Notify(ctx, n)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (p *pair) notifyTo(to ...connector.Notifier) {
	p.ali.SetNotifier(fanout(to))
	p.wx.SetNotifier(fanout(to))
}

// client is terminal tid's client of instance i (0 is A, 1 is B).
func (p *pair) client(tid string, i int) *posclient.Client {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	key := fmt.Sprint(tid, "@", i)
	if c := p.clients[key]; c != nil {
		return c
	}
	c, err := posclient.FromBundle(p.bundles[tid], p.url[i])
	if err != nil {
		p.t.Fatal(err)
	}
	p.clients[key] = c
	// One terminal, one set of keys, whichever instance it reaches: it
	// signs on through the first.
	if k := p.card[tid]; k != nil {
		c.UseCardKeys(k)
	} else {
		p.card[tid] = signOn(p.t, c, p.bundles[tid], "999999")
	}
	return c
}

// waitListening waits until each instance hears of the other's changes:
// a probe transaction changed through one store must wake a waiter of the
// other instance.
func (p *pair) waitListening() {
	p.t.Helper()
	ctx := context.Background()
	for deadline := time.Now().Add(10 * time.Second); p.srv[0].Peers() < 1 || p.srv[1].Peers() < 1; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			p.t.Fatalf("the instances do not see each other: peers %d and %d", p.srv[0].Peers(), p.srv[1].Peers())
		}
	}
	for i := range 2 {
		for attempt := 0; ; attempt++ {
			if attempt == 50 {
				p.t.Fatalf("instance %s does not hear of the other's changes", p.srv[i].Instance())
			}
			p.probes++
			now := p.clock.Now()
			o, _, err := p.st[1-i].Create(ctx, store.NewTx{
				Order: api.Order{TerminalID: "T3", Trace: fmt.Sprintf("9%05d", p.probes), Channel: api.Card, Kind: api.KindCardSale,
					Amount: 1, MaskedPAN: "621234******0002", Entry: "chip", CreatedAt: now},
				MerchantID: m2, StoreID: "S2", Day: p.srv[i].day(now), CheckAfter: now.Add(24 * time.Hour),
				Request: store.Request{RequestID: fmt.Sprintf("probe-%d", p.probes), Op: "probe", Hash: "probe"}, Actor: "probe"})
			if err != nil {
				p.t.Fatal(err)
			}
			changed, done := p.srv[i].hub.subscribe(o.ID)
			if _, err := p.st[1-i].Transition(ctx, o.ID, o.State, o.Version,
				store.Change{To: api.StateFailed, Reason: "probe", At: now, Actor: "probe"}); err != nil {
				p.t.Fatal(err)
			}
			heard := false
			select {
			case <-changed.c:
				heard = true
			case <-time.After(200 * time.Millisecond):
			}
			done()
			if heard {
				break
			}
		}
	}
}

func (p *pair) sum(name string, labels map[string]string) float64 {
	p.t.Helper()
	return metric(p.t, p.met[0], name, labels) + metric(p.t, p.met[1], name, labels)
}

func TestTwoInstancesShareOneDatabase(t *testing.T) {
	p := newPair(t, func(o *Options) {
		o.Limits = map[api.Channel]config.ChannelRule{api.Alipay: {Daily: money.Fen(1000)}}
	})
	ctx := context.Background()
	// A request id used on A is a replay on B.
	rid := posclient.NewRequestID()
	req := api.CreateWalletOrder{Trace: "000001", Channel: api.Alipay, Amount: 600}
	o, err := p.client("T1", 0).CreateWalletOrder(ctx, rid, req)
	if err != nil || o.State != api.StatePending {
		t.Fatalf("%+v, %v", o, err)
	}
	again, err := p.client("T1", 1).CreateWalletOrder(ctx, rid, req)
	if err != nil || again.ID != o.ID || again.QRContent != o.QRContent {
		t.Fatalf("replay on B: %+v, %v", again, err)
	}
	if n := p.ali.Calls(wallet.OpPrecreate); n != 1 {
		t.Fatalf("%d precreates", n)
	}
	// The daily limit counts what both took.
	_, err = p.client("T1", 1).CreateWalletOrder(ctx, posclient.NewRequestID(), api.CreateWalletOrder{Trace: "000002", Channel: api.Alipay, Amount: 600})
	refused(t, "daily limit on B", err, api.CodeOverDailyLimit, 400)
	if got, err := p.client("T1", 1).CancelOrder(ctx, o.ID); err != nil || got.State != api.StateClosed {
		t.Fatalf("cancel on B: %+v, %v", got, err)
	}
	if _, err := p.client("T1", 0).CreateWalletOrder(ctx, posclient.NewRequestID(), api.CreateWalletOrder{Trace: "000003", Channel: api.Alipay, Amount: 600}); err != nil {
		t.Fatalf("after the close, on A: %v", err)
	}
	// A card sale replayed on the other instance is not charged twice.
	crid := posclient.NewRequestID()
	b := p.client("T2", 1)
	sale := cardSaleWith(t, p.card["T2"], "approved", "123456", "000001", 800)
	first, err := b.CardSale(ctx, crid, sale)
	if err != nil || first.State != api.StateSuccess {
		t.Fatalf("%+v, %v", first, err)
	}
	second, err := p.client("T2", 0).CardSale(ctx, crid, sale)
	if err != nil || second.ID != first.ID || second.AuthCode != first.AuthCode || p.bank.Calls() != 1 {
		t.Fatalf("replay on A: %+v, %v, %d sales", second, err, p.bank.Calls())
	}
	// The customer pays through B's trainer endpoint; A takes the
	// notification; B answers once it hears of the change.
	w, err := p.client("T2", 0).CreateWalletOrder(ctx, posclient.NewRequestID(), api.CreateWalletOrder{Trace: "000002", Channel: api.WeChat, Amount: 300})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	paid, err := p.client("T2", 1).DemoPay(ctx, w.ID)
	if err != nil || paid.State != api.StateSuccess {
		t.Fatalf("demo pay on B: %+v, %v", paid, err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("B answered after %v", took)
	}
	// A terminal disabled is refused by both.
	if err := p.st[1].SetTerminalEnabled(ctx, "T2", false, p.clock.Now()); err != nil {
		t.Fatal(err)
	}
	for i, srv := range p.srv {
		srv.Forget("T2")
		if _, err := p.client("T2", i).Terminal(ctx); apiErr(t, err).Code != api.CodeTerminalDisabled {
			t.Fatalf("disabled terminal on %s: %v", srv.Instance(), err)
		}
	}
}

// Every notification reaches both instances at once: each payment is
// applied exactly once, and acknowledged as a duplicate by the other.
func TestNotificationsToBothInstances(t *testing.T) {
	p := newPair(t, nil)
	p.notifyTo(p.srv[0], p.srv[1])
	ctx := context.Background()
	const n = 12
	var orders []api.Order
	for i := range n {
		tid, ch := "T1", api.Alipay
		if i%2 == 1 {
			tid, ch = "T2", api.WeChat
		}
		o, err := p.client(tid, i%2).CreateWalletOrder(ctx, posclient.NewRequestID(),
			api.CreateWalletOrder{Trace: fmt.Sprintf("%06d", i+1), Channel: ch, Amount: int64(100 + i)})
		if err != nil {
			t.Fatal(err)
		}
		orders = append(orders, o)
	}
	for _, o := range orders {
		w := p.ali
		if o.Channel == api.WeChat {
			w = p.wx
		}
		if err := w.CustomerPay(ctx, o.OutTradeNo); err != nil {
			t.Fatal(err)
		}
	}
	for i, o := range orders {
		got, err := p.client(o.TerminalID, 1-i%2).WaitOrder(ctx, o.ID, o.Version, 10*time.Second)
		if err != nil || got.State != api.StateSuccess {
			t.Fatalf("order %d: %+v, %v", i, got, err)
		}
	}
	eventually(t, "both instances answering every notification", func() bool {
		return p.sum("multipos_notifications_total", nil) == 2*n
	})
	applied := p.sum("multipos_notifications_total", map[string]string{"result": "applied"})
	duplicate := p.sum("multipos_notifications_total", map[string]string{"result": "duplicate"})
	if applied != n || duplicate != n {
		t.Fatalf("%v applied, %v duplicates; want %d of each", applied, duplicate, n)
	}
	for _, o := range orders {
		h, err := p.srv[0].History(ctx, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		success := 0
		for _, tr := range h {
			if tr.To == api.StateSuccess {
				success++
				if tr.Actor != "notification" {
					t.Errorf("%s paid by %s", o.ID, tr.Actor)
				}
			}
		}
		if success != 1 || len(h) != 3 {
			t.Fatalf("%s history %+v", o.ID, h)
		}
	}
	if got := p.sum("multipos_transactions_total", map[string]string{"state": "SUCCESS"}); got != n {
		t.Fatalf("%v transactions counted SUCCESS", got)
	}
}

// A long-poll on B wakes as soon as A applies a change (PostgreSQL
// LISTEN/NOTIFY), not at its periodic re-read.
func TestLongPollWakesAcrossInstances(t *testing.T) {
	p := newPair(t, nil)
	ctx := context.Background()
	for round, act := range []func(o api.Order) error{
		func(o api.Order) error { return p.ali.CustomerPay(ctx, o.OutTradeNo) },
		func(o api.Order) error { _, err := p.client("T1", 0).CancelOrder(ctx, o.ID); return err },
	} {
		o, err := p.client("T1", 0).CreateWalletOrder(ctx, posclient.NewRequestID(),
			api.CreateWalletOrder{Trace: fmt.Sprintf("%06d", round+1), Channel: api.Alipay, Amount: 100})
		if err != nil {
			t.Fatal(err)
		}
		type result struct {
			o   api.Order
			err error
		}
		done := make(chan result, 1)
		go func() {
			got, err := p.client("T1", 1).WaitOrder(ctx, o.ID, o.Version, 25*time.Second)
			done <- result{got, err}
		}()
		eventually(t, "the long-poll on B", func() bool { return p.srv[1].hub.waiting() == 1 })
		start := time.Now()
		if err := act(o); err != nil {
			t.Fatal(err)
		}
		res := <-done
		took := time.Since(start)
		// A cancel goes through CANCELLING (closed at the wallet, then
		// here; B may wake for either); a payment is one change.
		if res.err != nil || res.o.Version <= o.Version || res.o.State != api.StateSuccess && res.o.State != api.StateCancelling &&
			res.o.State != api.StateClosed {
			t.Fatalf("round %d: %+v, %v", round, res.o, res.err)
		}
		if took > 2*time.Second {
			t.Fatalf("round %d: B woke after %v", round, took)
		}
	}
}

// Both instances sweep the same expired orders at once: each order is
// closed once, by one of them.
func TestConcurrentSweepsCloseEachOrderOnce(t *testing.T) {
	p := newPair(t, nil)
	ctx := context.Background()
	const n = 40
	var orders []api.Order
	for i := range n {
		tid, ch := "T1", api.Alipay
		if i%2 == 1 {
			tid, ch = "T2", api.WeChat
		}
		o, err := p.client(tid, i%2).CreateWalletOrder(ctx, posclient.NewRequestID(),
			api.CreateWalletOrder{Trace: fmt.Sprintf("%06d", i+1), Channel: ch, Amount: 100})
		if err != nil || o.State != api.StatePending {
			t.Fatalf("%+v, %v", o, err)
		}
		orders = append(orders, o)
	}
	p.clock.Advance(ttl + time.Second)
	var wg sync.WaitGroup
	for _, srv := range p.srv {
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := srv.Sweep(ctx); err != nil {
					t.Errorf("sweep on %s: %v", srv.Instance(), err)
				}
			}()
		}
	}
	wg.Wait()
	eventually(t, "every order closed", func() bool {
		return p.sum("multipos_sweeper_actions_total", map[string]string{"action": "closed"}) >= n
	})
	for _, o := range orders {
		h, err := p.srv[1].History(ctx, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		closed := 0
		for _, tr := range h {
			if tr.To == api.StateClosed {
				closed++
			}
		}
		if closed != 1 || len(h) != 4 || h[2].To != api.StateCancelling || h[3].Reason != api.ReasonExpired || h[3].Actor != "sweeper" {
			t.Fatalf("%s history %+v", o.ID, h)
		}
	}
	if got := p.sum("multipos_sweeper_actions_total", map[string]string{"action": "closed"}); got != n {
		t.Fatalf("%v closes counted by the sweepers", got)
	}
	if got := p.sum("multipos_sweeper_actions_total", map[string]string{"action": "deferred"}); got != 0 {
		t.Fatalf("%v deferred", got)
	}
	closes := p.ali.Calls(wallet.OpClose) + p.wx.Calls(wallet.OpClose)
	queries := p.ali.Calls(wallet.OpQuery) + p.wx.Calls(wallet.OpQuery)
	if closes != n || queries != n {
		t.Fatalf("the wallets saw %d closes and %d queries for %d orders", closes, queries, n)
	}
	for _, o := range orders {
		w := p.ali
		if o.Channel == api.WeChat {
			w = p.wx
		}
		if st, err := w.Query(ctx, o.OutTradeNo); err != nil || st.State != connector.WalletClosed {
			t.Fatalf("%s at the wallet: %+v, %v", o.ID, st, err)
		}
	}
}

// Each instance remembers the orders it changed, to spare reads; an order
// changed since on the other instance must still come out right: the
// cashier cancels on B the order A answered for, then a payment notice for
// it reaches A, whose memory says PENDING.
func TestNotificationAfterChangeElsewhere(t *testing.T) {
	p := newPair(t, nil)
	ctx := context.Background()
	o, err := p.client("T1", 0).CreateWalletOrder(ctx, posclient.NewRequestID(),
		api.CreateWalletOrder{Trace: "000001", Channel: api.Alipay, Amount: 100})
	if err != nil {
		t.Fatal(err)
	}
	if k, ok := p.srv[0].hub.known(o.ID); !ok || k.Version != o.Version {
		t.Fatalf("A does not remember the order it answered for: %+v %v", k, ok)
	}
	closed, err := p.client("T1", 1).CancelOrder(ctx, o.ID)
	if err != nil || closed.State != api.StateClosed {
		t.Fatalf("cancel on B: %+v, %v", closed, err)
	}
	// A long-poll on A past A's own version must not stop at what A
	// remembers.
	if got, err := p.client("T1", 0).WaitOrder(ctx, o.ID, o.Version, 5*time.Second); err != nil || got.State != api.StateClosed {
		t.Fatalf("long-poll on A: %+v, %v", got, err)
	}
	err = p.srv[0].Notify(ctx, connector.Notification{Channel: string(api.Alipay), OutTradeNo: o.OutTradeNo,
		State: connector.WalletPaid, TradeNo: "2025TRADE", Amount: 100})
	if err != nil {
		t.Fatalf("notification: %v", err)
	}
	got, err := p.st[0].Get(ctx, o.ID)
	if err != nil || got.State != api.StateClosed || got.Version != closed.Version {
		t.Fatalf("after the stale notification: %+v, %v", got, err)
	}
	if d := p.sum("multipos_notifications_total", map[string]string{"result": "duplicate"}); d != 1 {
		t.Fatalf("%v notifications counted duplicate, want 1", d)
	}
}

// A terminal that signs on again through one instance is served by the
// other at once: its MAC under the new key is checked against the keys in
// the database, the other instance's bank link drops the keys it held, and
// the answer carries the MAC of the new key.
func TestSignOnThroughOneInstanceSellThroughTheOther(t *testing.T) {
	p := newPair(t, nil)
	ctx := context.Background()
	a, b := p.client("T1", 0), p.client("T1", 1) // signed on through A
	sale := func(c *posclient.Client, trace string) {
		t.Helper()
		o, err := c.CardSale(ctx, posclient.NewRequestID(), cardSaleWith(t, p.card["T1"], "approved", "123456", trace, 100))
		if err != nil || o.State != api.StateSuccess {
			t.Fatalf("sale %s: %+v, %v", trace, o, err)
		}
	}
	sale(b, "000001") // B has never seen T1's keys: it reads them
	res, err := a.CardSignOn(ctx, "000002", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.card["T1"].Install(res); err != nil { // new keys, shared by both clients
		t.Fatal(err)
	}
	sale(b, "000003") // B still holds the old keys, within their cache time
	sale(a, "000004")
	// Once B's cache time is over, B reads the keys again by itself: its
	// bank link must sign with the new ones too.
	res, err = a.CardSignOn(ctx, "000005", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.card["T1"].Install(res); err != nil {
		t.Fatal(err)
	}
	time.Sleep(workingKeyTTL + 100*time.Millisecond)
	sale(b, "000006")
	if n := p.bank.Calls(); n != 4 {
		t.Fatalf("the bank saw %d sales", n)
	}
}
