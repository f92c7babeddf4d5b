package server

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/demo/standins"
	"github.com/multipos/multipos/server/connector"
	"github.com/multipos/multipos/server/store"
	"github.com/multipos/multipos/server/store/storetest"
)

// lateNotifier forwards to the server once it exists: the notify URL must
// be known before the connectors are built, and they before the server.
type lateNotifier struct {
	mu sync.Mutex
	to connector.Notifier
}

func (l *lateNotifier) Notify(ctx context.Context, n connector.Notification) error {
	l.mu.Lock()
	to := l.to
	l.mu.Unlock()
	return to.Notify(ctx, n)
}

// onProtocols runs f on a rig whose wallets are the real connectors
// against the protocol-faithful sandboxes, with notifications coming back
// over HTTP, signed.
func onProtocols(t *testing.T, f func(t *testing.T, r *rig, sb *standins.Wallets)) {
	onProtocolsWith(t, nil, f)
}

// onProtocolsWith is onProtocols with the server's options tuned last.
func onProtocolsWith(t *testing.T, tune func(*Options), f func(t *testing.T, r *rig, sb *standins.Wallets)) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		late := &lateNotifier{}
		notify := httptest.NewServer(nil)
		t.Cleanup(notify.Close)
		var sb *standins.Wallets
		r := newRig(t, d, func(o *Options) {
			var err error
			sb, err = standins.StartWallets(context.Background(), standins.WalletOptions{NotifyBase: notify.URL,
				Logger: slog.New(slog.DiscardHandler), Now: o.Now, NotifySchedule: []time.Duration{10 * time.Millisecond}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(sb.Close)
			o.Wallets, o.Customer = sb.Connectors(), sb
			o.Confirm = map[api.Channel]ConfirmPolicy{api.Alipay: {Every: 5 * time.Millisecond, Tries: 3},
				api.WeChat: {Every: 5 * time.Millisecond, Tries: 3}}
			if tune != nil {
				tune(o)
			}
		})
		late.mu.Lock()
		late.to = r.srv
		late.mu.Unlock()
		notify.Config.Handler = sb.NotifyHandler(late)
		f(t, r, sb)
	})
}

// Payment codes end to end on the real protocols: paid at once, confirmed
// on the phone, and never confirmed: reversed at the wallet, nothing
// charged.
func TestBarcodeOnRealProtocols(t *testing.T) {
	onProtocols(t, func(t *testing.T, r *rig, sb *standins.Wallets) {
		ctx := context.Background()
		codes := map[api.Channel]string{api.Alipay: aliCode, api.WeChat: wxCode}
		for i, ch := range []api.Channel{api.Alipay, api.WeChat} {
			trace := func(n int) string { return "00" + string(rune('1'+i)) + "00" + string(rune('0'+n)) }
			o, err := r.barcode(ch, trace(1), codes[ch], 300)
			if err != nil || o.State != api.StateSuccess || o.TradeNo == "" {
				t.Fatalf("%s paid at once: %+v, %v", ch, o, err)
			}

			if err := sb.NextCode(ch, true); err != nil {
				t.Fatal(err)
			}
			o, err = r.barcode(ch, trace(2), codes[ch], 400)
			if err != nil || o.State != api.StatePending {
				t.Fatalf("%s waiting: %+v, %v", ch, o, err)
			}
			if err := sb.CustomerPays(ctx, ch, o.OutTradeNo); err != nil {
				t.Fatal(err)
			}
			if got := r.waitFinal(o); got.State != api.StateSuccess {
				t.Fatalf("%s confirmed: %+v", ch, got)
			}

			if err := sb.NextCode(ch, true); err != nil {
				t.Fatal(err)
			}
			o, err = r.barcode(ch, trace(3), codes[ch], 500)
			if err != nil || o.State != api.StatePending {
				t.Fatalf("%s waiting: %+v, %v", ch, o, err)
			}
			got := r.waitFinal(o)
			if got.State != api.StateClosed || got.Reason != api.ReasonNotConfirmed {
				t.Fatalf("%s never confirmed: %+v", ch, got)
			}
			st, err := sb.Connectors()[ch].Query(ctx, o.OutTradeNo)
			if err != nil || st.State != connector.WalletClosed {
				t.Fatalf("%s at the wallet after the reversal: %+v, %v", ch, st, err)
			}
			if err := sb.CustomerPays(ctx, ch, o.OutTradeNo); err == nil {
				t.Fatalf("%s: a reversed payment could still be confirmed", ch)
			}
		}
	})
}

// A QR order paid through the real protocols: the signed notification
// brings the result to the long-poll.
func TestQROnRealProtocols(t *testing.T) {
	onProtocols(t, func(t *testing.T, r *rig, sb *standins.Wallets) {
		for i, ch := range []api.Channel{api.Alipay, api.WeChat} {
			o := r.order(ch, "00000"+string(rune('1'+i)), 1234)
			if err := sb.CustomerPays(context.Background(), ch, o.OutTradeNo); err != nil {
				t.Fatal(err)
			}
			if got := r.waitFinal(o); got.State != api.StateSuccess || got.TradeNo == "" {
				t.Fatalf("%s: %+v", ch, got)
			}
		}
	})
}
