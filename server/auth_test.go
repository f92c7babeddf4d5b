package server

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/bundle"
	"github.com/multipos/multipos/posclient"
	"github.com/multipos/multipos/server/pki"
)

// handshakeRefused checks that a request over tc gets no HTTP answer at all.
func handshakeRefused(t *testing.T, what, url string, tc *tls.Config) {
	t.Helper()
	resp, err := clientWith(t, tc).Get(url + "/v1/ping")
	if err == nil {
		resp.Body.Close()
		t.Fatalf("%s: answered %s", what, resp.Status)
	}
	var e *api.Error
	if errors.As(err, &e) {
		t.Fatalf("%s: %v", what, err)
	}
}

// issued is a bundle for a certificate the authority issues but that is
// not (or no longer) the one registered.
func issued(t *testing.T, ca, trusted *pki.Authority, id bundle.Identity) bundle.Bundle {
	t.Helper()
	c, err := ca.IssueTerminal(id, 0)
	if err != nil {
		t.Fatal(err)
	}
	return bundle.Bundle{TerminalID: id.TerminalID, MerchantID: id.MerchantID, StoreID: id.StoreID,
		CertPEM: c.CertPEM, KeyPEM: c.KeyPEM, CAPEM: trusted.CAPEM()}
}

func fromBundle(t *testing.T, b bundle.Bundle, url string) *posclient.Client {
	t.Helper()
	c, err := posclient.FromBundle(b, url)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestMutualTLSRefusesStrangers(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		ctx := context.Background()
		// No certificate: the handshake fails.
		handshakeRefused(t, "no certificate", r.url, &tls.Config{RootCAs: r.ca.ClientPool()})
		// A certificate from another authority, even for a registered terminal.
		other := newAuthority(t)
		tc, err := issued(t, other, r.ca, terminals[0]).ClientTLSConfig()
		if err != nil {
			t.Fatal(err)
		}
		handshakeRefused(t, "another authority's certificate", r.url, tc)
		// A client that does not trust the server refuses it.
		tc, err = issued(t, r.ca, other, terminals[0]).ClientTLSConfig()
		if err != nil {
			t.Fatal(err)
		}
		handshakeRefused(t, "a server the client does not trust", r.url, tc)

		// A certificate of this authority for a terminal never registered.
		stranger := fromBundle(t, issued(t, r.ca, r.ca, bundle.Identity{TerminalID: "T9", MerchantID: m1, StoreID: "S1"}), r.url)
		if _, err := stranger.Terminal(ctx); apiErr(t, err).Code != api.CodeUnknownTerminal || apiErr(t, err).Status != http.StatusUnauthorized {
			t.Fatalf("unregistered terminal: %v", err)
		}
		if _, err := stranger.Ping(ctx); apiErr(t, err).Code != api.CodeUnknownTerminal {
			t.Fatalf("ping from an unregistered terminal: %v", err)
		}
		_, err = stranger.CreateWalletOrder(ctx, posclient.NewRequestID(), api.CreateWalletOrder{Trace: "000001", Channel: api.Alipay, Amount: 1})
		if apiErr(t, err).Code != api.CodeUnknownTerminal {
			t.Fatalf("order from an unregistered terminal: %v", err)
		}
		// A second certificate for a registered terminal, not the one on file.
		twin := fromBundle(t, issued(t, r.ca, r.ca, terminals[0]), r.url)
		if _, err := twin.Terminal(ctx); apiErr(t, err).Code != api.CodeCertificateRetired || apiErr(t, err).Status != http.StatusUnauthorized {
			t.Fatalf("unregistered certificate of T1: %v", err)
		}
		if _, err := r.client("T1").Ping(ctx); err != nil {
			t.Fatalf("ping: %v", err)
		}
		if r.ali.Calls("precreate") != 0 {
			t.Fatal("a stranger's order reached the wallet")
		}
	})
}

func TestDisabledTerminal(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		ctx := context.Background()
		o := r.orderOn("T2", api.Alipay, "000001", 100)
		if err := r.st.SetTerminalEnabled(ctx, "T2", false, r.clock.Now()); err != nil {
			t.Fatal(err)
		}
		r.srv.Forget("T2")
		c := r.client("T2")
		if _, err := c.Terminal(ctx); apiErr(t, err).Code != api.CodeTerminalDisabled || apiErr(t, err).Status != http.StatusForbidden {
			t.Fatalf("disabled terminal: %v", err)
		}
		if _, err := c.CancelOrder(ctx, o.ID); apiErr(t, err).Code != api.CodeTerminalDisabled {
			t.Fatalf("cancel from a disabled terminal: %v", err)
		}
		if _, err := c.Heartbeat(ctx, api.Heartbeat{}); apiErr(t, err).Code != api.CodeTerminalDisabled {
			t.Fatalf("heartbeat from a disabled terminal: %v", err)
		}
		if _, err := r.client("T1").Terminal(ctx); err != nil {
			t.Fatalf("T1: %v", err)
		}
		// Its transactions stay, and the wallet's result still applies.
		if err := r.ali.CustomerPay(ctx, o.OutTradeNo); err != nil {
			t.Fatal(err)
		}
		eventually(t, "payment of a disabled terminal's order", func() bool { return r.get(o.ID).State == api.StateSuccess })
		if err := r.st.SetTerminalEnabled(ctx, "T2", true, r.clock.Now()); err != nil {
			t.Fatal(err)
		}
		r.srv.Forget("")
		if got, err := c.WaitOrder(ctx, o.ID, 0, 0); err != nil || got.State != api.StateSuccess {
			t.Fatalf("enabled again: %+v, %v", got, err)
		}
	})
	// Disabled by the CLI (another process): refused once the cache runs out.
	onSQLite(t, func(o *Options) { o.CacheTTL = 20 * time.Millisecond }, func(t *testing.T, r *rig) {
		ctx := context.Background()
		if _, err := r.client("T1").Ping(ctx); err != nil {
			t.Fatal(err)
		}
		if err := r.st.SetTerminalEnabled(ctx, "T1", false, r.clock.Now()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(40 * time.Millisecond)
		if _, err := r.client("T1").Ping(ctx); apiErr(t, err).Code != api.CodeTerminalDisabled {
			t.Fatalf("after the cache time: %v", err)
		}
	})
}

func TestReissueRetiresTheOldBundle(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		ctx := context.Background()
		old := r.client("T1")
		o := r.order(api.WeChat, "000001", 100)
		b, err := Reissue(ctx, r.st, r.ca, "T1", r.url, r.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		if b.TerminalID != "T1" || b.MerchantID != m1 || b.StoreID != "S1" || string(b.MasterKey) == string(r.bundles["T1"].MasterKey) {
			t.Fatalf("new bundle %+v", b)
		}
		r.srv.Forget("T1")
		if _, err := old.Terminal(ctx); apiErr(t, err).Code != api.CodeCertificateRetired || apiErr(t, err).Status != http.StatusUnauthorized {
			t.Fatalf("old bundle: %v", err)
		}
		c := fromBundle(t, b, r.url)
		info, err := c.Terminal(ctx)
		if err != nil || info.TerminalID != "T1" || info.MerchantID != m1 {
			t.Fatalf("new bundle: %+v, %v", info, err)
		}
		// Same terminal: its orders are still its own.
		if got, err := c.WaitOrder(ctx, o.ID, 0, 0); err != nil || got.ID != o.ID {
			t.Fatalf("T1's order with the new bundle: %+v, %v", got, err)
		}
		// Working keys now come under the new master key; PINs under the
		// keys of the sign-on before are wrong PINs to the bank.
		stale := r.cardSale("approved", "123456", "T1", "000003", 100)
		keys := signOn(t, c, b, "999998")
		sale, err := c.CardSale(ctx, posclient.NewRequestID(), cardSaleWith(t, keys, "approved", "123456", "000002", 100))
		if err != nil || sale.State != api.StateSuccess {
			t.Fatalf("sale under the new key: %+v, %v", sale, err)
		}
		sale, err = c.CardSale(ctx, posclient.NewRequestID(), stale)
		if err != nil || sale.ResponseCode != "55" {
			t.Fatalf("sale under the old key: %+v, %v", sale, err)
		}
	})
}

// Another terminal's order is "not found", whatever the call.
func TestTerminalIsolation(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		ctx := context.Background()
		o := r.order(api.Alipay, "000001", 100)
		for _, tid := range []string{"T2", "T3"} {
			other := r.client(tid)
			if _, err := other.WaitOrder(ctx, o.ID, 0, 0); apiErr(t, err).Code != api.CodeNotFound || apiErr(t, err).Status != http.StatusNotFound {
				t.Fatalf("%s read: %v", tid, err)
			}
			if _, err := other.CancelOrder(ctx, o.ID); apiErr(t, err).Code != api.CodeNotFound {
				t.Fatalf("%s cancel: %v", tid, err)
			}
			if _, err := other.DemoPay(ctx, o.ID); apiErr(t, err).Code != api.CodeNotFound {
				t.Fatalf("%s demo pay: %v", tid, err)
			}
			if _, err := other.DemoDecline(ctx, o.ID); apiErr(t, err).Code != api.CodeNotFound {
				t.Fatalf("%s demo decline: %v", tid, err)
			}
			if _, err := other.OrderByTrace(ctx, "000001"); apiErr(t, err).Code != api.CodeNotFound {
				t.Fatalf("%s by trace: %v", tid, err)
			}
		}
		status, body := r.post("T2", "/v1/orders/"+o.ID+"/cancel", posclient.NewRequestID(), nil)
		if status != http.StatusNotFound || errCode(t, body) != api.CodeNotFound {
			t.Fatalf("raw cancel: %d %s", status, body)
		}
		if cur, _ := r.client("T1").WaitOrder(ctx, o.ID, 0, 0); cur.State != api.StatePending || cur.Version != o.Version {
			t.Fatalf("another terminal changed T1's order: %+v", cur)
		}
		if r.ali.Calls("query") != 0 || r.ali.Calls("close") != 0 {
			t.Fatal("another terminal's call reached the wallet")
		}
	})
}
