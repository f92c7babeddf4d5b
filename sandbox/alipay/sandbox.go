package alipay

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/multipos/multipos/money"
)

// DefaultNotifySchedule is Alipay's documented wait between notification
// attempts: eight attempts over about 25 hours.
var DefaultNotifySchedule = []time.Duration{
	4 * time.Minute, 10 * time.Minute, 10 * time.Minute,
	time.Hour, 2 * time.Hour, 6 * time.Hour, 15 * time.Hour,
}

// Options configures a Sandbox.
type Options struct {
	// AppID is the merchant application the sandbox serves; requests and
	// notifications carry it. Empty accepts any app_id.
	AppID string
	// AppPublicKey verifies the merchant's request signatures. Nil turns
	// request verification off (logged once at New).
	AppPublicKey *rsa.PublicKey
	// PrivateKey is "Alipay's" key: it signs responses and notifications.
	// A 2048-bit key is generated when nil; clients trust PublicKey().
	PrivateKey *rsa.PrivateKey
	// Now is the wall clock; Advance moves the sandbox's clock ahead of it.
	Now    func() time.Time
	Logger *slog.Logger
	// NotifySchedule is the wait before each retry of an unacknowledged
	// notification (default DefaultNotifySchedule; tests pass milliseconds).
	NotifySchedule []time.Duration
	// HTTPClient delivers notifications (default: a client with a 10 s timeout).
	HTTPClient *http.Client

	// SellerID is the merchant's Alipay user id (2088 and 12 digits), as
	// notifications and bills show it.
	SellerID string
	// PublicURL is the sandbox's base URL as clients reach it, for bill
	// download links; default: the scheme and Host of the request.
	PublicURL string
	// MaxClockSkew, when set, refuses requests whose timestamp (GMT+8) is
	// further than this from the sandbox's clock.
	MaxClockSkew time.Duration
	// EagerQRTrades creates a precreated trade at once. Alipay creates it
	// only when the customer scans the code: until then query, close and
	// refund answer ACQ.TRADE_NOT_EXIST, which is the default here too.
	EagerQRTrades bool
	// QRTimeout is how long an order stays payable when the request gives
	// neither timeout_express nor time_expire (default 2h).
	QRTimeout time.Duration
	// RefundWindow is how long a paid trade stays refundable before it
	// becomes TRADE_FINISHED (default 90 days).
	RefundWindow time.Duration
	// FeeBasisPoints is the service fee the bill shows (60 = 0.6%); 0: none.
	FeeBasisPoints int64
}

// Sandbox is a local stand-in for the Alipay open platform gateway. All its
// methods are safe for concurrent use.
type Sandbox struct {
	opts Options
	log  *slog.Logger
	key  *rsa.PrivateKey

	ctx    context.Context // ends at Close: stops retries and delays
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu          sync.Mutex
	closed      bool
	offset      time.Duration // Advance
	seq         int
	trades      map[string]*trade // by out_trade_no
	byTradeNo   map[string]*trade
	nextPay     []PayOutcome
	codes       map[string]PayOutcome // by auth_code
	faults      []Fault
	calls       map[string]int
	bills       map[string]*billFile // by fileId
	billEdits   map[string]billEdit  // by "yyyy-MM-dd/out_trade_no"
	corruptBill int                  // downloads still to truncate
	notes       noteState
}

// New starts a sandbox. Close it to stop its notification retries.
func New(opts Options) *Sandbox {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.NotifySchedule == nil {
		opts.NotifySchedule = DefaultNotifySchedule
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.SellerID == "" {
		opts.SellerID = "2088000000000156"
	}
	if opts.QRTimeout <= 0 {
		opts.QRTimeout = 2 * time.Hour
	}
	if opts.RefundWindow <= 0 {
		opts.RefundWindow = 90 * 24 * time.Hour
	}
	log := opts.Logger.With("component", "alipay-sandbox")
	key := opts.PrivateKey
	if key == nil {
		var err error
		if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(fmt.Sprintf("alipay sandbox: generate key: %v", err)) // only if the system has no randomness
		}
	}
	if opts.AppPublicKey == nil {
		log.Warn("no app public key: request signatures are not checked")
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Sandbox{opts: opts, log: log, key: key, ctx: ctx, cancel: cancel,
		trades: map[string]*trade{}, byTradeNo: map[string]*trade{}, codes: map[string]PayOutcome{},
		calls: map[string]int{}, bills: map[string]*billFile{}, billEdits: map[string]billEdit{}}
	s.wg.Add(1)
	go s.janitor()
	return s
}

// Close stops notification retries and background work and waits for them.
func (s *Sandbox) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
}

// PublicKey is the key clients load to verify the sandbox's responses and
// notifications (smartwalle: LoadAliPayPublicKey(PublicKeyPEM())).
func (s *Sandbox) PublicKey() *rsa.PublicKey { return &s.key.PublicKey }

// PublicKeyPEM is PublicKey as a PKIX "PUBLIC KEY" PEM block.
func (s *Sandbox) PublicKeyPEM() []byte {
	der, err := x509.MarshalPKIXPublicKey(&s.key.PublicKey)
	if err != nil {
		panic(err) // an RSA public key always marshals
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// Handler serves the gateway (/gateway.do), bill downloads
// (/downloadBillFile.resource) and the control API (/control/...).
func (s *Sandbox) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /gateway.do", s.gateway)
	mux.HandleFunc("GET /gateway.do", s.gateway)
	mux.HandleFunc("GET /downloadBillFile.resource", s.downloadBill)
	s.controlRoutes(mux)
	return mux
}

// Now is the sandbox's clock: Options.Now moved ahead by Advance.
func (s *Sandbox) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nowLocked()
}

func (s *Sandbox) nowLocked() time.Time { return s.opts.Now().Add(s.offset) }

// Advance moves the sandbox's clock ahead, so that orders expire and paid
// trades finish without waiting; what that changes is notified at once.
func (s *Sandbox) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d > 0 {
		s.offset += d
	}
	s.sweepLocked()
}

// janitor makes time-driven changes (expiry, refund window) happen, and
// get notified, even when nobody asks about the trade.
func (s *Sandbox) janitor() {
	defer s.wg.Done()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-tick.C:
			s.mu.Lock()
			s.sweepLocked()
			now := s.nowLocked()
			for id, b := range s.bills {
				if now.After(b.expires) {
					delete(s.bills, id)
				}
			}
			s.mu.Unlock()
		}
	}
}

func (s *Sandbox) sweepLocked() {
	for _, t := range s.trades {
		s.ageLocked(t)
	}
}

// Calls counts the gateway calls per method, including refused ones.
func (s *Sandbox) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		m[k] = v
	}
	return m
}

// cst is GMT+8, the zone of every Alipay timestamp. A fixed zone, so that
// the sandbox does not depend on the system's tzdata.
var cst = time.FixedZone("CST", 8*3600)

const timeLayout = "2006-01-02 15:04:05"

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(cst).Format(timeLayout)
}

func yuan(f money.Fen) string { return f.String() }
