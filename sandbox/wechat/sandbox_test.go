package wechat_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/notify"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/native"

	sandbox "github.com/multipos/multipos/sandbox/wechat"
)

const (
	mchID    = "1900000109"
	appID    = "wxd678efh567hg6787"
	serial   = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
	apiV3Key = "a7cde1ZJB1kG2e7VfTc4xq9WmY8nR3pL"
	authCode = "134567890123456789"
)

// Keys are made once: RSA generation is slow under the race detector.
var keys = sync.OnceValue(func() (k struct{ merchant, wechat *rsa.PrivateKey }) {
	for _, p := range []**rsa.PrivateKey{&k.merchant, &k.wechat} {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		*p = key
	}
	return k
})

type env struct {
	sb  *sandbox.Sandbox
	srv *httptest.Server
	sdk *core.Client // wechatpay-go, pointed at the sandbox
}

func newEnv(t *testing.T, opts ...func(*sandbox.Options)) *env {
	t.Helper()
	k := keys()
	o := sandbox.Options{MchID: mchID, AppID: appID, MerchantPublicKey: &k.merchant.PublicKey, MerchantSerial: serial,
		PrivateKey: k.wechat, APIv3Key: apiV3Key, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		NotifySchedule: []time.Duration{10 * time.Millisecond, 10 * time.Millisecond}}
	for _, f := range opts {
		f(&o)
	}
	e := &env{sb: sandbox.New(o)}
	e.srv = httptest.NewServer(e.sb.Handler())
	t.Cleanup(func() {
		e.sb.Close()
		e.srv.Close()
	})
	base, _ := url.Parse(e.srv.URL)
	sdk, err := core.NewClient(context.Background(),
		option.WithWechatPayPublicKeyAuthCipher(mchID, serial, k.merchant, e.sb.PublicKeyID(), e.sb.PublicKey()),
		option.WithHTTPClient(&http.Client{Transport: toSandbox{base}, Timeout: 5 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	e.sdk = sdk
	return e
}

// toSandbox is the RoundTripper doc.go describes.
type toSandbox struct{ base *url.URL }

func (t toSandbox) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host, r.Host = t.base.Scheme, t.base.Host, ""
	return http.DefaultTransport.RoundTrip(r)
}

func TestOfficialSDKNativeAndNotification(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	got := make(chan payments.Transaction, 4)
	h := notify.NewNotifyHandler(apiV3Key, verifiers.NewSHA256WithRSAPubkeyVerifier(e.sb.PublicKeyID(), *e.sb.PublicKey()))
	merchant := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var tx payments.Transaction
		req, err := h.ParseNotifyRequest(r.Context(), r, &tx)
		if err != nil {
			t.Errorf("notification refused by wechatpay-go: %v", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if req.EventType != "TRANSACTION.SUCCESS" || req.Resource.AssociatedData != "transaction" || len(req.Resource.Nonce) != 12 {
			t.Errorf("notification %+v", req)
		}
		got <- tx
		w.WriteHeader(http.StatusNoContent)
	}))
	defer merchant.Close()

	svc := native.NativeApiService{Client: e.sdk}
	out := "SDK" + strconv.FormatInt(time.Now().UnixNano(), 10)
	resp, _, err := svc.Prepay(ctx, native.PrepayRequest{Appid: core.String(appID), Mchid: core.String(mchID),
		Description: core.String("测试"), OutTradeNo: core.String(out), NotifyUrl: core.String(merchant.URL + "/notify"),
		Amount: &native.Amount{Total: core.Int64(1)}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(*resp.CodeUrl, "weixin://wxpay/bizpayurl?pr=") {
		t.Fatalf("code_url %q", *resp.CodeUrl)
	}
	if err := e.sb.Pay(out); err != nil {
		t.Fatal(err)
	}
	var tx payments.Transaction
	select {
	case tx = <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("no notification")
	}
	if *tx.OutTradeNo != out || *tx.TradeState != "SUCCESS" || *tx.Amount.Total != 1 || *tx.Mchid != mchID {
		t.Fatalf("notified transaction %+v", tx)
	}
	byID, _, err := svc.QueryOrderById(ctx, native.QueryOrderByIdRequest{TransactionId: tx.TransactionId, Mchid: core.String(mchID)})
	if err != nil || *byID.OutTradeNo != out || *byID.TradeState != "SUCCESS" {
		t.Fatalf("query by id: %+v, %v", byID, err)
	}
	if _, err := svc.CloseOrder(ctx, native.CloseOrderRequest{OutTradeNo: core.String(out), Mchid: core.String(mchID)}); !core.IsAPIError(err, "ORDER_PAID") {
		t.Fatalf("close of a paid order: %v", err)
	}
	unpaid := out + "U"
	if _, _, err := svc.Prepay(ctx, native.PrepayRequest{Appid: core.String(appID), Mchid: core.String(mchID),
		Description: core.String("x"), OutTradeNo: core.String(unpaid), NotifyUrl: core.String(merchant.URL),
		Amount: &native.Amount{Total: core.Int64(5)}}); err != nil {
		t.Fatal(err)
	}
	if res, err := svc.CloseOrder(ctx, native.CloseOrderRequest{OutTradeNo: core.String(unpaid), Mchid: core.String(mchID)}); err != nil || res.Response.StatusCode != http.StatusNoContent {
		t.Fatalf("close: %v", err)
	}
	if n := e.sb.Calls(sandbox.OpNative); n != 2 {
		t.Fatalf("native calls %d, want 2", n)
	}
}

// raw sends a request signed with key (or with auth as given when auth != "").
func raw(t *testing.T, e *env, key *rsa.PrivateKey, method, uri, body string, ts time.Time, mutate func(*http.Request)) *http.Response {
	t.Helper()
	nonce := "abc" + strconv.FormatInt(ts.UnixNano(), 10)
	tss := strconv.FormatInt(ts.Unix(), 10)
	sum := sha256.Sum256([]byte(method + "\n" + uri + "\n" + tss + "\n" + nonce + "\n" + body + "\n"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(method, e.srv.URL+uri, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", fmt.Sprintf(`WECHATPAY2-SHA256-RSA2048 mchid="%s",nonce_str="%s",timestamp="%s",serial_no="%s",signature="%s"`,
		mchID, nonce, tss, serial, base64.StdEncoding.EncodeToString(sig)))
	if mutate != nil {
		mutate(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// answer reads a response, checks WeChat Pay's signature on it and
// returns its status and error code.
func answer(t *testing.T, e *env, resp *http.Response) (int, string) {
	t.Helper()
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	h := resp.Header
	sum := sha256.Sum256([]byte(h.Get("Wechatpay-Timestamp") + "\n" + h.Get("Wechatpay-Nonce") + "\n" + string(body) + "\n"))
	sig, _ := base64.StdEncoding.DecodeString(h.Get("Wechatpay-Signature"))
	if err := rsa.VerifyPKCS1v15(e.sb.PublicKey(), crypto.SHA256, sum[:], sig); err != nil || h.Get("Wechatpay-Serial") != e.sb.PublicKeyID() || h.Get("Request-ID") == "" {
		t.Errorf("answer %d %s is not signed by WeChat Pay: %v", resp.StatusCode, body, err)
	}
	var ae struct{ Code, Message string }
	_ = json.Unmarshal(body, &ae)
	return resp.StatusCode, ae.Code
}

func TestAuthorizationChecked(t *testing.T) {
	e := newEnv(t)
	k := keys()
	now := time.Now()
	uri := "/v3/pay/transactions/out-trade-no/NOPE1234?mchid=" + mchID
	cases := []struct {
		name   string
		key    *rsa.PrivateKey
		ts     time.Time
		mutate func(*http.Request)
		want   int
		code   string
	}{
		{"good signature", k.merchant, now, nil, 404, "ORDER_NOT_EXIST"},
		{"another key", k.wechat, now, nil, 401, "SIGN_ERROR"},
		{"stale timestamp", k.merchant, now.Add(-6 * time.Minute), nil, 401, "SIGN_ERROR"},
		{"no Authorization", k.merchant, now, func(r *http.Request) { r.Header.Del("Authorization") }, 401, "SIGN_ERROR"},
		{"other scheme", k.merchant, now, func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "WECHATPAY2-SHA256-RSA2048", "Bearer", 1))
		}, 401, "SIGN_ERROR"},
		{"unknown serial", k.merchant, now, func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), serial, "0000", 1))
		}, 401, "SIGN_ERROR"},
		{"URI changed after signing", k.merchant, now, func(r *http.Request) { r.URL.Path = "/v3/pay/transactions/out-trade-no/NOPE1235" }, 401, "SIGN_ERROR"},
	}
	for _, c := range cases {
		status, code := answer(t, e, raw(t, e, c.key, http.MethodGet, uri, "", c.ts, c.mutate))
		if status != c.want || code != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.name, status, code, c.want, c.code)
		}
	}
	// A body changed after signing.
	body := `{"mchid":"` + mchID + `"}`
	status, code := answer(t, e, raw(t, e, k.merchant, http.MethodPost, "/v3/pay/transactions/out-trade-no/NOPE1234/close", body, now,
		func(r *http.Request) {
			r.Body = io.NopCloser(strings.NewReader(body + " "))
			r.ContentLength = int64(len(body) + 1)
		}))
	if status != 401 || code != "SIGN_ERROR" {
		t.Errorf("tampered body: %d %s", status, code)
	}
}

func TestParameterChecks(t *testing.T) {
	e := newEnv(t)
	k := keys()
	now := time.Now()
	nat := func(fields string) string {
		return `{"appid":"` + appID + `","mchid":"` + mchID + `","description":"x","out_trade_no":"P123456",` +
			`"notify_url":"https://pos.example.com/n",` + fields + `}`
	}
	cases := []struct {
		name, body string
		want       int
		code       string
	}{
		{"fractional fen", nat(`"amount":{"total":1.5}`), 400, "PARAM_ERROR"},
		{"amount as a string", nat(`"amount":{"total":"100"}`), 400, "PARAM_ERROR"},
		{"zero amount", nat(`"amount":{"total":0}`), 400, "PARAM_ERROR"},
		{"no amount", nat(`"attach":"x"`), 400, "PARAM_ERROR"},
		{"other currency", nat(`"amount":{"total":1,"currency":"USD"}`), 400, "PARAM_ERROR"},
		{"other appid", strings.Replace(nat(`"amount":{"total":1}`), appID, "wx0000000000000000", 1), 400, "APPID_MCHID_NOT_MATCH"},
		{"other mchid in the body", strings.Replace(nat(`"amount":{"total":1}`), `"mchid":"`+mchID, `"mchid":"1900000999`, 1), 400, "INVALID_REQUEST"},
		{"notify_url with a query", strings.Replace(nat(`"amount":{"total":1}`), "/n", "/n?a=1", 1), 400, "PARAM_ERROR"},
		{"short out_trade_no", strings.Replace(nat(`"amount":{"total":1}`), "P123456", "P1", 1), 400, "PARAM_ERROR"},
		{"good", nat(`"amount":{"total":1}`), 200, ""},
		{"same again", nat(`"amount":{"total":1}`), 200, ""},
		{"same number, other amount", nat(`"amount":{"total":2}`), 400, "INVALID_REQUEST"},
	}
	for _, c := range cases {
		status, code := answer(t, e, raw(t, e, k.merchant, http.MethodPost, "/v3/pay/transactions/native", c.body, now, nil))
		if status != c.want || code != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.name, status, code, c.want, c.code)
		}
	}
	if status, code := answer(t, e, raw(t, e, k.merchant, http.MethodGet, "/v3/pay/transactions/out-trade-no/P123456", "", now, nil)); status != 400 || code != "PARAM_ERROR" {
		t.Errorf("query without mchid: %d %s", status, code)
	}
	if status, code := answer(t, e, raw(t, e, k.merchant, http.MethodGet, "/v3/bill/tradebill?bill_date=2020-01-01&bill_type=ALL", "", now, nil)); status != 400 || code != "INVALID_REQUEST" {
		t.Errorf("bill older than 3 months: %d %s", status, code)
	}
}

func TestControlHTTP(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	control := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	svc := native.NativeApiService{Client: e.sdk}
	out := "CTL" + strconv.FormatInt(time.Now().UnixNano(), 10)
	if _, _, err := svc.Prepay(ctx, native.PrepayRequest{Appid: core.String(appID), Mchid: core.String(mchID),
		Description: core.String("x"), OutTradeNo: core.String(out), NotifyUrl: core.String("http://127.0.0.1:1/n"),
		Amount: &native.Amount{Total: core.Int64(99)}}); err != nil {
		t.Fatal(err)
	}
	if s, b := control("POST", "/control/orders/"+out+"/decline", ""); s != 204 {
		t.Fatalf("decline: %d %s", s, b)
	}
	if s, b := control("GET", "/control/orders/"+out, ""); s != 200 || !strings.Contains(b, `"trade_state":"NOTPAY"`) {
		t.Fatalf("order after a native decline: %d %s", s, b)
	}
	if s, b := control("POST", "/control/orders/"+out+"/pay", ""); s != 204 {
		t.Fatalf("pay: %d %s", s, b)
	}
	if s, b := control("GET", "/control/orders/"+out, ""); s != 200 || !strings.Contains(b, `"trade_state":"SUCCESS"`) || !strings.Contains(b, `"total":99`) {
		t.Fatalf("order: %d %s", s, b)
	}
	if s, _ := control("POST", "/control/orders/"+out+"/pay", ""); s != 409 {
		t.Fatalf("paying twice: %d", s)
	}
	if s, _ := control("POST", "/control/orders/NOPE/pay", ""); s != 404 {
		t.Fatalf("paying an unknown order: %d", s)
	}

	if s, b := control("POST", "/control/faults", `{"op":"query","kind":"system_error"}`); s != 204 {
		t.Fatalf("fault: %d %s", s, b)
	}
	_, _, err := svc.QueryOrderByOutTradeNo(ctx, native.QueryOrderByOutTradeNoRequest{OutTradeNo: core.String(out), Mchid: core.String(mchID)})
	var apiErr *core.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 500 || apiErr.Code != "SYSTEM_ERROR" {
		t.Fatalf("query with a system_error fault: %v", err)
	}
	if tx, _, err := svc.QueryOrderByOutTradeNo(ctx, native.QueryOrderByOutTradeNoRequest{OutTradeNo: core.String(out), Mchid: core.String(mchID)}); err != nil || *tx.TradeState != "SUCCESS" {
		t.Fatalf("query after the fault: %v", err)
	}
	if s, _ := control("POST", "/control/faults", `{"op":"query","kind":"bad_signature"}`); s != 204 {
		t.Fatal(s)
	}
	if _, _, err := svc.QueryOrderByOutTradeNo(ctx, native.QueryOrderByOutTradeNoRequest{OutTradeNo: core.String(out), Mchid: core.String(mchID)}); err == nil {
		t.Fatal("wechatpay-go took an answer with a spoiled signature")
	}
	if s, _ := control("POST", "/control/faults", `{"op":"native","kind":"lose_reply"}`); s != 204 {
		t.Fatal(s)
	}
	lost := out + "L"
	if _, _, err := svc.Prepay(ctx, native.PrepayRequest{Appid: core.String(appID), Mchid: core.String(mchID),
		Description: core.String("x"), OutTradeNo: core.String(lost), NotifyUrl: core.String("http://127.0.0.1:1/n"),
		Amount: &native.Amount{Total: core.Int64(1)}}); err == nil {
		t.Fatal("prepay with its answer lost succeeded")
	}
	if o, found := e.sb.Order(lost); !found || o.TradeState != sandbox.StateNotPay {
		t.Fatalf("the lost prepay did not take effect: %+v", o)
	}

	if s, b := control("POST", "/control/codepay", `{"outcome":"userpaying"}`); s != 204 {
		t.Fatalf("codepay: %d %s", s, b)
	}
	if s, _ := control("POST", "/control/codepay", `{"outcome":"maybe"}`); s != 400 {
		t.Fatalf("bad outcome: %d", s)
	}
	body := map[string]any{"appid": appID, "mchid": mchID, "description": "x", "out_trade_no": out + "B",
		"payer": map[string]string{"auth_code": authCode}, "amount": map[string]any{"total": 5, "currency": "CNY"}}
	res, err := e.sdk.Post(ctx, "https://api.mch.weixin.qq.com/v3/pay/transactions/codepay", body)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Response.Body)
	if string(b) != `{"trade_state":"USERPAYING"}` {
		t.Fatalf("codepay answer %s", b)
	}
	if s, b := control("POST", "/control/orders/"+out+"B/confirm", ""); s != 204 {
		t.Fatalf("confirm: %d %s", s, b)
	}
	if s, b := control("GET", "/control/calls", ""); s != 200 || !strings.Contains(b, `"native":2`) || !strings.Contains(b, `"query":3`) {
		t.Fatalf("calls: %d %s", s, b)
	}
	if s, b := control("POST", "/control/notifications", `{"action":"hold"}`); s != 204 {
		t.Fatalf("hold: %d %s", s, b)
	}
	if s, b := control("GET", "/control/notifications", ""); s != 200 || !strings.HasPrefix(b, "[") {
		t.Fatalf("deliveries: %d %s", s, b)
	}
}

func TestNotificationGivenUpAfterSchedule(t *testing.T) {
	e := newEnv(t)
	var hits sync.WaitGroup
	hits.Add(3) // the first attempt and the two retries of the schedule
	merchant := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"code":"FAIL","message":"busy"}`))
		hits.Done()
	}))
	defer merchant.Close()
	svc := native.NativeApiService{Client: e.sdk}
	out := "GU" + strconv.FormatInt(time.Now().UnixNano(), 10)
	if _, _, err := svc.Prepay(context.Background(), native.PrepayRequest{Appid: core.String(appID), Mchid: core.String(mchID),
		Description: core.String("x"), OutTradeNo: core.String(out), NotifyUrl: core.String(merchant.URL),
		Amount: &native.Amount{Total: core.Int64(1)}}); err != nil {
		t.Fatal(err)
	}
	if err := e.sb.Pay(out); err != nil {
		t.Fatal(err)
	}
	hits.Wait()
	time.Sleep(50 * time.Millisecond) // a fourth attempt would come by now
	d := e.sb.Deliveries()
	if len(d) != 3 || d[2].Attempt != 3 || d[2].Status != 500 {
		t.Fatalf("deliveries %+v, want 3 refused attempts", d)
	}
}

func TestBillPlainAndGzip(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	body := map[string]any{"appid": appID, "mchid": mchID, "description": "账单", "out_trade_no": "BILL" + strconv.FormatInt(time.Now().UnixNano(), 10),
		"payer": map[string]string{"auth_code": authCode}, "amount": map[string]any{"total": 101, "currency": "CNY"}}
	if _, err := e.sdk.Post(ctx, "https://api.mch.weixin.qq.com/v3/pay/transactions/codepay", body); err != nil {
		t.Fatal(err)
	}
	day := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
	res, err := e.sdk.Get(ctx, "https://api.mch.weixin.qq.com/v3/bill/tradebill?bill_date="+day)
	var apiErr *core.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != "STATEMENT_CREATING" {
		t.Fatalf("today's bill: %v, %v; want STATEMENT_CREATING", res, err)
	}
	toBillReady(e.sb)
	for _, tar := range []string{"", "&tar_type=GZIP"} {
		res, err := e.sdk.Get(ctx, "https://api.mch.weixin.qq.com/v3/bill/tradebill?bill_date="+day+"&bill_type=SUCCESS"+tar)
		if err != nil {
			t.Fatal(err)
		}
		var meta struct {
			HashType    string `json:"hash_type"`
			DownloadURL string `json:"download_url"`
		}
		if err := json.NewDecoder(res.Response.Body).Decode(&meta); err != nil || meta.DownloadURL == "" {
			t.Fatalf("tradebill: %+v, %v", meta, err)
		}
		if !strings.HasPrefix(meta.DownloadURL, "https://api.mch.weixin.qq.com/v3/billdownload/file?token=") ||
			strings.HasSuffix(meta.DownloadURL, "&tartype=gzip") != (tar != "") {
			t.Fatalf("download_url %s", meta.DownloadURL)
		}
		// The download is signed by the merchant; its answer is not.
		base, _ := url.Parse(e.srv.URL)
		unsigned, err := core.NewClient(ctx, option.WithMerchantCredential(mchID, serial, keys().merchant), option.WithoutValidator(),
			option.WithHTTPClient(&http.Client{Transport: toSandbox{base}, Timeout: 5 * time.Second}))
		if err != nil {
			t.Fatal(err)
		}
		file, err := unsigned.Get(ctx, meta.DownloadURL)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(file.Response.Body)
		if file.Response.Header.Get("Wechatpay-Signature") != "" {
			t.Error("bill file came signed")
		}
		if tar != "" && !bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
			t.Fatalf("GZIP bill is not gzip")
		}
		if tar == "" && !bytes.Contains(data, []byte("`1.01,")) {
			t.Fatalf("bill:\n%s", data)
		}
	}
}

// toBillReady moves the sandbox's clock to 10:05 tomorrow, Beijing time,
// when today's bill can be fetched.
func toBillReady(sb *sandbox.Sandbox) {
	cst := time.FixedZone("CST", 8*3600)
	now := sb.Now().In(cst)
	sb.Advance(time.Date(now.Year(), now.Month(), now.Day()+1, 10, 5, 0, 0, cst).Sub(now))
}

func TestCustomerConfirmsByThemselves(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.sb.NextCodepay(sandbox.CodeBehavior{Outcome: sandbox.CodeUserPaying, ConfirmAfter: 20 * time.Millisecond})
	out := "SELF" + strconv.FormatInt(time.Now().UnixNano(), 10)
	body := map[string]any{"appid": appID, "mchid": mchID, "description": "x", "out_trade_no": out,
		"payer": map[string]string{"auth_code": authCode}, "amount": map[string]any{"total": 5, "currency": "CNY"}}
	if _, err := e.sdk.Post(ctx, "https://api.mch.weixin.qq.com/v3/pay/transactions/codepay", body); err != nil {
		t.Fatal(err)
	}
	if o, _ := e.sb.Order(out); o.TradeState != sandbox.StateUserPaying {
		t.Fatalf("order %+v, want USERPAYING first", o)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if o, _ := e.sb.Order(out); o.TradeState == sandbox.StateSuccess {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the customer never confirmed")
		}
		time.Sleep(5 * time.Millisecond)
	}

	// A fault for any op hits the next call, whatever it is.
	e.sb.InjectFault(sandbox.OpAny, sandbox.Fault{Kind: sandbox.FaultSystemError})
	if _, err := e.sdk.Get(ctx, "https://api.mch.weixin.qq.com/v3/pay/transactions/out-trade-no/"+out+"?mchid="+mchID); !core.IsAPIError(err, "SYSTEM_ERROR") {
		t.Fatalf("query with a fault for any op: %v", err)
	}
	e.sb.SetLatency(30 * time.Millisecond)
	start := time.Now()
	if _, err := e.sdk.Get(ctx, "https://api.mch.weixin.qq.com/v3/pay/transactions/out-trade-no/"+out+"?mchid="+mchID); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Fatalf("query took %s with 30ms latency", d)
	}
}

// TestBillControlHTTP drives the bill and clock controls over HTTP.
func TestBillControlHTTP(t *testing.T) {
	e := newEnv(t)
	post := func(path, body string) int {
		res, err := http.Post(e.srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	before := e.sb.Now()
	if s := post("/control/clock", `{"advance":"25h"}`); s != 200 || e.sb.Now().Sub(before) < 25*time.Hour {
		t.Fatalf("clock: %d, now %s", s, e.sb.Now())
	}
	if s := post("/control/clock", `{"advance":"-1h"}`); s != 400 {
		t.Fatalf("clock backwards: %d", s)
	}
	if s := post("/control/bills", `{"kind":"drop","day":"2026-12-01","out_trade_no":"X1"}`); s != 204 {
		t.Fatalf("drop: %d", s)
	}
	if s := post("/control/bills", `{"kind":"unknown_payment","day":"2026-12-01","out_trade_no":"X2","amount":500}`); s != 204 {
		t.Fatalf("unknown payment: %d", s)
	}
	if o, found := e.sb.Order("X2"); !found || o.TradeState != "SUCCESS" || o.Total != 500 {
		t.Fatalf("unknown payment not booked: %+v", o)
	}
	for _, bad := range []string{`{"kind":"nonsense","day":"2026-12-01","out_trade_no":"X1"}`,
		`{"kind":"drop","day":"01/12/2026","out_trade_no":"X1"}`, `{"kind":"refund","day":"2026-12-01","out_trade_no":"NOPE","amount":1}`} {
		if s := post("/control/bills", bad); s < 400 {
			t.Errorf("%s: %d", bad, s)
		}
	}
	if s := post("/control/bills/corrupt_next", ``); s != 204 {
		t.Fatalf("corrupt_next: %d", s)
	}
}
