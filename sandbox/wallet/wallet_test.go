package wallet

import (
	"context"
	"errors"
	"log/slog"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/multipos/multipos/server/connector"
)

// recorder is a Notifier that refuses the first `refuse` deliveries and
// passes the others to a channel.
type recorder struct {
	mu     sync.Mutex
	refuse int
	calls  int
	got    chan connector.Notification
}

func newRecorder(refuse int) *recorder {
	return &recorder{refuse: refuse, got: make(chan connector.Notification, 16)}
}

func (r *recorder) Notify(_ context.Context, n connector.Notification) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.calls <= r.refuse {
		return errors.New("not now")
	}
	r.got <- n
	return nil
}

func (r *recorder) next(t *testing.T) connector.Notification {
	t.Helper()
	select {
	case n := <-r.got:
		return n
	case <-time.After(5 * time.Second):
		t.Fatal("no notification")
		return connector.Notification{}
	}
}

var quiet = slog.New(slog.DiscardHandler)

func newWallet(t *testing.T, b Brand, now func() time.Time) *Wallet {
	t.Helper()
	w := New(b, Options{Now: now, Logger: quiet, RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond})
	t.Cleanup(w.Stop)
	return w
}

func precreate(t *testing.T, w *Wallet, no string, amount int64) string {
	t.Helper()
	qr, err := w.Precreate(context.Background(), connector.Precreate{OutTradeNo: no, Amount: amount, Subject: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return qr
}

func TestQRShapes(t *testing.T) {
	ali := newWallet(t, Alipay, nil)
	wx := newWallet(t, WeChat, nil)
	a1 := precreate(t, ali, "T1202503011000000001", 100)
	a2 := precreate(t, ali, "T1202503011000000002", 100)
	w1 := precreate(t, wx, "T1202503011000000001", 100)
	if !regexp.MustCompile(`^https://qr\.alipay\.com/bax0[0-9a-z]{20}$`).MatchString(a1) {
		t.Errorf("alipay QR %q", a1)
	}
	if !regexp.MustCompile(`^weixin://wxpay/bizpayurl\?pr=[0-9A-Za-z]{7}$`).MatchString(w1) {
		t.Errorf("wechat QR %q", w1)
	}
	if a1 == a2 {
		t.Error("two orders share a code")
	}
	if again := precreate(t, ali, "T1202503011000000001", 100); again != a1 {
		t.Errorf("replayed precreate gave %q, want %q", again, a1)
	}
	if qrContent(Alipay, "T1202503011000000001") != a1 {
		t.Error("QR content is not deterministic")
	}
}

func TestPrecreateRules(t *testing.T) {
	w := newWallet(t, Alipay, nil)
	ctx := context.Background()
	precreate(t, w, "A1", 100)
	if _, err := w.Precreate(ctx, connector.Precreate{OutTradeNo: "A1", Amount: 200}); !errors.Is(err, ErrInconsistent) {
		t.Errorf("other amount: %v", err)
	}
	for _, bad := range []connector.Precreate{{OutTradeNo: "", Amount: 1}, {OutTradeNo: "A 2", Amount: 1},
		{OutTradeNo: "A3", Amount: 0}, {OutTradeNo: "A45678901234567890123456789012345", Amount: 1}} {
		if _, err := w.Precreate(ctx, bad); !errors.Is(err, ErrBadRequest) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	if err := w.CustomerPay(ctx, "A1"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Precreate(ctx, connector.Precreate{OutTradeNo: "A1", Amount: 100}); !errors.Is(err, connector.ErrAlreadyPaid) {
		t.Errorf("precreate after pay: %v", err)
	}
}

func TestPayNotifiesAndRetries(t *testing.T) {
	w := newWallet(t, WeChat, nil)
	rec := newRecorder(2)
	w.SetNotifier(rec)
	ctx := context.Background()
	precreate(t, w, "W1", 2500)
	if err := w.CustomerPay(ctx, "W1"); err != nil {
		t.Fatal(err)
	}
	n := rec.next(t)
	if n.Channel != "wechat" || n.OutTradeNo != "W1" || n.State != connector.WalletPaid || n.Amount != 2500 ||
		!regexp.MustCompile(`^4200\d{24}$`).MatchString(n.TradeNo) {
		t.Fatalf("notification %+v", n)
	}
	rec.mu.Lock()
	calls := rec.calls
	rec.mu.Unlock()
	if calls != 3 {
		t.Fatalf("delivered after %d attempts, want 3", calls)
	}
	st, err := w.Query(ctx, "W1")
	if err != nil || st.State != connector.WalletPaid || st.TradeNo != n.TradeNo || st.PaidAt.IsZero() {
		t.Fatalf("query = %+v, %v", st, err)
	}
	if err := w.Close(ctx, "W1"); !errors.Is(err, connector.ErrAlreadyPaid) {
		t.Fatalf("close paid: %v", err)
	}
	if err := w.CustomerPay(ctx, "W1"); !errors.Is(err, connector.ErrAlreadyPaid) {
		t.Fatalf("pay twice: %v", err)
	}
}

func TestDeclineAndClose(t *testing.T) {
	w := newWallet(t, Alipay, nil)
	rec := newRecorder(0)
	w.SetNotifier(rec)
	ctx := context.Background()
	precreate(t, w, "D1", 100)
	if err := w.Decline(ctx, "D1"); err != nil {
		t.Fatal(err)
	}
	if n := rec.next(t); n.State != connector.WalletDeclined || n.TradeNo != "" {
		t.Fatalf("notification %+v", n)
	}
	if err := w.CustomerPay(ctx, "D1"); !errors.Is(err, ErrTradeDeclined) {
		t.Fatalf("pay declined: %v", err)
	}
	precreate(t, w, "C1", 100)
	if err := w.Close(ctx, "C1"); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx, "C1"); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if st, _ := w.Query(ctx, "C1"); st.State != connector.WalletClosed {
		t.Fatalf("closed trade is %s", st.State)
	}
	if err := w.CustomerPay(ctx, "C1"); !errors.Is(err, ErrTradeClosed) {
		t.Fatalf("pay closed: %v", err)
	}
	if _, err := w.Query(ctx, "none"); !errors.Is(err, connector.ErrNotFound) {
		t.Fatalf("query unknown: %v", err)
	}
	if err := w.Close(ctx, "none"); !errors.Is(err, connector.ErrNotFound) {
		t.Fatalf("close unknown: %v", err)
	}
}

func TestExpiry(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	w := newWallet(t, Alipay, clock)
	ctx := context.Background()
	if _, err := w.Precreate(ctx, connector.Precreate{OutTradeNo: "E1", Amount: 1, ExpiresAt: now.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if st, _ := w.Query(ctx, "E1"); st.State != connector.WalletWaiting {
		t.Fatalf("fresh trade is %s", st.State)
	}
	mu.Lock()
	now = now.Add(time.Minute + time.Second)
	mu.Unlock()
	if st, _ := w.Query(ctx, "E1"); st.State != connector.WalletClosed {
		t.Fatalf("expired trade is %s", st.State)
	}
	if err := w.CustomerPay(ctx, "E1"); !errors.Is(err, ErrTradeClosed) {
		t.Fatalf("pay expired: %v", err)
	}
}

func TestFaults(t *testing.T) {
	w := newWallet(t, Alipay, nil)
	ctx := context.Background()
	w.FailNext(OpPrecreate, connector.ErrUnknownOutcome)
	if _, err := w.Precreate(ctx, connector.Precreate{OutTradeNo: "F1", Amount: 1}); !errors.Is(err, connector.ErrUnknownOutcome) {
		t.Fatalf("fault: %v", err)
	}
	if _, err := w.Query(ctx, "F1"); !errors.Is(err, connector.ErrNotFound) {
		t.Fatalf("failed-before precreate left a trade: %v", err)
	}
	w.LoseNextReply(OpPrecreate)
	if _, err := w.Precreate(ctx, connector.Precreate{OutTradeNo: "F2", Amount: 1}); !errors.Is(err, connector.ErrUnknownOutcome) {
		t.Fatalf("lost reply: %v", err)
	}
	if st, err := w.Query(ctx, "F2"); err != nil || st.State != connector.WalletWaiting {
		t.Fatalf("lost-reply precreate did not act: %+v %v", st, err)
	}
	if got := w.Calls(OpPrecreate); got != 2 {
		t.Fatalf("precreate calls = %d", got)
	}
}

func TestHeldNotificationsAndStop(t *testing.T) {
	w := New(Alipay, Options{RetryMin: time.Millisecond, Logger: quiet})
	rec := newRecorder(1 << 30) // never acknowledges
	w.SetNotifier(rec)
	ctx := context.Background()
	precreate(t, w, "H1", 1)
	w.HoldNotifications()
	if err := w.CustomerPay(ctx, "H1"); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	held := rec.calls
	rec.mu.Unlock()
	if held != 0 {
		t.Fatalf("held notification sent %d times", held)
	}
	w.ReleaseNotifications()
	done := make(chan struct{})
	go func() { w.Stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Stop did not end the retries")
	}
}
