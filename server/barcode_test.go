package server

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/posclient"
	"github.com/multipos/multipos/sandbox/wallet"
	"github.com/multipos/multipos/server/connector"
	"github.com/multipos/multipos/server/store"
)

// Payment codes as the phones show them.
const (
	aliCode = "281234567890123456"
	wxCode  = "134567890123456789"
)

// fastConfirm follows codes awaiting confirmation every few milliseconds.
func fastConfirm(tries int) func(*Options) {
	return func(o *Options) {
		o.Confirm = map[api.Channel]ConfirmPolicy{
			api.Alipay: {Every: 5 * time.Millisecond, Tries: tries},
			api.WeChat: {Every: 5 * time.Millisecond, Tries: tries},
		}
	}
}

func (r *rig) barcode(ch api.Channel, trace, code string, amount int64) (api.Order, error) {
	r.t.Helper()
	return r.client("T1").CreateBarcodeOrder(context.Background(), posclient.NewRequestID(),
		api.CreateBarcodeOrder{Trace: trace, Channel: ch, Amount: amount, AuthCode: code})
}

// waitFinal long-polls until the order is final.
func (r *rig) waitFinal(o api.Order) api.Order {
	r.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !o.State.Final(); {
		if time.Now().After(deadline) {
			r.t.Fatalf("order %s still %s", o.ID, o.State)
		}
		o = r.wait("T1", o)
	}
	return o
}

func TestBarcodePaidAtOnce(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		for i, c := range []struct {
			ch   api.Channel
			code string
			w    *wallet.Wallet
		}{{api.Alipay, aliCode, r.ali}, {api.WeChat, wxCode, r.wx}} {
			o, err := r.barcode(c.ch, "00000"+string(rune('1'+i)), c.code, 1234)
			if err != nil || o.State != api.StateSuccess || o.TradeNo == "" || o.Kind != api.KindWalletBarcode {
				t.Fatalf("%s: %+v, %v", c.ch, o, err)
			}
			if st, err := c.w.Query(context.Background(), o.OutTradeNo); err != nil || st.State != connector.WalletPaid || st.Amount != 1234 {
				t.Fatalf("%s at the wallet: %+v, %v", c.ch, st, err)
			}
			if strings.Contains(r.logs.String(), c.code) {
				t.Fatalf("the payment code reached the log")
			}
		}
	})
}

func TestBarcodeWrongWalletRefused(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		_, err := r.barcode(api.WeChat, "000001", aliCode, 100)
		if e := apiErr(t, err); e.Code != api.CodeWrongWallet || e.Status != http.StatusBadRequest || !strings.Contains(e.Message, "alipay") {
			t.Fatalf("an Alipay code for WeChat: %+v", e)
		}
		_, err = r.barcode(api.Alipay, "000002", "12345", 100)
		if e := apiErr(t, err); e.Code != api.CodeBadRequest {
			t.Fatalf("five digits: %+v", e)
		}
		for _, trace := range []string{"000001", "000002"} {
			if _, err := r.srv.OrderByTrace(context.Background(), "T1", trace); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("a refused code was journaled (%s): %v", trace, err)
			}
		}
		if r.ali.Calls(wallet.OpPay)+r.wx.Calls(wallet.OpPay) != 0 {
			t.Fatal("a refused code reached a wallet")
		}
	})
}

func TestBarcodeConfirmedOnPhone(t *testing.T) {
	onBoth(t, fastConfirm(400), func(t *testing.T, r *rig) {
		r.ali.NextCodes(wallet.CodeNeedsConfirm)
		o, err := r.barcode(api.Alipay, "000001", aliCode, 500)
		if err != nil || o.State != api.StatePending {
			t.Fatalf("waiting for the customer: %+v, %v", o, err)
		}
		if err := r.ali.Confirm(context.Background(), o.OutTradeNo); err != nil {
			t.Fatal(err)
		}
		if got := r.waitFinal(o); got.State != api.StateSuccess || got.TradeNo == "" {
			t.Fatalf("after confirming: %+v", got)
		}
		if r.ali.Calls(wallet.OpReverse) != 0 {
			t.Fatal("a confirmed payment was reversed")
		}
	})
}

// Never confirmed: queried on the cadence, then reversed, nothing charged.
func TestBarcodeNotConfirmedIsReversed(t *testing.T) {
	onBoth(t, fastConfirm(3), func(t *testing.T, r *rig) {
		r.wx.NextCodes(wallet.CodeNeedsConfirm)
		o, err := r.barcode(api.WeChat, "000001", wxCode, 700)
		if err != nil || o.State != api.StatePending {
			t.Fatalf("waiting for the customer: %+v, %v", o, err)
		}
		got := r.waitFinal(o)
		if got.State != api.StateClosed || got.Reason != api.ReasonNotConfirmed {
			t.Fatalf("never confirmed: %+v", got)
		}
		if q := r.wx.Calls(wallet.OpQuery); q < 3 {
			t.Fatalf("%d queries before reversing, want the policy's 3", q)
		}
		st, err := r.wx.Query(context.Background(), o.OutTradeNo)
		if err != nil || st.State != connector.WalletClosed || r.wx.Refunded(o.OutTradeNo) != 0 || r.wx.Calls(wallet.OpReverse) != 1 {
			t.Fatalf("at the wallet: %+v, %v, reversed %d times", st, err, r.wx.Calls(wallet.OpReverse))
		}
		if err := r.wx.Confirm(context.Background(), o.OutTradeNo); err == nil {
			t.Fatal("a reversed payment could still be confirmed")
		}
	})
}

func TestBarcodeDeclined(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		r.ali.NextCodes(wallet.CodeDeclined, wallet.CodeInvalid)
		for i, want := range []string{api.ReasonInsufficientFund, api.ReasonCodeInvalid} {
			o, err := r.barcode(api.Alipay, "00000"+string(rune('1'+i)), aliCode, 100)
			if err != nil || o.State != api.StateFailed || o.Reason != want {
				t.Fatalf("declined %d: %+v, %v; want %s", i, o, err, want)
			}
		}
	})
}

// The answer to the payment was lost after it took effect: the follow-up
// finds it paid.
func TestBarcodeLostAnswer(t *testing.T) {
	onBoth(t, fastConfirm(50), func(t *testing.T, r *rig) {
		r.ali.LoseNextReply(wallet.OpPay)
		o, err := r.barcode(api.Alipay, "000001", aliCode, 300)
		if err != nil || o.State != api.StateUnknown {
			t.Fatalf("lost answer: %+v, %v", o, err)
		}
		if got := r.waitFinal(o); got.State != api.StateSuccess {
			t.Fatalf("after the follow-up: %+v", got)
		}
		// Lost on the way there: never charged, closed after the window.
		r.wx.FailNext(wallet.OpPay, connector.ErrUnknownOutcome)
		o, err = r.barcode(api.WeChat, "000002", wxCode, 300)
		if err != nil || o.State != api.StateUnknown {
			t.Fatalf("lost request: %+v, %v", o, err)
		}
		if got := r.waitFinal(o); got.State != api.StateClosed || got.Reason != api.ReasonUnknownOutcome && got.Reason != api.ReasonNotConfirmed {
			t.Fatalf("a payment that never arrived: %+v", got)
		}
	})
}

func TestBarcodeCancelWhileWaiting(t *testing.T) {
	onBoth(t, fastConfirm(2000), func(t *testing.T, r *rig) {
		r.ali.NextCodes(wallet.CodeNeedsConfirm)
		o, err := r.barcode(api.Alipay, "000001", aliCode, 900)
		if err != nil || o.State != api.StatePending {
			t.Fatalf("waiting: %+v, %v", o, err)
		}
		got, err := r.client("T1").CancelOrder(context.Background(), o.ID)
		if err != nil || got.State != api.StateClosed || got.Reason != api.ReasonCancelled {
			t.Fatalf("cancel: %+v, %v", got, err)
		}
		if st, _ := r.ali.Query(context.Background(), o.OutTradeNo); st.State != connector.WalletClosed || r.ali.Calls(wallet.OpReverse) != 1 {
			t.Fatalf("at the wallet: %+v, reversed %d times", st, r.ali.Calls(wallet.OpReverse))
		}
	})
}

// The instance following a payment died: the sweeper reverses it once the
// confirmation window is over.
func TestSweeperReversesUnconfirmedCodes(t *testing.T) {
	onBoth(t, func(o *Options) {
		o.Confirm = map[api.Channel]ConfirmPolicy{api.Alipay: {Every: time.Hour, Tries: 20}, api.WeChat: {Every: time.Hour, Tries: 6}}
	}, func(t *testing.T, r *rig) {
		r.ali.NextCodes(wallet.CodeNeedsConfirm)
		o, err := r.barcode(api.Alipay, "000001", aliCode, 900)
		if err != nil || o.State != api.StatePending {
			t.Fatalf("waiting: %+v, %v", o, err)
		}
		r.sweep()
		if got := r.get(o.ID); got.State != api.StatePending {
			t.Fatalf("swept inside the window: %+v", got)
		}
		r.clock.Advance(20*time.Hour + confirmGrace + time.Second)
		r.sweep()
		if got := r.get(o.ID); got.State != api.StateClosed || got.Reason != api.ReasonNotConfirmed {
			t.Fatalf("after the window: %+v", got)
		}
		if r.ali.Calls(wallet.OpReverse) != 1 {
			t.Fatalf("reversed %d times", r.ali.Calls(wallet.OpReverse))
		}
	})
}
