package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/bundle"
	"github.com/multipos/multipos/config"
	"github.com/multipos/multipos/posclient"
	"github.com/multipos/multipos/sandbox/acquirer"
	"github.com/multipos/multipos/server"
)

// `posserver sandbox -bank …` is a bank of its own: posserver, given the
// [bank] section it writes, signs a terminal on and sells through it, the
// acquirer having learnt the terminal's master key from its bundle, and
// the control API shows the sale in the ledger.
func TestSandboxWithBank(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	bundles := filepath.Join(dir, "bundles")
	if err := os.Mkdir(bundles, 0o700); err != nil {
		t.Fatal(err)
	}
	bankAddr, control, notify := freePort(t), freePort(t), freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	out, logs := &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- dispatch(ctx, []string{"sandbox", "-alipay", freePort(t), "-wechat", freePort(t), "-dir", "keys",
			"-bank", bankAddr, "-bank-control", control, "-bundles", bundles, "-notify", notify,
			"-notify-schedule", "100ms,1s", "-card-balance", "1000000"}, out, logs, nil)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), "posserver's sections"); {
		if time.Now().After(deadline) {
			t.Fatalf("sandbox did not start:\n%s\n%s", out, logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	sections, err := os.ReadFile(filepath.Join("keys", "posserver-wallets.toml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{fmt.Sprintf("addr = %q", bankAddr), "http://" + notify + "/notify/alipay", "http://" + notify + "/notify/wechat"} {
		if !strings.Contains(string(sections), want) {
			t.Fatalf("sections lack %s:\n%s", want, sections)
		}
	}
	cfg := fmt.Sprintf("listen = %q\nops_listen = \"\"\ndb = \"posserver.db\"\nchannel_timeout = \"1s\"\nsweep_interval = \"100ms\"\n",
		freePort(t)) + string(sections)
	if err := os.WriteFile("posserver.toml", []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	mustCLI(t, "terminal", "add", "-merchant", "898310000000002", "-store", "S01", "-id", "T001", "-out", filepath.Join(bundles, "T001.pem"))
	_, _, slogs, stop := start(t)
	defer func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	}()
	b, err := bundle.Load(filepath.Join(bundles, "T001.pem"))
	if err != nil {
		t.Fatal(err)
	}
	client, err := posclient.FromBundle(b, "")
	if err != nil {
		t.Fatal(err)
	}
	keys := posclient.NewCardKeys(b.MasterKey)
	on, err := client.CardSignOn(context.Background(), "000001", false)
	if err != nil {
		t.Fatalf("sign-on: %v\n%s\n%s", err, slogs, logs)
	}
	if err := keys.Install(on); err != nil {
		t.Fatal(err)
	}
	client.UseCardKeys(keys)
	good := acquirer.TestCards()[0]
	pb, err := keys.EncryptPIN([]byte(good.PIN), good.PAN)
	if err != nil {
		t.Fatal(err)
	}
	o, err := client.CardSale(context.Background(), posclient.NewRequestID(), api.CardSale{Trace: "000002", Amount: 4321,
		PAN: good.PAN, Expiry: good.Expiry, Entry: "chip", PINBlock: hex.EncodeToString(pb[:])})
	if err != nil || o.State != api.StateSuccess {
		t.Fatalf("sale: %+v %v\n%s", o, err, slogs)
	}
	resp, err := http.Get("http://" + control + "/control/ledger?terminal=T001")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ledger []acquirer.LedgerEntry
	if err := json.NewDecoder(resp.Body).Decode(&ledger); err != nil {
		t.Fatal(err)
	}
	if len(ledger) != 1 || ledger[0].Trace != "000002" || ledger[0].Charged != 4321 || ledger[0].RRN != o.RRN {
		t.Fatalf("ledger: %+v (sale %+v)", ledger, o)
	}
	// channel_timeout: a bank that does not answer leaves the sale
	// UNKNOWN after a second, not after the default 20.
	arm, err := http.Post("http://"+control+"/control/faults", "application/json", strings.NewReader(`{"drop_next":1}`))
	if err != nil {
		t.Fatal(err)
	}
	arm.Body.Close()
	began := time.Now()
	o, err = client.CardSale(context.Background(), posclient.NewRequestID(), api.CardSale{Trace: "000003", Amount: 99,
		PAN: good.PAN, Expiry: good.Expiry, Entry: "chip", PINBlock: hex.EncodeToString(pb[:])})
	if err != nil || o.State != api.StateUnknown || time.Since(began) > 5*time.Second {
		t.Fatalf("sale without an answer: %+v %v after %v", o, err, time.Since(began))
	}
	if strings.Contains(logs.String(), good.PAN) || strings.Contains(slogs.String(), good.PAN) {
		t.Fatal("a full card number reached a log")
	}
}

func TestConfirmPolicies(t *testing.T) {
	got := confirmPolicies(map[string]config.ConfirmRule{"alipay": {Every: time.Second, Tries: 3}})
	if len(got) != 1 || got[api.Alipay] != (server.ConfirmPolicy{Every: time.Second, Tries: 3}) {
		t.Fatalf("%v", got)
	}
}

func TestSandboxFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-bank", "127.0.0.1:0"},
		{"-bank-control", "127.0.0.1:0"},
		{"-notify-schedule", "1s,soon"},
		{"extra"},
	} {
		if _, err := cli(t, append([]string{"sandbox"}, args...)...); err == nil {
			t.Errorf("sandbox %v: no error", args)
		}
	}
}
