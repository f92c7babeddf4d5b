package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/multipos/multipos/channels"
	"github.com/multipos/multipos/config"
	"github.com/multipos/multipos/server/api"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs posserver with args and returns its address and a function
// that stops it and returns run's error.
func start(t *testing.T, args ...string) (string, *syncBuffer, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, logs, func(a string) { addr <- a }) }()
	select {
	case a := <-addr:
		return a, logs, func() error { cancel(); return <-done }
	case err := <-done:
		cancel()
		t.Fatalf("posserver did not start: %v\n%s", err, logs)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatalf("posserver did not start\n%s", logs)
	}
	return "", nil, nil
}

func TestServesAPaymentAndStops(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir) // no posserver.toml here: the built-in configuration
	db := filepath.Join(dir, "pos.db")
	addr, logs, stop := start(t, "--listen", "127.0.0.1:0", "--db", db)
	c := channels.NewClient("http://"+addr, config.DefaultServer().Terminals[0].ID, nil)
	ctx := context.Background()
	info, err := c.Terminal(ctx)
	if err != nil || !info.Demo || info.MerchantID != config.DefaultServer().Merchant.ID {
		t.Fatalf("terminal: %+v, %v", info, err)
	}
	o, err := c.CreateWalletOrder(ctx, api.CreateWalletOrder{Trace: "000001", Channel: api.WeChat, Amount: 1500})
	if err != nil || o.State != api.StatePending {
		t.Fatalf("order: %+v, %v", o, err)
	}
	// A long-poll in progress is answered when the server stops.
	polled := make(chan error, 1)
	go func() {
		_, err := c.WaitOrder(ctx, o.ID, o.Version+10, api.MaxWait)
		polled <- err
	}()
	paid, err := c.DemoPay(ctx, o.ID)
	if err != nil || paid.State != api.StateSuccess {
		t.Fatalf("pay: %+v, %v", paid, err)
	}
	if err := stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	select {
	case <-polled:
	case <-time.After(10 * time.Second):
		t.Fatal("long-poll still open after shutdown")
	}
	for _, want := range []string{"stand-ins", "built-in demo configuration", "posserver stopped"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	if _, err := os.Stat(db); err != nil {
		t.Fatalf("database: %v", err)
	}
	// The journal survives a restart.
	addr, _, stop = start(t, "--listen", "127.0.0.1:0", "--db", db)
	defer stop()
	c = channels.NewClient("http://"+addr, config.DefaultServer().Terminals[0].ID, nil)
	got, err := c.OrderByTrace(ctx, "000001")
	if err != nil || got.ID != o.ID || got.State != api.StateSuccess {
		t.Fatalf("after restart: %+v, %v", got, err)
	}
}

func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "posserver.toml")
	text := `listen = "127.0.0.1:0"
db = "` + filepath.Join(dir, "x.db") + `"

[merchant]
id = "898310000000002"
name = "Shop"

[[terminals]]
id = "POS42"
pin_key = "0123456789ABCDEFFEDCBA9876543210"
`
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	addr, _, stop := start(t, "--config", cfg)
	defer stop()
	info, err := channels.NewClient("http://"+addr, "POS42", nil).Terminal(context.Background())
	if err != nil || info.MerchantID != "898310000000002" {
		t.Fatalf("%+v, %v", info, err)
	}
	if err := run(context.Background(), []string{"--config", filepath.Join(dir, "missing.toml")}, &syncBuffer{}, nil); err == nil {
		t.Fatal("a missing --config file was accepted")
	}
}
