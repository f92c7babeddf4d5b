package server

import (
	"context"
	"testing"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/posclient"
	"github.com/multipos/multipos/sandbox/wallet"
	"github.com/multipos/multipos/server/connector"
)

// Issue 11, defect 4: a payment code the wallet charged at another amount
// than the order's. Before the fix the order went UNKNOWN and stayed so:
// the sweeper refused to take the amount as paid and never reversed it,
// so the wallet kept the money and the sale could not be paid again. Now
// it is given back at once and the order ends CLOSED (amount_mismatch);
// when the wallet does not answer the reversal, the sweeper finishes it.
func TestCodeChargedAtAnotherAmountIsGivenBack(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		r.ali.NextCodes(wallet.CodeWrongAmount)
		o, err := r.barcode(api.Alipay, "000001", aliCode, 300)
		if err != nil || o.State != api.StateClosed || o.Reason != api.ReasonAmountMismatch {
			t.Fatalf("charged 400 for 300: %+v, %v; want CLOSED, amount_mismatch", o, err)
		}
		if st, _ := r.ali.Query(context.Background(), o.OutTradeNo); st.State != connector.WalletClosed ||
			r.ali.Refunded(o.OutTradeNo) != 400 {
			t.Fatalf("at the wallet: %+v, refunded %d", st, r.ali.Refunded(o.OutTradeNo))
		}
		// The sale can be paid again.
		again, err := r.client("T1").CreateBarcodeOrder(context.Background(), posclient.NewRequestID(),
			api.CreateBarcodeOrder{SaleID: o.SaleID, Trace: "000002", Channel: api.Alipay, Amount: 300, AuthCode: aliCode})
		if err != nil || again.State != api.StateSuccess {
			t.Fatalf("paying the sale again: %+v, %v", again, err)
		}

		// The reversal goes unanswered: the order waits CANCELLING, and
		// the sweeper gives the money back.
		r.wx.NextCodes(wallet.CodeWrongAmount)
		r.wx.FailNext(wallet.OpReverse, connector.ErrUnknownOutcome)
		o, err = r.barcode(api.WeChat, "000003", wxCode, 500)
		if err != nil || o.State != api.StateCancelling || o.Reason != api.ReasonAmountMismatch {
			t.Fatalf("reversal not answered: %+v, %v", o, err)
		}
		r.clock.Advance(unknownRetry)
		r.sweep()
		if got := r.final(o.ID); got.State != api.StateClosed || got.Reason != api.ReasonAmountMismatch || r.wx.Refunded(o.OutTradeNo) != 600 {
			t.Fatalf("after the sweep: %+v, refunded %d", got, r.wx.Refunded(o.OutTradeNo))
		}
	})
}

// A QR order the wallet says was paid at another amount: the notification
// is refused (never taken as the order paid) and the order is looked into
// at once; the sweeper gives the money back in full.
func TestQRPaidAtAnotherAmountIsGivenBack(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		o := r.order(api.WeChat, "000001", 800)
		if err := r.wx.CustomerPaysOther(context.Background(), o.OutTradeNo, 1800); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the notification refused", func() bool {
			return metric(t, r.met, "multipos_notifications_total", map[string]string{"result": "refused"}) >= 1
		})
		r.sweep() // due now
		got := r.final(o.ID)
		if got.State != api.StateClosed || got.Reason != api.ReasonAmountMismatch || r.wx.Refunded(o.OutTradeNo) != 1800 {
			t.Fatalf("after the sweep: %+v, refunded %d", got, r.wx.Refunded(o.OutTradeNo))
		}
	})
}

// Every non-final state has a deadline and an exit (the table in the
// package doc): each is left where it is, its deadline passes, and the
// sweeper takes it to the state the channel's books say.
func TestEveryNonFinalStateHasAnExit(t *testing.T) {
	onBoth(t, func(o *Options) { o.Confirm = map[api.Channel]ConfirmPolicy{api.Alipay: {Every: time.Hour, Tries: 1}} },
		func(t *testing.T, r *rig) {
			ctx := context.Background()
			c := r.client("T1")
			type exit struct {
				name   string
				order  api.Order
				after  time.Duration
				state  api.State
				reason string
			}
			var exits []exit
			// CREATED, left by a server that died while the call was out:
			// a wallet order is asked about and closed; a card sale reversed.
			exits = append(exits, exit{"CREATED wallet", r.journalWallet(t, "000001"), DefaultChannelTimeout + createdGrace,
				api.StateClosed, api.ReasonUnknownOutcome})
			exits = append(exits, exit{"CREATED card", r.journalCard(t, "000002", 100), DefaultChannelTimeout + createdGrace,
				api.StateClosed, api.ReasonNotBooked})
			// PENDING QR: closed when its code expires.
			exits = append(exits, exit{"PENDING QR", r.order(api.WeChat, "000003", 100), ttl, api.StateClosed, api.ReasonExpired})
			// PENDING code awaiting the customer: reversed after the window.
			r.ali.NextCodes(wallet.CodeNeedsConfirm)
			code, err := r.barcode(api.Alipay, "000004", aliCode, 100)
			if err != nil || code.State != api.StatePending {
				t.Fatalf("code: %+v, %v", code, err)
			}
			exits = append(exits, exit{"PENDING code", code, time.Hour + confirmGrace, api.StateClosed, api.ReasonNotConfirmed})
			// UNKNOWN wallet order (the precreate's answer lost).
			r.ali.LoseNextReply(wallet.OpPrecreate)
			unk, err := c.CreateWalletOrder(ctx, posclient.NewRequestID(), api.CreateWalletOrder{Trace: "000005", Channel: api.Alipay, Amount: 100})
			if err != nil || unk.State != api.StateUnknown {
				t.Fatalf("unknown: %+v, %v", unk, err)
			}
			// (Swept after its code would have expired, it closes as expired.)
			exits = append(exits, exit{"UNKNOWN wallet", unk, unknownRetry, api.StateClosed, api.ReasonExpired})
			// UNKNOWN card sale (the bank's answer lost): reversed.
			r.bank.LoseNextReply()
			card, err := r.sell(r.cardSale("approved", "123456", "T1", "000006", 100))
			if err != nil || card.State != api.StateUnknown {
				t.Fatalf("card: %+v, %v", card, err)
			}
			exits = append(exits, exit{"UNKNOWN card", card, unknownRetry, api.StateClosed, api.ReasonReversed})
			// CANCELLING (the close's answer lost): closed again.
			can := r.order(api.Alipay, "000007", 100)
			r.ali.FailNext(wallet.OpClose, connector.ErrUnknownOutcome)
			if can, err = c.CancelOrder(ctx, can.ID); err != nil || can.State != api.StateCancelling {
				t.Fatalf("cancelling: %+v, %v", can, err)
			}
			exits = append(exits, exit{"CANCELLING", can, unknownRetry, api.StateClosed, api.ReasonCancelled})

			// Before their deadlines nothing moves them.
			r.sweep()
			for _, e := range exits {
				if got := r.final(e.order.ID); got.State != e.order.State && e.order.State != api.StateCreated {
					t.Errorf("%s moved before its deadline: %s", e.name, got.State)
				}
			}
			// Past the longest deadline, every one has left.
			r.clock.Advance(time.Hour + confirmGrace + time.Second)
			r.sweep()
			r.sweep()
			for _, e := range exits {
				got := r.final(e.order.ID)
				if got.State != e.state || got.Reason != e.reason {
					t.Errorf("%s: %s (%s), want %s (%s)", e.name, got.State, got.Reason, e.state, e.reason)
				}
			}
			if l := r.bank.Ledger(); len(l) != 1 || !l[0].Reversed {
				t.Errorf("bank ledger %+v", l)
			}
		})
}

// journalWallet journals an Alipay QR order of T1 without sending it.
func (r *rig) journalWallet(t *testing.T, trace string) api.Order {
	t.Helper()
	tm, err := r.srv.terminals.get(context.Background(), "T1")
	if err != nil {
		t.Fatal(err)
	}
	o, rep, err := r.srv.journal(context.Background(), tm, api.Order{Trace: trace, Channel: api.Alipay, Kind: api.KindWalletQR,
		Amount: 100, OutTradeNo: "T1CRASH" + trace}, posclient.NewRequestID(), string(api.KindWalletQR), "h"+trace)
	if err != nil || rep != nil {
		t.Fatalf("journal: %+v, %v", rep, err)
	}
	return o
}

// Issue 11, defect 7: a lost payment notification used to cost the
// cashier until the sweeper's look (about 31 s). While a terminal waits on
// a QR order, posserver asks the wallet itself every WatchEvery (3 s by
// default, 50 ms here): the long-poll sees the payment from that query.
func TestLostNotificationCostsAWatchPeriod(t *testing.T) {
	onBoth(t, func(o *Options) { o.WatchEvery = 50 * time.Millisecond }, func(t *testing.T, r *rig) {
		ctx := context.Background()
		o := r.order(api.Alipay, "000001", 1200)
		r.ali.HoldNotifications() // the notification never comes
		if err := r.ali.CustomerPay(ctx, o.OutTradeNo); err != nil {
			t.Fatal(err)
		}
		got, err := r.client("T1").WaitOrder(ctx, o.ID, o.Version, 10*time.Second)
		if err != nil || got.State != api.StateSuccess {
			t.Fatalf("long-poll: %+v, %v", got, err)
		}
		h, err := r.srv.History(ctx, o.ID)
		if err != nil || h[len(h)-1].Actor != "watch" {
			t.Fatalf("settled by %+v, %v; want the watch", h, err)
		}
		// Nobody waiting: nobody asks.
		idle := r.order(api.Alipay, "000002", 100)
		before := r.ali.Calls(wallet.OpQuery)
		time.Sleep(300 * time.Millisecond)
		if n := r.ali.Calls(wallet.OpQuery); n != before {
			t.Fatalf("%d queries about %s with no terminal waiting", n-before, idle.ID)
		}
	})
}
