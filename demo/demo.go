package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/bundle"
	"github.com/multipos/multipos/cards"
	"github.com/multipos/multipos/cards/emv"
	"github.com/multipos/multipos/config"
	"github.com/multipos/multipos/demo/standins"
	"github.com/multipos/multipos/devices"
	"github.com/multipos/multipos/devices/sim"
	"github.com/multipos/multipos/internal/privfile"
	"github.com/multipos/multipos/posclient"
	"github.com/multipos/multipos/receipts/spool"
	"github.com/multipos/multipos/sandbox/acquirer"
	"github.com/multipos/multipos/sandbox/emvcard"
	"github.com/multipos/multipos/server"
	"github.com/multipos/multipos/server/pki"
	"github.com/multipos/multipos/server/store"
	"github.com/multipos/multipos/tui"
)

// Options tune a demo environment; the zero value is what `pos --demo` uses.
type Options struct {
	Dir        string           // where this run keeps its files; "" = a fresh directory under the user's state dir
	Now        func() time.Time // the server's and the app's clock; nil = time.Now
	Logger     *slog.Logger     // nil = a JSON log file in Dir
	QRTTL      time.Duration    // life of a QR order; 0 = the server default
	TerminalID string           // "" = DefaultTerminalID
	Width      int              // receipt width; 0 = 32
	// Printer replaces the demo printer (text files in Dir/receipts),
	// e.g. with an ESC/POS printer; receipts still go through the queue.
	Printer devices.Printer
	// Notifications, when set, is how the wallet sandboxes deliver their
	// notifications (a benchmark times them on the way out).
	Notifications *http.Client
}

// The demo's merchant and terminal, registered afresh in every run.
const (
	DefaultTerminalID = "T0000001"
	MerchantID        = "898310048160001"
	MerchantName      = "多通道示范商户"
	StoreID           = "DEMO01"
)

// SupervisorPassword is the demo's supervisor password (主管密码).
const SupervisorPassword = "123456"

// Env is a running demo: server, stand-ins and simulated devices. The
// server speaks mutual TLS on loopback with a CA made for this run, as a
// real posserver does; the terminal is provisioned with a bundle from it.
type Env struct {
	codes      int               // payment codes shown by the trainer's customer
	Wallets    *standins.Wallets // Alipay and WeChat Pay sandboxes, on their real protocols
	notify     *http.Server
	Dir        string
	URL        string
	TerminalID string
	CardKeys   *posclient.CardKeys // the terminal's master key and, after sign-on, its working keys
	Authority  *pki.Authority
	Bundle     bundle.Bundle
	Server     *server.Server
	Store      *store.Store
	Client     *posclient.Client
	Traces     *posclient.Traces
	Bank       *standins.Bank // the stand-in acquirer host on loopback and posserver's ISO 8583 link to it
	Reader     *sim.Reader
	Printer    *sim.Printer  // the demo printer; nil when Options.Printer replaced it
	Prints     *spool.Worker // the print queue (Dir/printqueue) and its worker, running
	Log        *slog.Logger

	printStop func()

	http    *http.Server
	cancel  context.CancelFunc
	done    sync.WaitGroup
	logFile *os.File
	runLock *os.File // held while the demo runs in a folder of its own (runs.go)
	width   int
	now     func() time.Time

	dayMu  sync.Mutex
	dayEnd DayEnd // the trainer's end of the day, once done (dayend.go)
}

// openDir makes the run's folder (a fresh one under the user's state
// folder when none was given) and its receipts folder, private to the
// user, and opens the log there unless the caller brought one. Folders
// tightened before the log is open are reported in it, not on the screen
// the app is about to take over.
func (e *Env) openDir(log *slog.Logger) error {
	var early bytes.Buffer
	elog := log
	if elog == nil {
		elog = slog.New(slog.NewJSONHandler(&early, nil))
	}
	dirs := []string{e.Dir}
	if e.Dir == "" {
		base, err := config.StateDir()
		if err != nil {
			return err
		}
		e.Dir = filepath.Join(base, "demo", time.Now().Format(runLayout))
		dirs = []string{base, filepath.Join(base, "demo"), e.Dir}
	}
	for _, d := range append(dirs, filepath.Join(e.Dir, "receipts"), filepath.Join(e.Dir, "settlement")) {
		if err := privfile.MkdirAll(d, elog); err != nil {
			return fmt.Errorf("demo directory: %w", err)
		}
	}
	e.Log = log
	if e.Log == nil {
		f, err := privfile.OpenAppend(filepath.Join(e.Dir, "pos.log"), elog)
		if err != nil {
			return fmt.Errorf("demo log: %w", err)
		}
		_, _ = f.Write(early.Bytes())
		e.logFile = f
		e.Log = slog.New(slog.NewJSONHandler(f, nil))
	}
	return nil
}

// Start brings up a demo environment. Close it when done.
func Start(ctx context.Context, o Options) (_ *Env, err error) {
	e := &Env{Dir: o.Dir, TerminalID: o.TerminalID}
	defer func() {
		if err != nil {
			_ = e.Close()
		}
	}()
	if err := e.openDir(o.Logger); err != nil {
		return nil, err
	}
	if o.Dir == "" {
		if err := e.holdRun(); err != nil {
			return nil, err
		}
		e.pruneRuns(KeepRuns)
	}
	if e.TerminalID == "" {
		e.TerminalID = DefaultTerminalID
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	e.now = now
	ln, err := e.provision(ctx, now)
	if err != nil {
		return nil, err
	}
	keys := server.NewKeyring(e.Store, e.Authority)
	notifyLn, err := e.startStandIns(ctx, o, keys, now)
	if err != nil {
		ln.Close()
		return nil, err
	}
	if err := e.newServer(o, keys, now); err != nil {
		ln.Close()
		notifyLn.Close()
		return nil, err
	}
	if err := e.writeServerConfig(notifyLn.Addr().String()); err != nil {
		ln.Close()
		notifyLn.Close()
		return nil, err
	}
	e.serve(ln, notifyLn)
	if err := e.connectTill(ctx); err != nil {
		return nil, err
	}
	if err := e.startDevices(o); err != nil {
		return nil, err
	}
	e.Log.Info("demo started", "dir", e.Dir, "server", e.URL, "terminal", e.TerminalID)
	return e, nil
}

// provision opens the run's database and CA, and registers the terminal
// with the server's address: the listener returned, which the caller
// serves (or closes).
func (e *Env) provision(ctx context.Context, now func() time.Time) (net.Listener, error) {
	var err error
	e.Store, err = store.Open(ctx, filepath.Join(e.Dir, "posserver.db"))
	if err != nil {
		return nil, fmt.Errorf("demo store: %w", err)
	}
	if e.Authority, err = pki.NewMemory([]string{"127.0.0.1"}); err != nil {
		return nil, fmt.Errorf("demo CA: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo server listen: %w", err)
	}
	e.URL = "https://" + ln.Addr().String()
	e.Bundle, err = server.Provision(ctx, e.Store, e.Authority,
		bundle.Identity{TerminalID: e.TerminalID, MerchantID: MerchantID, StoreID: StoreID}, MerchantName, e.URL, now())
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("demo terminal: %w", err)
	}
	e.CardKeys = posclient.NewCardKeys(e.Bundle.MasterKey)
	return ln, nil
}

// startStandIns starts the bank and the wallets, and returns the listener
// the wallets post their notifications to, which the caller serves (or
// closes).
func (e *Env) startStandIns(ctx context.Context, o Options, keys *server.Keyring, now func() time.Time) (net.Listener, error) {
	// The bank is an ISO 8583 host on a socket, reached through posserver's
	// real link: sign-on, MACs, PIN blocks and reversals as in production.
	// It knows the terminal's master key as a bank that loaded it would.
	var err error
	if e.Bank, err = standins.StartBank(ctx, standins.BankOptions{MasterKey: keys.MasterKey, Lookup: keys.BankLookup,
		SettlementDir: filepath.Join(e.Dir, "settlement"), Now: now, Logger: e.Log}); err != nil {
		return nil, fmt.Errorf("demo bank: %w", err)
	}
	// The wallets speak their real protocols, through posserver's real
	// connectors, and post results to a notify listener as they would in
	// production.
	notifyLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo notify listener: %w", err)
	}
	var clock func() time.Time
	if o.Now != nil {
		clock = o.Now
	}
	if e.Wallets, err = standins.StartWallets(ctx, standins.WalletOptions{NotifyBase: "http://" + notifyLn.Addr().String(),
		Logger: e.Log, Now: clock, Notifications: o.Notifications}); err != nil {
		notifyLn.Close()
		return nil, fmt.Errorf("demo wallets: %w", err)
	}
	return notifyLn, nil
}

// newServer builds the server on the stand-ins, in demo mode, and the
// handler of the wallets' notifications to it.
func (e *Env) newServer(o Options, keys *server.Keyring, now func() time.Time) error {
	def := config.DefaultServer()
	ttl := o.QRTTL
	if ttl == 0 {
		ttl = def.QRTTL
	}
	var err error
	e.Server, err = server.New(server.Options{
		Store:          e.Store,
		Wallets:        e.Wallets.Connectors(),
		Customer:       e.Wallets,
		Acquirer:       e.Bank.Client,
		Keys:           keys,
		Limits:         server.ChannelLimits(def.Limits),
		MerchantLimits: server.ChannelLimits(def.MerchantLimits),
		QRTTL:          ttl,
		Now:            now,
		Logger:         e.Log,
		Demo:           true,
	})
	if err != nil {
		return fmt.Errorf("demo server: %w", err)
	}
	e.notify = &http.Server{Handler: e.Wallets.NotifyHandler(e.Server), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(e.Log.Handler(), slog.LevelWarn)}
	return nil
}

// serve serves the terminal API on ln and the notifications on notifyLn,
// runs the server's background work, and reports the server ready.
func (e *Env) serve(ln, notifyLn net.Listener) {
	runCtx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	// Requests run under runCtx, so Close answers open long-polls at once
	// instead of waiting for them.
	e.http = &http.Server{Handler: e.Server.Handler(), ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:   e.Authority.ServerTLSConfig(),
		BaseContext: func(net.Listener) context.Context { return runCtx },
		ErrorLog:    slog.NewLogLogger(e.Log.Handler(), slog.LevelWarn)}
	e.done.Add(3)
	go func() {
		defer e.done.Done()
		if err := e.http.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			e.Log.Error("demo server stopped", "err", err)
		}
	}()
	go func() {
		defer e.done.Done()
		if err := e.notify.Serve(notifyLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			e.Log.Error("demo notify listener stopped", "err", err)
		}
	}()
	go func() {
		defer e.done.Done()
		if err := e.Server.Run(runCtx); err != nil && !errors.Is(err, context.Canceled) {
			e.Log.Error("demo server background work stopped", "err", err)
		}
	}()
	e.Server.SetReady(true)
}

// connectTill makes the terminal's client of the server, with its trace
// counter, and signs it on.
func (e *Env) connectTill(ctx context.Context) error {
	var err error
	if e.Client, err = posclient.FromBundle(e.Bundle, ""); err != nil {
		return fmt.Errorf("demo client: %w", err)
	}
	e.Client.UseCardKeys(e.CardKeys)
	e.Traces, err = posclient.OpenTraces(filepath.Join(e.Dir, "trace"))
	if err != nil {
		return fmt.Errorf("demo trace counter: %w", err)
	}
	e.Client.SyncTraces(e.Traces)
	// The till comes up signed on for card payments (trace 000001), as a
	// trainer expects; 签到 in the bank-card menu does it again.
	return e.SignOn(ctx)
}

// startDevices makes the simulated reader and the printer (the demo's, or
// o.Printer) behind its print queue, with the queue's worker running.
func (e *Env) startDevices(o Options) error {
	e.Reader = sim.NewReader("demo reader")
	e.width = o.Width
	if e.width == 0 {
		e.width = 32
	}
	var pr devices.Printer = o.Printer
	if pr == nil {
		e.Printer = sim.NewPrinter(filepath.Join(e.Dir, "receipts"), e.width)
		pr = e.Printer
	}
	q, err := spool.Open(filepath.Join(e.Dir, "printqueue"), spool.Options{})
	if err != nil {
		return fmt.Errorf("demo print queue: %w", err)
	}
	e.Prints = spool.NewWorker(q, pr)
	pctx, pcancel := context.WithCancel(context.Background())
	pdone := make(chan struct{})
	go func() { e.Prints.Run(pctx); close(pdone) }()
	e.printStop = func() { pcancel(); <-pdone; q.Close() }
	return nil
}

// Close stops the server and the stand-ins.
func (e *Env) Close() error {
	var errs []error
	if e.cancel != nil {
		e.cancel()
	}
	if e.http != nil {
		// Requests run under runCtx, cancelled above, so they end at once.
		// What is left is connections that never carried a request (a
		// station that quit while dialling); Shutdown would wait 5 s for
		// them to count as idle, so they are closed instead.
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		if err := e.http.Shutdown(ctx); err != nil {
			errs = append(errs, e.http.Close())
		}
		cancel()
	}
	if e.notify != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		errs = append(errs, e.notify.Shutdown(ctx))
		cancel()
	}
	e.done.Wait()
	if e.printStop != nil {
		e.printStop()
	}
	if e.Wallets != nil {
		e.Wallets.Close()
	}
	if e.Bank != nil {
		errs = append(errs, e.Bank.Close())
	}
	if e.Reader != nil {
		errs = append(errs, e.Reader.Close())
	}
	if e.Store != nil {
		errs = append(errs, e.Store.Close())
	}
	if e.runLock != nil {
		errs = append(errs, e.runLock.Close())
	}
	if e.logFile != nil {
		errs = append(errs, e.logFile.Close())
	}
	return errors.Join(errs...)
}

// TUIOptions wires the cashier app to this environment.
func (e *Env) TUIOptions(cfg config.Terminal) tui.Options {
	return tui.Options{
		Gateway:    e.Client,
		Traces:     e.Traces,
		Reader:     e.Reader,
		Printer:    e.Prints.Printer(),
		Prints:     e.Prints,
		Trainer:    e,
		Keys:       cfg.Keys,
		Lang:       cfg.Lang,
		TerminalID: e.TerminalID,
		CardKeys:   e.CardKeys,
		// Voids and refunds ask for it; the supervisor screen shows it in
		// demo mode.
		SupervisorPassword: SupervisorPassword,
		AppVersion:         "demo",
		PrinterWidth:       e.width,
		Demo:               true,
		PowerRoot:          "/sys/class/power_supply",
	}
}

// SignOn signs the demo terminal on for card payments and installs the
// working keys.
func (e *Env) SignOn(ctx context.Context) error {
	var res api.SignedOn
	_, _, err := posclient.WithTrace(e.Traces, "", "", func(trace, _ string) error {
		var err error
		res, err = e.Client.CardSignOn(ctx, trace, false)
		return err
	})
	if err != nil {
		return fmt.Errorf("demo sign-on: %w", err)
	}
	if err := e.CardKeys.Install(res); err != nil {
		return fmt.Errorf("demo sign-on: %w", err)
	}
	return nil
}

// CustomerPays plays the customer paying: a QR code scanned and paid, or
// a scanned payment code confirmed on the phone.
func (e *Env) CustomerPays(ctx context.Context, ch api.Channel, outTradeNo string) error {
	return e.Wallets.CustomerPays(ctx, ch, outTradeNo)
}

// CustomerDeclines plays the customer refusing to pay on the phone.
func (e *Env) CustomerDeclines(ctx context.Context, ch api.Channel, outTradeNo string) error {
	return e.Wallets.CustomerDeclines(ctx, ch, outTradeNo)
}

// ShowCode plays the customer showing a payment code on the phone: one of
// the wallet's shape, which it pays at once or, with confirm, only once the
// customer confirms on the phone.
func (e *Env) ShowCode(_ context.Context, ch api.Channel, confirm bool) (string, error) {
	if err := e.Wallets.NextCode(ch, confirm); err != nil {
		return "", err
	}
	e.codes++
	if ch == api.WeChat {
		return fmt.Sprintf("13%016d", e.codes), nil
	}
	return fmt.Sprintf("28%016d", e.codes), nil
}

// TestCards lists the bank stand-in's test cards for the trainer.
func (e *Env) TestCards() []tui.TestCard {
	var out []tui.TestCard
	for _, c := range acquirer.TestCards() {
		out = append(out, tui.TestCard{ID: c.ID, LabelZH: c.LabelZH, LabelEN: c.LabelEN, Hint: "PIN " + c.PIN})
	}
	return out
}

// InsertTestCard puts test card id into the simulated chip reader, taking out
// any card still in it first. The card is a virtual EMV card: the reader
// runs the same EMV read (PPSE, PSE, GPO, READ RECORD) a PC/SC reader does.
func (e *Env) InsertTestCard(ctx context.Context, id string) error {
	for _, c := range acquirer.TestCards() {
		if c.ID != id {
			continue
		}
		if _, rest, _ := strings.Cut(c.Track2, "="); len(rest) >= 7 && !cards.HasChip(rest[4:7]) {
			// The service code says no chip: the trainer swipes it, through
			// the stripe parser a wedge reader's swipe goes through.
			return e.Reader.SwipeTracks("", ";"+c.Track2+"?")
		}
		if e.Reader.State() == devices.ReaderCardPresent {
			if err := e.Reader.Remove(); err != nil {
				return fmt.Errorf("take out the card in the reader: %w", err)
			}
		}
		card, err := emvcard.New(emvcard.Data{PAN: c.PAN, Expiry: c.Expiry, Holder: c.Holder, ServiceCode: "220",
			PANSequence: "01", Apps: []emvcard.App{{AID: "A000000333010101", Label: "UnionPay Debit", Priority: 1}}}, emvcard.Options{})
		if err != nil {
			return fmt.Errorf("test card %s: %w", id, err)
		}
		if err := e.Reader.InsertChip(ctx, card, emv.TerminalData{Interface: emv.Contact}); err != nil {
			return fmt.Errorf("insert test card %s: %w", id, err)
		}
		return nil
	}
	return fmt.Errorf("no test card %q", id)
}

// RemoveTestCard takes the card out of the reader, as the cardholder does
// once the transaction is answered: the reader then says it is empty.
func (e *Env) RemoveTestCard(context.Context) error {
	if e.Reader.State() != devices.ReaderCardPresent {
		return nil
	}
	if err := e.Reader.Remove(); err != nil && !errors.Is(err, sim.ErrNoCard) {
		return fmt.Errorf("take out the test card: %w", err)
	}
	return nil
}

// TogglePaper runs the demo printer out of paper, or refills it (the
// trainer's paper key): the print queue then shows the cashier what a real
// paper-out does. A printer other than the demo printer cannot be told.
func (e *Env) TogglePaper() (bool, error) {
	if e.Printer == nil {
		return false, errors.New("the demo printer was replaced: its paper cannot be simulated")
	}
	st, _ := e.Printer.Status(context.Background())
	if st == devices.PrinterPaperOut {
		e.Printer.SetState(devices.PrinterReady)
		return false, nil
	}
	e.Printer.SetState(devices.PrinterPaperOut)
	return true, nil
}
