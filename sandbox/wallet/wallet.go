package wallet

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/multipos/multipos/server/connector"
)

// Brand is which wallet the stand-in plays.
type Brand string

const (
	Alipay Brand = "alipay"
	WeChat Brand = "wechat"
)

// Errors the real services answer with, beyond those of package connector.
var (
	ErrTradeClosed   = errors.New("trade closed")                              // ACQ.TRADE_HAS_CLOSE / ORDER_CLOSED
	ErrInconsistent  = errors.New("out_trade_no reused with other parameters") // ACQ.CONTEXT_INCONSISTENT / OUT_TRADE_NO_USED
	ErrTradeDeclined = errors.New("trade declined by the customer")            // the customer refused on the phone
	ErrBadRequest    = errors.New("invalid request")                           // missing or malformed parameters
)

// Op names a call, for the fault hooks and the call counters.
type Op string

const (
	OpPrecreate Op = "precreate"
	OpQuery     Op = "query"
	OpClose     Op = "close"
)

// Options tunes the stand-in.
type Options struct {
	Now    func() time.Time // default time.Now
	Logger *slog.Logger     // default slog.Default()
	// RetryMin and RetryMax bound the back-off between notification
	// attempts (default 100ms and 30s; the real services wait longer).
	RetryMin, RetryMax time.Duration
}

type trade struct {
	outTradeNo string
	amount     int64
	subject    string
	terminalID string
	qr         string
	state      connector.WalletState
	tradeNo    string
	expiresAt  time.Time
	paidAt     time.Time
	// Customer-presented codes.
	barcode  bool
	code     [32]byte // the code's digest: a retried call must bring the same code
	reason   string   // why it was declined
	refunded int64
	refunds  map[string]int64 // out_refund_no → fen
}

func codeDigest(code string) [32]byte { return sha256.Sum256([]byte(code)) }

type fault struct {
	err   error
	after bool // act, then lose the reply
}

// Wallet is one wallet service. It is safe for concurrent use.
type Wallet struct {
	brand Brand
	opts  Options
	log   *slog.Logger

	mu       sync.Mutex
	trades   map[string]*trade
	seq      int
	calls    map[Op]int
	faults   map[Op][]fault
	notifier connector.Notifier
	held     bool
	queued   []connector.Notification
	stopped  bool
	codes    []CodeBehaviour // how the next scanned codes behave

	ctx  context.Context // cancelled by Stop
	stop context.CancelFunc
	wg   sync.WaitGroup
}

// New starts a stand-in for brand (Alipay or WeChat; anything else is a
// programming error and panics). Call Stop to end its notification deliveries.
func New(brand Brand, opts Options) *Wallet {
	if brand != Alipay && brand != WeChat {
		panic(fmt.Sprintf("wallet: unknown brand %q", brand))
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.RetryMin <= 0 {
		opts.RetryMin = 100 * time.Millisecond
	}
	if opts.RetryMax < opts.RetryMin {
		opts.RetryMax = max(30*time.Second, opts.RetryMin)
	}
	ctx, stop := context.WithCancel(context.Background())
	return &Wallet{
		brand: brand, opts: opts, log: opts.Logger.With("sandbox", string(brand)),
		trades: map[string]*trade{}, calls: map[Op]int{}, faults: map[Op][]fault{},
		ctx: ctx, stop: stop,
	}
}

// Brand returns which wallet this is.
func (w *Wallet) Brand() Brand { return w.brand }

// SetNotifier sets where payment results are sent.
func (w *Wallet) SetNotifier(n connector.Notifier) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.notifier = n
}

// Stop ends notification deliveries still being retried and waits for them.
func (w *Wallet) Stop() {
	w.mu.Lock()
	w.stopped = true // no delivery starts after this, so Wait below is final
	w.mu.Unlock()
	w.stop()
	w.wg.Wait()
}

// Precreate registers a QR order. Replaying it with the same out_trade_no and
// amount returns the same code, as the real services do.
func (w *Wallet) Precreate(ctx context.Context, req connector.Precreate) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("%s precreate: %w: %w", w.brand, connector.ErrUnknownOutcome, err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	f, faulty := w.enter(OpPrecreate)
	if faulty && !f.after {
		return "", fmt.Errorf("%s precreate %s: %w", w.brand, req.OutTradeNo, f.err)
	}
	if err := checkPrecreate(w.brand, req); err != nil {
		return "", fmt.Errorf("%s precreate %s: %w", w.brand, req.OutTradeNo, err)
	}
	t, ok := w.trades[req.OutTradeNo]
	if ok {
		w.expire(t)
		switch {
		case t.amount != req.Amount:
			return "", fmt.Errorf("%s precreate %s: %w", w.brand, req.OutTradeNo, ErrInconsistent)
		case t.state == connector.WalletPaid:
			return "", fmt.Errorf("%s precreate %s: %w", w.brand, req.OutTradeNo, connector.ErrAlreadyPaid)
		case t.state != connector.WalletWaiting:
			return "", fmt.Errorf("%s precreate %s: %w", w.brand, req.OutTradeNo, ErrTradeClosed)
		}
	} else {
		t = &trade{outTradeNo: req.OutTradeNo, amount: req.Amount, subject: req.Subject, terminalID: req.TerminalID,
			qr: qrContent(w.brand, req.OutTradeNo), state: connector.WalletWaiting, expiresAt: req.ExpiresAt}
		w.trades[req.OutTradeNo] = t
	}
	if faulty {
		return "", fmt.Errorf("%s precreate %s: %w", w.brand, req.OutTradeNo, f.err)
	}
	return t.qr, nil
}

func checkPrecreate(b Brand, req connector.Precreate) error {
	switch {
	case req.OutTradeNo == "" || len(req.OutTradeNo) > 32:
		return fmt.Errorf("%w: out_trade_no must be 1 to 32 characters", ErrBadRequest)
	case req.Amount <= 0 || req.Amount > 10_000_000_000: // Alipay's [0.01, 100000000] yuan
		return fmt.Errorf("%w: amount %d fen out of range", ErrBadRequest, req.Amount)
	}
	for _, r := range req.OutTradeNo {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_' || r == '-') {
			return fmt.Errorf("%w: out_trade_no %q has %q", ErrBadRequest, req.OutTradeNo, r)
		}
	}
	return nil
}

// Query returns the trade's state; ErrNotFound when it was never created.
func (w *Wallet) Query(ctx context.Context, outTradeNo string) (connector.WalletStatus, error) {
	if err := ctx.Err(); err != nil {
		return connector.WalletStatus{}, fmt.Errorf("%s query: %w: %w", w.brand, connector.ErrUnknownOutcome, err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if f, faulty := w.enter(OpQuery); faulty {
		return connector.WalletStatus{}, fmt.Errorf("%s query %s: %w", w.brand, outTradeNo, f.err)
	}
	t, ok := w.trades[outTradeNo]
	if !ok {
		return connector.WalletStatus{}, fmt.Errorf("%s query %s: %w", w.brand, outTradeNo, connector.ErrNotFound)
	}
	w.expire(t)
	return t.status(), nil
}

// Close closes an unpaid trade. Closing a closed or declined trade succeeds;
// a paid one answers ErrAlreadyPaid.
func (w *Wallet) Close(ctx context.Context, outTradeNo string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s close: %w: %w", w.brand, connector.ErrUnknownOutcome, err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	f, faulty := w.enter(OpClose)
	if faulty && !f.after {
		return fmt.Errorf("%s close %s: %w", w.brand, outTradeNo, f.err)
	}
	t, ok := w.trades[outTradeNo]
	if !ok {
		return fmt.Errorf("%s close %s: %w", w.brand, outTradeNo, connector.ErrNotFound)
	}
	if t.state == connector.WalletPaid {
		return fmt.Errorf("%s close %s: %w", w.brand, outTradeNo, connector.ErrAlreadyPaid)
	}
	t.state = connector.WalletClosed
	if faulty {
		return fmt.Errorf("%s close %s: %w", w.brand, outTradeNo, f.err)
	}
	return nil
}

// expire closes a waiting trade whose code has run out, as the services do
// on their own. Called with w.mu held.
func (w *Wallet) expire(t *trade) {
	if t.state == connector.WalletWaiting && !t.expiresAt.IsZero() && w.opts.Now().After(t.expiresAt) {
		t.state = connector.WalletClosed
	}
}

func (t *trade) status() connector.WalletStatus {
	return connector.WalletStatus{OutTradeNo: t.outTradeNo, TradeNo: t.tradeNo, State: t.state, Amount: t.amount, PaidAt: t.paidAt,
		Reason: t.reason, Refunded: t.state == connector.WalletClosed && t.refunded == t.amount}
}

// qrContent is the code the customer scans, in the wallet's real shape and
// the same for the same out_trade_no.
func qrContent(b Brand, outTradeNo string) string {
	sum := sha256.Sum256([]byte(string(b) + "/" + outTradeNo))
	if b == Alipay {
		return "https://qr.alipay.com/bax0" + encode(sum[:], "0123456789abcdefghijklmnopqrstuvwxyz", 20)
	}
	return "weixin://wxpay/bizpayurl?pr=" + encode(sum[:], "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", 7)
}

func encode(b []byte, alphabet string, n int) string {
	out := make([]byte, n)
	for i := range out {
		out[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(out)
}
