package alipay

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"

	sbx "github.com/multipos/multipos/sandbox/alipay"
	"github.com/multipos/multipos/server/connector"
)

// lastNotifier remembers what reached it.
type lastNotifier struct{ got []connector.Notification }

func (l *lastNotifier) Notify(_ context.Context, n connector.Notification) error {
	l.got = append(l.got, n)
	return nil
}

// FuzzNotify posts arbitrary bodies and content types to NotifyHandler: it
// must never panic, and nothing may reach the notifier unless the posted
// form carries a valid signature by Alipay's key over exactly what was
// passed on.
func FuzzNotify(f *testing.F) {
	keys(f)
	good := signedNotification(f, appID, "88.80")
	f.Add([]byte(good.Encode()), "application/x-www-form-urlencoded")
	tampered := signedNotification(f, appID, "88.80")
	tampered.Set("total_amount", "88.81")
	f.Add([]byte(tampered.Encode()), "application/x-www-form-urlencoded; charset=utf-8")
	closed := signedNotification(f, appID, "1.00")
	closed.Set("trade_status", "TRADE_CLOSED")
	closed.Set("gmt_close", "2026-03-14 12:00:00")
	sign(f, closed)
	f.Add([]byte(closed.Encode()), "application/x-www-form-urlencoded")
	f.Add([]byte(good.Encode()), "multipart/form-data; boundary=x")
	f.Add([]byte("sign=&sign_type=RSA2&app_id="+appID), "application/x-www-form-urlencoded")
	f.Add([]byte{0xff, 0xfe, '%', '='}, "")

	c, err := New(Config{AppID: appID, PrivateKeyPEM: privPEM(appKey), AlipayPublicKeyPEM: pubPEM(&alipayKey.PublicKey),
		Gateway: "http://127.0.0.1:1/gateway.do"}, quiet)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		n := &lastNotifier{}
		req := httptest.NewRequest(http.MethodPost, "/alipay/notify", bytes.NewReader(body))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		w := httptest.NewRecorder()
		c.NotifyHandler(n).ServeHTTP(w, req)
		if len(n.got) == 0 {
			if w.Body.String() == "success" && w.Code == http.StatusOK {
				// Acknowledged without reaching the notifier: only a
				// verified refund notification may be.
				mustVerify(t, body)
			}
			return
		}
		if len(n.got) != 1 || w.Body.String() != "success" {
			t.Fatalf("%d notifications, answer %d %q", len(n.got), w.Code, w.Body.String())
		}
		form := mustVerify(t, body)
		got := n.got[0]
		amount, err := fen(form.Get("total_amount"))
		if err != nil || got.OutTradeNo != form.Get("out_trade_no") || got.Amount != amount ||
			got.TradeNo != form.Get("trade_no") || form.Get("app_id") != appID {
			t.Fatalf("passed on %+v from %v", got, form)
		}
	})
}

// mustVerify checks that body is a form signed by Alipay's key, the way
// smartwalle verifies it (every value of every field but sign, sign_type
// and alipay_cert_sn, sorted as k=v strings).
func mustVerify(t *testing.T, body []byte) url.Values {
	t.Helper()
	form, err := url.ParseQuery(string(body))
	if err != nil {
		t.Fatalf("accepted a body that is not a form: %q", body)
	}
	var pairs []string
	for k, vs := range form {
		if k == "sign" || k == "sign_type" || k == "alipay_cert_sn" {
			continue
		}
		for _, v := range vs {
			pairs = append(pairs, k+"="+v)
		}
	}
	sort.Strings(pairs)
	if err := sbx.VerifyRSA2(&alipayKey.PublicKey, []byte(strings.Join(pairs, "&")), form.Get("sign")); err != nil {
		t.Fatalf("accepted a notification whose signature does not verify: %q", body)
	}
	return form
}

// FuzzParseBill feeds arbitrary bills (zips, GBK or UTF-8 CSV) to
// ParseBill: it must not panic, and every row it accepts has a number.
func FuzzParseBill(f *testing.F) {
	f.Add([]byte(variantDetail))
	f.Add([]byte("\xef\xbb\xbf" + variantDetail))
	f.Add([]byte("支付宝交易号,商户订单号,业务类型,订单金额(元)\nT1\t,O1\t,退款,-1.00\n"))
	if z, err := zipGBKForTest(map[string]string{"2088_20190916_业务明细.csv": variantDetail}); err == nil {
		f.Add(z)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := ParseBill(data)
		if err != nil {
			return
		}
		for _, r := range rows {
			if r.TradeNo == "" && r.OutTradeNo == "" {
				t.Fatalf("row without numbers accepted: %+v", r)
			}
		}
	})
}
