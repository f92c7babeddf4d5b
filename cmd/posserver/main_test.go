package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/bundle"
	"github.com/multipos/multipos/posclient"
	"github.com/multipos/multipos/server/store"
	"github.com/multipos/multipos/server/store/storetest"
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

// start runs `posserver serve` with args and returns its addresses and a
// function that stops it and returns its error.
func start(t *testing.T, args ...string) (addr, ops string, logs *syncBuffer, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs = &syncBuffer{}
	type addrs struct{ api, ops string }
	ready := make(chan addrs, 1)
	done := make(chan error, 1)
	go func() {
		done <- dispatch(ctx, append([]string{"serve"}, args...), io.Discard, logs, func(a, o string) { ready <- addrs{a, o} })
	}()
	select {
	case a := <-ready:
		return a.api, a.ops, logs, func() error { cancel(); return <-done }
	case err := <-done:
		cancel()
		t.Fatalf("posserver did not start: %v\n%s", err, logs)
	case <-time.After(15 * time.Second):
		cancel()
		t.Fatalf("posserver did not start\n%s", logs)
	}
	return "", "", nil, nil
}

// cli runs a posserver subcommand and returns what it printed.
func cli(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := dispatch(context.Background(), args, &out, &errOut, nil)
	return out.String() + errOut.String(), err
}

func mustCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, err := cli(t, args...)
	if err != nil {
		t.Fatalf("posserver %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func getOps(t *testing.T, ops, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + ops + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The operator's whole day: register a terminal, serve it over mutual TLS,
// take a payment, watch it in the list and the metrics, set a limit,
// disable the terminal, stop and restart. On both databases.
func TestOperatorDay(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		dir := t.TempDir()
		t.Chdir(dir) // no posserver.toml here: the built-in defaults, pki/ in this directory
		db := storetest.DSN(t, d)
		out := mustCLI(t, "terminal", "add", "-db", db, "-merchant", "898310000000002", "-merchant-name", "Shop", "-store", "S01", "-id", "T001")
		if !strings.Contains(out, "T001.pem") || !strings.Contains(out, "bundle") {
			t.Fatalf("terminal add said:\n%s", out)
		}
		if _, err := cli(t, "terminal", "add", "-db", db, "-merchant", "898310000000002", "-store", "S01", "-id", "T001"); err == nil {
			t.Fatal("a second terminal T001 was registered")
		}
		b, err := bundle.Load(filepath.Join(dir, "T001.pem"))
		if err != nil {
			t.Fatal(err)
		}

		addr, ops, logs, stop := start(t, "-listen", "127.0.0.1:0", "-ops-listen", "127.0.0.1:0", "-db", db, "-demo")
		c, err := posclient.FromBundle(b, "https://"+addr)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		info, err := c.Terminal(ctx)
		if err != nil || !info.Demo || info.MerchantID != "898310000000002" || info.MerchantName != "Shop" || info.StoreID != "S01" {
			t.Fatalf("terminal: %+v, %v", info, err)
		}
		if _, err := c.Heartbeat(ctx, api.Heartbeat{AppVersion: "test"}); err != nil {
			t.Fatal(err)
		}
		o, err := c.CreateWalletOrder(ctx, posclient.NewRequestID(), api.CreateWalletOrder{Trace: "000001", Channel: api.WeChat, Amount: 1500})
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

		list := mustCLI(t, "terminal", "list", "-db", db)
		for _, want := range []string{"T001", "898310000000002", "S01", "enabled", "yes", "wechat ¥15.00 SUCCESS"} {
			if !strings.Contains(list, want) {
				t.Errorf("terminal list lacks %q:\n%s", want, list)
			}
		}
		if code, body := getOps(t, ops, "/readyz"); code != http.StatusOK {
			t.Errorf("readyz %d %s", code, body)
		}
		if _, body := getOps(t, ops, "/metrics"); !strings.Contains(body, `multipos_transactions_total{channel="wechat",state="SUCCESS"} 1`) ||
			!strings.Contains(body, `route="POST /v1/orders"`) {
			t.Errorf("metrics lack the payment:\n%.2000s", body)
		}

		mustCLI(t, "limits", "set", "-db", db, "-terminal", "T001", "-channel", "alipay", "-single", "12.00")
		shown := mustCLI(t, "limits", "show", "-db", db, "-terminal", "T001")
		if !strings.Contains(shown, "12.00") {
			t.Errorf("limits show:\n%s", shown)
		}
		eventually(t, func() bool {
			_, err := c.CreateWalletOrder(ctx, posclient.NewRequestID(), api.CreateWalletOrder{Trace: "000002", Channel: api.Alipay, Amount: 1201})
			var e *api.Error
			return errors.As(err, &e) && e.Code == api.CodeOverLimit && e.Limit == 1200
		})

		mustCLI(t, "terminal", "disable", "-db", db, "T001")
		eventually(t, func() bool {
			_, err := c.Terminal(ctx)
			var e *api.Error
			return errors.As(err, &e) && e.Code == api.CodeTerminalDisabled
		})
		mustCLI(t, "terminal", "enable", "-db", db, "T001")
		eventually(t, func() bool { _, err := c.Terminal(ctx); return err == nil })

		if err := stop(); err != nil {
			t.Fatalf("stop: %v", err)
		}
		select {
		case <-polled:
		case <-time.After(10 * time.Second):
			t.Fatal("long-poll still open after shutdown")
		}
		for _, want := range []string{"sandbox", "posserver stopped", `"level":"INFO"`} {
			if !strings.Contains(logs.String(), want) {
				t.Errorf("log lacks %q:\n%s", want, logs)
			}
		}

		// The journal survives a restart (here out of demo mode: the order
		// stays as it was); a reissued bundle replaces the old one.
		mustCLI(t, "terminal", "reissue", "-db", db, "-out", filepath.Join(dir, "T001-new.pem"), "T001")
		addr, _, _, stop = start(t, "-listen", "127.0.0.1:0", "-ops-listen", "", "-db", db)
		defer stop()
		old, _ := posclient.FromBundle(b, "https://"+addr)
		var e *api.Error
		if _, err := old.Terminal(ctx); !errors.As(err, &e) || e.Code != api.CodeCertificateRetired {
			t.Fatalf("old bundle after reissue: %v", err)
		}
		nb, err := bundle.Load(filepath.Join(dir, "T001-new.pem"))
		if err != nil {
			t.Fatal(err)
		}
		c, _ = posclient.FromBundle(nb, "https://"+addr)
		got, err := c.OrderByTrace(ctx, "000001")
		if err != nil || got.ID != o.ID || got.State != api.StateSuccess {
			t.Fatalf("after restart: %+v, %v", got, err)
		}
	})
}

func eventually(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestConfigFileAndErrors(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "posserver.toml")
	text := `listen = "127.0.0.1:0"
ops_listen = ""
db = "x.db"
pki_dir = "keys"
`
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	mustCLI(t, "migrate", "-config", cfg)
	if _, err := os.Stat(filepath.Join(dir, "x.db")); err != nil {
		t.Fatalf("db not next to the config file: %v", err)
	}
	addr, _, _, stop := start(t, "-config", cfg)
	defer stop()
	if _, _, err := net.SplitHostPort(addr); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "keys", "ca.crt")); err != nil {
		t.Fatalf("pki_dir not used: %v", err)
	}
	for _, args := range [][]string{
		{"serve", "-config", filepath.Join(dir, "missing.toml")},
		{"terminal", "add", "-config", cfg, "-merchant", "M"},
		{"terminal", "add", "-config", cfg, "-merchant", "M", "-store", "S", "-id", "TOOLONG123"},
		{"terminal", "disable", "-config", cfg, "NOPE"},
		{"limits", "set", "-config", cfg, "-terminal", "NOPE", "-channel", "alipay", "-single", "1"},
		{"limits", "set", "-config", cfg, "-merchant", "M", "-terminal", "T", "-channel", "alipay", "-single", "1"},
		{"limits", "set", "-config", cfg, "-terminal", "T", "-channel", "bitcoin", "-single", "1"},
		{"limits", "set", "-config", cfg, "-terminal", "T", "-channel", "alipay", "-single", "1.234"},
		{"frobnicate"},
	} {
		if out, err := cli(t, args...); err == nil {
			t.Errorf("posserver %s succeeded:\n%s", strings.Join(args, " "), out)
		}
	}
}
