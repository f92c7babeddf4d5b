package wechat_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/multipos/multipos/server/connector/wechat"
)

// FuzzNotify throws arbitrary notifications at NotifyHandler: it must
// never panic, and nothing may reach the Notifier unless WeChat Pay's key
// signed exactly that body recently and its resource decrypts under the
// APIv3 key to this merchant's transaction. With sign set, the fuzzer's
// body is signed properly, so that what lies behind the signature check
// (parsing, nonce, decryption, merchant checks) is fuzzed too.
func FuzzNotify(f *testing.F) {
	k := keys()
	cfg := wechat.Config{MchID: mchID, AppID: appID, MerchantSerial: serial, MerchantPrivateKeyPEM: privatePEM(f, k.merchant),
		APIv3Key: apiV3Key, PublicKeyID: pubKeyID, WechatPayPublicKeyPEM: publicPEM(f, &k.wechat.PublicKey),
		NotifyURL: "https://pos.example.com/wechat/notify"}
	conn, err := wechat.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		f.Fatal(err)
	}
	rec := newRecorder()
	h := conn.NotifyHandler(rec)

	now := time.Now()
	good, gh := notification(f, k.wechat, apiV3Key, "transaction", paidTransaction(mchID, "F1", 100), now)
	hdr := func(h http.Header) (string, string, string, string) {
		return h.Get("Wechatpay-Timestamp"), h.Get("Wechatpay-Nonce"), h.Get("Wechatpay-Signature"), h.Get("Wechatpay-Serial")
	}
	ts, nonce, sig, ser := hdr(gh)
	f.Add(good, ts, nonce, sig, ser, false)
	f.Add(good, "", "", "", "", true)
	f.Add(bytes.Replace(good, []byte(`"total":100`), []byte(`"total":1`), 1), ts, nonce, sig, ser, false)
	other, _ := notification(f, k.wechat, apiV3Key, "refund", map[string]any{"mchid": mchID, "out_refund_no": "R1"}, now)
	f.Add(other, "", "", "", "", true)
	f.Add([]byte(`{"resource":{"algorithm":"AEAD_AES_256_GCM","nonce":"0123456789ab","ciphertext":"AAAA"}}`), "", "", "", "", true)
	f.Add([]byte(`{"resource":{"algorithm":"AEAD_AES_256_GCM","nonce":"short","ciphertext":""}}`), "", "", "", "", true)
	f.Add([]byte("not json"), "1", "n", "c2ln", pubKeyID, false)

	block, err := aes.NewCipher([]byte(apiV3Key))
	if err != nil {
		f.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, body []byte, ts, nonce, sig, ser string, sign bool) {
		var hd http.Header
		if sign {
			hd = signedHeaders(t, k.wechat, body, time.Now())
		} else {
			hd = http.Header{}
			hd.Set("Wechatpay-Timestamp", ts)
			hd.Set("Wechatpay-Nonce", nonce)
			hd.Set("Wechatpay-Signature", sig)
			hd.Set("Wechatpay-Serial", ser)
		}
		before, _ := rec.count()
		req := httptest.NewRequest(http.MethodPost, "/wechat/notify", bytes.NewReader(body))
		req.Header = hd
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		after, last := rec.count()
		if after == before {
			if w.Code == http.StatusNoContent && !validSignature(k.wechat, hd, body) {
				t.Fatalf("unsigned notification acknowledged")
			}
			return
		}
		// It reached the notifier: it must be genuine.
		if !validSignature(k.wechat, hd, body) {
			t.Fatalf("notification with an invalid signature reached the notifier: %+v", last)
		}
		var env struct {
			Resource struct {
				Ciphertext     string `json:"ciphertext"`
				Nonce          string `json:"nonce"`
				AssociatedData string `json:"associated_data"`
			} `json:"resource"`
		}
		if err := json.Unmarshal(body, &env); err != nil {
			t.Fatalf("notification that does not parse reached the notifier: %v", err)
		}
		ct, err := base64.StdEncoding.DecodeString(env.Resource.Ciphertext)
		if err != nil || len(env.Resource.Nonce) != 12 {
			t.Fatalf("notification without a usable resource reached the notifier")
		}
		plain, err := aead.Open(nil, []byte(env.Resource.Nonce), ct, []byte(env.Resource.AssociatedData))
		if err != nil {
			t.Fatalf("notification that does not decrypt reached the notifier")
		}
		var tx struct {
			MchID      string `json:"mchid"`
			OutTradeNo string `json:"out_trade_no"`
		}
		if json.Unmarshal(plain, &tx) != nil || tx.MchID != mchID || tx.OutTradeNo != last.OutTradeNo {
			t.Fatalf("notification %s reached the notifier as %+v", plain, last)
		}
		if w.Code != http.StatusNoContent {
			t.Fatalf("notification taken but answered %d", w.Code)
		}
	})
}

// validSignature checks a notification the way WeChat Pay means it.
func validSignature(key *rsa.PrivateKey, h http.Header, body []byte) bool {
	ts, err := strconv.ParseInt(h.Get("Wechatpay-Timestamp"), 10, 64)
	if err != nil || h.Get("Wechatpay-Serial") != pubKeyID {
		return false
	}
	if d := time.Since(time.Unix(ts, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return false
	}
	sig, err := base64.StdEncoding.DecodeString(h.Get("Wechatpay-Signature"))
	if err != nil {
		return false
	}
	sum := sha256.Sum256([]byte(h.Get("Wechatpay-Timestamp") + "\n" + h.Get("Wechatpay-Nonce") + "\n" + string(body) + "\n"))
	return rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, sum[:], sig) == nil
}

// FuzzParseTradeBill feeds arbitrary bills to ParseTradeBill: it must not
// panic, and whatever it accepts has numbers on every row.
func FuzzParseTradeBill(f *testing.F) {
	f.Add([]byte(handBill))
	f.Add([]byte("\xef\xbb\xbf" + handBill))
	f.Add([]byte("商户订单号,交易状态,交易时间,订单金额\n`X1,`SUCCESS,`2026-12-06 10:00:00,`3.00\n总交易单数\n`1\n"))
	f.Add(gzipped([]byte(handBill))) // as DownloadTradeBill returns it
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, _, err := wechat.ParseTradeBill(data)
		if err != nil {
			return
		}
		for _, r := range rows {
			if r.OutTradeNo == "" && r.TxnID == "" {
				t.Fatalf("row without numbers accepted: %+v", r)
			}
		}
	})
}

func gzipped(b []byte) []byte {
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	_, _ = w.Write(b)
	_ = w.Close()
	return z.Bytes()
}
