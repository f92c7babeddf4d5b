package main

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/multipos/multipos/bundle"
	"github.com/multipos/multipos/config"
	"github.com/multipos/multipos/receipts"
	"github.com/multipos/multipos/sandbox/netprinter"
	"github.com/multipos/multipos/server"
	"github.com/multipos/multipos/server/pki"
	"github.com/multipos/multipos/server/store"
)

// A station configured with nothing but its bundle reaches its server over
// mutual TLS as the terminal the bundle names, with the bundle's key.
func TestStationFromBundle(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dir, "server.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ca, err := pki.NewMemory([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Options{Store: st, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(srv.Handler())
	hs.TLS = ca.ServerTLSConfig()
	hs.StartTLS()
	defer hs.Close()
	b, err := server.Provision(ctx, st, ca, bundle.Identity{TerminalID: "T042", MerchantID: "M1", StoreID: "S1"}, "Shop", hs.URL, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := bundle.Write(filepath.Join(dir, "T042.pem"), b, false); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "pos.toml")
	np, err := netprinter.Start(netprinter.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer np.Close()
	text := "bundle = \"T042.pem\"\nstate_dir = \"" + filepath.Join(dir, "state") + "\"\n" +
		"[printer]\nkind = \"tcp\"\naddr = \"" + np.Addr() + "\"\n"
	if err := os.WriteFile(cfgPath, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadTerminal(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	opts, closeAll, err := station(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll()
	if opts.TerminalID != "T042" || opts.CardKeys == nil {
		t.Fatalf("station is %s with card keys %v; bundle says T042", opts.TerminalID, opts.CardKeys != nil)
	}
	if _, ok := opts.CardKeys.SignedOn(); ok {
		t.Fatal("signed on before any sign-on")
	}
	// Receipts go through the queue in the state directory to the printer.
	if opts.Prints == nil || opts.Printer == nil {
		t.Fatal("no print queue for a configured printer")
	}
	if _, err := opts.Prints.Spool().Add(receipts.Receipt{Channel: "alipay", Trace: "000001", Copy: receipts.MerchantCopy}); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if sheets, err := np.WaitSheets(wctx, 1); err != nil || !strings.Contains(sheets[0].Text(), "000001") {
		for len(opts.Prints.Events()) > 0 {
			t.Logf("%+v", <-opts.Prints.Events())
		}
		t.Fatalf("printed %v: %v", sheets, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "state", "printqueue", "history")); err != nil {
		t.Errorf("print queue not in the state directory: %v", err)
	}
	info, err := opts.Gateway.Terminal(ctx)
	if err != nil || info.TerminalID != "T042" || info.MerchantName != "Shop" {
		t.Fatalf("terminal info over mutual TLS: %+v, %v", info, err)
	}
}

func TestStationNeedsABundle(t *testing.T) {
	cfg := config.DefaultTerminal()
	cfg.StateDir = t.TempDir()
	_, _, err := station(cfg)
	if err == nil || !strings.Contains(err.Error(), "posserver terminal add") || !strings.Contains(err.Error(), "--demo") {
		t.Fatalf("no bundle: %v", err)
	}
	cfg.Bundle = filepath.Join(t.TempDir(), "missing.pem")
	if _, _, err := station(cfg); err == nil || !strings.Contains(err.Error(), "missing.pem") {
		t.Fatalf("missing bundle: %v", err)
	}
}
