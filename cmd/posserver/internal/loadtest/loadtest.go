package loadtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/bundle"
	"github.com/multipos/multipos/demo/standins"
	"github.com/multipos/multipos/posclient"
	"github.com/multipos/multipos/sandbox/acquirer"
	"github.com/multipos/multipos/server"
	"github.com/multipos/multipos/server/pki"
	"github.com/multipos/multipos/server/store"
)

// Defaults for the zero values of Options.
const (
	DefaultWarmup    = time.Second
	DefaultCardShare = 50
)

// The simulated chain: one merchant, stores of terminalsPerStore terminals.
const (
	MerchantID        = "898310000000001"
	merchantName      = "Load test merchant"
	terminalsPerStore = 10
)

// Bounds of one simulated sale and of the set-up work done in parallel.
const (
	saleTimeout   = 30 * time.Second // a sale not final by then is an error
	waitStep      = 10 * time.Second // one long-poll
	errorPause    = 10 * time.Millisecond
	setupParallel = 16
)

// Options describe one load test run.
type Options struct {
	// DSN is the database: "" for a new SQLite file in a temporary
	// directory (removed afterwards); a path for a new SQLite file there
	// (it must not exist yet, and is kept); a postgres:// URL for a new
	// schema in that database, dropped afterwards.
	DSN       string
	Terminals int           // simulated terminals, at least 1
	Duration  time.Duration // the measured period
	Warmup    time.Duration // unmeasured period before it; 0: DefaultWarmup, negative: none
	// CardShare is the percentage of sales that are card sales, the rest
	// being wallet sales: 0 means DefaultCardShare, negative means none.
	CardShare int
	// Pace, when positive, has each terminal start a sale every Pace (as a
	// till does between customers) instead of back to back: the latency of
	// a chain at work rather than the most it can take. Terminals start at
	// spread offsets; one that falls behind starts its next sale at once.
	Pace   time.Duration
	Logger *slog.Logger // the server's and stand-ins' logs; nil: discarded
}

// Result is what one run measured.
type Result struct {
	Engine    string // "sqlite" or "postgres"
	Terminals int
	Pace      time.Duration // 0: back to back
	// Sales completed in the measured period, and of those the wallet and
	// card sales.
	Sales, Wallet, Card int
	// Errors are sales that did not end in SUCCESS, during the whole run
	// (warm-up and the sales still out when the period ended included).
	Errors     int
	FirstError string        // an error's message (the first of the first terminal with one); "" when none
	Elapsed    time.Duration // length of the measured period
	TPS        float64       // Sales / Elapsed in seconds
	// Latency of the measured sales: from the first request until the
	// terminal sees SUCCESS.
	P50, P99, Max time.Duration
}

// Run starts a server on a new database, drives it with o.Terminals
// simulated terminals for o.Warmup and then o.Duration, and returns what
// was measured. It stops early, with ctx's error, when ctx ends.
func Run(ctx context.Context, o Options) (Result, error) {
	if err := o.normalize(); err != nil {
		return Result{}, err
	}
	card, err := approvedCard()
	if err != nil {
		return Result{}, err
	}
	st, closeDB, err := openDatabase(ctx, o.DSN)
	if err != nil {
		return Result{}, err
	}
	defer closeDB()
	ca, err := pki.NewMemory([]string{"127.0.0.1"})
	if err != nil {
		return Result{}, fmt.Errorf("loadtest: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return Result{}, fmt.Errorf("loadtest: %w", err)
	}
	base := "https://" + ln.Addr().String()
	bundles, err := provision(ctx, st, ca, o.Terminals, base)
	if err != nil {
		ln.Close()
		return Result{}, err
	}
	conn, stop, err := startServer(ctx, st, ca, ln, o.Logger)
	if err != nil {
		return Result{}, err
	}
	defer stop()
	terms, err := connect(ctx, bundles, base, conn, card, o.CardShare)
	if err != nil {
		return Result{}, err
	}
	drive(ctx, terms, o)
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	res := summarize(string(st.Dialect()), terms, o.Duration)
	res.Pace = o.Pace
	return res, nil
}

// normalize checks o and fills in its defaults.
func (o *Options) normalize() error {
	if o.Terminals < 1 {
		return fmt.Errorf("loadtest: %d terminals: at least one is needed", o.Terminals)
	}
	if o.Duration <= 0 {
		return fmt.Errorf("loadtest: the measured period must be positive, not %s", o.Duration)
	}
	switch {
	case o.Warmup == 0:
		o.Warmup = DefaultWarmup
	case o.Warmup < 0:
		o.Warmup = 0
	}
	switch {
	case o.CardShare == 0:
		o.CardShare = DefaultCardShare
	case o.CardShare < 0:
		o.CardShare = 0
	case o.CardShare > 100:
		return fmt.Errorf("loadtest: card share %d%% is above 100%%", o.CardShare)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// startServer serves the terminal API on ln with the wallet and bank
// stand-ins behind it, as posserver serve --demo does, and returns the
// stand-ins (the terminals' customers pay at them) and what stops it all.
// It closes ln when it fails.
func startServer(ctx context.Context, st *store.Store, ca *pki.Authority, ln net.Listener, log *slog.Logger) (*standins.StandIns, func(), error) {
	keys := server.NewKeyring(st, ca)
	conn := standins.New(standins.Options{Logger: log})
	// Card sales go over the ISO 8583 link to the stand-in bank's socket,
	// MACed and with PIN blocks under each terminal's working keys.
	bankHost, err := standins.StartBank(ctx, standins.BankOptions{MasterKey: keys.MasterKey, Lookup: keys.BankLookup,
		Balance: 1 << 50, Logger: log})
	if err != nil {
		ln.Close()
		conn.Stop()
		return nil, nil, fmt.Errorf("loadtest: %w", err)
	}
	srv, err := server.New(server.Options{Store: st, Wallets: conn.Wallets(), Acquirer: bankHost.Client, Keys: keys,
		Logger: log, Demo: true})
	if err != nil {
		ln.Close()
		bankHost.Close()
		conn.Stop()
		return nil, nil, fmt.Errorf("loadtest: %w", err)
	}
	conn.SetNotifier(srv)
	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	background := make(chan struct{})
	go func() {
		defer close(background)
		if err := srv.Run(runCtx); err != nil {
			log.Error("background work stopped", "err", err)
		}
	}()
	hs := &http.Server{Handler: srv.Handler(), TLSConfig: ca.ServerTLSConfig(),
		ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go hs.ServeTLS(ln, "", "")
	srv.SetReady(true)
	return conn, func() {
		// Close, not Shutdown: once the terminals are done nothing is in
		// flight, and HTTP/2's graceful shutdown waits a second for
		// clients to hang up.
		hs.Close()
		stopRun()
		<-background
		bankHost.Close()
		conn.Stop()
	}, nil
}

// drive runs the terminals through the warm-up and the measured period
// (paced ones spread evenly over one pace) and returns when all are done.
func drive(ctx context.Context, terms []*terminal, o Options) {
	start := time.Now()
	r := &clock{from: start.Add(o.Warmup), end: start.Add(o.Warmup + o.Duration)}
	var wg sync.WaitGroup
	for i, t := range terms {
		t.pace = o.Pace
		if o.Pace > 0 {
			t.next = start.Add(o.Pace * time.Duration(i) / time.Duration(len(terms)))
		}
		wg.Go(func() { t.run(ctx, r) })
	}
	wg.Wait()
}

// clock is the measured period: sales completed in [from, end] count.
type clock struct{ from, end time.Time }

// approvedCard is the stand-in bank's card that is always approved.
func approvedCard() (acquirer.TestCard, error) {
	for _, c := range acquirer.TestCards() {
		if c.ID == "approved" {
			return c, nil
		}
	}
	return acquirer.TestCard{}, errors.New(`loadtest: the stand-in bank has no "approved" test card`)
}

// isPostgres reports whether dsn names a PostgreSQL database.
func isPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// openDatabase opens a new database for one run (see Options.DSN) and
// returns it with what closes it and removes what is temporary.
func openDatabase(ctx context.Context, dsn string) (*store.Store, func(), error) {
	if isPostgres(dsn) {
		return openSchema(ctx, dsn)
	}
	path, dir := dsn, ""
	if path == "" {
		var err error
		if dir, err = os.MkdirTemp("", "multipos-loadtest-"); err != nil {
			return nil, nil, fmt.Errorf("loadtest: %w", err)
		}
		path = filepath.Join(dir, "loadtest.db")
	} else if _, err := os.Stat(path); err == nil {
		return nil, nil, fmt.Errorf("loadtest: %s exists: a load test needs a new database", path)
	}
	st, err := store.Open(ctx, path)
	if err != nil {
		if dir != "" {
			os.RemoveAll(dir)
		}
		return nil, nil, fmt.Errorf("loadtest: %w", err)
	}
	return st, func() {
		st.Close()
		if dir != "" {
			os.RemoveAll(dir)
		}
	}, nil
}

// openSchema creates a schema of its own in the PostgreSQL database and
// opens the store there: search_path in the URL's query is sent as a
// run-time parameter, so every connection of the store works in it.
func openSchema(ctx context.Context, dsn string) (*store.Store, func(), error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("loadtest: PostgreSQL URL: %w", err)
	}
	schema := "loadtest_" + strings.ToLower(rand.Text()[:12])
	if err := pgExec(ctx, dsn, "CREATE SCHEMA "+schema); err != nil {
		return nil, nil, err
	}
	drop := func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		pgExec(dctx, dsn, "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	st, err := store.Open(ctx, u.String())
	if err != nil {
		drop()
		return nil, nil, fmt.Errorf("loadtest: %w", err)
	}
	return st, func() { st.Close(); drop() }, nil
}

// pgExec runs one statement on a connection of its own.
func pgExec(ctx context.Context, dsn, stmt string) error {
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("loadtest: connect to PostgreSQL: %w", err)
	}
	defer c.Close(context.WithoutCancel(ctx))
	if _, err := c.Exec(ctx, stmt); err != nil {
		return fmt.Errorf("loadtest: %s: %w", stmt, err)
	}
	return nil
}

// parallel calls f(0) … f(n-1), at most setupParallel at a time, and
// returns the first error.
func parallel(n int, f func(i int) error) error {
	errs := make([]error, n)
	sem := make(chan struct{}, setupParallel)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = f(i)
		})
	}
	wg.Wait()
	return errors.Join(slices.DeleteFunc(errs, func(e error) bool { return e == nil })...)
}

// provision registers n terminals of one merchant, terminalsPerStore to a
// store, and returns their bundles.
func provision(ctx context.Context, st *store.Store, ca *pki.Authority, n int, base string) ([]bundle.Bundle, error) {
	bundles := make([]bundle.Bundle, n)
	add := func(i int) error {
		id := bundle.Identity{TerminalID: fmt.Sprintf("LT%05d", i+1), MerchantID: MerchantID,
			StoreID: fmt.Sprintf("S%04d", i/terminalsPerStore+1)}
		b, err := server.Provision(ctx, st, ca, id, merchantName, base, time.Now())
		bundles[i] = b
		return err
	}
	// The first one creates the merchant; the rest only add to it.
	if err := add(0); err != nil {
		return nil, fmt.Errorf("loadtest: %w", err)
	}
	if err := parallel(n-1, func(i int) error { return add(i + 1) }); err != nil {
		return nil, fmt.Errorf("loadtest: %w", err)
	}
	return bundles, nil
}

// connect makes each terminal's client and its TLS connection (one ping),
// so that handshakes stay out of the measurement.
func connect(ctx context.Context, bundles []bundle.Bundle, base string, conn *standins.StandIns, card acquirer.TestCard, share int) ([]*terminal, error) {
	terms := make([]*terminal, len(bundles))
	err := parallel(len(bundles), func(i int) error {
		c, err := posclient.FromBundle(bundles[i], base)
		if err != nil {
			return err
		}
		if _, err := c.Ping(ctx); err != nil {
			return fmt.Errorf("terminal %s: %w", bundles[i].TerminalID, err)
		}
		keys := posclient.NewCardKeys(bundles[i].MasterKey)
		res, err := c.CardSignOn(ctx, "000001", false) // its first trace; sales go on from 000002
		if err != nil {
			return fmt.Errorf("terminal %s: sign-on: %w", bundles[i].TerminalID, err)
		}
		if err := keys.Install(res); err != nil {
			return fmt.Errorf("terminal %s: sign-on: %w", bundles[i].TerminalID, err)
		}
		c.UseCardKeys(keys)
		terms[i] = &terminal{client: c, keys: keys, standIns: conn, card: card, share: share,
			acc: i * 37 % 100, trace: 1}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("loadtest: %w", err)
	}
	return terms, nil
}

// terminal is one simulated till. Only its own goroutine touches it until
// the run ends.
type terminal struct {
	client   *posclient.Client
	keys     *posclient.CardKeys // working keys from its sign-on
	standIns *standins.StandIns
	card     acquirer.TestCard
	share    int // percent of card sales

	acc     int // card share accumulator
	trace   int
	wallets int

	pace time.Duration // between sale starts; 0: back to back
	next time.Time     // when the next sale starts, when paced

	lat            []int64 // nanoseconds, measured sales
	nWallet, nCard int     // measured sales of each kind
	errors         int
	firstErr       error
}

// run sells back to back until the measured period is over. A sale still
// out then is finished (not counted) rather than abandoned.
func (t *terminal) run(ctx context.Context, c *clock) {
	for ctx.Err() == nil {
		if t.pace > 0 {
			if wait := time.Until(t.next); wait > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
			}
			t.next = t.next.Add(t.pace)
		}
		start := time.Now()
		if !start.Before(c.end) {
			return
		}
		card := t.nextIsCard()
		var err error
		if card {
			err = t.cardSale(ctx)
		} else {
			err = t.walletSale(ctx)
		}
		done := time.Now()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			t.errors++
			if t.firstErr == nil {
				t.firstErr = err
			}
			time.Sleep(errorPause)
			continue
		}
		if done.Before(c.from) || done.After(c.end) {
			continue
		}
		t.lat = append(t.lat, int64(done.Sub(start)))
		if card {
			t.nCard++
		} else {
			t.nWallet++
		}
	}
}

// nextIsCard spreads card sales evenly at the configured share.
func (t *terminal) nextIsCard() bool {
	t.acc += t.share
	if t.acc >= 100 {
		t.acc -= 100
		return true
	}
	return false
}

// nextTrace is the terminal's next 6-digit trace number.
func (t *terminal) nextTrace() string {
	t.trace = t.trace%999999 + 1
	return fmt.Sprintf("%06d", t.trace)
}

// amount varies the sale amount a little: 1.00 to 99.99 yuan.
func (t *terminal) amount() int64 { return 100 + int64(t.trace*37%9900) }

// walletSale: a QR order, the customer pays on the phone, the terminal
// long-polls until the wallet's notification has made the order final.
func (t *terminal) walletSale(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, saleTimeout)
	defer cancel()
	ch := api.Alipay
	if t.wallets%2 == 1 {
		ch = api.WeChat
	}
	t.wallets++
	trace := t.nextTrace()
	o, err := t.client.CreateWalletOrder(ctx, posclient.NewRequestID(), api.CreateWalletOrder{Trace: trace,
		Channel: ch, Amount: t.amount(), Subject: "load test"})
	if err != nil {
		return fmt.Errorf("%s order: %w", ch, err)
	}
	if o.State != api.StatePending {
		return fmt.Errorf("%s order %s: %s %s, not PENDING", ch, o.ID, o.State, o.Reason)
	}
	w, err := t.standIns.Wallet(ch)
	if err != nil {
		return err
	}
	if err := w.CustomerPay(ctx, o.OutTradeNo); err != nil {
		return fmt.Errorf("customer paying %s order %s: %w", ch, o.ID, err)
	}
	for !o.State.Final() {
		if o, err = t.client.WaitOrder(ctx, o.ID, o.Version, waitStep); err != nil {
			return fmt.Errorf("waiting for %s order: %w", ch, err)
		}
	}
	if o.State != api.StateSuccess {
		return fmt.Errorf("%s order %s: %s %s, not SUCCESS", ch, o.ID, o.State, o.Reason)
	}
	return nil
}

// cardSale: the approved test card with its PIN, encrypted under the
// terminal's master key.
func (t *terminal) cardSale(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, saleTimeout)
	defer cancel()
	blk, err := t.keys.EncryptPIN([]byte(t.card.PIN), t.card.PAN)
	if err != nil {
		return fmt.Errorf("PIN block: %w", err)
	}
	trace := t.nextTrace()
	o, err := t.client.CardSale(ctx, posclient.NewRequestID(), api.CardSale{Trace: trace, Amount: t.amount(),
		PAN: t.card.PAN, Expiry: t.card.Expiry, Track2: t.card.Track2, Entry: "chip",
		PINBlock: hex.EncodeToString(blk[:])})
	if err != nil {
		return fmt.Errorf("card sale: %w", err)
	}
	if o.State != api.StateSuccess {
		return fmt.Errorf("card sale %s: %s %s (response code %q), not SUCCESS", o.ID, o.State, o.Reason, o.ResponseCode)
	}
	return nil
}

// summarize merges the terminals' figures.
func summarize(engine string, terms []*terminal, period time.Duration) Result {
	res := Result{Engine: engine, Terminals: len(terms), Elapsed: period}
	n := 0
	for _, t := range terms {
		n += len(t.lat)
	}
	lat := make([]int64, 0, n)
	for _, t := range terms {
		lat = append(lat, t.lat...)
		res.Wallet += t.nWallet
		res.Card += t.nCard
		res.Errors += t.errors
		if t.firstErr != nil && res.FirstError == "" {
			res.FirstError = t.firstErr.Error()
		}
	}
	res.Sales = len(lat)
	res.TPS = float64(res.Sales) / period.Seconds()
	if len(lat) > 0 {
		slices.Sort(lat)
		res.P50 = time.Duration(percentile(lat, 50))
		res.P99 = time.Duration(percentile(lat, 99))
		res.Max = time.Duration(lat[len(lat)-1])
	}
	return res
}

// percentile is the nearest-rank p-th percentile of sorted values.
func percentile(sorted []int64, p int) int64 {
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 × n)
	return sorted[max(rank, 1)-1]
}
