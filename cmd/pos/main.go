// Command pos is the multipos cashier station: a full-screen terminal app
// that takes Alipay, WeChat Pay and bank-card payments. `pos --demo` runs a
// complete training station in one process, with no hardware and no accounts;
// `pos doctor` checks a station's card reader and printers. The command line
// is cobra's (package cmd/internal/cmdline): `pos --help`, `pos --version`.
package main

import (
	// termguard's init runs before bubbletea's and keeps it from stalling
	// start-up on terminals that never answer a colour query (see its doc).
	"github.com/multipos/multipos/cmd/pos/internal/termguard"

	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/multipos/multipos/bundle"
	"github.com/multipos/multipos/cmd/internal/cmdline"
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
	os.Exit(cmdline.Main(context.Background(), newRoot(), os.Args[1:], os.Stdout, os.Stderr))
}

// appFlags are the flags of the cashier app itself.
type appFlags struct {
	demo         bool
	config, lang string
}

// newRoot builds the command line: pos alone starts the cashier app, its
// subcommands are tools for whoever installs the station.
func newRoot() *cobra.Command {
	var f appFlags
	root := &cobra.Command{
		Use:   "pos",
		Short: "The multipos cashier station",
		Long: `pos is the cashier station: a full-screen terminal app that takes Alipay,
WeChat Pay and bank-card payments through posserver. It needs a terminal
window (80x24 or larger).

  pos --demo     a complete training station in one process: no hardware,
                 no accounts (the server, wallets, bank, card reader and
                 printer are stand-ins)
  pos            the station: pos.toml names the terminal bundle that
                 ` + "`posserver terminal add`" + ` issued, the card reader and the printer
  pos doctor     the installer's check of the card reader and the printers

Flags may also be written Go-style with one dash (-demo).`,
		Example: "  pos --demo --lang en\n  pos --config /etc/multipos/pos.toml\n  pos doctor --print-test",
		Args:    cmdline.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return run(cmd.Context(), f, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	root.Flags().BoolVar(&f.demo, "demo", false, "training mode: embedded server, wallet and bank stand-ins, simulated reader and printer")
	root.Flags().StringVar(&f.config, "config", "", "configuration file (default: $XDG_CONFIG_HOME/multipos/pos.toml when it exists)")
	root.Flags().StringVar(&f.lang, "lang", "", "display language: zh or en (overrides the config file)")
	root.AddCommand(doctorCmd())
	return root
}

// run runs the cashier app until the cashier quits it.
func run(ctx context.Context, f appFlags, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(f.config)
	if err != nil {
		return err
	}
	if f.lang != "" {
		l, err := i18n.Parse(f.lang)
		if err != nil {
			return cmdline.UsageError{Err: fmt.Errorf("--lang: %w", err)}
		}
		cfg.Lang = l
	}
	if !term.IsTerminal(int(os.Stdin.Fd())) || !term.IsTerminal(int(os.Stdout.Fd())) {
		return errors.New("the cashier app needs a terminal (run it in a terminal window, or under tmux)")
	}
	opts, closeAll, note, err := setUp(ctx, f.demo, cfg)
	if err != nil {
		return err
	}
	defer func() { _ = closeAll() }()
	m, err := tui.New(opts)
	if err != nil {
		return err
	}
	fm, runErr := runProgram(m)
	closeOpenOrder(fm, opts.Gateway, stdout, stderr)
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

// setUp builds what the app works with: the demo's stand-ins, or the
// station's server and devices. note is said when the app ends.
func setUp(ctx context.Context, demoMode bool, cfg config.Terminal) (opts tui.Options, closeAll func() error, note string, err error) {
	if !demoMode {
		opts, closeAll, err = station(cfg)
		return opts, closeAll, "", err
	}
	env, err := demo.Start(ctx, demo.Options{Width: cfg.Printer.Width})
	if err != nil {
		return tui.Options{}, nil, "", fmt.Errorf("start demo: %w", err)
	}
	return env.TUIOptions(cfg), env.Close, fmt.Sprintf("demo files (database, receipts, log): %s", env.Dir), nil
}

// runProgram runs the app's screens and returns the model they ended with.
func runProgram(m tui.Model) (tui.Model, error) {
	popts := []tea.ProgramOption{}
	if os.Getenv("POS_NO_ALTSCREEN") == "" {
		popts = append(popts, tea.WithAltScreen())
	}
	p := tea.NewProgram(m, popts...)
	// Bubble Tea turns SIGTERM into a quit; a closed terminal window (SIGHUP)
	// must end the same way, so that the open order gets closed.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		if _, ok := <-hup; ok {
			p.Quit()
		}
	}()
	final, err := p.Run()
	fm, _ := final.(tui.Model)
	return fm, err
}

// closeOpenOrder closes the order whose QR code was on screen when the app
// ended: Ctrl+C is refused while a QR code is open, but a signal is not,
// and nobody may pay a code nobody watches.
func closeOpenOrder(fm tui.Model, gw tui.Gateway, stdout, stderr io.Writer) {
	ord, open := fm.OpenOrder()
	if !open {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	closed, err := gw.CancelOrder(ctx, ord.ID)
	if err != nil {
		fmt.Fprintf(stderr, "pos: could not close open order %s (%v); the server closes it when its code expires at %s\n",
			ord.OutTradeNo, err, ord.ExpiresAt.Local().Format("15:04:05"))
		return
	}
	fmt.Fprintf(stdout, "open order %s: %s\n", closed.OutTradeNo, closed.State)
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
	opts, err := connect(cfg, dir)
	if err != nil {
		_ = logf.Close()
		return tui.Options{}, nil, err
	}
	closePrinter, err := startPrinter(cfg.Printer, dir, &opts)
	if err != nil {
		_ = logf.Close()
		return tui.Options{}, nil, err
	}
	closeAll := func() error { return errors.Join(closePrinter(), logf.Close()) }
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

// connect makes the client of the posserver that the terminal bundle
// names, with the terminal's trace counter in dir and its card keys.
func connect(cfg config.Terminal, dir string) (tui.Options, error) {
	if cfg.Bundle == "" {
		return tui.Options{}, errors.New("no terminal bundle: set bundle = \"/path/to/T001.pem\" in pos.toml " +
			"(the operator issues it with `posserver terminal add`), or try the app with `pos --demo`")
	}
	b, err := bundle.Load(cfg.Bundle)
	if err != nil {
		return tui.Options{}, err
	}
	client, err := posclient.FromBundle(b, cfg.Server)
	if err != nil {
		return tui.Options{}, err
	}
	traces, err := posclient.OpenTraces(filepath.Join(dir, "trace-"+b.TerminalID))
	if err != nil {
		return tui.Options{}, err
	}
	// The counter is a cache of the server's: every answer keeps it in step.
	client.SyncTraces(traces)
	// The card working keys live in memory only: the app signs on when it
	// starts, and the client signs card requests and checks answers with them.
	keys := posclient.NewCardKeys(b.MasterKey)
	client.UseCardKeys(keys)
	return tui.Options{
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
		AppVersion:         cmdline.Version(),
	}, nil
}

// startPrinter opens the configured printer, if any, into opts with its
// print queue in dir and the worker that empties it, and returns what
// stops and closes them.
func startPrinter(c config.Printer, dir string, opts *tui.Options) (func() error, error) {
	pr, err := openPrinter(c)
	if err != nil || pr == nil {
		return func() error { return nil }, err
	}
	// Every copy is stored before it is sent and stays queued until it
	// printed whole: a restart, an empty roll or a printer switched off
	// loses no receipt.
	q, err := spool.Open(filepath.Join(dir, "printqueue"), spool.Options{})
	if err != nil {
		return nil, fmt.Errorf("print queue: %w", err)
	}
	w := spool.NewWorker(q, pr)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = w.Run(ctx); close(done) }()
	opts.Printer, opts.Prints = pr, w
	return func() error {
		cancel()
		<-done
		var err error
		if c, ok := pr.(io.Closer); ok {
			err = c.Close()
		}
		return errors.Join(err, q.Close())
	}, nil
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
