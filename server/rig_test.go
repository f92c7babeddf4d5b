package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/bundle"
	"github.com/multipos/multipos/demo/standins"
	"github.com/multipos/multipos/posclient"
	"github.com/multipos/multipos/sandbox/acquirer"
	"github.com/multipos/multipos/sandbox/wallet"
	"github.com/multipos/multipos/server/connector"
	"github.com/multipos/multipos/server/connector/bank"
	"github.com/multipos/multipos/server/metrics"
	"github.com/multipos/multipos/server/pki"
	"github.com/multipos/multipos/server/store"
	"github.com/multipos/multipos/server/store/storetest"
)

const ttl = 2 * time.Minute

// rigSignOnTrace is the trace the rig's terminals sign on with: below the
// tests' own (a station counts from 000001), so that the next trace free
// in the batch is what the test's own traces make it.
const rigSignOnTrace = "000000"

// The chain the rig provisions: T1 and T2 in store S1 of merchant M1, T3
// in store S2 of merchant M2.
const (
	m1, m1Name = "898310048160001", "多通道测试店"
	m2, m2Name = "898310048160002", "另一家店"
)

var terminals = []bundle.Identity{
	{TerminalID: "T1", MerchantID: m1, StoreID: "S1"},
	{TerminalID: "T2", MerchantID: m1, StoreID: "S1"},
	{TerminalID: "T3", MerchantID: m2, StoreID: "S2"},
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

// newClock starts at 23:00 in China: a day boundary is an hour away, as it
// is for real shops.
func newClock() *clock {
	return &clock{now: time.Date(2026, 3, 1, 23, 0, 0, 0, time.FixedZone("CST", 8*3600))}
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

// rig is a real server on a fresh store, behind an httptest TLS server that
// asks for terminal certificates, with the sandbox wallets and bank as its
// connectors and terminals T1, T2 (merchant M1) and T3 (merchant M2)
// provisioned through Provision.
type rig struct {
	t       *testing.T
	d       store.Dialect
	dsn     string
	st      *store.Store
	ca      *pki.Authority
	srv     *Server
	met     *metrics.Metrics
	ali, wx *wallet.Wallet
	bank    *acquirer.Host // the stand-in bank, on a socket
	link    *bank.Client   // the server's ISO 8583 link to it
	keys    *Keyring
	clock   *clock
	logs    *logBuffer
	url     string
	bundles map[string]bundle.Bundle

	mu      sync.Mutex
	clients map[string]*posclient.Client
	raw     map[string]*http.Client
	card    map[string]*posclient.CardKeys
}

func newRig(t *testing.T, d store.Dialect, mod func(*Options)) *rig {
	t.Helper()
	r := &rig{t: t, d: d, logs: &logBuffer{}, clock: newClock(), clients: map[string]*posclient.Client{}, raw: map[string]*http.Client{}, card: map[string]*posclient.CardKeys{}}
	r.dsn = storetest.DSN(t, d)
	r.st = storetest.OpenDSN(t, r.dsn)
	r.ca = newAuthority(t)
	logger := slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r.keys = NewKeyring(r.st, r.ca)
	r.ali, r.wx = standIns(t, r.clock, logger)
	r.bank, r.link = startBank(t, r.clock, logger, r.keys)
	r.met = metrics.New()
	opts := Options{
		Store:    r.st,
		Wallets:  map[api.Channel]connector.Wallet{api.Alipay: r.ali, api.WeChat: r.wx},
		Acquirer: r.link,
		Keys:     r.keys,
		QRTTL:    ttl,
		Now:      r.clock.Now,
		Logger:   logger,
		Metrics:  r.met,
		Demo:     true,
		Instance: "rig",
	}
	if mod != nil {
		mod(&opts)
	}
	var err error
	if r.srv, err = New(opts); err != nil {
		t.Fatal(err)
	}
	r.ali.SetNotifier(r.srv)
	r.wx.SetNotifier(r.srv)
	r.url = serveTLS(t, r.srv.Handler(), r.ca)
	r.bundles = provision(t, r.st, r.ca, r.url, r.clock.Now())
	// Every terminal signs on for card payments first, as a till does when
	// it starts; a test's faults at the bank then hit what it meant.
	for _, id := range terminals {
		r.client(id.TerminalID)
	}
	return r
}

func newAuthority(t *testing.T) *pki.Authority {
	t.Helper()
	ca, err := pki.NewMemory([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// standIns builds the sandbox wallets.
func standIns(t *testing.T, c *clock, logger *slog.Logger) (ali, wx *wallet.Wallet) {
	wopts := wallet.Options{Now: c.Now, Logger: logger, RetryMin: time.Millisecond, RetryMax: 20 * time.Millisecond}
	ali, wx = wallet.New(wallet.Alipay, wopts), wallet.New(wallet.WeChat, wopts)
	t.Cleanup(func() {
		ali.Stop()
		wx.Stop()
	})
	return ali, wx
}

// startBank starts the stand-in bank on a loopback socket and the server's
// link to it; the bank knows the terminals' master keys from the keyring,
// as posserver's demo mode wires it.
func startBank(t *testing.T, c *clock, logger *slog.Logger, keys *Keyring) (*acquirer.Host, *bank.Client) {
	t.Helper()
	b, err := standins.StartBank(context.Background(), standins.BankOptions{MasterKey: keys.MasterKey, Lookup: keys.BankLookup,
		Timeout: time.Second, Now: c.Now, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b.Host, b.Client
}

// dialBank opens another link to the same stand-in bank (a second server
// instance's).
func dialBank(t *testing.T, h *acquirer.Host, addr string, keys *Keyring) *bank.Client {
	t.Helper()
	c, err := bank.Dial(context.Background(), bank.Config{Addr: addr, Terminal: bank.Terminal{Batch: acquirer.Batch},
		Timeout: time.Second, Lookup: keys.BankLookup})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// signOn signs terminal tid on through c and makes c sign and check card
// requests with the keys, which it returns.
func signOn(t *testing.T, c *posclient.Client, b bundle.Bundle, trace string) *posclient.CardKeys {
	t.Helper()
	k := posclient.NewCardKeys(b.MasterKey)
	res, err := c.CardSignOn(context.Background(), trace, false)
	if err != nil {
		t.Fatalf("sign-on of %s: %v", b.TerminalID, err)
	}
	if err := k.Install(res); err != nil {
		t.Fatalf("sign-on of %s: %v", b.TerminalID, err)
	}
	c.UseCardKeys(k)
	return k
}

// serveTLS serves h over mutual TLS with the authority's server
// certificate and returns its https://127.0.0.1:port URL.
func serveTLS(t *testing.T, h http.Handler, ca *pki.Authority) string {
	t.Helper()
	hs := httptest.NewUnstartedServer(h)
	hs.TLS = ca.ServerTLSConfig()
	hs.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	hs.StartTLS()
	t.Cleanup(hs.Close)
	if !strings.HasPrefix(hs.URL, "https://127.0.0.1:") {
		t.Fatalf("server URL %s", hs.URL)
	}
	return hs.URL
}

// provision registers the rig's terminals and returns their bundles.
func provision(t *testing.T, st *store.Store, ca *pki.Authority, url string, now time.Time) map[string]bundle.Bundle {
	t.Helper()
	out := map[string]bundle.Bundle{}
	for _, id := range terminals {
		name := m1Name
		if id.MerchantID == m2 {
			name = m2Name
		}
		b, err := Provision(context.Background(), st, ca, id, name, url, now)
		if err != nil {
			t.Fatal(err)
		}
		if b.Server != url || len(b.MasterKey) != 16 {
			t.Fatalf("bundle of %s: server %q, key of %d bytes", id.TerminalID, b.Server, len(b.MasterKey))
		}
		out[id.TerminalID] = b
	}
	return out
}

// client returns the terminal's API client, built from its bundle.
func (r *rig) client(tid string) *posclient.Client {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if c := r.clients[tid]; c != nil {
		return c
	}
	c, err := posclient.FromBundle(r.bundles[tid], r.url)
	if err != nil {
		r.t.Fatal(err)
	}
	r.clients[tid] = c
	r.card[tid] = signOn(r.t, c, r.bundles[tid], rigSignOnTrace)
	return c
}

// order creates a wallet order on T1 and checks it is PENDING.
func (r *rig) order(ch api.Channel, trace string, amount int64) api.Order {
	r.t.Helper()
	return r.orderOn("T1", ch, trace, amount)
}

func (r *rig) orderOn(tid string, ch api.Channel, trace string, amount int64) api.Order {
	r.t.Helper()
	o, err := r.client(tid).CreateWalletOrder(context.Background(), posclient.NewRequestID(),
		api.CreateWalletOrder{Trace: trace, Channel: ch, Amount: amount})
	if err != nil {
		r.t.Fatal(err)
	}
	if o.State != api.StatePending {
		r.t.Fatalf("new order is %s: %+v", o.State, o)
	}
	return o
}

// wait long-polls until the order passes its version (or 10 s).
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
	return statesOf(r.t, r.srv, id)
}

func statesOf(t *testing.T, srv *Server, id string) []api.State {
	t.Helper()
	h, err := srv.History(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []api.State
	for _, tr := range h {
		out = append(out, tr.To)
	}
	return out
}

// sweep runs one sweep and fails the test on an error.
func (r *rig) sweep() {
	r.t.Helper()
	if err := r.srv.Sweep(context.Background()); err != nil {
		r.t.Fatal(err)
	}
}

// httpClient is a plain HTTP client presenting the terminal's certificate,
// for requests posclient.Client would not send.
func (r *rig) httpClient(tid string) *http.Client {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if c := r.raw[tid]; c != nil {
		return c
	}
	c := tlsClient(r.t, r.bundles[tid])
	r.raw[tid] = c
	return c
}

func tlsClient(t *testing.T, b bundle.Bundle) *http.Client {
	t.Helper()
	tc, err := b.ClientTLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	return clientWith(t, tc)
}

func clientWith(t *testing.T, tc *tls.Config) *http.Client {
	tr := &http.Transport{TLSClientConfig: tc}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// post sends a POST as terminal tid under request id rid ("" for none) and
// returns the status and the body.
func (r *rig) post(tid, path, rid string, body any) (int, []byte) {
	r.t.Helper()
	status, data, err := r.tryPost(tid, path, rid, body)
	if err != nil {
		r.t.Fatal(err)
	}
	return status, data
}

// tryPost is post for goroutines other than the test's.
func (r *rig) tryPost(tid, path, rid string, body any) (int, []byte, error) {
	if s, ok := body.(api.CardSale); ok && s.MAC == "" {
		// As the terminal's client does: the sale carries its MAC.
		r.mu.Lock()
		k := r.card[tid]
		r.mu.Unlock()
		if k != nil {
			if err := k.Sign(&s); err != nil {
				return 0, nil, err
			}
			body = s
		}
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(http.MethodPost, r.url+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if rid != "" {
		req.Header.Set(api.IdempotencyHeader, rid)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.httpClient(tid).Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
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

// errCode is the error code of an error body.
func errCode(t *testing.T, body []byte) string {
	t.Helper()
	var e api.Error
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	return e.Code
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

// cardSale builds a sale with a test card and a PIN encrypted under the
// PIN working key of terminal keyOf (signed on when first used). The
// client that sends it adds its own MAC.
func (r *rig) cardSale(id, pin, keyOf, trace string, amount int64) api.CardSale {
	r.t.Helper()
	r.client(keyOf)
	r.mu.Lock()
	k := r.card[keyOf]
	r.mu.Unlock()
	return cardSaleWith(r.t, k, id, pin, trace, amount)
}

func cardSaleWith(t *testing.T, key *posclient.CardKeys, id, pin, trace string, amount int64) api.CardSale {
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
	blk, err := key.EncryptPIN([]byte(pin), c.PAN)
	if err != nil {
		t.Fatal(err)
	}
	return api.CardSale{Trace: trace, Amount: amount, PAN: c.PAN, Expiry: c.Expiry, Track2: c.Track2,
		Entry: "chip", PINBlock: hex.EncodeToString(blk[:])}
}

// sell sends a card sale from T1 under a fresh request id.
func (r *rig) sell(s api.CardSale) (api.Order, error) {
	return r.client("T1").CardSale(context.Background(), posclient.NewRequestID(), s)
}

// metric sums the samples of a counter whose labels include want.
func metric(t *testing.T, m *metrics.Metrics, name string, want map[string]string) float64 {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	sample:
		for _, s := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range s.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue sample
				}
			}
			sum += s.GetCounter().GetValue()
		}
	}
	return sum
}

// onBoth runs f on a fresh rig of each dialect.
func onBoth(t *testing.T, mod func(*Options), f func(t *testing.T, r *rig)) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) { f(t, newRig(t, d, mod)) })
}

// onSQLite runs f on a SQLite rig: for what does not depend on the engine.
func onSQLite(t *testing.T, mod func(*Options), f func(t *testing.T, r *rig)) {
	f(t, newRig(t, store.SQLite, mod))
}

// eventually waits up to 10 s for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not there after 10s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
