package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/bundle"
	"github.com/multipos/multipos/posclient"
	"github.com/multipos/multipos/sandbox/acquirer"
)

// serveT001 registers terminal T001 in the current directory's database
// and serves it with args; it returns the terminal's client and the log.
func serveT001(t *testing.T, args ...string) (*posclient.Client, *syncBuffer) {
	t.Helper()
	mustCLI(t, "terminal", "add", "-merchant", "898310000000002", "-store", "S01", "-id", "T001")
	addr, _, logs, stop := start(t, append([]string{"-listen", "127.0.0.1:0", "-ops-listen", ""}, args...)...)
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	b, err := bundle.Load("T001.pem")
	if err != nil {
		t.Fatal(err)
	}
	c, err := posclient.FromBundle(b, "https://"+addr)
	if err != nil {
		t.Fatal(err)
	}
	return c, logs
}

// wantAPIError checks that err is the API error with code and status.
func wantAPIError(t *testing.T, what string, err error, code string, status int) {
	t.Helper()
	var e *api.Error
	if !errors.As(err, &e) || e.Code != code || e.Status != status {
		t.Errorf("%s: %v, want %s (%d)", what, err, code, status)
	}
}

// Without --demo and without a channel's section the channel is off: the
// terminal is told so and why, its requests are refused as disabled, the
// trainer endpoints do not exist and the log says which channel is off.
func TestServeWithoutDemoTurnsUnconfiguredChannelsOff(t *testing.T) {
	t.Chdir(t.TempDir())
	c, logs := serveT001(t)
	ctx := context.Background()
	info, err := c.Terminal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Demo {
		t.Error("terminal info claims demo mode")
	}
	if info.BusinessZone != "Asia/Shanghai" || info.BusinessOffset != 8*3600 {
		t.Errorf("business day's zone %q %+d, want Beijing time by default", info.BusinessZone, info.BusinessOffset)
	}
	if len(info.Channels) != len(api.Channels) {
		t.Fatalf("channels %+v", info.Channels)
	}
	for _, ci := range info.Channels {
		if ci.Enabled || ci.DisabledReason != api.DisabledNotConfigured {
			t.Errorf("%s: enabled %v, disabled_reason %q", ci.Channel, ci.Enabled, ci.DisabledReason)
		}
	}

	_, err = c.CreateWalletOrder(ctx, posclient.NewRequestID(), api.CreateWalletOrder{Trace: "000001", Channel: api.Alipay, Amount: 100})
	wantAPIError(t, "wallet order", err, api.CodeChannelDisabled, http.StatusForbidden)
	_, err = c.CreateBarcodeOrder(ctx, posclient.NewRequestID(),
		api.CreateBarcodeOrder{Trace: "000002", Channel: api.WeChat, Amount: 100, AuthCode: "134567890123456789"})
	wantAPIError(t, "payment code", err, api.CodeChannelDisabled, http.StatusForbidden)
	card := acquirer.TestCards()[0]
	_, err = c.CardSale(ctx, posclient.NewRequestID(), api.CardSale{Trace: "000003", Amount: 100, PAN: card.PAN,
		Expiry: card.Expiry, Track2: card.Track2, Entry: "chip", PINBlock: "0000000000000000"})
	wantAPIError(t, "card sale", err, api.CodeChannelDisabled, http.StatusForbidden)
	_, err = c.CardSignOn(ctx, "000004", false)
	wantAPIError(t, "card sign-on", err, api.CodeChannelDisabled, http.StatusForbidden)
	_, err = c.DemoPay(ctx, "o1")
	wantAPIError(t, "trainer pay", err, api.CodeNotFound, http.StatusNotFound)
	_, err = c.DemoDecline(ctx, "o1")
	wantAPIError(t, "trainer decline", err, api.CodeNotFound, http.StatusNotFound)

	log := logs.String()
	for _, want := range []string{
		"alipay is off: the configuration has no [alipay] section",
		"wechat is off: the configuration has no [wechat] section",
		"card is off: the configuration has no [bank] section",
		"no payment channel is set up",
		"channels on: none; off: alipay, wechat, card",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	// Nothing stands in, and with no wallet nothing listens for notifications.
	for _, not := range []string{"stand-in", "sandbox", "demo mode", "wallet notifications"} {
		if strings.Contains(log, not) {
			t.Errorf("log says %q:\n%s", not, log)
		}
	}
}

// business_zone reaches the server: the terminal is told the chain's zone.
func TestServeBusinessZone(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.WriteFile("posserver.toml", []byte("business_zone = \"America/Sao_Paulo\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _ := serveT001(t, "-config", "posserver.toml")
	info, err := c.Terminal(context.Background())
	if err != nil || info.BusinessZone != "America/Sao_Paulo" || info.BusinessOffset != -3*3600 {
		t.Fatalf("terminal info: zone %q %+d, %v", info.BusinessZone, info.BusinessOffset, err)
	}
}

// --demo (either spelling of the flag) or demo = true in the file runs
// today's training server: stand-ins for every channel without a section,
// the trainer endpoints on, the terminal told it is in demo mode.
func TestServeDemo(t *testing.T) {
	for name, args := range map[string][]string{
		"--demo":      {"--demo"},
		"-demo":       {"-demo"},
		"demo = true": {"-config", "posserver.toml"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			if err := os.WriteFile("posserver.toml", []byte("demo = true\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if args[0] != "-config" {
				// The flag alone, with a file that does not say demo.
				if err := os.WriteFile("posserver.toml", []byte("demo = false\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			c, logs := serveT001(t, args...)
			checkDemoServer(t, c, logs)
		})
	}
}

func checkDemoServer(t *testing.T, c *posclient.Client, logs *syncBuffer) {
	t.Helper()
	ctx := context.Background()
	info, err := c.Terminal(ctx)
	if err != nil || !info.Demo {
		t.Fatalf("terminal info: %+v, %v", info, err)
	}
	for _, ci := range info.Channels {
		if !ci.Enabled || ci.DisabledReason != "" {
			t.Errorf("%s: enabled %v, disabled_reason %q", ci.Channel, ci.Enabled, ci.DisabledReason)
		}
	}
	o, err := c.CreateWalletOrder(ctx, posclient.NewRequestID(), api.CreateWalletOrder{Trace: "000001", Channel: api.Alipay, Amount: 100})
	if err != nil {
		t.Fatal(err)
	}
	if paid, err := c.DemoPay(ctx, o.ID); err != nil || paid.State != api.StateSuccess {
		t.Fatalf("trainer pay: %+v, %v", paid, err)
	}
	if _, err := c.CreateWalletOrder(ctx, posclient.NewRequestID(), api.CreateWalletOrder{Trace: "000002", Channel: api.WeChat, Amount: 100}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CardSignOn(ctx, "000003", false); err != nil {
		t.Fatalf("card sign-on on the stand-in bank: %v", err)
	}
	log := logs.String()
	for _, want := range []string{
		"on in-process stand-ins: alipay, wechat, card",
		"channels on: alipay (stand-in), wechat (stand-in), card (stand-in); off: none",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, " is off:") {
		t.Errorf("a channel is off in demo mode:\n%s", log)
	}
}
