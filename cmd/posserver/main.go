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
	"sync"
	"syscall"
	"time"

	"github.com/multipos/multipos/config"
	"github.com/multipos/multipos/sandbox"
	"github.com/multipos/multipos/server"
	"github.com/multipos/multipos/server/api"
	"github.com/multipos/multipos/server/store"
)

const defaultConfig = "posserver.toml"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, nil); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "posserver:", err)
		}
		os.Exit(1)
	}
}

// run serves until ctx ends. ready, if not nil, is told the address the
// server listens on once it accepts connections.
func run(ctx context.Context, args []string, stderr io.Writer, ready func(addr string)) error {
	fl := flag.NewFlagSet("posserver", flag.ContinueOnError)
	fl.SetOutput(stderr)
	cfgPath := fl.String("config", defaultConfig, "configuration file (TOML); the built-in demo configuration when the default file is absent")
	listen := fl.String("listen", "", "address to listen on, overriding the configuration (e.g. 127.0.0.1:8080)")
	dbPath := fl.String("db", "", "SQLite database file, overriding the configuration")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fl.Args())
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))

	cfg, err := loadConfig(fl, *cfgPath, log)
	if err != nil {
		return err
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	if *dbPath != "" {
		cfg.DB = *dbPath
	}

	st, err := store.Open(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer st.Close()

	conn, err := sandbox.New(sandbox.Options{Terminals: cfg.Terminals, Logger: log})
	if err != nil {
		return err
	}
	defer conn.Stop()
	log.Warn("connectors are the in-process stand-ins (sandbox): no real Alipay, WeChat Pay or bank is reached; demo mode is on")

	srv, err := server.New(server.Options{
		Store:     st,
		Wallets:   conn.Wallets(),
		Acquirer:  conn.Acquirer,
		Merchant:  cfg.Merchant,
		Terminals: cfg.Terminals,
		Limits:    server.ChannelLimits(cfg.Limits),
		QRTTL:     cfg.QRTTL,
		Logger:    log,
		Demo:      true,
	})
	if err != nil {
		return err
	}
	conn.SetNotifier(srv)
	return serve(ctx, srv, cfg.Listen, log, ready)
}

// loadConfig reads the configuration file; only the default file may be
// absent (then the built-in demo configuration applies).
func loadConfig(fl *flag.FlagSet, path string, log *slog.Logger) (config.Server, error) {
	explicit := false
	fl.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "config" })
	if !explicit {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			log.Info("no configuration file; using the built-in demo configuration", "looked_for", path)
			return config.DefaultServer(), nil
		}
	}
	cfg, err := config.LoadServer(path)
	if err != nil {
		return config.Server{}, err
	}
	log.Info("configuration read", "file", path)
	return cfg, nil
}

// serve runs the HTTP server and the expiry sweeper until ctx ends, then
// shuts down: requests' contexts end (long-polls answer at once), handlers
// finish the channel calls they started, and the sweeper stops.
func serve(ctx context.Context, srv *server.Server, addr string, log *slog.Logger, ready func(string)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      api.MaxWait + server.DefaultChannelTimeout + 10*time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := srv.Run(runCtx); err != nil {
			log.Error("expiry sweeper stopped", "err", err)
		}
	}()
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	log.Info("posserver listening", "addr", ln.Addr().String())
	if ready != nil {
		ready(ln.Addr().String())
	}

	select {
	case err = <-served:
	case <-ctx.Done():
		log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), server.DefaultChannelTimeout+5*time.Second)
		err = hs.Shutdown(sctx)
		cancel()
	}
	stopRun()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("posserver stopped")
	return nil
}
