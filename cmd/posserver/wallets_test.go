package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/bundle"
	"github.com/multipos/multipos/demo/standins"
	"github.com/multipos/multipos/posclient"
)

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Pointing posserver at a wallet is configuration: the sections `posserver
// sandbox` writes name the sandboxes' URLs and keys, and posserver, reading
// them, charges through its real connectors and takes the signed
// notifications on its notify listener, exactly as it would Alipay's and
// WeChat Pay's.
func TestWalletsFromConfiguration(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	sb, err := standins.StartWallets(context.Background(), standins.WalletOptions{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	sections, err := sb.WriteClientFiles(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	toml, err := os.ReadFile(sections)
	if err != nil {
		t.Fatal(err)
	}
	notify := freePort(t)
	cfg := fmt.Sprintf("listen = %q\nops_listen = \"\"\ndb = \"posserver.db\"\n", freePort(t)) +
		strings.ReplaceAll(string(toml), "127.0.0.1:8480", notify)
	if err := os.WriteFile("posserver.toml", []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	mustCLI(t, "terminal", "add", "-merchant", "898310000000002", "-store", "S01", "-id", "T001")
	_, _, logs, stop := start(t)
	stopped := false
	defer func() {
		if !stopped {
			stop()
		}
	}()
	if !strings.Contains(logs.String(), "wallet connectors") || strings.Contains(logs.String(), "stand-in") ||
		!strings.Contains(logs.String(), "channels on: alipay, wechat; off: card") {
		t.Fatalf("not on the configured connectors:\n%s", logs)
	}
	b, err := bundle.Load("T001.pem")
	if err != nil {
		t.Fatal(err)
	}
	client, err := posclient.FromBundle(b, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i, ch := range []api.Channel{api.Alipay, api.WeChat} {
		o, err := client.CreateWalletOrder(ctx, posclient.NewRequestID(),
			api.CreateWalletOrder{Trace: fmt.Sprintf("00000%d", i+1), Channel: ch, Amount: 888})
		if err != nil || o.State != api.StatePending || o.QRContent == "" {
			t.Fatalf("%s order: %+v, %v", ch, o, err)
		}
		if err := sb.CustomerPays(ctx, ch, o.OutTradeNo); err != nil {
			t.Fatal(err)
		}
		got, err := client.WaitOrder(ctx, o.ID, o.Version, 10*time.Second)
		if err != nil || got.State != api.StateSuccess || got.TradeNo == "" {
			t.Fatalf("%s after paying: %+v, %v\n%s", ch, got, err, logs)
		}
	}
	stopped = true
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
