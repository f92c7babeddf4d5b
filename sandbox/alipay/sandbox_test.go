package alipay

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	smartwalle "github.com/smartwalle/alipay/v3"
	"golang.org/x/text/encoding/simplifiedchinese"
)

const appID = "2021000000000042"

var quiet = slog.New(slog.DiscardHandler)

// Test keys come from testdata: generating 2048-bit keys takes seconds
// under the race detector.
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
				panic(name + ": no PEM")
			}
			if *k, err = x509.ParsePKCS1PrivateKey(block.Bytes); err != nil {
				panic(err)
			}
		}
	})
}

func privPEM(k *rsa.PrivateKey) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

type env struct {
	sb     *Sandbox
	srv    *httptest.Server
	client *smartwalle.Client
	ctx    context.Context
}

func newEnv(t *testing.T, edit ...func(*Options)) *env {
	t.Helper()
	keys(t)
	opts := Options{AppID: appID, AppPublicKey: &appKey.PublicKey, PrivateKey: alipayKey, Logger: quiet,
		NotifySchedule: []time.Duration{10 * time.Millisecond, 10 * time.Millisecond, 10 * time.Millisecond}}
	for _, e := range edit {
		e(&opts)
	}
	sb := New(opts)
	t.Cleanup(sb.Close)
	srv := httptest.NewServer(sb.Handler())
	t.Cleanup(srv.Close)
	return &env{sb: sb, srv: srv, client: sdkClient(t, srv.URL, appKey, sb), ctx: t.Context()}
}

// sdkClient points smartwalle's client at the sandbox, as doc.go says.
func sdkClient(t *testing.T, base string, key *rsa.PrivateKey, sb *Sandbox) *smartwalle.Client {
	t.Helper()
	c, err := smartwalle.New(appID, privPEM(key), false, smartwalle.WithSandboxGateway(base+"/gateway.do"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.LoadAliPayPublicKey(string(sb.PublicKeyPEM())); err != nil {
		t.Fatal(err)
	}
	return c
}

// answer is a raw gateway answer: its inner object and whether it was signed.
type answer struct {
	key    string
	fields map[string]any
	signed bool
}

func (a answer) s(k string) string {
	v, _ := a.fields[k].(string)
	return v
}

// call posts a hand-made request: params override the defaults ("" drops
// one); the request is signed with key unless params carry a sign.
func (e *env) call(t *testing.T, key *rsa.PrivateKey, method string, biz any, params map[string]string) answer {
	t.Helper()
	v := url.Values{}
	v.Set("app_id", appID)
	v.Set("method", method)
	v.Set("format", "JSON")
	v.Set("charset", "utf-8")
	v.Set("sign_type", "RSA2")
	v.Set("timestamp", time.Now().In(cst).Format(timeLayout))
	v.Set("version", "1.0")
	if biz != nil {
		b, _ := json.Marshal(biz)
		v.Set("biz_content", string(b))
	}
	for k, x := range params {
		if x == "" {
			v.Del(k)
		} else {
			v.Set(k, x)
		}
	}
	if v.Get("sign") == "" {
		sig, err := SignRSA2(key, []byte(SignContent(v, "sign")))
		if err != nil {
			t.Fatal(err)
		}
		v.Set("sign", sig)
	}
	resp, err := http.PostForm(e.srv.URL+"/gateway.do", v)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatalf("answer %q: %v", body, err)
	}
	var a answer
	for k, inner := range raw {
		if strings.HasSuffix(k, "_response") {
			a.key = k
			if err := json.Unmarshal(inner, &a.fields); err != nil {
				t.Fatal(err)
			}
			if sig, ok := raw["sign"]; ok {
				var s string
				_ = json.Unmarshal(sig, &s)
				// The signature covers the inner object's bytes exactly as sent.
				if err := VerifyRSA2(&alipayKey.PublicKey, inner, s); err != nil {
					t.Fatalf("answer signature: %v over %s", err, inner)
				}
				a.signed = true
			}
		}
	}
	return a
}

func TestGatewayRefusesBadRequests(t *testing.T) {
	e := newEnv(t)
	q := map[string]string{"out_trade_no": "X"}
	for _, tc := range []struct {
		name    string
		key     *rsa.PrivateKey
		method  string
		params  map[string]string
		code    string
		sub     string
		signed  bool
		errResp bool
	}{
		{"other key", strangerKey, MethodQuery, nil, "40002", "isv.invalid-signature", true, false},
		{"tampered after signing", appKey, MethodQuery, map[string]string{"sign": "AAAA"}, "40002", "isv.invalid-signature", true, false},
		{"no app_id", appKey, MethodQuery, map[string]string{"app_id": ""}, "40001", "isv.missing-app-id", false, false},
		{"other app", appKey, MethodQuery, map[string]string{"app_id": "2021000000000999"}, "40002", "isv.invalid-app-id", false, false},
		{"RSA1", appKey, MethodQuery, map[string]string{"sign_type": "RSA"}, "40002", "isv.invalid-signature-type", true, false},
		{"GBK", appKey, MethodQuery, map[string]string{"charset": "GBK"}, "40002", "isv.invalid-charset", true, false},
		{"timestamp", appKey, MethodQuery, map[string]string{"timestamp": "2026/03/14 10:00"}, "40002", "isv.invalid-timestamp", true, false},
		{"version", appKey, MethodQuery, map[string]string{"version": "2.0"}, "40002", "isv.invalid-parameter", true, false},
		{"biz_content", appKey, MethodQuery, map[string]string{"biz_content": "{not json"}, "40002", "isv.invalid-parameter", true, false},
		{"no method", appKey, "", map[string]string{"method": ""}, "40001", "isv.missing-method", false, true},
		{"unknown method", appKey, "alipay.trade.page.pay", nil, "40002", "isv.invalid-method", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := e.call(t, tc.key, tc.method, q, tc.params)
			if a.s("code") != tc.code || a.s("sub_code") != tc.sub || a.signed != tc.signed ||
				(a.key == "error_response") != tc.errResp {
				t.Fatalf("%s: %+v", a.key, a.fields)
			}
		})
	}
	// Alipay shows the string it verified, to debug signatures with.
	a := e.call(t, strangerKey, MethodQuery, q, nil)
	if !strings.Contains(a.s("sub_msg"), "app_id="+appID+"&biz_content=") {
		t.Fatalf("sub_msg %q", a.s("sub_msg"))
	}
	// The SDK sees the same through its own verification.
	sdk := sdkClient(t, e.srv.URL, strangerKey, e.sb)
	rsp, err := sdk.TradeQuery(e.ctx, smartwalle.TradeQuery{OutTradeNo: "X"})
	if err != nil || rsp.Code != "40002" || rsp.SubCode != "isv.invalid-signature" {
		t.Fatalf("SDK with another key: %+v, %v", rsp, err)
	}
	if got := e.sb.Calls()[MethodQuery]; got < 10 {
		t.Fatalf("calls %v", e.sb.Calls())
	}
}

func TestClockSkew(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MaxClockSkew = 10 * time.Minute })
	old := time.Now().Add(-time.Hour).In(cst).Format(timeLayout)
	if a := e.call(t, appKey, MethodQuery, map[string]string{"out_trade_no": "X"}, map[string]string{"timestamp": old}); a.s("sub_code") != "isv.invalid-timestamp" {
		t.Fatalf("an hour off: %+v", a.fields)
	}
	if a := e.call(t, appKey, MethodQuery, map[string]string{"out_trade_no": "X"}, nil); a.s("sub_code") != "ACQ.TRADE_NOT_EXIST" {
		t.Fatalf("on time: %+v", a.fields)
	}
}

func TestAmountsOnTheWire(t *testing.T) {
	e := newEnv(t)
	pay := func(no string, amount any) answer {
		return e.call(t, appKey, MethodPay, map[string]any{"out_trade_no": no, "total_amount": amount, "subject": "s",
			"scene": "bar_code", "auth_code": "281234567890123456"}, nil)
	}
	// A JSON number is read from its text, never through a float.
	if a := pay("AM_1", json.Number("0.29")); a.s("code") != "10000" || a.s("total_amount") != "0.29" {
		t.Fatalf("number amount: %+v", a.fields)
	}
	if a := pay("AM_2", "19999999.99"); a.s("code") != "10000" || a.s("receipt_amount") != "19999999.99" {
		t.Fatalf("large amount: %+v", a.fields)
	}
	for _, bad := range []any{"1.234", "-1.00", "0.00", "1e3", "1,000.00", "abc", ""} {
		if a := pay("AM_X", bad); a.s("sub_code") != "ACQ.INVALID_PARAMETER" {
			t.Errorf("amount %q: %+v", bad, a.fields)
		}
	}
	if a := pay("AM_3", "100000000.01"); a.s("sub_code") != "ACQ.TOTAL_FEE_EXCEED" && a.s("sub_code") != "ACQ.INVALID_PARAMETER" {
		t.Errorf("over the ceiling: %+v", a.fields)
	}
	for _, code := range []string{"1812345678901234", "2512345678", "31123456789012345", "28123456789012345a"} {
		a := e.call(t, appKey, MethodPay, map[string]any{"out_trade_no": "AM_C", "total_amount": "1.00", "subject": "s",
			"scene": "bar_code", "auth_code": code}, nil)
		if a.s("sub_code") != "ACQ.PAYMENT_AUTH_CODE_INVALID" {
			t.Errorf("auth code %s: %+v", code, a.fields)
		}
	}
	if a := pay("bad-no!", "1.00"); a.s("sub_code") != "ACQ.INVALID_PARAMETER" {
		t.Errorf("out_trade_no with '-' and '!': %+v", a.fields)
	}
}

func TestTradeNumbersAndReuse(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.EagerQRTrades = true })
	pre := func(no, amount string) (*smartwalle.TradePreCreateRsp, error) {
		return e.client.TradePreCreate(e.ctx, smartwalle.TradePreCreate{Trade: smartwalle.Trade{OutTradeNo: no,
			TotalAmount: amount, Subject: "s"}})
	}
	rsp, err := pre("RU_1", "5.00")
	if err != nil || rsp.Code != "10000" || !strings.HasPrefix(rsp.QRCode, "https://qr.alipay.com/bax") || len(rsp.QRCode) != 46 {
		t.Fatalf("precreate %+v %v", rsp, err)
	}
	// EagerQRTrades: the trade exists before any scan.
	q, err := e.client.TradeQuery(e.ctx, smartwalle.TradeQuery{OutTradeNo: "RU_1"})
	if err != nil || q.TradeStatus != StatusWaitBuyerPay || len(q.TradeNo) != 28 || q.TotalAmount != "5.00" {
		t.Fatalf("query %+v %v", q, err)
	}
	if again, _ := pre("RU_1", "6.00"); again.SubCode != "ACQ.CONTEXT_INCONSISTENT" {
		t.Fatalf("other amount: %+v", again)
	}
	e.sb.Pay(e.ctx, "RU_1")
	if again, _ := pre("RU_1", "5.00"); again.SubCode != "ACQ.TRADE_HAS_SUCCESS" {
		t.Fatalf("paid: %+v", again)
	}
	if c, _ := e.client.TradeClose(e.ctx, smartwalle.TradeClose{OutTradeNo: "RU_1"}); c.SubCode != "ACQ.TRADE_STATUS_ERROR" {
		t.Fatalf("close of a paid trade: %+v", c)
	}
	// Cancel of a paid and partly refunded trade is refused: refund instead.
	if r, _ := e.client.TradeRefund(e.ctx, smartwalle.TradeRefund{OutTradeNo: "RU_1", RefundAmount: "1.00", OutRequestNo: "r1"}); r.FundChange != "Y" || r.RefundFee != "1.00" {
		t.Fatalf("refund %+v", r)
	}
	if c, _ := e.client.TradeCancel(e.ctx, smartwalle.TradeCancel{OutTradeNo: "RU_1"}); c.SubCode != "ACQ.REASON_TRADE_REFUND_FEE_ERR" || c.RetryFlag != "N" {
		t.Fatalf("cancel after a refund: %+v", c)
	}
	if r, _ := e.client.TradeRefund(e.ctx, smartwalle.TradeRefund{OutTradeNo: "RU_1", RefundAmount: "2.00", OutRequestNo: "r1"}); r.SubCode != "ACQ.CONTEXT_INCONSISTENT" {
		t.Fatalf("out_request_no reused for another amount: %+v", r)
	}
	// Cancel of an out_trade_no never seen: success without action, and the number is spent.
	if c, _ := e.client.TradeCancel(e.ctx, smartwalle.TradeCancel{OutTradeNo: "RU_2"}); c.Code != "10000" || c.Action != "" || c.RetryFlag != "N" {
		t.Fatalf("cancel of nothing: %+v", c)
	}
	if again, _ := pre("RU_2", "5.00"); again.SubCode != "ACQ.TRADE_HAS_CLOSE" {
		t.Fatalf("precreate after its cancel: %+v", again)
	}
}

func TestExpiryAndRefundWindow(t *testing.T) {
	c := &clock{t: time.Date(2026, 3, 14, 10, 0, 0, 0, cst)}
	notes := make(chan url.Values, 16)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		notes <- r.PostForm
		io.WriteString(w, "success")
	}))
	defer recv.Close()
	e := newEnv(t, func(o *Options) { o.Now = c.now })

	// Scanned, then expired: closed and notified. Never scanned: it never existed.
	for _, no := range []string{"EX_1", "EX_2"} {
		rsp, err := e.client.TradePreCreate(e.ctx, smartwalle.TradePreCreate{Trade: smartwalle.Trade{OutTradeNo: no,
			TotalAmount: "3.00", Subject: "s", TimeoutExpress: "5m", NotifyURL: recv.URL}})
		if err != nil || rsp.Code != "10000" {
			t.Fatalf("precreate %+v %v", rsp, err)
		}
	}
	if err := e.sb.Scan(e.ctx, "EX_1"); err != nil {
		t.Fatal(err)
	}
	e.sb.Advance(6 * time.Minute)
	if q, _ := e.client.TradeQuery(e.ctx, smartwalle.TradeQuery{OutTradeNo: "EX_1"}); q.TradeStatus != StatusTradeClosed {
		t.Fatalf("expired: %+v", q)
	}
	if q, _ := e.client.TradeQuery(e.ctx, smartwalle.TradeQuery{OutTradeNo: "EX_2"}); q.SubCode != "ACQ.TRADE_NOT_EXIST" {
		t.Fatalf("never scanned: %+v", q)
	}
	if err := e.sb.Pay(e.ctx, "EX_2"); err == nil {
		t.Fatal("paid an expired QR code")
	}
	n := <-notes
	if n.Get("out_trade_no") != "EX_1" || n.Get("trade_status") != StatusTradeClosed || n.Get("gmt_close") != "2026-03-14 10:05:00" {
		t.Fatalf("expiry notification %v", n)
	}
	// Notifications are signed over every field but sign and sign_type.
	if err := VerifyRSA2(&alipayKey.PublicKey, []byte(SignContent(n, "sign", "sign_type")), n.Get("sign")); err != nil {
		t.Fatal(err)
	}

	// Paid trades finish when the refund window is over.
	p, err := e.client.TradePay(e.ctx, smartwalle.TradePay{Trade: smartwalle.Trade{OutTradeNo: "EX_3", TotalAmount: "8.00",
		Subject: "s", NotifyURL: recv.URL, ProductCode: "FACE_TO_FACE_PAYMENT"}, Scene: "bar_code", AuthCode: "281234567890123456"})
	if err != nil || p.Code != "10000" || p.GmtPayment != "2026-03-14 10:06:00" {
		t.Fatalf("pay %+v %v", p, err)
	}
	if n := <-notes; n.Get("trade_status") != StatusTradeSuccess || n.Get("total_amount") != "8.00" || n.Get("gmt_payment") == "" {
		t.Fatalf("pay notification %v", n)
	}
	e.sb.Advance(91 * 24 * time.Hour)
	if n := <-notes; n.Get("trade_status") != StatusTradeFinished {
		t.Fatalf("finish notification %v", n)
	}
	if r, _ := e.client.TradeRefund(e.ctx, smartwalle.TradeRefund{OutTradeNo: "EX_3", RefundAmount: "1.00", OutRequestNo: "r"}); r.SubCode != "ACQ.TRADE_HAS_FINISHED" {
		t.Fatalf("refund after the window: %+v", r)
	}
}

func TestNotificationRetriedThenGivenUp(t *testing.T) {
	var mu sync.Mutex
	var ids []string
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		mu.Lock()
		ids = append(ids, r.PostForm.Get("notify_id"))
		mu.Unlock()
		io.WriteString(w, "success ") // not exactly success: Alipay keeps trying
	}))
	defer recv.Close()
	e := newEnv(t)
	p, err := e.client.TradePay(e.ctx, smartwalle.TradePay{Trade: smartwalle.Trade{OutTradeNo: "GU_1", TotalAmount: "1.00",
		Subject: "s", NotifyURL: recv.URL}, Scene: "bar_code", AuthCode: "281234567890123456"})
	if err != nil || p.Code != "10000" {
		t.Fatal(p, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(e.sb.Deliveries()) < 4 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // no fifth attempt comes
	ds := e.sb.Deliveries()
	mu.Lock()
	defer mu.Unlock()
	if len(ds) != 4 || len(ids) != 4 {
		t.Fatalf("%d deliveries, %d received, want 1 + 3 retries", len(ds), len(ids))
	}
	for i := range ids {
		if ids[i] != ids[0] || ds[i].Acked || ds[i].Attempt != i+1 {
			t.Fatalf("attempt %d: %s %+v", i, ids[i], ds[i])
		}
	}
}

func TestControlAPI(t *testing.T) {
	e := newEnv(t)
	do := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		b, _ := io.ReadAll(resp.Body)
		_ = json.Unmarshal(b, &m)
		return resp.StatusCode, m
	}
	if code, _ := do("POST", "/control/barcode", `{"mode":"confirm"}`); code != 200 {
		t.Fatal(code)
	}
	p, _ := e.client.TradePay(e.ctx, smartwalle.TradePay{Trade: smartwalle.Trade{OutTradeNo: "CT_1", TotalAmount: "2.50",
		Subject: "s"}, Scene: "bar_code", AuthCode: "281234567890123456"})
	if p.Code != "10003" || p.TradeNo == "" {
		t.Fatalf("pay %+v", p)
	}
	if code, m := do("POST", "/control/trades/CT_1/confirm", ""); code != 200 || m["trade_status"] != StatusTradeSuccess || m["total_amount"] != "2.50" {
		t.Fatalf("confirm: %d %v", code, m)
	}
	if code, m := do("POST", "/control/trades/CT_1/pay", ""); code != 409 || m["error"] == nil {
		t.Fatalf("pay of a paid trade: %d %v", code, m)
	}
	if code, _ := do("POST", "/control/trades/NOPE/pay", ""); code != 404 {
		t.Fatalf("unknown trade: %d", code)
	}
	if code, _ := do("POST", "/control/barcode", `{"mode":"decline","sub_code":"ACQ.PAYMENT_FAIL","auth_code":"281111111111111111"}`); code != 200 {
		t.Fatal(code)
	}
	d, _ := e.client.TradePay(e.ctx, smartwalle.TradePay{Trade: smartwalle.Trade{OutTradeNo: "CT_2", TotalAmount: "2.50",
		Subject: "s"}, Scene: "bar_code", AuthCode: "281111111111111111"})
	if d.Code != "40004" || d.SubCode != "ACQ.PAYMENT_FAIL" || d.SubMsg != "支付失败" {
		t.Fatalf("declined for that code: %+v", d)
	}
	if code, _ := do("POST", "/control/faults", `{"method":"alipay.trade.query","answer":"20000"}`); code != 200 {
		t.Fatal(code)
	}
	if q, _ := e.client.TradeQuery(e.ctx, smartwalle.TradeQuery{OutTradeNo: "CT_1"}); q.Code != "20000" {
		t.Fatalf("query with a fault: %+v", q)
	}
	if code, _ := do("POST", "/control/faults", `{"answer":"nonsense"}`); code != 400 {
		t.Fatalf("bad fault: %d", code)
	}
	if code, m := do("POST", "/control/clock", `{"advance":"2h"}`); code != 200 || m["now"] == nil {
		t.Fatalf("clock: %d %v", code, m)
	}
	if code, _ := do("POST", "/control/notifications/hold", ""); code != 200 {
		t.Fatal(code)
	}
	if code, m := do("POST", "/control/notifications/release?order=reverse", ""); code != 200 || m["released"] != float64(0) {
		t.Fatalf("release: %d %v", code, m)
	}
	req, _ := http.NewRequest("GET", e.srv.URL+"/control/calls", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var calls map[string]int
	json.NewDecoder(resp.Body).Decode(&calls)
	resp.Body.Close()
	if calls[MethodPay] != 2 || calls[MethodQuery] != 1 {
		t.Fatalf("calls %v", calls)
	}
	resp, err = http.Get(e.srv.URL + "/control/trades")
	if err != nil {
		t.Fatal(err)
	}
	var trades []Trade
	json.NewDecoder(resp.Body).Decode(&trades)
	resp.Body.Close()
	if len(trades) != 1 || trades[0].OutTradeNo != "CT_1" || trades[0].Amount != 250 {
		t.Fatalf("trades %+v", trades)
	}
}

func TestBillFile(t *testing.T) {
	c := &clock{t: time.Date(2026, 3, 31, 23, 0, 0, 0, cst)}
	e := newEnv(t, func(o *Options) { o.Now = c.now; o.FeeBasisPoints = 60; o.SellerID = "2088123412341234" })
	p, _ := e.client.TradePay(e.ctx, smartwalle.TradePay{Trade: smartwalle.Trade{OutTradeNo: "BF_1", TotalAmount: "100.00",
		Subject: "咖啡, 大杯", StoreId: "S9"}, Scene: "bar_code", AuthCode: "281234567890123456", TerminalId: "T9"})
	if p.Code != "10000" {
		t.Fatalf("pay %+v", p)
	}
	if r, _ := e.client.TradeRefund(e.ctx, smartwalle.TradeRefund{OutTradeNo: "BF_1", RefundAmount: "50.00", OutRequestNo: "BF_1_r"}); r.FundChange != "Y" {
		t.Fatalf("refund %+v", r)
	}
	e.sb.Advance(2 * time.Hour) // 2026-04-01 01:00: March is over
	for _, date := range []string{"2026-03-31", "2026-03"} {
		rsp, err := e.client.BillDownloadURLQuery(e.ctx, smartwalle.BillDownloadURLQuery{BillType: "trade", BillDate: date})
		if err != nil || rsp.Code != "10000" {
			t.Fatalf("%s: %+v %v", date, rsp, err)
		}
		resp, err := http.Get(rsp.BillDownloadURL)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		files := unzipGBK(t, data)
		dates := strings.ReplaceAll(date, "-", "")
		detail := files["20881234123412340156_"+dates+"_业务明细.csv"]
		sum := files["20881234123412340156_"+dates+"_业务明细(汇总).csv"]
		lines := strings.Split(strings.TrimSuffix(detail, "\n"), "\n")
		if len(lines) != 11 || lines[4] != billHeader || lines[3] != "#-----------------------------------------业务明细列表----------------------------------------" {
			t.Fatalf("%s detail:\n%s", date, detail)
		}
		trade, refund := strings.Split(lines[5], ","), strings.Split(lines[6], ",")
		if len(trade) != 25 || len(refund) != 25 || !strings.HasSuffix(trade[0], "\t") || trade[1] != "BF_1\t" ||
			trade[2] != "交易\t" || trade[3] != "咖啡， 大杯" || trade[6] != "S9\t" || trade[9] != "T9\t" ||
			trade[11] != "100.00" || trade[22] != "-0.60" || refund[2] != "退款\t" || refund[11] != "-50.00" ||
			refund[12] != "-50.00" || refund[21] != "BF_1_r\t" || refund[22] != "0.30" {
			t.Fatalf("%s rows:\n%q\n%q", date, trade, refund)
		}
		if lines[8] != "#交易合计：1笔，商家实收共100.00元，商家优惠共0.00元" || lines[9] != "#退款合计：1笔，商家实收退款共-50.00元，商家优惠退款共0.00元" {
			t.Fatalf("%s summary %q", date, lines[7:])
		}
		if !strings.Contains(sum, "\t,合计,1,1,50.00,50.00,0.00,0.00,0.00,-0.30,0.00,49.70\n") {
			t.Fatalf("%s 汇总:\n%s", date, sum)
		}
	}
	for _, date := range []string{"2026-04-01", "2026-04", "2026/03/31"} {
		rsp, _ := e.client.BillDownloadURLQuery(e.ctx, smartwalle.BillDownloadURLQuery{BillType: "trade", BillDate: date})
		if rsp.SubCode != "isv.invalid-arguments" {
			t.Fatalf("%s: %+v", date, rsp)
		}
	}
	if rsp, _ := e.client.BillDownloadURLQuery(e.ctx, smartwalle.BillDownloadURLQuery{BillType: "signcustomer", BillDate: "2026-03-31"}); rsp.SubCode != "isv.invalid-arguments" {
		t.Fatalf("signcustomer: %+v", rsp)
	}
}

func unzipGBK(t *testing.T, data []byte) map[string]string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	dec := simplifiedchinese.GBK.NewDecoder()
	files := map[string]string{}
	for _, f := range zr.File {
		if f.Flags&0x800 != 0 {
			t.Fatalf("%q: UTF-8 flag set; Alipay's names are GBK", f.Name)
		}
		name, err := dec.String(f.Name)
		if err != nil {
			t.Fatal(err)
		}
		rc, _ := f.Open()
		raw, _ := io.ReadAll(rc)
		rc.Close()
		if files[name], err = dec.String(string(raw)); err != nil {
			t.Fatal(err)
		}
	}
	return files
}

func TestGeneratedKeyAndClose(t *testing.T) {
	sb := New(Options{AppID: appID, Logger: quiet}) // no keys: Alipay's generated, requests unchecked
	srv := httptest.NewServer(sb.Handler())
	defer srv.Close()
	keys(t)
	c := sdkClient(t, srv.URL, strangerKey, sb)
	p, err := c.TradePay(t.Context(), smartwalle.TradePay{Trade: smartwalle.Trade{OutTradeNo: "GK_1", TotalAmount: "1.00",
		Subject: "s", NotifyURL: "http://127.0.0.1:1/unreachable"}, Scene: "bar_code", AuthCode: "281234567890123456"})
	if err != nil || p.Code != "10000" {
		t.Fatalf("pay verified with the generated key: %+v %v", p, err)
	}
	if sb.PublicKey().N.BitLen() != 2048 {
		t.Fatal("generated key is not 2048 bits")
	}
	done := make(chan struct{})
	go func() { sb.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not stop the retries")
	}
}
