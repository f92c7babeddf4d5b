// Command pos is the multipos cashier station: a full-screen terminal app
// that takes Alipay, WeChat Pay and bank-card payments. `pos --demo` runs a
// complete training station in one process, with no hardware and no accounts.
package main

import (
	// termguard's init runs before bubbletea's and keeps it from stalling
	// start-up on terminals that never answer a colour query (see its doc).
	"github.com/multipos/multipos/cmd/pos/internal/termguard"

	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"golang.org/x/term"

	"github.com/multipos/multipos/bundle"
	"github.com/multipos/multipos/config"
	"github.com/multipos/multipos/demo"
	"github.com/multipos/multipos/devices/pcsc"
	"github.com/multipos/multipos/i18n"
	"github.com/multipos/multipos/internal/privfile"
	"github.com/multipos/multipos/posclient"
	"github.com/multipos/multipos/receipts/spool"
	"github.com/multipos/multipos/tui"
)

func main() {
	termguard.Restore()
	if len(os.Args) > 1 && os.Args[1] == "doctor" {
		os.Exit(doctor(os.Args[2:], os.Stdout, os.Stderr))
	}
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "pos:", err)
		os.Exit(2)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("pos", flag.ContinueOnError)
	fs.SetOutput(stderr)
	demoMode := fs.Bool("demo", false, "training mode: embedded server, wallet and bank stand-ins, simulated reader and printer")
	cfgPath := fs.String("config", "", "configuration file (default: $XDG_CONFIG_HOME/multipos/pos.toml when it exists)")
	lang := fs.String("lang", "", "display language: zh or en (overrides the config file)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (see pos -h)", fs.Arg(0))
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	if *lang != "" {
		l, err := i18n.Parse(*lang)
		if err != nil {
			return fmt.Errorf("--lang: %w", err)
		}
		cfg.Lang = l
	}
	if !term.IsTerminal(int(os.Stdin.Fd())) || !term.IsTerminal(int(os.Stdout.Fd())) {
		return errors.New("the cashier app needs a terminal (run it in a terminal window, or under tmux)")
	}

	var opts tui.Options
	var closeAll func() error
	var note string
	if *demoMode {
		env, err := demo.Start(context.Background(), demo.Options{Width: cfg.Printer.Width})
		if err != nil {
			return fmt.Errorf("start demo: %w", err)
		}
		closeAll = env.Close
		opts = env.TUIOptions(cfg)
		note = fmt.Sprintf("demo files (database, receipts, log): %s", env.Dir)
	} else {
		opts, closeAll, err = station(cfg)
		if err != nil {
			return err
		}
	}
	defer func() { _ = closeAll() }()

	m, err := tui.New(opts)
	if err != nil {
		return err
	}
	popts := []tea.ProgramOption{}
	if os.Getenv("POS_NO_ALTSCREEN") == "" {
		popts = append(popts, tea.WithAltScreen())
	}
	p := tea.NewProgram(m, popts...)
	// Bubble Tea turns SIGTERM into a quit; a closed terminal window (SIGHUP)
	// must end the same way, so that the open order below gets closed.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		if _, ok := <-hup; ok {
			p.Quit()
		}
	}()
	final, runErr := p.Run()
	fm, _ := final.(tui.Model)
	// Ctrl+C is refused while a QR code is open, but a signal is not: close
	// the order at the wallet so that nobody can pay a code nobody watches.
	if ord, open := fm.OpenOrder(); open {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		closed, err := opts.Gateway.CancelOrder(ctx, ord.ID)
		cancel()
		if err != nil {
			fmt.Fprintf(stderr, "pos: could not close open order %s (%v); the server closes it when its code expires at %s\n",
				ord.OutTradeNo, err, ord.ExpiresAt.Local().Format("15:04:05"))
		} else {
			fmt.Fprintf(stdout, "open order %s: %s\n", closed.OutTradeNo, closed.State)
		}
	}
	if runErr != nil {
		return fmt.Errorf("cashier app: %w", runErr)
	}
	if last := fm.LastResult(); last.ID != "" {
		ref := last.OutTradeNo
		if ref == "" {
			ref = last.MaskedPAN
		}
		fmt.Fprintf(stdout, "last payment: %s %s %s trace %s\n", last.Channel, last.State, ref, last.Trace)
	}
	if note != "" {
		fmt.Fprintln(stdout, note)
	}
	return nil
}

// loadConfig reads the config file: the one named, else the user's when it
// exists, else the defaults.
func loadConfig(path string) (config.Terminal, error) {
	if path == "" {
		if d, err := os.UserConfigDir(); err == nil {
			p := filepath.Join(d, "multipos", "pos.toml")
			if _, err := os.Stat(p); err == nil {
				path = p
			}
		}
	}
	if path == "" {
		return config.DefaultTerminal(), nil
	}
	return config.LoadTerminal(path)
}

// station wires the app to a real posserver and the configured devices.
func station(cfg config.Terminal) (tui.Options, func() error, error) {
	dir := cfg.StateDir
	if dir == "" {
		d, err := config.StateDir()
		if err != nil {
			return tui.Options{}, nil, err
		}
		dir = d
	}
	logf, err := openLog(dir)
	if err != nil {
		return tui.Options{}, nil, err
	}
	slog.SetDefault(slog.New(slog.NewJSONHandler(logf, nil)))
	if cfg.Bundle == "" {
		_ = logf.Close()
		return tui.Options{}, nil, errors.New("no terminal bundle: set bundle = \"/path/to/T001.pem\" in pos.toml " +
			"(the operator issues it with `posserver terminal add`), or try the app with `pos --demo`")
	}
	b, err := bundle.Load(cfg.Bundle)
	if err != nil {
		_ = logf.Close()
		return tui.Options{}, nil, err
	}
	client, err := posclient.FromBundle(b, cfg.Server)
	if err != nil {
		_ = logf.Close()
		return tui.Options{}, nil, err
	}
	traces, err := posclient.OpenTraces(filepath.Join(dir, "trace-"+b.TerminalID))
	if err != nil {
		_ = logf.Close()
		return tui.Options{}, nil, err
	}
	// The counter is a cache of the server's: every answer keeps it in step.
	client.SyncTraces(traces)
	// The card working keys live in memory only: the app signs on when it
	// starts, and the client signs card requests and checks answers with them.
	keys := posclient.NewCardKeys(b.MasterKey)
	client.UseCardKeys(keys)
	opts := tui.Options{
		Gateway:    client,
		Traces:     traces,
		Keys:       cfg.Keys,
		Lang:       cfg.Lang,
		TerminalID: b.TerminalID,
		CardKeys:   keys,
		// Voids and refunds ask for it; "" turns them off.
		SupervisorPassword: cfg.SupervisorPassword,
		PrinterWidth:       cfg.Printer.Width,
		PowerRoot:          "/sys/class/power_supply",
		AppVersion:         version(),
	}
	closeAll := logf.Close
	pr, err := openPrinter(cfg.Printer)
	if err != nil {
		_ = logf.Close()
		return tui.Options{}, nil, err
	}
	if pr != nil {
		// Every copy is stored before it is sent and stays queued until it
		// printed whole: a restart, an empty roll or a printer switched off
		// loses no receipt.
		q, err := spool.Open(filepath.Join(dir, "printqueue"), spool.Options{})
		if err != nil {
			_ = logf.Close()
			return tui.Options{}, nil, fmt.Errorf("print queue: %w", err)
		}
		w := spool.NewWorker(q, pr)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _ = w.Run(ctx); close(done) }()
		opts.Printer, opts.Prints = pr, w
		closeLog := closeAll
		closeAll = func() error {
			cancel()
			<-done
			var err error
			if c, ok := pr.(io.Closer); ok {
				err = c.Close()
			}
			return errors.Join(err, q.Close(), closeLog())
		}
	}
	if cfg.Reader.Kind == "pcsc" {
		// Never fails: while pcscd is down or no reader is plugged in, the
		// status bar says so and the reader keeps looking.
		r := pcsc.Open(pcsc.Options{Filter: cfg.Reader.Name})
		opts.Reader = r
		closeRest := closeAll
		closeAll = func() error { return errors.Join(r.Close(), closeRest()) }
	}
	return opts, closeAll, nil
}

// openLog makes the state folder (0700) and opens pos.log (0600) in it.
// What is logged before pos.log is open (a folder or log file whose
// permissions were tightened) goes into it, not onto the screen.
func openLog(dir string) (*os.File, error) {
	var early bytes.Buffer
	elog := slog.New(slog.NewJSONHandler(&early, nil))
	if err := privfile.MkdirAll(dir, elog); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	logf, err := privfile.OpenAppend(filepath.Join(dir, "pos.log"), elog)
	if err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	_, _ = logf.Write(early.Bytes())
	return logf, nil
}

// version is the app's module version as built ("(devel)" from a checkout).
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi.Main.Version
	}
	return "unknown"
}
