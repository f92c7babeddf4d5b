package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/config"
	"github.com/multipos/multipos/demo/standins"
	"github.com/multipos/multipos/server"
	"github.com/multipos/multipos/server/connector/bank"
	"github.com/multipos/multipos/server/metrics"
	"github.com/multipos/multipos/server/pki"
	"github.com/multipos/multipos/server/store"
)

const defaultConfig = "posserver.toml"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// What packages log on their own (a file whose permissions were
	// tightened) comes out as JSON, as serve's own log does.
	slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stderr, nil)))
	err := dispatch(ctx, os.Args[1:], os.Stdout, os.Stderr, nil)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "posserver:", err)
		}
		os.Exit(1)
	}
}

// dispatch runs a subcommand; no subcommand (or flags first) is serve.
func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(addr, ops string)) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, stderr, ready)
	case "terminal":
		return terminalCmd(ctx, args, stdout, stderr)
	case "limits":
		return limitsCmd(ctx, args, stdout, stderr)
	case "sandbox":
		return sandboxCmd(ctx, args, stdout, stderr)
	case "migrate":
		return migrateCmd(ctx, args, stdout, stderr)
	case "keys":
		return keysCmd(args, stdout, stderr)
	case "loadtest":
		return loadtestCmd(ctx, args, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", cmd, usage)
}

const usage = `usage:
  posserver [serve] [-config F] [-listen ADDR] [-ops-listen ADDR] [-db PATH|postgres://…] [-demo]
  posserver terminal add -merchant M -store S -id T001 [-merchant-name NAME] [-out FILE]
  posserver terminal list [-merchant M]
  posserver terminal disable|enable|reissue ID
  posserver limits set (-merchant M | -terminal T) -channel C [-single YUAN] [-daily YUAN] [-enabled true|false]
  posserver limits clear (-merchant M | -terminal T) -channel C
  posserver limits show -terminal T
  posserver migrate
  posserver keys status|seal|unseal        (the seal key of pki_dir's private keys: README, "Keys at rest")
  posserver keys rotate (-new-key-file F | -new-key-env VAR)
  posserver keys generate [-out FILE]
  posserver sandbox [-alipay ADDR] [-wechat ADDR] [-dir DIR] [-notify ADDR] [-notify-schedule D,D…]
                    [-bank ADDR -bundles DIR [-bank-control ADDR] [-card-balance YUAN]]   (the sandboxes on their own)
  posserver loadtest [-terminals 1,100,1000] [-duration 10s]
every command takes -config and -db
`

// common are the flags every subcommand shares.
type common struct {
	fl      *flag.FlagSet
	cfgPath *string
	db      *string
}

func newFlags(name string, stderr io.Writer) common {
	fl := flag.NewFlagSet("posserver "+name, flag.ContinueOnError)
	fl.SetOutput(stderr)
	return common{
		fl:      fl,
		cfgPath: fl.String("config", defaultConfig, "configuration file (TOML); built-in defaults when the default file is absent"),
		db:      fl.String("db", "", "database: a SQLite file or a postgres:// URL, overriding the configuration"),
	}
}

// parse reads the flags and the configuration.
func (c common) parse(args []string) (config.Server, error) {
	if err := c.fl.Parse(args); err != nil {
		return config.Server{}, err
	}
	explicit := false
	c.fl.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "config" })
	cfg := config.DefaultServer()
	if _, err := os.Stat(*c.cfgPath); explicit || !errors.Is(err, fs.ErrNotExist) {
		if cfg, err = config.LoadServer(*c.cfgPath); err != nil {
			return config.Server{}, err
		}
	}
	if *c.db != "" {
		cfg.DB = *c.db
	}
	return cfg, nil
}

// openStore opens the configured database.
func openStore(ctx context.Context, cfg config.Server) (*store.Store, error) {
	st, err := store.Open(ctx, cfg.DB)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	return st, nil
}

func migrateCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newFlags("migrate", stderr)
	cfg, err := c.parse(args)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintf(stdout, "database schema is up to date (%s)\n", st.Dialect())
	return nil
}

// serve runs the terminal API and the background work until ctx ends, then
// shuts down: it reports not ready, requests' contexts end (long-polls
// answer at once), handlers finish the channel calls they started, and the
// sweeper stops. ready, if not nil, is told the addresses once both
// listeners accept connections.
func serve(ctx context.Context, args []string, stderr io.Writer, ready func(addr, ops string)) error {
	c := newFlags("serve", stderr)
	listen := c.fl.String("listen", "", "terminal API address (HTTPS, mutual TLS), overriding the configuration")
	opsListen := c.fl.String("ops-listen", "", "operations address (/healthz /readyz /metrics), overriding the configuration")
	demoFlag := c.fl.Bool("demo", false, "training mode (as demo = true): stand-ins for channels without a section, trainer endpoints on, stations show 演示 DEMO")
	cfg, err := c.parse(args)
	if err != nil {
		return err
	}
	if c.fl.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", c.fl.Args())
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	if *opsListen != "" {
		cfg.OpsListen = *opsListen
	}
	cfg.Demo = cfg.Demo || *demoFlag
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	if cfg.Path != "" {
		log.Info("configuration read", "file", cfg.Path)
	}

	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	ca, err := openAuthority(cfg, log)
	if err != nil {
		return err
	}
	if n, err := st.CountTerminals(ctx); err != nil {
		return err
	} else if n == 0 {
		log.Warn("no terminals registered yet; add one with: posserver terminal add -merchant M -store S -id T001")
	}

	keys := server.NewKeyring(st, ca)
	chans, err := openChannels(ctx, cfg, keys, log)
	if err != nil {
		return err
	}
	defer chans.close()
	srv, err := server.New(withTiming(cfg, server.Options{
		Store:            st,
		Wallets:          chans.wallets.conns,
		Customer:         chans.customer(),
		Acquirer:         chans.acquirer,
		Keys:             keys,
		Limits:           server.ChannelLimits(cfg.Limits),
		MerchantLimits:   server.ChannelLimits(cfg.MerchantLimits),
		QRTTL:            cfg.QRTTL,
		RequestRetention: cfg.RequestRetention,
		Logger:           log,
		Metrics:          metrics.New(),
		Demo:             cfg.Demo,
	}))
	if err != nil {
		return err
	}
	nctx, stopNotify := context.WithCancel(context.WithoutCancel(ctx))
	defer stopNotify()
	chans.wallets.serveNotify(nctx, srv, log)
	return run(ctx, srv, ca, cfg, log, ready)
}

// openBank connects the ISO 8583 link to the acquirer of [bank], or,
// without that section, in demo mode to the stand-in acquirer host started
// here on loopback (the demo's bank); else there is no link (nil).
func openBank(ctx context.Context, cfg config.Server, keys *server.Keyring, log *slog.Logger) (*bank.Client, func(), error) {
	if b := cfg.Bank; b != nil {
		// The server starts while the bank is away: card payments fail
		// (nothing sent) until a request finds it back. Each message
		// carries its terminal's batch, from the database.
		c, err := bank.Open(ctx, bank.Config{Addr: b.Addr, Timeout: b.Timeout,
			Lookup: keys.BankLookup, OnError: func(err error) { log.Warn("bank link", "err", err) }})
		if err != nil {
			log.Error("the bank cannot be reached now; card payments fail until it can", "addr", b.Addr, "err", err)
		} else {
			log.Info("bank link", "addr", b.Addr)
		}
		return c, func() { _ = c.Close() }, nil
	}
	if !cfg.Demo {
		return nil, func() {}, nil
	}
	sb, err := standins.StartBank(ctx, standins.BankOptions{MasterKey: keys.MasterKey, Lookup: keys.BankLookup, Logger: log})
	if err != nil {
		return nil, nil, err
	}
	log.Warn("no [bank] section: card payments go to the stand-in acquirer host (sandbox) on loopback; no real bank is reached",
		"addr", sb.Addr)
	return sb.Client, func() { _ = sb.Close() }, nil
}

func run(ctx context.Context, srv *server.Server, ca *pki.Authority, cfg config.Server, log *slog.Logger, ready func(string, string)) error {
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	var opsLn net.Listener
	if cfg.OpsListen != "" {
		if opsLn, err = net.Listen("tcp", cfg.OpsListen); err != nil {
			ln.Close()
			return fmt.Errorf("listen on %s (ops): %w", cfg.OpsListen, err)
		}
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		TLSConfig:         ca.ServerTLSConfig(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      api.MaxWait + server.DefaultChannelTimeout + 10*time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ops := &http.Server{Handler: srv.OpsHandler(), ReadHeaderTimeout: 5 * time.Second}

	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := srv.Run(runCtx); err != nil {
			log.Error("background work stopped", "err", err)
		}
	}()
	served := make(chan error, 2)
	go func() { served <- hs.ServeTLS(ln, "", "") }()
	opsAddr := ""
	if opsLn != nil {
		opsAddr = opsLn.Addr().String()
		go func() { served <- ops.Serve(opsLn) }()
	}
	srv.SetReady(true)
	log.Info("posserver listening", "addr", ln.Addr().String(), "ops", opsAddr, "instance", srv.Instance())
	if ready != nil {
		ready(ln.Addr().String(), opsAddr)
	}

	select {
	case err = <-served:
	case <-ctx.Done():
		log.Info("shutting down: finishing requests in flight")
		srv.SetReady(false)
		sctx, cancel := context.WithTimeout(context.Background(), server.DefaultChannelTimeout+5*time.Second)
		err = hs.Shutdown(sctx)
		cancel()
	}
	stopRun()
	wg.Wait()
	ops.Close()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("posserver stopped")
	return nil
}
