package posclient_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/bundle"
	"github.com/multipos/multipos/posclient"
	"github.com/multipos/multipos/sandbox/wallet"
	"github.com/multipos/multipos/server"
	"github.com/multipos/multipos/server/connector"
	"github.com/multipos/multipos/server/pki"
	"github.com/multipos/multipos/server/store"
)

// newServer runs a real posserver with a sandbox Alipay behind wrap, over
// mutual TLS, and returns a client of its terminal T1.
func newServer(t *testing.T, wrap func(http.Handler) http.Handler) (*posclient.Client, *wallet.Wallet, string) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "pos.db"))
	if err != nil {
		t.Fatal(err)
	}
	ca, err := pki.NewMemory([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	ali := wallet.New(wallet.Alipay, wallet.Options{Logger: quiet})
	srv, err := server.New(server.Options{
		Store:   st,
		Wallets: map[api.Channel]connector.Wallet{api.Alipay: ali},
		Logger:  quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	ali.SetNotifier(srv)
	h := srv.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	hs := httptest.NewUnstartedServer(h)
	hs.TLS = ca.ServerTLSConfig()
	hs.StartTLS()
	t.Cleanup(func() { hs.Close(); ali.Stop(); st.Close() })
	b, err := server.Provision(ctx, st, ca, bundle.Identity{TerminalID: "T1", MerchantID: "M1", StoreID: "S1"}, "Shop", hs.URL, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c, err := posclient.FromBundle(b, "")
	if err != nil {
		t.Fatal(err)
	}
	return c, ali, hs.URL
}

func TestOffline(t *testing.T) {
	hs := httptest.NewServer(http.NotFoundHandler())
	url := hs.URL
	hs.Close() // nothing listens there any more
	c := posclient.NewClient(url, "T1", nil)
	ctx := context.Background()
	if _, err := c.Ping(ctx); !errors.Is(err, posclient.ErrOffline) {
		t.Fatalf("ping: %v", err)
	}
	if _, err := c.CreateWalletOrder(ctx, posclient.NewRequestID(), api.CreateWalletOrder{Trace: "000001", Channel: api.Alipay, Amount: 1}); !errors.Is(err, posclient.ErrOffline) {
		t.Fatalf("create: %v", err)
	}
	if _, err := c.WaitOrder(ctx, "x", 0, time.Second); !errors.Is(err, posclient.ErrOffline) {
		t.Fatalf("wait: %v", err)
	}
	// A proxy answering for a missing server is offline too.
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "upstream down", http.StatusBadGateway)
	}))
	defer gw.Close()
	if _, err := posclient.NewClient(gw.URL, "T1", nil).Terminal(ctx); !errors.Is(err, posclient.ErrOffline) {
		t.Fatalf("behind a gateway: %v", err)
	}
}

func TestCallerCancelIsNotOffline(t *testing.T) {
	c, _, _ := newServer(t, nil)
	o, err := c.CreateWalletOrder(context.Background(), posclient.NewRequestID(), api.CreateWalletOrder{Trace: "000001", Channel: api.Alipay, Amount: 5})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	// Waiting for a version the order never reaches: only the caller's
	// deadline can end this call.
	got, err := c.WaitOrder(ctx, o.ID, o.Version+100, 10*time.Second)
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, posclient.ErrOffline) {
		t.Fatalf("cancelled long-poll: %v (created %+v, got %+v)", err, o, got)
	}
}

func TestServerErrors(t *testing.T) {
	c, _, _ := newServer(t, nil)
	ctx := context.Background()
	var e *api.Error
	info, err := c.Terminal(ctx)
	if err != nil || info.TerminalID != "T1" || len(info.Channels) != 3 {
		t.Fatalf("terminal: %+v, %v", info, err)
	}
	if d, err := c.Ping(ctx); err != nil || d <= 0 {
		t.Fatalf("ping: %v, %v", d, err)
	}
	_, err = c.CreateWalletOrder(ctx, posclient.NewRequestID(), api.CreateWalletOrder{Trace: "1", Channel: api.Alipay, Amount: 5})
	if !errors.As(err, &e) || e.Code != api.CodeBadRequest || e.Status != http.StatusBadRequest || errors.Is(err, posclient.ErrOffline) {
		t.Fatalf("bad request: %v", err)
	}
	// A request id is required on calls that move money.
	_, err = c.CreateWalletOrder(ctx, "", api.CreateWalletOrder{Trace: "000009", Channel: api.Alipay, Amount: 5})
	if !errors.As(err, &e) || e.Code != api.CodeBadRequest {
		t.Fatalf("no request id: %v", err)
	}
}

// The link drops after the server took the order but before the answer
// arrives: the client sends the same request again and gets the same order,
// and the wallet saw a single precreate.
func TestRetryAfterDroppedAnswer(t *testing.T) {
	var dropped atomic.Int32
	c, ali, _ := newServer(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && dropped.Add(1) == 1 {
				next.ServeHTTP(httptest.NewRecorder(), r) // the server does the work…
				conn, _, err := http.NewResponseController(w).Hijack()
				if err == nil {
					conn.Close() // …and the answer is lost
				}
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	o, err := c.CreateWalletOrder(context.Background(), posclient.NewRequestID(), api.CreateWalletOrder{Trace: "000001", Channel: api.Alipay, Amount: 5})
	if err != nil {
		t.Fatal(err)
	}
	if dropped.Load() != 2 {
		t.Fatalf("%d POSTs, want the dropped one and a retry", dropped.Load())
	}
	if o.State != api.StatePending || ali.Calls(wallet.OpPrecreate) != 1 {
		t.Fatalf("order %+v after %d precreates", o, ali.Calls(wallet.OpPrecreate))
	}
	byTrace, err := c.OrderByTrace(context.Background(), "000001")
	if err != nil || byTrace.ID != o.ID {
		t.Fatalf("by trace: %+v, %v", byTrace, err)
	}
}

// A refused certificate is not a dead link: the cashier is told so, and the
// client does not retry it as if the server were down.
func TestCertificateRefusedIsNotOffline(t *testing.T) {
	_, _, url := newServer(t, nil)
	ctx := context.Background()
	other, err := pki.NewMemory([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "other.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	b, err := server.Provision(ctx, st, other, bundle.Identity{TerminalID: "T1", MerchantID: "M1", StoreID: "S1"}, "", url, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// The server's certificate is not from this bundle's CA.
	c, err := posclient.FromBundle(b, url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Terminal(ctx); !errors.Is(err, posclient.ErrCertificate) || errors.Is(err, posclient.ErrOffline) {
		t.Fatalf("untrusted server: %v", err)
	}
}
