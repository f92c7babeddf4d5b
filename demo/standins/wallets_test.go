package standins

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/server/connector"
)

type notes struct {
	mu  sync.Mutex
	got []connector.Notification
}

func (n *notes) Notify(_ context.Context, x connector.Notification) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.got = append(n.got, x)
	return nil
}

func (n *notes) paid(no string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, x := range n.got {
		if x.OutTradeNo == no && x.State == connector.WalletPaid {
			return true
		}
	}
	return false
}

// The connectors, through the real SDKs, against the sandboxes, with
// notifications coming back signed (and for WeChat encrypted) to the notify
// handlers: the whole of what demo mode runs on.
func TestWalletsEndToEnd(t *testing.T) {
	ctx := context.Background()
	rec := &notes{}
	var w *Wallets
	notify := httptest.NewServer(nil)
	defer notify.Close()
	w, err := StartWallets(ctx, WalletOptions{NotifyBase: notify.URL, Logger: slog.New(slog.DiscardHandler),
		NotifySchedule: []time.Duration{10 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	notify.Config.Handler = w.NotifyHandler(rec)

	for i, ch := range []api.Channel{api.Alipay, api.WeChat} {
		conn := w.Connectors()[ch]
		no := "SB" + time.Now().Format("150405") + string(rune('A'+i))
		qr, err := conn.Precreate(ctx, connector.Precreate{OutTradeNo: no, Amount: 1234, Subject: "test",
			TerminalID: "T1", ExpiresAt: time.Now().Add(2 * time.Minute)})
		if err != nil || qr == "" {
			t.Fatalf("%s precreate: %q, %v", ch, qr, err)
		}
		if err := w.CustomerPays(ctx, ch, no); err != nil {
			t.Fatalf("%s pay: %v", ch, err)
		}
		for deadline := time.Now().Add(5 * time.Second); !rec.paid(no); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: no verified notification for %s", ch, no)
			}
		}
		if st, err := conn.Query(ctx, no); err != nil || st.State != connector.WalletPaid || st.Amount != 1234 {
			t.Fatalf("%s query: %+v, %v", ch, st, err)
		}

		// A payment code the customer confirms on the phone.
		bw := conn.(connector.BarcodeWallet)
		if err := w.NextCode(ch, true); err != nil {
			t.Fatal(err)
		}
		code := map[api.Channel]string{api.Alipay: "281234567890123456", api.WeChat: "134567890123456789"}[ch]
		st, err := bw.Pay(ctx, connector.BarcodePay{OutTradeNo: no + "B", AuthCode: code, Amount: 500, Subject: "test", TerminalID: "T1"})
		if err != nil || st.State != connector.WalletPaying {
			t.Fatalf("%s code pay: %+v, %v", ch, st, err)
		}
		if err := w.CustomerPays(ctx, ch, no+"B"); err != nil {
			t.Fatalf("%s confirm: %v", ch, err)
		}
		if st, err := conn.Query(ctx, no+"B"); err != nil || st.State != connector.WalletPaid {
			t.Fatalf("%s after confirming: %+v, %v", ch, st, err)
		}
	}
}
