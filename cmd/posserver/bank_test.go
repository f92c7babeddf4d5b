package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/bundle"
	"github.com/multipos/multipos/posclient"
	"github.com/multipos/multipos/sandbox/acquirer"
)

// A [bank] section points posserver at an acquirer host of its own: here
// the stand-in host on its own socket, loaded with the terminal's master
// key from its bundle as a bank's key ceremony would. The terminal signs on
// through posserver and sells with its working keys.
func TestBankFromConfiguration(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	var tmk []byte
	host := acquirer.New(acquirer.Options{Logger: slog.New(slog.DiscardHandler), SettlementDir: dir,
		MasterKey: func(tid string) ([]byte, bool) { return tmk, tid == "T001" && tmk != nil }})
	addr, err := host.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	cfg := fmt.Sprintf("listen = %q\nops_listen = \"\"\ndb = \"posserver.db\"\n\n[bank]\naddr = %q\ntimeout = \"5s\"\n", freePort(t), addr)
	if err := os.WriteFile("posserver.toml", []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	mustCLI(t, "terminal", "add", "-merchant", "898310000000002", "-store", "S01", "-id", "T001")
	b, err := bundle.Load("T001.pem")
	if err != nil {
		t.Fatal(err)
	}
	tmk = b.MasterKey
	_, _, logs, stop := start(t)
	defer stop()
	if strings.Contains(logs.String(), "stand-in acquirer host") || !strings.Contains(logs.String(), "bank link") ||
		!strings.Contains(logs.String(), "channels on: card; off: alipay, wechat") {
		t.Fatalf("not on the configured bank:\n%s", logs)
	}
	client, err := posclient.FromBundle(b, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	keys := posclient.NewCardKeys(b.MasterKey)
	res, err := client.CardSignOn(ctx, "000001", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.Install(res); err != nil {
		t.Fatal(err)
	}
	client.UseCardKeys(keys)
	card := acquirer.TestCards()[0]
	blk, err := keys.EncryptPIN([]byte(card.PIN), card.PAN)
	if err != nil {
		t.Fatal(err)
	}
	o, err := client.CardSale(ctx, posclient.NewRequestID(), api.CardSale{Trace: "000002", Amount: 1234, PAN: card.PAN,
		Expiry: card.Expiry, Track2: card.Track2, Entry: "chip", PINBlock: hex.EncodeToString(blk[:])})
	if err != nil || o.State != api.StateSuccess || o.Batch != "000001" {
		t.Fatalf("sale: %+v, %v\n%s", o, err, logs)
	}
	if l := host.Ledger(); len(l) != 1 || !l[0].Approved || l[0].TerminalID != "T001" || l[0].Amount != 1234 {
		t.Fatalf("the bank's ledger: %+v", l)
	}
}
