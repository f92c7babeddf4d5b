package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/bundle"
	"github.com/multipos/multipos/config"
	"github.com/multipos/multipos/demo/standins"
	"github.com/multipos/multipos/posclient"
	"github.com/multipos/multipos/sandbox/acquirer"
	"github.com/multipos/multipos/server"
	"github.com/multipos/multipos/server/pki"
	"github.com/multipos/multipos/server/store"
	"github.com/multipos/multipos/tui"
)

// Issue 11: posserver is the source of truth for a terminal's batch and
// the traces used in it; the station's trace file is a cache of it. These
// tests build stations as `pos` does (station() from pos.toml, state_dir
// and all) against a real posserver over mutual TLS, with the wallet
// sandboxes on their real protocols and the stand-in bank on its ISO 8583
// socket, and take payments the way the cashier app does.

const rigTerminal = "T0000007"

// posserverRig is a posserver on httptest with every channel connected and
// a terminal provisioned; bundle is its bundle file.
type posserverRig struct {
	st      *store.Store
	srv     *server.Server
	wallets *standins.Wallets
	bank    *standins.Bank
	dir     string
	bundle  string
}

func startPosserver(t *testing.T) *posserverRig {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	r := &posserverRig{dir: t.TempDir()}
	var err error
	if r.st, err = store.Open(ctx, filepath.Join(r.dir, "posserver.db")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.st.Close() })
	ca, err := pki.NewMemory([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	keys := server.NewKeyring(r.st, ca)
	if r.bank, err = standins.StartBank(ctx, standins.BankOptions{MasterKey: keys.MasterKey, Lookup: keys.BankLookup,
		SettlementDir: filepath.Join(r.dir, "settlement"), Logger: log}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.bank.Close() })
	// The notify URL must be known before the connectors are built, and
	// they before the server that serves it.
	notifyLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if r.wallets, err = standins.StartWallets(ctx, standins.WalletOptions{NotifyBase: "http://" + notifyLn.Addr().String(),
		Logger: log, NotifySchedule: []time.Duration{20 * time.Millisecond}}); err != nil {
		notifyLn.Close()
		t.Fatal(err)
	}
	t.Cleanup(r.wallets.Close)
	if r.srv, err = server.New(server.Options{Store: r.st, Wallets: r.wallets.Connectors(), Customer: r.wallets,
		Acquirer: r.bank.Client, Keys: keys, Logger: log}); err != nil {
		notifyLn.Close()
		t.Fatal(err)
	}
	notify := &http.Server{Handler: r.wallets.NotifyHandler(r.srv), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = notify.Serve(notifyLn) }()
	t.Cleanup(func() { notify.Close() })
	runCtx, cancel := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() { defer close(ran); _ = r.srv.Run(runCtx) }()
	t.Cleanup(func() { cancel(); <-ran })
	r.srv.SetReady(true)

	hs := httptest.NewUnstartedServer(r.srv.Handler())
	hs.TLS = ca.ServerTLSConfig()
	hs.StartTLS()
	t.Cleanup(hs.Close)
	b, err := server.Provision(ctx, r.st, ca, bundle.Identity{TerminalID: rigTerminal, MerchantID: "898310048160007", StoreID: "S07"},
		"Shop", hs.URL, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r.bundle = filepath.Join(r.dir, rigTerminal+".pem")
	if err := bundle.Write(r.bundle, b, false); err != nil {
		t.Fatal(err)
	}
	return r
}

// posToml writes the pos.toml of a PC named pc: the rig's bundle and a
// state folder of its own. It returns the config file and the state folder.
func (r *posserverRig) posToml(t *testing.T, pc string) (string, string) {
	t.Helper()
	dir := filepath.Join(r.dir, pc)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	path := filepath.Join(dir, "pos.toml")
	text := fmt.Sprintf("bundle = %q\nstate_dir = %q\n", r.bundle, state)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, state
}

// nextTrace is the server's open batch and next free trace.
func (r *posserverRig) nextTrace(t *testing.T) (string, string) {
	t.Helper()
	batch, next, err := r.st.NextTrace(context.Background(), rigTerminal)
	if err != nil {
		t.Fatal(err)
	}
	return batch, next
}

// bootStation builds the station from pos.toml as `pos` does. The
// returned func shuts it down, once; the test's end does it otherwise.
func bootStation(t *testing.T, cfgPath string) (tui.Options, func()) {
	t.Helper()
	cfg, err := config.LoadTerminal(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	def := slog.Default()
	opts, closeAll, err := station(cfg)
	slog.SetDefault(def) // station points it at its pos.log
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	shut := func() {
		once.Do(func() {
			if err := closeAll(); err != nil {
				t.Errorf("closing the station: %v", err)
			}
		})
	}
	t.Cleanup(shut)
	return opts, shut
}

// traceFile reads a station's trace counter as it stands on disk.
func traceFile(t *testing.T, state string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(state, "trace-"+rigTerminal))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// sent is one message a station got through, and under which trace.
type sent struct {
	pc, kind, trace string
	order           api.Order // for payments
}

// The station's messages, sent as the app's commands send them: under
// posclient.WithTrace, which sends again under the next trace when the
// server answers that one is used.

func qrPay(ctx context.Context, opts tui.Options, w *standins.Wallets, ch api.Channel, amount int64) (api.Order, error) {
	var o api.Order
	_, _, err := posclient.WithTrace(opts.Traces, "", "", func(trace, reqID string) error {
		var err error
		o, err = opts.Gateway.CreateWalletOrder(ctx, reqID, api.CreateWalletOrder{Trace: trace, Channel: ch, Amount: amount,
			Subject: "multipos " + string(ch)})
		return err
	})
	if err != nil {
		return o, fmt.Errorf("%s QR order: %w", ch, err)
	}
	if err := w.CustomerPays(ctx, ch, o.OutTradeNo); err != nil {
		return o, fmt.Errorf("customer pays %s: %w", o.OutTradeNo, err)
	}
	for !o.State.Final() {
		if o, err = opts.Gateway.WaitOrder(ctx, o.ID, o.Version, 10*time.Second); err != nil {
			return o, fmt.Errorf("waiting for %s: %w", o.OutTradeNo, err)
		}
	}
	if o.State != api.StateSuccess {
		return o, fmt.Errorf("%s QR order %s ended %s %s", ch, o.Trace, o.State, o.Reason)
	}
	return o, nil
}

func signOn(ctx context.Context, opts tui.Options) (string, error) {
	var res api.SignedOn
	trace, _, err := posclient.WithTrace(opts.Traces, "", "", func(trace, _ string) error {
		var err error
		res, err = opts.Gateway.CardSignOn(ctx, trace, false)
		return err
	})
	if err != nil {
		return trace, fmt.Errorf("sign-on: %w", err)
	}
	return trace, opts.CardKeys.Install(res)
}

func cardSale(ctx context.Context, opts tui.Options, amount int64) (api.Order, error) {
	card := acquirer.TestCards()[0]
	blk, err := opts.CardKeys.EncryptPIN([]byte(card.PIN), card.PAN)
	if err != nil {
		return api.Order{}, err
	}
	var o api.Order
	_, _, err = posclient.WithTrace(opts.Traces, "", "", func(trace, reqID string) error {
		var err error
		o, err = opts.Gateway.CardSale(ctx, reqID, api.CardSale{Trace: trace, Amount: amount, PAN: card.PAN,
			Expiry: card.Expiry, Track2: card.Track2, Entry: "chip", PINBlock: hex.EncodeToString(blk[:])})
		return err
	})
	if err != nil {
		return o, fmt.Errorf("card sale: %w", err)
	}
	if o.State != api.StateSuccess {
		return o, fmt.Errorf("card sale %s ended %s %s %s", o.Trace, o.State, o.Reason, o.ResponseCode)
	}
	return o, nil
}

func balance(ctx context.Context, opts tui.Options) (string, error) {
	card := acquirer.TestCards()[0]
	blk, err := opts.CardKeys.EncryptPIN([]byte(card.PIN), card.PAN)
	if err != nil {
		return "", err
	}
	var res api.Balance
	trace, _, err := posclient.WithTrace(opts.Traces, "", "", func(trace, _ string) error {
		var err error
		res, err = opts.Gateway.CardBalance(ctx, api.CardBalance{Trace: trace, PAN: card.PAN, Expiry: card.Expiry,
			Track2: card.Track2, Entry: "chip", PINBlock: hex.EncodeToString(blk[:])})
		return err
	})
	if err != nil {
		return trace, fmt.Errorf("balance: %w", err)
	}
	if res.ResponseCode != "00" {
		return trace, fmt.Errorf("balance answered %s", res.ResponseCode)
	}
	return trace, nil
}

// recordingTraces hands out the station's traces and remembers them, to
// show which numbers a send went under.
type recordingTraces struct {
	tui.Traces
	mu     sync.Mutex
	handed []string
}

func (r *recordingTraces) Next() (string, error) {
	t, err := r.Traces.Next()
	r.mu.Lock()
	r.handed = append(r.handed, t)
	r.mu.Unlock()
	return t, err
}

func trace6(n int) string { return fmt.Sprintf("%06d", n) }

// A station whose state folder is deleted (its trace counter with it)
// takes its next payment at once, under the next trace free in the batch:
// the trace its empty counter offers first is refused as used, the answer
// brings the counter in step, and the payment goes again under the right
// one without the cashier seeing anything.
func TestStationStateFolderLost(t *testing.T) {
	ctx := context.Background()
	r := startPosserver(t)
	cfgPath, state := r.posToml(t, "till")

	// A morning's work: sign-on, a QR payment, a card sale, a balance.
	opts, closeAll := bootStation(t, cfgPath)
	var got []string
	tr, err := signOn(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, tr)
	o, err := qrPay(ctx, opts, r.wallets, api.Alipay, 1200)
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, o.Trace)
	if o, err = cardSale(ctx, opts, 3400); err != nil {
		t.Fatal(err)
	}
	got = append(got, o.Trace)
	if tr, err = balance(ctx, opts); err != nil {
		t.Fatal(err)
	}
	got = append(got, tr)
	if want := []string{"000001", "000002", "000003", "000004"}; !slices.Equal(got, want) {
		t.Fatalf("traces %v, want %v", got, want)
	}
	closeAll()
	if f := traceFile(t, state); f != "000004 000001" {
		t.Fatalf("trace file %q", f)
	}

	// The state folder is lost; the station is built again from the same
	// pos.toml, and a payment is its very first word to the server: its
	// empty counter offers 000001, used long ago.
	if err := os.RemoveAll(state); err != nil {
		t.Fatal(err)
	}
	opts, closeAll = bootStation(t, cfgPath)
	rec := &recordingTraces{Traces: opts.Traces}
	opts.Traces = rec
	if o, err = qrPay(ctx, opts, r.wallets, api.WeChat, 4100); err != nil {
		t.Fatalf("the first payment after the state folder was lost: %v", err)
	}
	if o.Trace != "000005" || o.Batch != "000001" {
		t.Fatalf("paid under trace %s batch %s, want 000005 in 000001", o.Trace, o.Batch)
	}
	if !slices.Equal(rec.handed, []string{"000001", "000005"}) {
		t.Fatalf("traces handed out %v: want 000001 (refused as used), then the server's next, 000005", rec.handed)
	}
	if f := traceFile(t, state); f != "000005 000001" {
		t.Fatalf("trace file %q", f)
	}
	// Its cards work on: a sign-on and a sale under the next traces.
	if tr, err = signOn(ctx, opts); err != nil || tr != "000006" {
		t.Fatalf("sign-on under %s: %v", tr, err)
	}
	if o, err = cardSale(ctx, opts, 990); err != nil || o.Trace != "000007" || o.Batch != "000001" {
		t.Fatalf("card sale: %+v, %v", o, err)
	}
	closeAll()

	// Lost again, and this time the cashier app runs on the new station.
	if err := os.RemoveAll(state); err != nil {
		t.Fatal(err)
	}
	opts, closeAll = bootStation(t, cfgPath)
	defer closeAll()
	gw := &quietingGateway{Gateway: opts.Gateway}
	opts.Gateway, opts.PowerRoot = gw, ""
	app := startApp(t, opts)
	// The app signs on as it starts (card keys live in memory only).
	eventually(t, "the start-up sign-on", func() bool { _, next := r.nextTrace(t); return next == "000009" })
	app.waitFor("请选择支付通道", "1  支付宝 Alipay", "在线")
	app.keys("1")
	app.key(tea.KeyEnter)
	app.key(tea.KeyEnter)
	app.keys("2500")
	app.key(tea.KeyEnter)
	app.waitFor("等待顾客付款")
	ord, err := r.srv.OrderByTrace(ctx, rigTerminal, "000009")
	if err != nil || ord.State != api.StatePending || ord.Batch != "000001" || ord.Amount != 2500 {
		t.Fatalf("the QR order is not under the next free trace 000009 of batch 000001: %+v, %v", ord, err)
	}
	if err := r.wallets.CustomerPays(ctx, api.Alipay, ord.OutTradeNo); err != nil {
		t.Fatal(err)
	}
	app.waitFor("支付成功", "000009")
	final := app.finish()
	gw.quiet()
	if last := final.LastResult(); last.State != api.StateSuccess || last.Trace != "000009" {
		t.Fatalf("the app's last result: %+v", last)
	}
	if f := traceFile(t, state); f != "000009 000001" {
		t.Fatalf("trace file after the payment %q", f)
	}
}

// A second PC given the same bundle (another state folder, the same
// terminal): both take payments, one after the other and at the same
// time, every message kind mixed. Every payment goes through, no trace is
// used twice or wasted, and each station's trace file ends in step with
// the server.
func TestSecondPCWithTheSameBundle(t *testing.T) {
	ctx := context.Background()
	r := startPosserver(t)
	cfgA, stateA := r.posToml(t, "pc-a")
	cfgB, stateB := r.posToml(t, "pc-b")
	optsA, _ := bootStation(t, cfgA)
	optsB, _ := bootStation(t, cfgB)
	recA, recB := &recordingTraces{Traces: optsA.Traces}, &recordingTraces{Traces: optsB.Traces}
	optsA.Traces, optsB.Traces = recA, recB
	w := r.wallets

	var (
		mu   sync.Mutex
		done []sent
	)
	note := func(pc, kind, trace string, o api.Order) {
		mu.Lock()
		defer mu.Unlock()
		done = append(done, sent{pc: pc, kind: kind, trace: trace, order: o})
	}
	pay := func(pc string, opts tui.Options, ch api.Channel, amount int64) error {
		o, err := qrPay(ctx, opts, w, ch, amount)
		if err == nil {
			note(pc, string(ch), o.Trace, o)
		}
		return err
	}
	sell := func(pc string, opts tui.Options, amount int64) error {
		o, err := cardSale(ctx, opts, amount)
		if err == nil {
			note(pc, "card", o.Trace, o)
		}
		return err
	}

	// Interleaved: each PC's counter starts empty, so each of B's and A's
	// first words meets a trace the other used.
	steps := []func() error{
		func() error { return pay("A", optsA, api.Alipay, 101) },
		func() error { return pay("B", optsB, api.WeChat, 102) },
		func() error { return pay("A", optsA, api.WeChat, 103) },
		// One terminal has one set of card working keys: the PC that signs
		// on last is the one that sells by card.
		func() error {
			tr, err := signOn(ctx, optsB)
			if err == nil {
				note("B", "signon", tr, api.Order{})
			}
			return err
		},
		func() error { return sell("B", optsB, 104) },
		func() error { return pay("A", optsA, api.Alipay, 105) },
		func() error {
			tr, err := balance(ctx, optsB)
			if err == nil {
				note("B", "balance", tr, api.Order{})
			}
			return err
		},
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("interleaved step %d: %v", i+1, err)
		}
	}
	// Each PC offered what its counter had, was told the trace was used
	// whenever the other had taken it, and went again under the server's
	// next: B's first word (000001), A's second (000002), B's sign-on
	// (000003), A's third payment (000004) and B's balance (000006).
	if got, want := recA.handed, []string{"000001", "000002", "000003", "000004", "000006"}; !slices.Equal(got, want) {
		t.Fatalf("A's counter handed out %v, want %v", got, want)
	}
	if got, want := recB.handed, []string{"000001", "000002", "000003", "000004", "000005", "000006", "000007"}; !slices.Equal(got, want) {
		t.Fatalf("B's counter handed out %v, want %v", got, want)
	}
	handedBefore := len(recA.handed) + len(recB.handed)

	// At the same time: each PC takes its payments one after the other,
	// as a till does, while the other does the same.
	const each = 6
	start := make(chan struct{})
	errs := make(chan error, 2*each)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		<-start
		for i := range each {
			ch := []api.Channel{api.Alipay, api.WeChat}[i%2]
			if err := pay("A", optsA, ch, int64(200+i)); err != nil {
				errs <- fmt.Errorf("A payment %d: %w", i+1, err)
			}
		}
	}()
	go func() {
		defer wg.Done()
		<-start
		for i := range each {
			var err error
			if i%2 == 0 {
				err = sell("B", optsB, int64(300+i))
			} else {
				err = pay("B", optsB, api.WeChat, int64(300+i))
			}
			if err != nil {
				errs <- fmt.Errorf("B payment %d: %w", i+1, err)
			}
		}
	}()
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}

	t.Logf("at the same time: %d traces offered again after a refusal",
		len(recA.handed)+len(recB.handed)-handedBefore-2*each)

	// Every message under its own trace (a PC that collides twice in a
	// row skips a few numbers, so the traces are distinct, not always
	// contiguous), and the server's order under each payment's trace is
	// that payment.
	n := len(steps) + 2*each
	if len(done) != n {
		t.Fatalf("%d messages went through, want %d", len(done), n)
	}
	var traces []string
	for _, d := range done {
		traces = append(traces, d.trace)
		if d.order.ID == "" {
			continue
		}
		if d.order.Batch != "000001" || d.order.State != api.StateSuccess {
			t.Errorf("%s's %s payment: batch %s, %s", d.pc, d.kind, d.order.Batch, d.order.State)
		}
		srv, err := r.srv.OrderByTrace(ctx, rigTerminal, d.trace)
		if err != nil || srv.ID != d.order.ID {
			t.Errorf("server's order under trace %s: %s (%v), want %s's %s", d.trace, srv.ID, err, d.pc, d.kind)
		}
	}
	slices.Sort(traces)
	if len(slices.Compact(slices.Clone(traces))) != n {
		t.Fatalf("traces used %v: want %d, each once", traces, n)
	}
	top, _ := strconv.Atoi(traces[len(traces)-1])
	batch, next := r.nextTrace(t)
	if batch != "000001" || next != trace6(top+1) {
		t.Fatalf("server: batch %s next %s, want 000001 and %s", batch, next, trace6(top+1))
	}

	// Each file is at or behind the server (the other PC may have taken
	// more since its last answer), never past it; the next answer each
	// gets (the app's heartbeat) brings it level.
	for _, s := range []struct {
		pc, state string
		opts      tui.Options
	}{{"A", stateA, optsA}, {"B", stateB, optsB}} {
		f := strings.Fields(traceFile(t, s.state))
		last, err := strconv.Atoi(f[0])
		if len(f) != 2 || err != nil || f[1] != "000001" || last > top {
			t.Errorf("%s's trace file %v, server at %s", s.pc, f, trace6(top))
		}
		mine := 0
		for _, d := range done {
			if v, _ := strconv.Atoi(d.trace); d.pc == s.pc && v > mine {
				mine = v
			}
		}
		if last < mine {
			t.Errorf("%s's trace file at %s, behind its own last trace %s", s.pc, f[0], trace6(mine))
		}
		if _, err := s.opts.Gateway.Heartbeat(ctx, api.Heartbeat{AppVersion: "test"}); err != nil {
			t.Fatal(err)
		}
		if got, want := traceFile(t, s.state), trace6(top)+" 000001"; got != want {
			t.Errorf("%s's trace file after a heartbeat %q, want %q", s.pc, got, want)
		}
	}
}

// A counter about to wrap: the station's trace file says 999998. Its
// payment under 999999 is the batch's last and opens the next batch at the
// server; the next payments land in the new batch under 000001, 000002,
// and so does a card sale (field 60.2 to the bank).
func TestStationTraceCounterWraps(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		syncFirst  bool // an answer reaches the station before its first payment
	}{
		{"trace-and-batch", "999998 000001", true},
		{"trace-only", "999998", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			r := startPosserver(t)
			cfgPath, state := r.posToml(t, "till")
			if err := os.MkdirAll(state, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(state, "trace-"+rigTerminal), []byte(tc.file+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			opts, _ := bootStation(t, cfgPath)
			if tc.syncFirst {
				// The server's next free trace is 000001 in the same batch:
				// the counter, ahead of it, stays where it is.
				if _, err := opts.Gateway.Terminal(ctx); err != nil {
					t.Fatal(err)
				}
				if f := traceFile(t, state); f != "999998 000001" {
					t.Fatalf("trace file after the first answer %q", f)
				}
			}
			var got []string
			for i, ch := range []api.Channel{api.Alipay, api.WeChat, api.Alipay} {
				o, err := qrPay(ctx, opts, r.wallets, ch, int64(500+i))
				if err != nil {
					t.Fatalf("payment %d: %v", i+1, err)
				}
				got = append(got, o.Trace+"/"+o.Batch)
			}
			if want := []string{"999999/000001", "000001/000002", "000002/000002"}; !slices.Equal(got, want) {
				t.Fatalf("trace/batch of the payments %v, want %v", got, want)
			}
			if f := traceFile(t, state); f != "000002 000002" {
				t.Fatalf("trace file %q", f)
			}
			tr, err := signOn(ctx, opts)
			if err != nil || tr != "000003" {
				t.Fatalf("sign-on under %s: %v", tr, err)
			}
			o, err := cardSale(ctx, opts, 700)
			if err != nil || o.Trace != "000004" || o.Batch != "000002" {
				t.Fatalf("card sale: %+v, %v", o, err)
			}
			var booked bool
			for _, e := range r.bank.Host.Ledger() {
				if e.Trace == "000004" && e.Batch == "000002" && e.Approved && e.Amount == 700 {
					booked = true
				}
			}
			if !booked {
				t.Fatalf("the bank did not book the sale under trace 000004 of batch 000002: %+v", r.bank.Host.Ledger())
			}
			if batch, next := r.nextTrace(t); batch != "000002" || next != "000005" {
				t.Fatalf("server: batch %s next %s", batch, next)
			}
			// The old batch still holds its orders as they were.
			old, err := r.st.ByTrace(ctx, rigTerminal, "000001", "999999")
			if err != nil || old.State != api.StateSuccess || old.Amount != 500 {
				t.Fatalf("order 999999 of batch 000001: %+v, %v", old, err)
			}
		})
	}
}

// eventually waits for cond, checking often, for at most 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// quietingGateway carries the app's calls until quiet: then it waits for
// the background ones under way (heartbeat, terminal info) and refuses
// the rest, so that an app that has quit touches neither the server nor
// the state folder any more.
type quietingGateway struct {
	tui.Gateway
	mu      sync.Mutex
	quieted bool
	busy    sync.WaitGroup
}

var errQuiet = errors.New("the app has quit")

func (g *quietingGateway) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.quieted {
		return false
	}
	g.busy.Add(1)
	return true
}

func (g *quietingGateway) quiet() {
	g.mu.Lock()
	g.quieted = true
	g.mu.Unlock()
	g.busy.Wait()
}

func (g *quietingGateway) Heartbeat(ctx context.Context, hb api.Heartbeat) (api.HeartbeatAnswer, error) {
	if !g.enter() {
		return api.HeartbeatAnswer{}, errQuiet
	}
	defer g.busy.Done()
	return g.Gateway.Heartbeat(ctx, hb)
}

func (g *quietingGateway) Terminal(ctx context.Context) (api.TerminalInfo, error) {
	if !g.enter() {
		return api.TerminalInfo{}, errQuiet
	}
	defer g.busy.Done()
	return g.Gateway.Terminal(ctx)
}

// appRun is the cashier app running on a station's options.
type appRun struct {
	t  *testing.T
	tm *teatest.TestModel
}

func startApp(t *testing.T, opts tui.Options) *appRun {
	t.Helper()
	m, err := tui.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return &appRun{t: t, tm: teatest.NewTestModel(t, m, teatest.WithInitialTermSize(80, 24))}
}

// waitFor waits until the screen shows all of texts.
func (a *appRun) waitFor(texts ...string) {
	a.t.Helper()
	teatest.WaitFor(a.t, a.tm.Output(), func(b []byte) bool {
		for _, s := range texts {
			if !bytes.Contains(b, []byte(s)) {
				return false
			}
		}
		return true
	}, teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(5*time.Millisecond))
}

func (a *appRun) keys(s string) {
	for _, r := range s {
		a.tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
}

func (a *appRun) key(k tea.KeyType) { a.tm.Send(tea.KeyMsg{Type: k}) }

// finish quits the app and returns its final model.
func (a *appRun) finish() tui.Model {
	a.t.Helper()
	a.key(tea.KeyCtrlC)
	m, ok := a.tm.FinalModel(a.t, teatest.WithFinalTimeout(10*time.Second)).(tui.Model)
	if !ok {
		a.t.Fatal(errors.New("the app did not end with its model"))
	}
	return m
}
