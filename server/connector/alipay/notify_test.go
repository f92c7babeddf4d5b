package alipay

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	sbx "github.com/multipos/multipos/sandbox/alipay"
	"github.com/multipos/multipos/server/connector"
)

// signedNotification is a paid-trade notification as Alipay signs it.
func signedNotification(t testing.TB, app, amount string) url.Values {
	t.Helper()
	keys(t)
	v := url.Values{}
	for k, x := range map[string]string{
		"notify_time": "2026-03-14 10:00:05", "notify_type": "trade_status_sync",
		"notify_id": "2026031400222100005000000001", "app_id": app, "auth_app_id": app, "charset": "utf-8",
		"version": "1.0", "sign_type": "RSA2", "trade_no": "2026031422001000000000000001", "out_trade_no": "FZ_1",
		"buyer_id": "2088102000000001", "seller_id": "2088000000000156", "trade_status": "TRADE_SUCCESS",
		"total_amount": amount, "receipt_amount": amount, "buyer_pay_amount": amount, "gmt_create": "2026-03-14 10:00:00",
		"gmt_payment": "2026-03-14 10:00:04", "subject": "测试",
	} {
		v.Set(k, x)
	}
	sign(t, v)
	return v
}

func sign(t testing.TB, v url.Values) {
	t.Helper()
	sig, err := sbx.SignRSA2(alipayKey, []byte(sbx.SignContent(v, "sign", "sign_type")))
	if err != nil {
		t.Fatal(err)
	}
	v.Set("sign", sig)
}

func post(h http.Handler, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/alipay/notify", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func TestNotifyHandlerAcceptsOnlyGenuine(t *testing.T) {
	r := newRig(t)
	h := r.c.NotifyHandler(r.rec)

	good := signedNotification(t, appID, "88.80")
	if w := post(h, good.Encode()); w.Code != 200 || w.Body.String() != "success" {
		t.Fatalf("genuine: %d %q", w.Code, w.Body.String())
	}
	n := r.rec.next(t)
	want := connector.Notification{Channel: "alipay", OutTradeNo: "FZ_1", TradeNo: "2026031422001000000000000001",
		State: connector.WalletPaid, Amount: 8880, At: time.Date(2026, 3, 14, 10, 0, 4, 0, cst)}
	if n.Channel != want.Channel || n.OutTradeNo != want.OutTradeNo || n.TradeNo != want.TradeNo ||
		n.State != want.State || n.Amount != want.Amount || !n.At.Equal(want.At) {
		t.Fatalf("notification %+v, want %+v", n, want)
	}
	// A replay of the same: the notifier sees it again and dedupes.
	if w := post(h, good.Encode()); w.Body.String() != "success" {
		t.Fatalf("replay: %d %q", w.Code, w.Body.String())
	}
	r.rec.next(t)

	forged := signedNotification(t, appID, "88.80")
	sig, _ := sbx.SignRSA2(strangerKey, []byte(sbx.SignContent(forged, "sign", "sign_type")))
	forged.Set("sign", sig)

	tampered := signedNotification(t, appID, "88.80")
	tampered.Set("total_amount", "0.01")

	added := signedNotification(t, appID, "88.80")
	added.Set("refund_fee", "88.80")

	otherApp := signedNotification(t, "2021000000000999", "88.80")

	badAmount := signedNotification(t, appID, "88.801")

	certSN := signedNotification(t, appID, "88.80")
	certSN.Set("alipay_cert_sn", "0123456789abcdef") // would make a production client fetch a certificate

	badStatus := signedNotification(t, appID, "88.80")
	badStatus.Set("trade_status", "PAID")
	sign(t, badStatus)

	for name, body := range map[string]string{
		"forged":             forged.Encode(),
		"tampered amount":    tampered.Encode(),
		"field added":        added.Encode(),
		"other app":          otherApp.Encode(),
		"amount with 3 dp":   badAmount.Encode(),
		"alipay_cert_sn":     certSN.Encode(),
		"unknown status":     badStatus.Encode(),
		"no signature":       strings.Replace(good.Encode(), "sign=", "nosign=", 1),
		"repeated field":     good.Encode() + "&total_amount=88.80",
		"malformed encoding": "%zz=1&a=%",
		"empty":              "",
		"not a form":         `{"out_trade_no":"FZ_1"}`,
	} {
		if w := post(h, body); w.Code != http.StatusBadRequest || w.Body.String() == "success" {
			t.Errorf("%s: %d %q, want 400", name, w.Code, w.Body.String())
		}
	}
	req := httptest.NewRequest(http.MethodGet, "/alipay/notify?"+good.Encode(), nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", w.Code)
	}
	r.rec.none(t, 50*time.Millisecond)
	if r.rec.count() != 2 {
		t.Fatalf("%d notifications reached the notifier, want 2", r.rec.count())
	}
}

func TestNotificationRetriedUntilSuccess(t *testing.T) {
	r := newRig(t)
	r.rec.setRefuse(2) // the server cannot take it, twice
	r.pay(t, "NT_1", goodCode, 300)
	n := r.rec.next(t)
	if n.OutTradeNo != "NT_1" || n.State != connector.WalletPaid {
		t.Fatalf("notification %+v", n)
	}
	ds := r.deliveries(t, func(ds []sbx.Delivery) bool { return len(ds) == 3 })
	for i, d := range ds {
		if d.NotifyID != ds[0].NotifyID || d.Attempt != i+1 || d.Acked != (i == 2) {
			t.Fatalf("delivery %d: %+v", i, d)
		}
		if i < 2 && (d.Status != http.StatusInternalServerError || d.Body != "fail") {
			t.Fatalf("refused delivery %d answered %d %q", i, d.Status, d.Body)
		}
	}
}

func TestDuplicateAndOutOfOrderNotifications(t *testing.T) {
	r := newRig(t)
	r.sb.DuplicateNextNotification()
	r.pay(t, "NT_2", goodCode, 300)
	a, b := r.rec.next(t), r.rec.next(t)
	if a != b || a.OutTradeNo != "NT_2" {
		t.Fatalf("duplicate: %+v and %+v", a, b)
	}

	r.sb.HoldNotifications()
	r.pay(t, "NT_3", goodCode, 300) // paid first…
	r.sb.NextPay(sbx.PayOutcome{Mode: sbx.NeedsConfirm})
	r.pay(t, "NT_4", goodCode, 400)
	if _, err := r.c.Reverse(r.ctx, "NT_4"); err != nil { // …then NT_4 closed
		t.Fatal(err)
	}
	if n := r.sb.ReleaseNotifications(true); n != 2 {
		t.Fatalf("released %d", n)
	}
	first, second := r.rec.next(t), r.rec.next(t)
	if first.OutTradeNo != "NT_4" || first.State != connector.WalletClosed || second.OutTradeNo != "NT_3" {
		t.Fatalf("out of order: %+v then %+v", first, second)
	}

	r.sb.BadSignNextNotification()
	r.pay(t, "NT_5", goodCode, 300)
	if n := r.rec.next(t); n.OutTradeNo != "NT_5" {
		t.Fatalf("%+v", n)
	}
	var seen []sbx.Delivery
	r.deliveries(t, func(ds []sbx.Delivery) bool {
		seen = nil
		for _, d := range ds {
			if d.OutTradeNo == "NT_5" {
				seen = append(seen, d)
			}
		}
		return len(seen) == 2
	})
	if len(seen) != 2 || !seen[0].BadSign || seen[0].Status != http.StatusBadRequest || !seen[1].Acked {
		t.Fatalf("badly signed then retried: %+v", seen)
	}
	r.rec.none(t, 100*time.Millisecond)
}

// The notifications the sandbox sends verify with the SDK as they are, and
// replaying one with another amount is refused.
func TestSandboxNotificationReplayedWithOtherAmount(t *testing.T) {
	r := newRig(t)
	r.pay(t, "NT_6", goodCode, 12345)
	r.rec.next(t)
	sent := r.sb.Notifications()
	if len(sent) != 1 {
		t.Fatalf("%d notifications", len(sent))
	}
	h := r.c.NotifyHandler(r.rec)
	form := sent[0].Form
	if w := post(h, form.Encode()); w.Body.String() != "success" {
		t.Fatalf("replayed as is: %d %q", w.Code, w.Body.String())
	}
	r.rec.next(t)
	form.Set("total_amount", "1.00")
	if w := post(h, form.Encode()); w.Code != http.StatusBadRequest {
		t.Fatalf("replayed with another amount: %d %q", w.Code, w.Body.String())
	}
	r.rec.none(t, 50*time.Millisecond)
}
