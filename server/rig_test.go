package server

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/multipos/multipos/cards"
	"github.com/multipos/multipos/channels"
	"github.com/multipos/multipos/config"
	"github.com/multipos/multipos/sandbox/acquirer"
	"github.com/multipos/multipos/sandbox/wallet"
	"github.com/multipos/multipos/server/api"
	"github.com/multipos/multipos/server/connector"
	"github.com/multipos/multipos/server/store"
)

const ttl = 2 * time.Minute

var pinKeys = map[string]string{
	"T1": "0123456789ABCDEFFEDCBA9876543210",
	"T2": "FEDCBA98765432100123456789ABCDEF",
}

// clock is a settable clock shared by the server and the stand-ins.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// logBuffer collects the server's log lines for leak checks.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// rig is a real server on a temporary SQLite file, behind httptest, with the
// sandbox wallets and bank as its connectors.
type rig struct {
	t      *testing.T
	srv    *Server
	ali    *wallet.Wallet
	wx     *wallet.Wallet
	bank   *acquirer.Acquirer
	clock  *clock
	logs   *logBuffer
	url    string
	dbPath string
}

func newRig(t *testing.T, mod func(*Options)) *rig {
	t.Helper()
	ctx := context.Background()
	r := &rig{t: t, logs: &logBuffer{},
		// 23:00 in China: a day boundary is an hour away, as it is for real shops.
		clock: &clock{now: time.Date(2026, 3, 1, 23, 0, 0, 0, time.FixedZone("CST", 8*3600))}}
	r.dbPath = filepath.Join(t.TempDir(), "posserver.db")
	st, err := store.Open(ctx, r.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	wopts := wallet.Options{Now: r.clock.Now, Logger: log, RetryMin: time.Millisecond, RetryMax: 20 * time.Millisecond}
	r.ali, r.wx = wallet.New(wallet.Alipay, wopts), wallet.New(wallet.WeChat, wopts)
	r.bank = acquirer.New(acquirer.Options{Now: r.clock.Now, Logger: log, PINKey: func(tid string) ([]byte, bool) {
		k, ok := pinKeys[tid]
		b, _ := hex.DecodeString(k)
		return b, ok
	}})
	opts := Options{
		Store:     st,
		Wallets:   map[api.Channel]connector.Wallet{api.Alipay: r.ali, api.WeChat: r.wx},
		Acquirer:  r.bank,
		Merchant:  config.Merchant{ID: "898310048160001", Name: "多通道测试店"},
		Terminals: []config.TerminalEntry{{ID: "T1", PINKey: pinKeys["T1"]}, {ID: "T2", PINKey: pinKeys["T2"]}},
		QRTTL:     ttl,
		Now:       r.clock.Now,
		Logger:    log,
		Demo:      true,
	}
	if mod != nil {
		mod(&opts)
	}
	r.srv, err = New(opts)
	if err != nil {
		t.Fatal(err)
	}
	r.ali.SetNotifier(r.srv)
	r.wx.SetNotifier(r.srv)
	hs := httptest.NewServer(r.srv.Handler())
	r.url = hs.URL
	t.Cleanup(func() {
		hs.Close()
		r.ali.Stop()
		r.wx.Stop()
		st.Close()
	})
	return r
}

func (r *rig) client(tid string) *channels.Client {
	return channels.NewClient(r.url, tid, nil)
}

// order creates a wallet order on T1 and checks it is PENDING.
func (r *rig) order(ch api.Channel, trace string, amount int64) api.Order {
	r.t.Helper()
	o, err := r.client("T1").CreateWalletOrder(context.Background(), api.CreateWalletOrder{Trace: trace, Channel: ch, Amount: amount})
	if err != nil {
		r.t.Fatal(err)
	}
	if o.State != api.StatePending {
		r.t.Fatalf("new order is %s: %+v", o.State, o)
	}
	return o
}

// wait long-polls until the order passes version after (or 10 s).
func (r *rig) wait(tid string, o api.Order) api.Order {
	r.t.Helper()
	got, err := r.client(tid).WaitOrder(context.Background(), o.ID, o.Version, 10*time.Second)
	if err != nil {
		r.t.Fatal(err)
	}
	return got
}

func (r *rig) history(id string) []api.State {
	r.t.Helper()
	h, err := r.srv.History(context.Background(), id)
	if err != nil {
		r.t.Fatal(err)
	}
	var out []api.State
	for _, tr := range h {
		out = append(out, tr.To)
	}
	return out
}

// apiErr returns the *api.Error in err, failing the test if there is none.
func apiErr(t *testing.T, err error) *api.Error {
	t.Helper()
	var e *api.Error
	if !errors.As(err, &e) {
		t.Fatalf("want an *api.Error, got %v", err)
	}
	return e
}

func sameStates(a, b []api.State) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// cardSale builds a sale with a test card and a PIN encrypted under the key
// of terminal keyOf.
func cardSale(t *testing.T, id, pin, keyOf, trace string, amount int64) api.CardSale {
	t.Helper()
	var c acquirer.TestCard
	for _, tc := range acquirer.TestCards() {
		if tc.ID == id {
			c = tc
		}
	}
	if c.PAN == "" {
		c = acquirer.TestCard{PAN: id, Expiry: "3012"} // a number the bank does not know
	}
	key, _ := hex.DecodeString(pinKeys[keyOf])
	blk, err := cards.EncryptPIN(key, []byte(pin), c.PAN)
	if err != nil {
		t.Fatal(err)
	}
	return api.CardSale{Trace: trace, Amount: amount, PAN: c.PAN, Expiry: c.Expiry, Track2: c.Track2,
		Entry: "chip", PINBlock: hex.EncodeToString(blk[:])}
}
