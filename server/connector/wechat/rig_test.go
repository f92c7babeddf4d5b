package wechat_test

import (
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sandbox "github.com/multipos/multipos/sandbox/wechat"
	"github.com/multipos/multipos/server/connector"
	"github.com/multipos/multipos/server/connector/wechat"
)

const (
	mchID    = "1900000109"
	appID    = "wxd678efh567hg6787"
	serial   = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
	apiV3Key = "a7cde1ZJB1kG2e7VfTc4xq9WmY8nR3pL"
	pubKeyID = "PUB_KEY_ID_0119000001092025010100000000000000"
)

// Keys are made once: RSA generation is slow under the race detector.
var keys = sync.OnceValue(func() (k struct{ merchant, wechat, rogue *rsa.PrivateKey }) {
	gen := func() *rsa.PrivateKey {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		return key
	}
	k.merchant, k.wechat, k.rogue = gen(), gen(), gen()
	return k
})

func privatePEM(t testing.TB, k *rsa.PrivateKey) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func publicPEM(t testing.TB, k *rsa.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// recorder is a Notifier that remembers what it was told and can refuse
// the first few.
type recorder struct {
	mu     sync.Mutex
	got    []connector.Notification
	refuse int // refuse this many more
	ch     chan connector.Notification
}

func newRecorder() *recorder { return &recorder{ch: make(chan connector.Notification, 64)} }

func (r *recorder) Notify(_ context.Context, n connector.Notification) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.refuse > 0 {
		r.refuse--
		return errors.New("not now")
	}
	r.got = append(r.got, n)
	select {
	case r.ch <- n:
	default: // nobody waits (fuzzing): all keeps the record
	}
	return nil
}

func (r *recorder) all() []connector.Notification {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]connector.Notification(nil), r.got...)
}

// count returns how many notifications were taken, and the last one.
func (r *recorder) count() (int, connector.Notification) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.got) == 0 {
		return 0, connector.Notification{}
	}
	return len(r.got), r.got[len(r.got)-1]
}

func (r *recorder) wait(t *testing.T) connector.Notification {
	t.Helper()
	select {
	case n := <-r.ch:
		return n
	case <-time.After(5 * time.Second):
		t.Fatal("no notification reached the notifier")
		return connector.Notification{}
	}
}

// rig is the connector against a sandbox, with posserver's notify_url
// served by the connector's NotifyHandler.
type rig struct {
	sb        *sandbox.Sandbox
	api       *httptest.Server
	notifySrv *httptest.Server
	conn      *wechat.Connector
	rec       *recorder
}

type rigOption func(*sandbox.Options, *wechat.Config)

func newRig(t *testing.T, opts ...rigOption) *rig {
	t.Helper()
	k := keys()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(&testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	so := sandbox.Options{MchID: mchID, AppID: appID, MerchantPublicKey: &k.merchant.PublicKey, MerchantSerial: serial,
		PrivateKey: k.wechat, PublicKeyID: pubKeyID, APIv3Key: apiV3Key, Logger: log,
		NotifySchedule: []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond}}
	cfg := wechat.Config{MchID: mchID, AppID: appID, MerchantSerial: serial, MerchantPrivateKeyPEM: privatePEM(t, k.merchant),
		APIv3Key: apiV3Key, PublicKeyID: pubKeyID, WechatPayPublicKeyPEM: publicPEM(t, &k.wechat.PublicKey)}
	for _, o := range opts {
		o(&so, &cfg)
	}
	r := &rig{rec: newRecorder()}
	r.sb = sandbox.New(so)
	r.api = httptest.NewServer(r.sb.Handler())
	var handler atomic.Pointer[http.Handler]
	r.notifySrv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		(*handler.Load()).ServeHTTP(w, req)
	}))
	t.Cleanup(func() {
		r.sb.Close() // first: its deliveries post to notifySrv
		r.api.Close()
		r.notifySrv.Close()
	})
	cfg.Endpoint, cfg.NotifyURL = r.api.URL, r.notifySrv.URL+"/wechat/notify"
	conn, err := wechat.New(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	r.conn = conn
	h := conn.NotifyHandler(r.rec)
	handler.Store(&h)
	return r
}

type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// notification builds a notification as WeChat Pay would send it: the
// plaintext encrypted under key, the envelope signed by signer at ts.
func notification(t testing.TB, signer *rsa.PrivateKey, key, originalType string, plaintext any, ts time.Time) (body []byte, h http.Header) {
	plain, err := json.Marshal(plaintext)
	if err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	nonce := "0123456789ab"
	ct := aead.Seal(nil, []byte(nonce), plain, []byte(originalType))
	body, err = json.Marshal(map[string]any{
		"id": "EV-test-" + strconv.FormatInt(ts.UnixNano(), 10), "create_time": ts.Format(time.RFC3339),
		"resource_type": "encrypt-resource", "event_type": "TRANSACTION.SUCCESS", "summary": "支付成功",
		"resource": map[string]string{"original_type": originalType, "algorithm": "AEAD_AES_256_GCM",
			"ciphertext": base64.StdEncoding.EncodeToString(ct), "associated_data": originalType, "nonce": nonce},
	})
	if err != nil {
		t.Fatal(err)
	}
	return body, signedHeaders(t, signer, body, ts)
}

func signedHeaders(t testing.TB, signer *rsa.PrivateKey, body []byte, ts time.Time) http.Header {
	tss, nonce := strconv.FormatInt(ts.Unix(), 10), "n0nce"+strconv.FormatInt(ts.UnixNano(), 36)
	sum := sha256.Sum256([]byte(tss + "\n" + nonce + "\n" + string(body) + "\n"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, signer, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Wechatpay-Timestamp", tss)
	h.Set("Wechatpay-Nonce", nonce)
	h.Set("Wechatpay-Serial", pubKeyID)
	h.Set("Wechatpay-Signature", base64.StdEncoding.EncodeToString(sig))
	return h
}

// paidTransaction is a TRANSACTION.SUCCESS resource.
func paidTransaction(mch, outTradeNo string, total int64) map[string]any {
	return map[string]any{"appid": appID, "mchid": mch, "out_trade_no": outTradeNo,
		"transaction_id": "4200000000202401010000000001", "trade_type": "NATIVE", "trade_state": "SUCCESS",
		"trade_state_desc": "支付成功", "bank_type": "OTHERS", "success_time": "2024-01-01T10:00:00+08:00",
		"payer": map[string]string{"openid": "oTest"}, "amount": map[string]any{"total": total, "payer_total": total,
			"currency": "CNY", "payer_currency": "CNY"}}
}
