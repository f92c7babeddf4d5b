package server

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/demo/standins"
	alipaysb "github.com/multipos/multipos/sandbox/alipay"
	"github.com/multipos/multipos/sandbox/wallet"
	wechatsb "github.com/multipos/multipos/sandbox/wechat"
	"github.com/multipos/multipos/server/connector"
	"github.com/multipos/multipos/server/store"
)

// Issue 11, defect 1: the cashier cancels an Alipay QR order just as the
// customer pays it. posserver sends alipay.trade.cancel; Alipay, which has
// the payment by the time the cancel reaches it, refunds it
// (action=refund). The payment notification arrives while the cancel is
// out. Before the fix the notification made the order SUCCESS, the
// cancel's answer was ignored, and the station printed "paid" for money
// that went back to the customer. Now the journal ends where Alipay's
// books end: CLOSED, refunded, never SUCCESS.
func TestCancelRacingPaymentEndsRefundedAtAlipay(t *testing.T) {
	onProtocols(t, func(t *testing.T, r *rig, sb *standins.Wallets) {
		ctx := context.Background()
		o := r.order(api.Alipay, "000001", 3850)
		// The cancel is held back 1.5 s before Alipay acts on it; the
		// customer scans and pays in that window.
		if err := sb.Alipay.Inject(alipaysb.Fault{Method: alipaysb.MethodCancel, Delay: 1500 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
		type answer struct {
			o   api.Order
			err error
		}
		done := make(chan answer, 1)
		go func() {
			got, err := r.client("T1").CancelOrder(ctx, o.ID)
			done <- answer{got, err}
		}()
		eventually(t, "the cancel on its way to Alipay", func() bool { return sb.Alipay.Calls()[alipaysb.MethodCancel] == 1 })
		if err := sb.CustomerPays(ctx, api.Alipay, o.OutTradeNo); err != nil {
			t.Fatal(err)
		}
		a := <-done
		if a.err != nil || a.o.State != api.StateClosed || a.o.Reason != api.ReasonRefunded {
			t.Fatalf("the cancel's answer: %+v, %v; want CLOSED, refunded", a.o, a.err)
		}
		// Alipay's books: paid, then given back in full by the cancel.
		tr, _ := sb.Alipay.Trade(o.OutTradeNo)
		if tr.Paid == "" || tr.Refunded != 3850 || tr.Status != alipaysb.StatusTradeClosed || tr.CancelAction != "refund" {
			t.Fatalf("at Alipay: %+v", tr)
		}
		// The notification has come and gone: it changed nothing.
		eventually(t, "the payment notification delivered", func() bool {
			for _, d := range sb.Alipay.Deliveries() {
				if d.OutTradeNo == o.OutTradeNo && d.TradeStatus == alipaysb.StatusTradeSuccess && d.Acked {
					return true
				}
			}
			return false
		})
		cur := r.final(o.ID)
		if cur.State != api.StateClosed || cur.Reason != api.ReasonRefunded {
			t.Fatalf("journal after the notification: %+v", cur)
		}
		if h := r.history(o.ID); slices.Contains(h, api.StateSuccess) ||
			!slices.Equal(h, []api.State{api.StateCreated, api.StatePending, api.StateCancelling, api.StateClosed}) {
			t.Fatalf("history %v", h)
		}
		// Nothing of it counts toward the day's takings.
		if used := r.dailyUsed("T1", api.Alipay); used != 0 {
			t.Fatalf("daily total %d after a refunded order", used)
		}
	})
}

// The same race on WeChat Pay: its close of an order the customer has
// just paid answers ORDERPAID, and posserver gives the payment back with
// a full refund; the order ends CLOSED, refunded.
func TestCancelRacingPaymentEndsRefundedAtWeChat(t *testing.T) {
	onProtocols(t, func(t *testing.T, r *rig, sb *standins.Wallets) {
		ctx := context.Background()
		o := r.order(api.WeChat, "000001", 2600)
		sb.WeChat.InjectFault(wechatsb.OpClose, wechatsb.Fault{Kind: wechatsb.FaultDelay, Delay: 1500 * time.Millisecond})
		done := make(chan api.Order, 1)
		go func() {
			got, err := r.client("T1").CancelOrder(ctx, o.ID)
			if err != nil {
				t.Error(err)
			}
			done <- got
		}()
		eventually(t, "the close on its way to WeChat Pay", func() bool { return sb.WeChat.Calls(wechatsb.OpClose) == 1 })
		if err := sb.CustomerPays(ctx, api.WeChat, o.OutTradeNo); err != nil {
			t.Fatal(err)
		}
		got := <-done
		// WeChat Pay answers a refund PROCESSING first: the order stays
		// CANCELLING until the sweeper sees it through.
		for i := 0; got.State == api.StateCancelling && i < 5; i++ {
			r.clock.Advance(unknownRetry)
			r.sweep()
			got = r.final(o.ID)
		}
		if got.State != api.StateClosed || got.Reason != api.ReasonRefunded {
			t.Fatalf("cancel: %+v; want CLOSED, refunded", got)
		}
		info, _ := sb.WeChat.Order(o.OutTradeNo)
		if info.SuccessTime.IsZero() || info.Refunded != 2600 || len(info.Refunds) != 1 || info.Refunds[0] != closeRefundNo(o) {
			t.Fatalf("at WeChat Pay: %+v", info)
		}
		if slices.Contains(r.history(o.ID), api.StateSuccess) {
			t.Fatalf("history %v", r.history(o.ID))
		}
	})
}

// What the wallet had when posserver asked stands: a payment made before
// the cancel reached posserver (its notification lost) is kept, and the
// cancel answers it paid. Rule of package doc: "cancel raced payment".
func TestCancelAfterPaymentKeepsIt(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		ctx := context.Background()
		o := r.order(api.Alipay, "000001", 500)
		r.ali.HoldNotifications()
		if err := r.ali.CustomerPay(ctx, o.OutTradeNo); err != nil {
			t.Fatal(err)
		}
		got, err := r.client("T1").CancelOrder(ctx, o.ID)
		if err != nil || got.State != api.StateSuccess {
			t.Fatalf("cancel of a paid order: %+v, %v; want SUCCESS", got, err)
		}
		if st, _ := r.ali.Query(ctx, o.OutTradeNo); st.State != connector.WalletPaid || r.ali.Refunded(o.OutTradeNo) != 0 {
			t.Fatalf("at the wallet: %+v, refunded %d", st, r.ali.Refunded(o.OutTradeNo))
		}
	})
}

// A payment that lands between posserver's query and its close is given
// back by refund (the in-process wallet answers the close ErrAlreadyPaid):
// the order ends CLOSED, refunded, and a notification of the payment
// arriving while it is CANCELLING changes nothing.
func TestPaymentWhileCancellingIsGivenBack(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		ctx := context.Background()
		o := r.order(api.WeChat, "000001", 700)
		// The close fails: the order is left CANCELLING, as when the
		// wallet does not answer. The customer pays meanwhile.
		r.wx.FailNext(wallet.OpClose, connector.ErrUnknownOutcome)
		got, err := r.client("T1").CancelOrder(ctx, o.ID)
		if err != nil || got.State != api.StateCancelling {
			t.Fatalf("cancel: %+v, %v", got, err)
		}
		if err := r.wx.CustomerPay(ctx, o.OutTradeNo); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the notification acknowledged", func() bool {
			return metric(t, r.met, "multipos_notifications_total", map[string]string{"channel": "wechat"}) >= 1
		})
		if cur, _ := r.srv.OrderByTrace(ctx, "T1", "000001"); cur.State != api.StateCancelling {
			t.Fatalf("after the notification: %+v", cur)
		}
		r.clock.Advance(unknownRetry)
		r.sweep()
		cur, _ := r.srv.OrderByTrace(ctx, "T1", "000001")
		if cur.State != api.StateClosed || cur.Reason != api.ReasonRefunded {
			t.Fatalf("after the sweep: %+v", cur)
		}
		if n := r.wx.Refunded(o.OutTradeNo); n != 700 {
			t.Fatalf("refunded %d at the wallet", n)
		}
	})
}

// final reads an order.
func (r *rig) final(id string) api.Order {
	r.t.Helper()
	o, err := r.srv.st.Get(context.Background(), id)
	if err != nil {
		r.t.Fatal(err)
	}
	return o
}

func (r *rig) dailyUsed(tid string, ch api.Channel) int64 {
	r.t.Helper()
	n, err := r.st.DailyTotal(context.Background(), tid, ch, r.srv.day(r.clock.Now()))
	if err != nil {
		r.t.Fatal(err)
	}
	return n
}

var _ = store.ErrStale

// A code payment still open past Alipay's 24-hour reversal window (the
// wallet or the server was away): alipay.trade.cancel answers
// ACQ.TRADE_CANCEL_TIME_OUT for good, and the order is closed as a QR
// order is (asked about, closed, a payment refunded) instead of staying
// CANCELLING forever.
func TestCodePastTheReversalWindowIsClosed(t *testing.T) {
	// The customer never confirms; the window is long enough for the
	// cashier's cancel to come first however slow the machine.
	long := func(o *Options) {
		o.Confirm = map[api.Channel]ConfirmPolicy{api.Alipay: {Every: time.Minute, Tries: 3}}
	}
	onProtocolsWith(t, long, func(t *testing.T, r *rig, sb *standins.Wallets) {
		ctx := context.Background()
		if err := sb.NextCode(api.Alipay, true); err != nil {
			t.Fatal(err)
		}
		o, err := r.barcode(api.Alipay, "000001", aliCode, 900)
		if err != nil || o.State != api.StatePending {
			t.Fatalf("code: %+v, %v", o, err)
		}
		// The cashier's cancel: Alipay does not answer it.
		if err := sb.Alipay.Inject(alipaysb.Fault{Method: alipaysb.MethodCancel, Answer: alipaysb.Answer20000}); err != nil {
			t.Fatal(err)
		}
		got, err := r.client("T1").CancelOrder(ctx, o.ID)
		if err != nil || got.State != api.StateCancelling {
			t.Fatalf("cancel not answered: %+v, %v", got, err)
		}
		// A day later the sweeper tries again.
		sb.Alipay.Advance(25 * time.Hour)
		r.clock.Advance(unknownRetry)
		r.sweep()
		got = r.final(o.ID)
		if got.State != api.StateClosed || got.Reason != api.ReasonCancelled || sb.Alipay.Calls()[alipaysb.MethodCancel] != 2 {
			t.Fatalf("after the window: %+v (%d cancels)", got, sb.Alipay.Calls()[alipaysb.MethodCancel])
		}
		if tr, _ := sb.Alipay.Trade(o.OutTradeNo); tr.Status != alipaysb.StatusTradeClosed || tr.Paid != "" {
			t.Fatalf("at Alipay: %+v", tr)
		}
	})
}

// A WeChat Pay payment code the customer confirms while posserver reverses
// it: WeChat takes the money and gives it back (the order REVOKED, with
// its payment). Its reverse does not say so, its order does: the journal
// ends CLOSED, refunded, and the station says the money went back.
func TestCodeConfirmedWhileReversedSaysRefunded(t *testing.T) {
	onProtocols(t, func(t *testing.T, r *rig, sb *standins.Wallets) {
		ctx := context.Background()
		if err := sb.NextCode(api.WeChat, true); err != nil {
			t.Fatal(err)
		}
		sb.WeChat.InjectFault(wechatsb.OpReverse, wechatsb.Fault{Kind: wechatsb.FaultDelay, Delay: 1500 * time.Millisecond})
		o, err := r.barcode(api.WeChat, "000001", wxCode, 700)
		if err != nil || o.State != api.StatePending {
			t.Fatalf("code: %+v, %v", o, err)
		}
		eventually(t, "the reversal on its way", func() bool { return sb.WeChat.Calls(wechatsb.OpReverse) == 1 })
		if err := sb.CustomerPays(ctx, api.WeChat, o.OutTradeNo); err != nil {
			t.Fatal(err)
		}
		got := r.waitFinal(o)
		info, _ := sb.WeChat.Order(o.OutTradeNo)
		if got.State != api.StateClosed || got.Reason != api.ReasonRefunded || info.SuccessTime.IsZero() || info.Refunded != 700 {
			t.Fatalf("journal %s %s; WeChat paid at %v, refunded %d", got.State, got.Reason, info.SuccessTime, info.Refunded)
		}
	})
}
