package server

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/money"
	"github.com/multipos/multipos/posclient"
	"github.com/multipos/multipos/sandbox/wallet"
	"github.com/multipos/multipos/server/connector"
)

func TestWalletPayLongPoll(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		ctx := context.Background()
		o := r.order(api.Alipay, "000001", 1234)
		if !strings.HasPrefix(o.QRContent, "https://qr.alipay.com/bax0") || o.Version != 2 || o.Kind != api.KindWalletQR ||
			!o.ExpiresAt.Equal(r.clock.Now().Add(ttl)) || o.OutTradeNo == "" || len(o.OutTradeNo) > 32 ||
			o.TerminalID != "T1" || !strings.HasPrefix(o.SaleID, "sa") {
			t.Fatalf("order %+v", o)
		}
		type result struct {
			o   api.Order
			err error
			at  time.Duration
		}
		done := make(chan result, 1)
		start := time.Now()
		go func() {
			got, err := r.client("T1").WaitOrder(ctx, o.ID, o.Version, api.MaxWait)
			done <- result{got, err, time.Since(start)}
		}()
		if err := r.ali.CustomerPay(ctx, o.OutTradeNo); err != nil {
			t.Fatal(err)
		}
		res := <-done
		if res.err != nil {
			t.Fatal(res.err)
		}
		if res.o.State != api.StateSuccess || res.o.TradeNo == "" || res.o.Version != 3 {
			t.Fatalf("after pay: %+v", res.o)
		}
		if res.at > api.MaxWait/2 {
			t.Fatalf("long-poll answered after %v: it waited instead of being woken", res.at)
		}
		if h := r.history(o.ID); !sameStates(h, []api.State{api.StateCreated, api.StatePending, api.StateSuccess}) {
			t.Fatalf("history %v", h)
		}
		st, err := r.ali.Query(ctx, o.OutTradeNo)
		if err != nil || st.TradeNo != res.o.TradeNo {
			t.Fatalf("sandbox %+v %v", st, err)
		}
		info, err := r.client("T1").Terminal(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.Channels[0].Channel != api.Alipay || info.Channels[0].DailyUsed != 1234 || info.Channels[1].DailyUsed != 0 {
			t.Fatalf("terminal info %+v", info.Channels)
		}
		if r.srv.hub.waiting() != 0 {
			t.Fatalf("%d orders still have waiters", r.srv.hub.waiting())
		}
	})
}

func TestWalletDecline(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		o := r.order(api.WeChat, "000001", 500)
		if !strings.HasPrefix(o.QRContent, "weixin://wxpay/bizpayurl?pr=") {
			t.Fatalf("QR %q", o.QRContent)
		}
		if err := r.wx.Decline(context.Background(), o.OutTradeNo); err != nil {
			t.Fatal(err)
		}
		got := r.wait("T1", o)
		if got.State != api.StateFailed || got.Reason != api.ReasonCustomerDeclined {
			t.Fatalf("after decline: %+v", got)
		}
	})
}

func TestLongPollTimesOutWithCurrentOrder(t *testing.T) {
	onSQLite(t, nil, func(t *testing.T, r *rig) {
		o := r.order(api.Alipay, "000001", 100)
		got, err := r.client("T1").WaitOrder(context.Background(), o.ID, o.Version, 20*time.Millisecond)
		if err != nil || got.Version != o.Version || got.State != api.StatePending {
			t.Fatalf("%+v, %v", got, err)
		}
		// An old version answers at once.
		got, err = r.client("T1").WaitOrder(context.Background(), o.ID, 0, api.MaxWait)
		if err != nil || got.Version != o.Version {
			t.Fatalf("%+v, %v", got, err)
		}
	})
}

func TestCancel(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		ctx := context.Background()
		c := r.client("T1")
		o := r.order(api.WeChat, "000001", 800)
		got, err := c.CancelOrder(ctx, o.ID)
		if err != nil || got.State != api.StateClosed || got.Reason != api.ReasonCancelled {
			t.Fatalf("cancel: %+v, %v", got, err)
		}
		st, err := r.wx.Query(ctx, o.OutTradeNo)
		if err != nil || st.State != connector.WalletClosed {
			t.Fatalf("at the wallet: %+v, %v", st, err)
		}
		again, err := c.CancelOrder(ctx, o.ID)
		if err != nil || again.State != api.StateClosed || again.Version != got.Version {
			t.Fatalf("second cancel: %+v, %v", again, err)
		}
		if err := r.wx.CustomerPay(ctx, o.OutTradeNo); !errors.Is(err, wallet.ErrTradeClosed) {
			t.Fatalf("customer paid a cancelled order: %v", err)
		}
		sale, err := r.sell(r.cardSale("approved", "123456", "T1", "000002", 100))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.CancelOrder(ctx, sale.ID)
		if e := apiErr(t, err); e.Code != api.CodeNotCancellable || e.Status != http.StatusConflict {
			t.Fatalf("cancel card sale: %+v", e)
		}
	})
}

// The customer pays while the cashier cancels: the wallet refuses the close,
// and the order ends SUCCESS, not CLOSED.
func TestCancelAfterPay(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		ctx := context.Background()
		o := r.order(api.Alipay, "000001", 4200)
		r.ali.HoldNotifications()
		if err := r.ali.CustomerPay(ctx, o.OutTradeNo); err != nil {
			t.Fatal(err)
		}
		got, err := r.client("T1").CancelOrder(ctx, o.ID)
		if err != nil || got.State != api.StateSuccess || got.TradeNo == "" {
			t.Fatalf("cancel after pay: %+v, %v", got, err)
		}
		// The late notification is a duplicate: acknowledged, nothing changes.
		r.ali.ReleaseNotifications()
		eventually(t, "the late notification", func() bool {
			return metric(t, r.met, "multipos_notifications_total", map[string]string{"result": "duplicate"}) == 1
		})
		after, err := r.client("T1").WaitOrder(ctx, o.ID, 0, 0)
		if err != nil || after.Version != got.Version || after.State != api.StateSuccess {
			t.Fatalf("after the notification: %+v, %v", after, err)
		}
		if h := r.history(o.ID); !sameStates(h, []api.State{api.StateCreated, api.StatePending, api.StateSuccess}) {
			t.Fatalf("history %v", h)
		}
		if n := metric(t, r.met, "multipos_notifications_total", map[string]string{"result": "applied"}); n != 0 {
			t.Fatalf("%v notifications applied", n)
		}
	})
}

func TestChannelFailures(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		ctx := context.Background()
		c := r.client("T1")
		r.ali.FailNext(wallet.OpPrecreate, connector.ErrUnknownOutcome)
		o, err := c.CreateWalletOrder(ctx, posclient.NewRequestID(), api.CreateWalletOrder{Trace: "000001", Channel: api.Alipay, Amount: 100})
		if err != nil || o.State != api.StateUnknown {
			t.Fatalf("unknown outcome: %+v, %v", o, err)
		}
		r.ali.FailNext(wallet.OpPrecreate, wallet.ErrBadRequest)
		o, err = c.CreateWalletOrder(ctx, posclient.NewRequestID(), api.CreateWalletOrder{Trace: "000002", Channel: api.Alipay, Amount: 100})
		if err != nil || o.State != api.StateFailed || o.Reason != api.ReasonChannelError {
			t.Fatalf("refused: %+v, %v", o, err)
		}
		// An unknown order can be cancelled: closing makes sure it can never be paid.
		unknown, _ := r.srv.OrderByTrace(ctx, "T1", "000001")
		if !unknown.ExpiresAt.Equal(r.clock.Now().Add(ttl)) {
			t.Fatalf("unknown order without expiry: %+v", unknown)
		}
		got, err := c.CancelOrder(ctx, unknown.ID)
		if err != nil || got.State != api.StateClosed {
			t.Fatalf("cancel unknown: %+v, %v", got, err)
		}
		// A close the wallet does not answer: the cancel is journaled
		// (CANCELLING, so a payment now is given back), and the sweeper
		// finishes it at the wallet.
		p := r.order(api.Alipay, "000003", 100)
		r.ali.FailNext(wallet.OpClose, connector.ErrUnknownOutcome)
		got, err = c.CancelOrder(ctx, p.ID)
		if err != nil || got.State != api.StateCancelling || got.Reason != api.ReasonCancelled {
			t.Fatalf("close not answered: %+v, %v", got, err)
		}
		r.clock.Advance(unknownRetry)
		r.sweep()
		if cur, _ := r.srv.OrderByTrace(ctx, "T1", "000003"); cur.State != api.StateClosed || cur.Reason != api.ReasonCancelled {
			t.Fatalf("after the sweep: %+v", cur)
		}
		if st, err := r.ali.Query(ctx, p.OutTradeNo); err != nil || st.State != connector.WalletClosed {
			t.Fatalf("at the wallet: %+v, %v", st, err)
		}
	})
}

func TestNotificationsChecked(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		ctx := context.Background()
		o := r.order(api.Alipay, "000001", 1000)
		paid := connector.Notification{Channel: "alipay", OutTradeNo: o.OutTradeNo, TradeNo: "2026030122000000000000000009",
			State: connector.WalletPaid, Amount: 1000, At: r.clock.Now()}
		for name, n := range map[string]connector.Notification{
			"wrong amount":  func() connector.Notification { x := paid; x.Amount = 1; return x }(),
			"unknown order": func() connector.Notification { x := paid; x.OutTradeNo = "nope"; return x }(),
			"other channel": func() connector.Notification { x := paid; x.Channel = "wechat"; return x }(),
			"not a wallet":  func() connector.Notification { x := paid; x.Channel = "card"; return x }(),
		} {
			if err := r.srv.Notify(ctx, n); !errors.Is(err, ErrRefused) {
				t.Errorf("%s: %v", name, err)
			}
		}
		if cur, _ := r.srv.OrderByTrace(ctx, "T1", "000001"); cur.State != api.StatePending || cur.Version != o.Version {
			t.Fatalf("a refused notification changed the order: %+v", cur)
		}
		if err := r.srv.Notify(ctx, paid); err != nil {
			t.Fatal(err)
		}
		if err := r.srv.Notify(ctx, paid); err != nil {
			t.Fatalf("duplicate: %v", err)
		}
		cur, _ := r.srv.OrderByTrace(ctx, "T1", "000001")
		if cur.State != api.StateSuccess || cur.TradeNo != paid.TradeNo || cur.Version != 3 {
			t.Fatalf("after paid: %+v", cur)
		}
		for result, want := range map[string]float64{"applied": 1, "duplicate": 1, "refused": 3} {
			if n := metric(t, r.met, "multipos_notifications_total", map[string]string{"result": result}); n != want {
				t.Errorf("%v notifications %s, want %v", n, result, want)
			}
		}
		// A contradicting result for a final order is acknowledged and changes nothing.
		closed := r.order(api.Alipay, "000002", 50)
		if _, err := r.client("T1").CancelOrder(ctx, closed.ID); err != nil {
			t.Fatal(err)
		}
		late := connector.Notification{Channel: "alipay", OutTradeNo: closed.OutTradeNo, TradeNo: "x", State: connector.WalletPaid, Amount: 50}
		if err := r.srv.Notify(ctx, late); err != nil {
			t.Fatal(err)
		}
		if cur, _ := r.srv.OrderByTrace(ctx, "T1", "000002"); cur.State != api.StateClosed {
			t.Fatalf("closed order became %s", cur.State)
		}
		if !strings.Contains(r.logs.String(), "left for reconciliation") {
			t.Fatal("the contradiction was not logged")
		}
	})
}

func TestDemoEndpoints(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		ctx := context.Background()
		o := r.order(api.WeChat, "000001", 100)
		got, err := r.client("T1").DemoPay(ctx, o.ID)
		if err != nil || got.State != api.StateSuccess {
			t.Fatalf("demo pay: %+v, %v", got, err)
		}
		d := r.order(api.Alipay, "000002", 100)
		if got, err := r.client("T1").DemoDecline(ctx, d.ID); err != nil || got.State != api.StateFailed {
			t.Fatalf("demo decline: %+v, %v", got, err)
		}
		if _, err := r.client("T2").DemoPay(ctx, d.ID); apiErr(t, err).Code != api.CodeNotFound {
			t.Fatalf("another terminal's order: %v", err)
		}
		// Paying twice is the wallet's refusal, not a second payment.
		if _, err := r.client("T1").DemoPay(ctx, o.ID); apiErr(t, err).Code != api.CodeChannelError {
			t.Fatalf("second demo pay: %v", err)
		}
		sale, err := r.sell(r.cardSale("approved", "123456", "T1", "000003", 100))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.client("T1").DemoPay(ctx, sale.ID); apiErr(t, err).Code != api.CodeBadRequest {
			t.Fatalf("demo pay of a card sale: %v", err)
		}
	})
	onSQLite(t, func(o *Options) { o.Demo = false }, func(t *testing.T, off *rig) {
		o := off.order(api.Alipay, "000001", 100)
		if _, err := off.client("T1").DemoPay(context.Background(), o.ID); apiErr(t, err).Status != http.StatusNotFound {
			t.Fatalf("demo endpoint outside demo mode: %v", err)
		}
		if info, err := off.client("T1").Terminal(context.Background()); err != nil || info.Demo {
			t.Fatalf("terminal info outside demo mode: %+v, %v", info, err)
		}
	})
}

func TestWalletOrderValidation(t *testing.T) {
	onSQLite(t, nil, func(t *testing.T, r *rig) {
		c := r.client("T1")
		for name, req := range map[string]api.CreateWalletOrder{
			"trace letters": {Trace: "00000a", Channel: api.Alipay, Amount: 1},
			"trace long":    {Trace: "0000001", Channel: api.Alipay, Amount: 1},
			"card channel":  {Trace: "000001", Channel: api.Card, Amount: 1},
			"no channel":    {Trace: "000001", Amount: 1},
			"zero":          {Trace: "000001", Channel: api.Alipay, Amount: 0},
			"negative":      {Trace: "000001", Channel: api.Alipay, Amount: -5},
			"above max":     {Trace: "000001", Channel: api.Alipay, Amount: int64(money.Max) + 1},
			"subject long":  {Trace: "000001", Channel: api.Alipay, Amount: 1, Subject: strings.Repeat("x", 129)},
			"sale id":       {Trace: "000001", Channel: api.Alipay, Amount: 1, SaleID: "tx123"},
		} {
			_, err := c.CreateWalletOrder(context.Background(), posclient.NewRequestID(), req)
			if e := apiErr(t, err); e.Code != api.CodeBadRequest || e.Status != http.StatusBadRequest {
				t.Errorf("%s: %+v", name, e)
			}
		}
		if n := r.ali.Calls(wallet.OpPrecreate); n != 0 {
			t.Fatalf("%d invalid orders reached the wallet", n)
		}
		if _, err := c.WaitOrder(context.Background(), "missing", 0, 0); apiErr(t, err).Code != api.CodeNotFound {
			t.Fatalf("unknown id: %v", err)
		}
		if _, err := c.OrderByTrace(context.Background(), "12345"); apiErr(t, err).Code != api.CodeBadRequest {
			t.Fatalf("bad trace: %v", err)
		}
	})
}
