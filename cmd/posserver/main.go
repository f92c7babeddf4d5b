package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
	_ "time/tzdata" // business_zone is known on a machine without the zone database

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/cmd/internal/cmdline"
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
	code := cmdline.Main(ctx, newRoot(nil), os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// dispatch runs the command line args as main does and returns its error.
// ready, if not nil, is told serve's addresses once it listens.
func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(addr, ops string)) error {
	_, err := cmdline.Run(ctx, newRoot(ready), args, stdout, stderr)
	return err
}

// newRoot builds the command tree. Alone, posserver prints its help: it
// starts nothing and writes nothing (a server needs `posserver serve`).
func newRoot(ready func(addr, ops string)) *cobra.Command {
	root := &cobra.Command{
		Use:   "posserver",
		Short: "The server behind a chain's POS stations",
		Long: `posserver serves the terminal API to the chain's POS stations over mutual TLS,
registers terminals and issues their credentials, keeps the journal in SQLite
or PostgreSQL, and resolves payments whose outcome is unknown.

Commands that work on the server's data take --config (default ` + defaultConfig + `,
built-in defaults when it is absent) and --db. Flags may also be written
Go-style with one dash (-db FILE).`,
		Example: `  posserver serve --demo                       a training server with stand-in wallets and bank
  posserver terminal add --merchant 898310048160001 --store S01 --id T001
  posserver help terminal add`,
	}
	return cmdline.Group(root, serveCmd(ready), terminalCmd(), limitsCmd(), keysCmd(), migrateCmd(), sandboxCmd(), loadtestCmd(),
		reconcileCmd(), reportCmd(), reconbenchCmd())
}

// common are the flags of the commands that read the configuration.
type common struct {
	fl      *pflag.FlagSet
	cfgPath *string
	db      *string
}

// configFlags gives cmd --config and --db.
func configFlags(cmd *cobra.Command) common {
	fl := cmd.Flags()
	return common{
		fl:      fl,
		cfgPath: fl.String("config", defaultConfig, "configuration file (TOML); built-in defaults when the default file is absent"),
		db:      fl.String("db", "", "database: a SQLite file or a postgres:// URL, overriding the configuration"),
	}
}

// load reads the configuration the flags name.
func (c common) load() (config.Server, error) {
	cfg := config.DefaultServer()
	if _, err := os.Stat(*c.cfgPath); c.fl.Changed("config") || !errors.Is(err, fs.ErrNotExist) {
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

// withStore loads the configuration the flags name, opens its database
// for f and closes it after.
func (c common) withStore(ctx context.Context, f func(cfg config.Server, st *store.Store) error) error {
	cfg, err := c.load()
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	return f(cfg, st)
}

func migrateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Bring the database schema up to date and exit",
		Long:  "migrate creates or upgrades the database's schema (serve does so too when it starts) and exits.",
		Args:  cmdline.Args(cobra.NoArgs),
	}
	c := configFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return c.withStore(cmd.Context(), func(_ config.Server, st *store.Store) error {
			fmt.Fprintf(cmd.OutOrStdout(), "database schema is up to date (%s)\n", st.Dialect())
			return nil
		})
	}
	return cmd
}

// serveFlags are serve's own flags.
type serveFlags struct {
	common
	listen, opsListen *string
	demo              *bool
}

func serveCmd(ready func(addr, ops string)) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the server: the terminal API, the operations endpoints and the background work",
		Long: `serve runs the terminal API (HTTPS, mutual TLS) and the operations endpoints
(/healthz /readyz /metrics) until SIGINT or SIGTERM, then stops cleanly: it
reports itself not ready, answers long-polls, finishes payments already sent
to a channel, then closes the database. The first start creates the database
and pki_dir (the server's certificate authority) where the configuration says.

A channel is on when its section ([alipay], [wechat], [bank]) is in the
configuration. In demo mode (--demo, or demo = true) a channel without its
section runs on an in-process stand-in, and the trainer endpoints are on.`,
		Args: cmdline.Args(cobra.NoArgs),
	}
	f := serveFlags{common: configFlags(cmd)}
	f.listen = cmd.Flags().String("listen", "", "terminal API address (HTTPS, mutual TLS), overriding the configuration")
	f.opsListen = cmd.Flags().String("ops-listen", "", `operations address (/healthz /readyz /metrics), overriding the configuration; "" turns them off`)
	f.demo = cmd.Flags().Bool("demo", false, "training mode (as demo = true): stand-ins for channels without a section, trainer endpoints on, stations show 演示 DEMO")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return serve(cmd.Context(), f, cmd.ErrOrStderr(), ready)
	}
	return cmd
}

// serve runs the terminal API and the background work until ctx ends, then
// shuts down: it reports not ready, requests' contexts end (long-polls
// answer at once), handlers finish the channel calls they started, and the
// sweeper stops. ready, if not nil, is told the addresses once both
// listeners accept connections.
func serve(ctx context.Context, f serveFlags, stderr io.Writer, ready func(addr, ops string)) error {
	cfg, err := f.load()
	if err != nil {
		return err
	}
	if *f.listen != "" {
		cfg.Listen = *f.listen
	}
	if f.fl.Changed("ops-listen") {
		cfg.OpsListen = *f.opsListen
	}
	cfg.Demo = cfg.Demo || *f.demo
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
		log.Warn("no terminals registered yet; add one with: posserver terminal add --merchant M --store S --id T001")
	}

	zone, err := cfg.Zone()
	if err != nil {
		return err
	}
	keys := server.NewKeyring(st, ca)
	chans, err := openChannels(ctx, cfg, keys, log)
	if err != nil {
		return err
	}
	defer chans.close()
	met := metrics.New()
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
		Zone:             zone,
		Logger:           log,
		Metrics:          met,
		Demo:             cfg.Demo,
	}))
	if err != nil {
		return err
	}
	nctx, stopNotify := context.WithCancel(context.WithoutCancel(ctx))
	defer stopNotify()
	chans.wallets.serveNotify(nctx, srv, log)
	stopReconcile, err := startReconcile(nctx, cfg, chans.wallets, st, srv.Instance(), met, log)
	defer stopReconcile()
	if err != nil {
		return err
	}
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
