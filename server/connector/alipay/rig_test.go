package alipay

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sbx "github.com/multipos/multipos/sandbox/alipay"
	"github.com/multipos/multipos/server/connector"
)

const appID = "2021000000000042"

var quiet = slog.New(slog.DiscardHandler)

// Test keys come from testdata: generating 2048-bit keys takes seconds
// under the race detector. They sign nothing but tests.
var (
	keysOnce                       sync.Once
	appKey, alipayKey, strangerKey *rsa.PrivateKey
)

func keys(t testing.TB) {
	t.Helper()
	keysOnce.Do(func() {
		for name, k := range map[string]**rsa.PrivateKey{"app": &appKey, "alipay": &alipayKey, "stranger": &strangerKey} {
			b, err := os.ReadFile(filepath.Join("testdata", name+".pem"))
			if err != nil {
				panic(err)
			}
			block, _ := pem.Decode(b)
			if block == nil {
				panic("testdata/" + name + ".pem: no PEM block")
			}
			if *k, err = x509.ParsePKCS1PrivateKey(block.Bytes); err != nil {
				panic(err)
			}
		}
	})
}

func privPEM(k *rsa.PrivateKey) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
}

func pubPEM(k *rsa.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// recorder is a Notifier that refuses the first `refuse` notifications.
type recorder struct {
	mu     sync.Mutex
	refuse int
	calls  int
	got    []connector.Notification
	ch     chan connector.Notification
}

func newRecorder() *recorder { return &recorder{ch: make(chan connector.Notification, 64)} }

func (r *recorder) Notify(_ context.Context, n connector.Notification) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.calls <= r.refuse {
		return errors.New("not now")
	}
	r.got = append(r.got, n)
	r.ch <- n
	return nil
}

func (r *recorder) next(t *testing.T) connector.Notification {
	t.Helper()
	select {
	case n := <-r.ch:
		return n
	case <-time.After(5 * time.Second):
		t.Fatal("no notification reached the notifier")
		return connector.Notification{}
	}
}

// none checks that nothing reaches the notifier for a while.
func (r *recorder) none(t *testing.T, wait time.Duration) {
	t.Helper()
	select {
	case n := <-r.ch:
		t.Fatalf("unexpected notification %+v", n)
	case <-time.After(wait):
	}
}

func (r *recorder) setRefuse(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refuse = n
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

type rig struct {
	sb     *sbx.Sandbox
	srv    *httptest.Server
	c      *Connector
	rec    *recorder
	notify *httptest.Server
	ctx    context.Context
}

// newRig wires the connector to a sandbox over loopback HTTP, and the
// sandbox's notifications back to the connector's handler and a recorder.
func newRig(t *testing.T, edit ...func(*Config, *sbx.Options)) *rig {
	t.Helper()
	keys(t)
	r := &rig{rec: newRecorder(), ctx: t.Context()}
	cfg := Config{AppID: appID, PrivateKeyPEM: privPEM(appKey), AlipayPublicKeyPEM: pubPEM(&alipayKey.PublicKey),
		Timeout: 3 * time.Second}
	opts := sbx.Options{AppID: appID, AppPublicKey: &appKey.PublicKey, PrivateKey: alipayKey, Logger: quiet,
		NotifySchedule: []time.Duration{20 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond}}
	for _, e := range edit {
		e(&cfg, &opts)
	}
	r.sb = sbx.New(opts)
	t.Cleanup(r.sb.Close)
	r.srv = httptest.NewServer(r.sb.Handler())
	t.Cleanup(r.srv.Close)
	cfg.Gateway = r.srv.URL + "/gateway.do"

	// The handler needs the connector and the connector the handler's URL.
	var c atomic.Pointer[Connector]
	r.notify = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		c.Load().NotifyHandler(r.rec).ServeHTTP(w, req)
	}))
	t.Cleanup(r.notify.Close)
	cfg.NotifyURL = r.notify.URL + "/alipay/notify"
	conn, err := New(cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	c.Store(conn)
	r.c = conn
	return r
}

func (r *rig) precreate(t *testing.T, no string, amount int64) string {
	t.Helper()
	qr, err := r.c.Precreate(r.ctx, connector.Precreate{OutTradeNo: no, Amount: amount, Subject: "测试 order " + no, TerminalID: "T01"})
	if err != nil {
		t.Fatalf("precreate %s: %v", no, err)
	}
	return qr
}

func (r *rig) pay(t *testing.T, no, code string, amount int64) connector.WalletStatus {
	t.Helper()
	st, err := r.c.Pay(r.ctx, connector.BarcodePay{OutTradeNo: no, AuthCode: code, Amount: amount, Subject: "barcode " + no,
		TerminalID: "T01", StoreID: "S01"})
	if err != nil {
		t.Fatalf("pay %s: %v", no, err)
	}
	return st
}

func (r *rig) query(t *testing.T, no string) connector.WalletStatus {
	t.Helper()
	st, err := r.c.Query(r.ctx, no)
	if err != nil {
		t.Fatalf("query %s: %v", no, err)
	}
	return st
}

// deliveries waits until the sandbox's delivery log satisfies ok: a
// delivery is logged once its answer is read, a little after the notifier
// has seen it.
func (r *rig) deliveries(t *testing.T, ok func([]sbx.Delivery) bool) []sbx.Delivery {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ds := r.sb.Deliveries()
		if ok(ds) {
			return ds
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries: %+v", ds)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

const goodCode = "286543210987654321" // 18 digits starting 28: an Alipay payment code
