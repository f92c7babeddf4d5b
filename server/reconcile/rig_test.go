package reconcile_test

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	alisbx "github.com/multipos/multipos/sandbox/alipay"
	wxsbx "github.com/multipos/multipos/sandbox/wechat"
	"github.com/multipos/multipos/server/connector"
	"github.com/multipos/multipos/server/connector/alipay"
	"github.com/multipos/multipos/server/connector/wechat"
	"github.com/multipos/multipos/server/reconcile"
)

// The test keys of the Alipay connector's tests: generating RSA keys is
// slow under the race detector, and these sign nothing but tests.
func testKey(t *testing.T, name string) *rsa.PrivateKey {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "connector", "alipay", "testdata", name+".pem"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s.pem: no PEM block", name)
	}
	k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func pkcs8(t *testing.T, k *rsa.PrivateKey) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func pkix(t *testing.T, k *rsa.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

var quiet = slog.New(slog.DiscardHandler)

// acker answers every notification as both wallets want it answered.
func acker(t *testing.T) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = w.Write([]byte("success"))
	}))
	t.Cleanup(s.Close)
	return s
}

// wallet is a channel under test: a connector on its sandbox, and a way
// to get the day's bill as lines.
type wallet struct {
	ch   reconcile.Channel
	conn interface {
		connector.BarcodeWallet
		connector.Refunder
	}
	code string
	bill func(t *testing.T) []reconcile.Line
}

func (w *wallet) pay(t *testing.T, no string, amount int64) {
	t.Helper()
	st, err := w.conn.Pay(t.Context(), connector.BarcodePay{OutTradeNo: no, AuthCode: w.code, Amount: amount,
		Subject: "recon " + no, TerminalID: "T01", StoreID: "S01"})
	if err != nil || st.State != connector.WalletPaid {
		t.Fatalf("pay %s: %+v, %v", no, st, err)
	}
}

func (w *wallet) refund(t *testing.T, no, rno string, amount, total int64) {
	t.Helper()
	if _, err := w.conn.Refund(t.Context(), connector.Refund{OutTradeNo: no, OutRefundNo: rno, Amount: amount, Total: total}); err != nil {
		t.Fatalf("refund %s: %v", rno, err)
	}
}

func alipayWallet(t *testing.T) *wallet {
	app, ali := testKey(t, "app"), testKey(t, "alipay")
	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))
	sb := alisbx.New(alisbx.Options{AppID: "2021000000000042", AppPublicKey: &app.PublicKey, PrivateKey: ali, Logger: quiet,
		Now: func() time.Time { return at }, FeeBasisPoints: 60, NotifySchedule: []time.Duration{time.Hour}})
	t.Cleanup(sb.Close)
	srv := httptest.NewServer(sb.Handler())
	t.Cleanup(srv.Close)
	conn, err := alipay.New(alipay.Config{AppID: "2021000000000042", PrivateKeyPEM: pkcs8(t, app),
		AlipayPublicKeyPEM: pkix(t, &ali.PublicKey), Timeout: 3 * time.Second, Gateway: srv.URL + "/gateway.do",
		NotifyURL: acker(t).URL + "/alipay/notify"}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	w := &wallet{ch: reconcile.Alipay, conn: conn, code: "286543210987654321"}
	w.bill = func(t *testing.T) []reconcile.Line {
		day := sb.Now()
		sb.Advance(24 * time.Hour) // Alipay cuts a day's bill once it is over
		data, err := conn.DownloadBill(t.Context(), day)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := alipay.ParseBill(data)
		if err != nil {
			t.Fatal(err)
		}
		return reconcile.FromAlipay(rows)
	}
	return w
}

func wechatWallet(t *testing.T) *wallet {
	merchant, wx := testKey(t, "app"), testKey(t, "alipay")
	const mchID, appID, serial = "1900000109", "wxd678efh567hg6787", "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
	const v3key, pubKeyID = "a7cde1ZJB1kG2e7VfTc4xq9WmY8nR3pL", "PUB_KEY_ID_0119000001092025010100000000000000"
	sb := wxsbx.New(wxsbx.Options{MchID: mchID, AppID: appID, MerchantPublicKey: &merchant.PublicKey, MerchantSerial: serial,
		PrivateKey: wx, PublicKeyID: pubKeyID, APIv3Key: v3key, Logger: quiet, NotifySchedule: []time.Duration{time.Hour}})
	srv := httptest.NewServer(sb.Handler())
	t.Cleanup(func() { sb.Close(); srv.Close() })
	conn, err := wechat.New(context.Background(), wechat.Config{MchID: mchID, AppID: appID, MerchantSerial: serial,
		MerchantPrivateKeyPEM: pkcs8(t, merchant), APIv3Key: v3key, PublicKeyID: pubKeyID,
		WechatPayPublicKeyPEM: pkix(t, &wx.PublicKey), Endpoint: srv.URL, NotifyURL: acker(t).URL + "/wechat/notify"}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	w := &wallet{ch: reconcile.WeChat, conn: conn, code: "134567890123456789"}
	w.bill = func(t *testing.T) []reconcile.Line {
		day := sb.Now()
		sb.Advance(34 * time.Hour) // WeChat Pay's bill of a day is ready at 10:00 the next day
		data, err := conn.TradeBill(t.Context(), day, "ALL")
		if err != nil {
			t.Fatal(err)
		}
		rows, _, err := wechat.ParseTradeBill(data)
		if err != nil {
			t.Fatal(err)
		}
		return reconcile.FromWeChat(rows)
	}
	return w
}
