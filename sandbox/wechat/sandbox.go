package wechat

import (
	"bytes"
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/multipos/multipos/internal/ids"
)

// Options configure the sandbox. MchID, MerchantPublicKey, MerchantSerial
// and a 32-byte APIv3Key are required: without them no real client could
// talk to it, so New panics.
type Options struct {
	MchID string
	// AppID, when set, is the only appid bound to MchID: requests naming
	// another get 400 APPID_MCHID_NOT_MATCH, as at WeChat Pay.
	AppID string

	// MerchantPublicKey and MerchantSerial verify the merchant's
	// Authorization signatures (the API certificate's key and serial).
	MerchantPublicKey *rsa.PublicKey
	MerchantSerial    string

	// PrivateKey is WeChat Pay's own key in public-key mode: it signs
	// responses and notifications. Generated when nil; see PublicKey.
	PrivateKey *rsa.PrivateKey
	// PublicKeyID names that key (Wechatpay-Serial), PUB_KEY_ID_… .
	PublicKeyID string

	// APIv3Key encrypts notification resources (AEAD_AES_256_GCM).
	APIv3Key string

	Now    func() time.Time // default time.Now; it also dates signatures, which SDKs accept within 5 minutes of their own clock
	Logger *slog.Logger     // default slog.Default()

	// NotifySchedule is the wait before each retry of an unacknowledged
	// notification; after the last one the notification is dropped.
	// Default: WeChat Pay's 15s,15s,30s,3m,10m,20m,30m,30m,30m,60m,3h,3h,3h,6h,6h.
	NotifySchedule []time.Duration
	// HTTPClient delivers notifications (default: a client with a 5 s
	// timeout, the time WeChat Pay gives a merchant to answer).
	HTTPClient *http.Client

	// ClockSkew is how far a request's Authorization timestamp may be from
	// Now (default 5 minutes).
	ClockSkew time.Duration
	// RefundDelay is how long a refund stays PROCESSING (default 0: it
	// answers PROCESSING and succeeds right after).
	RefundDelay time.Duration
	// BaseURL prefixes the bill download_url (default
	// https://api.mch.weixin.qq.com, as at WeChat Pay: clients reach it
	// through their endpoint override, like every other call).
	BaseURL string
}

// DefaultNotifySchedule is WeChat Pay's retry cadence for notifications
// (about 24h4m in all).
var DefaultNotifySchedule = []time.Duration{
	15 * time.Second, 15 * time.Second, 30 * time.Second, 3 * time.Minute, 10 * time.Minute,
	20 * time.Minute, 30 * time.Minute, 30 * time.Minute, 30 * time.Minute, 60 * time.Minute,
	3 * time.Hour, 3 * time.Hour, 3 * time.Hour, 6 * time.Hour, 6 * time.Hour,
}

// DefaultPublicKeyID names the generated WeChat Pay key.
const DefaultPublicKeyID = "PUB_KEY_ID_0100000000000000000000000000000000"

// authScheme is the only signature scheme API v3 knows.
const authScheme = "WECHATPAY2-SHA256-RSA2048"

// cst is Beijing time: WeChat Pay dates everything in it, bills included.
var cst = time.FixedZone("CST", 8*3600)

// Sandbox is a local WeChat Pay API v3. It is safe for concurrent use.
type Sandbox struct {
	opts Options
	log  *slog.Logger
	aead cipher.AEAD
	mux  *http.ServeMux

	mu         sync.Mutex
	orders     map[string]*order // by out_trade_no
	byTxn      map[string]*order // by transaction_id
	refunds    map[string]*refund
	bills      map[string]bill     // by download token
	billEdits  map[string]billEdit // by "yyyy-MM-dd/out_trade_no"
	offset     atomic.Int64        // Advance, in nanoseconds
	seq        int
	calls      map[Op]int
	faults     []pendingFault
	latency    time.Duration
	nextCode   []CodeBehavior
	codeFor    map[string]CodeBehavior
	abnormal   int // refunds still to end ABNORMAL
	dupNotify  int
	badNotify  int
	held       bool
	queued     []*notification
	deliveries []Delivery
	closed     bool

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New builds a sandbox; serve it with Handler and end it with Close.
func New(o Options) *Sandbox {
	switch {
	case o.MchID == "":
		panic("sandbox/wechat: Options.MchID is required")
	case o.MerchantPublicKey == nil || o.MerchantSerial == "":
		panic("sandbox/wechat: Options.MerchantPublicKey and MerchantSerial are required to verify requests")
	case len(o.APIv3Key) != 32:
		panic("sandbox/wechat: Options.APIv3Key must be 32 bytes")
	}
	if o.PrivateKey == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(fmt.Sprintf("sandbox/wechat: generate WeChat Pay key: %v", err))
		}
		o.PrivateKey = k
	}
	if o.PublicKeyID == "" {
		o.PublicKeyID = DefaultPublicKeyID
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.NotifySchedule == nil {
		o.NotifySchedule = DefaultNotifySchedule
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	}
	if o.BaseURL == "" {
		o.BaseURL = "https://api.mch.weixin.qq.com"
	}
	if o.ClockSkew <= 0 {
		o.ClockSkew = 5 * time.Minute
	}
	block, err := aes.NewCipher([]byte(o.APIv3Key))
	if err != nil {
		panic(fmt.Sprintf("sandbox/wechat: APIv3 key: %v", err))
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(fmt.Sprintf("sandbox/wechat: APIv3 key: %v", err))
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Sandbox{
		opts: o, log: o.Logger.With("sandbox", "wechat"), aead: aead,
		orders: map[string]*order{}, byTxn: map[string]*order{}, refunds: map[string]*refund{},
		bills: map[string]bill{}, billEdits: map[string]billEdit{}, calls: map[Op]int{}, codeFor: map[string]CodeBehavior{},
		ctx: ctx, cancel: cancel,
	}
	s.routes()
	return s
}

// PublicKey is WeChat Pay's public key, which clients verify with
// (option.WithWechatPayPublicKeyAuthCipher, gopay's AutoVerifySignByPublicKey).
func (s *Sandbox) PublicKey() *rsa.PublicKey { return &s.opts.PrivateKey.PublicKey }

// PublicKeyID is the id of PublicKey, sent as Wechatpay-Serial.
func (s *Sandbox) PublicKeyID() string { return s.opts.PublicKeyID }

// Handler serves the API under /v3/ and the trainers' control API under /control/.
func (s *Sandbox) Handler() http.Handler { return s.mux }

// Close stops notification deliveries and refund settlements and waits for them.
func (s *Sandbox) Close() {
	s.mu.Lock()
	s.closed = true // nothing new starts after this, so the Wait below is final
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
}

// now is the business clock: Options.Now moved ahead by Advance.
func (s *Sandbox) now() time.Time { return s.opts.Now().Add(time.Duration(s.offset.Load())) }

// wall is Options.Now, unmoved: signatures are checked and dated by it,
// since clients sign with their own clocks.
func (s *Sandbox) wall() time.Time { return s.opts.Now() }

func (s *Sandbox) routes() {
	m := http.NewServeMux()
	m.HandleFunc("POST /v3/pay/transactions/native", s.api(OpNative, s.native))
	m.HandleFunc("POST /v3/pay/transactions/codepay", s.api(OpCodepay, s.codepay))
	m.HandleFunc("GET /v3/pay/transactions/out-trade-no/{no}", s.api(OpQuery, s.queryByOutTradeNo))
	m.HandleFunc("GET /v3/pay/transactions/id/{id}", s.api(OpQuery, s.queryByID))
	m.HandleFunc("POST /v3/pay/transactions/out-trade-no/{no}/close", s.api(OpClose, s.close))
	m.HandleFunc("POST /v3/pay/transactions/out-trade-no/{no}/reverse", s.api(OpReverse, s.reverse))
	m.HandleFunc("POST /v3/refund/domestic/refunds", s.api(OpRefund, s.refund))
	m.HandleFunc("GET /v3/refund/domestic/refunds/{no}", s.api(OpRefundQuery, s.queryRefund))
	m.HandleFunc("GET /v3/bill/tradebill", s.api(OpTradeBill, s.tradeBill))
	m.HandleFunc("GET /v3/billdownload/file", s.api(OpBillDownload, s.billDownload))
	m.HandleFunc("/v3/", s.api(OpUnknown, func(*call) reply {
		return fail(http.StatusNotFound, "NOT_FOUND", "请求的资源不存在")
	}))
	s.controlRoutes(m)
	s.billControlRoutes(m)
	m.HandleFunc("GET /control/orders", s.controlOrders)
	s.mux = m
}

// call is one authenticated API request.
type call struct {
	r     *http.Request
	body  []byte
	mchid string // from the Authorization header
	now   time.Time
	fault FaultKind // the fault this call plays, for endpoints that play it themselves
}

// reply is an API answer. raw replies (bill files) go out unsigned, as at
// WeChat Pay.
type reply struct {
	status int
	body   any
	raw    []byte
	ctype  string
}

// apiError is WeChat Pay's error body.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Detail  any    `json:"detail,omitempty"`
}

func fail(status int, code, msg string) reply {
	return reply{status: status, body: apiError{Code: code, Message: msg}}
}

// paramError is a 400 PARAM_ERROR naming the field, like WeChat Pay's detail.
func paramError(field, issue string) reply {
	return reply{status: http.StatusBadRequest, body: apiError{Code: "PARAM_ERROR", Message: "参数错误",
		Detail: map[string]string{"field": field, "location": "body", "issue": issue}}}
}

func ok(body any) reply { return reply{status: http.StatusOK, body: body} }

// api wraps an endpoint: counts the call, verifies the Authorization,
// plays the pending fault and signs the answer.
func (s *Sandbox) api(op Op, fn func(*call) reply) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.calls[op]++
		s.mu.Unlock()
		now := s.now()
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			s.write(w, fail(http.StatusBadRequest, "INVALID_REQUEST", "请求体过大或无法读取"), false)
			return
		}
		mchid, why := s.verify(r, body, s.wall())
		if why != "" {
			s.log.Warn("request signature refused", "op", string(op), "uri", r.RequestURI, "why", why)
			s.write(w, fail(http.StatusUnauthorized, "SIGN_ERROR", "签名错误"), false)
			return
		}
		s.mu.Lock()
		f := s.takeFault(op)
		delay := s.latency + f.delay
		s.mu.Unlock()
		if delay > 0 {
			select {
			case <-r.Context().Done():
				return
			case <-s.ctx.Done():
				return
			case <-time.After(delay):
			}
		}
		if f.kind == FaultSystemError {
			s.log.Info("fault: system error", "op", string(op))
			s.write(w, fail(http.StatusInternalServerError, "SYSTEM_ERROR", "系统错误"), false)
			return
		}
		rep := fn(&call{r: r, body: body, mchid: mchid, now: now, fault: f.kind})
		if f.kind == FaultLoseReply {
			// The call took effect; now the connection drops before any
			// byte of the answer, as when a link dies mid-call.
			s.log.Info("fault: reply lost", "op", string(op))
			panic(http.ErrAbortHandler)
		}
		s.write(w, rep, f.kind == FaultBadSignature)
	}
}

// verify checks the merchant's Authorization header and returns its mchid,
// or why it is refused.
func (s *Sandbox) verify(r *http.Request, body []byte, now time.Time) (mchid, why string) {
	scheme, params, found := strings.Cut(r.Header.Get("Authorization"), " ")
	if !found || scheme != authScheme {
		return "", "no " + authScheme + " Authorization"
	}
	p := map[string]string{}
	for _, kv := range strings.Split(params, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		p[k] = strings.Trim(v, `"`)
	}
	for _, k := range []string{"mchid", "nonce_str", "timestamp", "serial_no", "signature"} {
		if p[k] == "" {
			return "", "Authorization lacks " + k
		}
	}
	if p["mchid"] != s.opts.MchID {
		return "", "unknown mchid " + p["mchid"]
	}
	if p["serial_no"] != s.opts.MerchantSerial {
		return "", "unknown merchant certificate serial " + p["serial_no"]
	}
	ts, err := strconv.ParseInt(p["timestamp"], 10, 64)
	if err != nil {
		return "", "timestamp not a number"
	}
	if d := now.Sub(time.Unix(ts, 0)); d > s.opts.ClockSkew || d < -s.opts.ClockSkew {
		return "", fmt.Sprintf("timestamp %d is %s off", ts, d.Round(time.Second))
	}
	sig, err := base64.StdEncoding.DecodeString(p["signature"])
	if err != nil {
		return "", "signature not base64"
	}
	// The request target as sent: the signature covers the path and query
	// exactly as the client wrote them.
	msg := r.Method + "\n" + r.RequestURI + "\n" + p["timestamp"] + "\n" + p["nonce_str"] + "\n" + string(body) + "\n"
	sum := sha256.Sum256([]byte(msg))
	if err := rsa.VerifyPKCS1v15(s.opts.MerchantPublicKey, crypto.SHA256, sum[:], sig); err != nil {
		return "", "signature does not verify"
	}
	return p["mchid"], ""
}

// write sends a reply, signed unless raw; badSig spoils the signature.
func (s *Sandbox) write(w http.ResponseWriter, rep reply, badSig bool) {
	h := w.Header()
	h.Set("Request-ID", requestID())
	if rep.raw != nil {
		h.Set("Content-Type", rep.ctype)
		w.WriteHeader(rep.status)
		_, _ = w.Write(rep.raw)
		return
	}
	var body []byte
	if rep.body != nil {
		var err error
		body, err = json.Marshal(rep.body)
		if err != nil {
			s.log.Error("marshal reply", "err", err)
			rep.status, body = http.StatusInternalServerError, []byte(`{"code":"SYSTEM_ERROR","message":"系统错误"}`)
		}
		h.Set("Content-Type", "application/json; charset=utf-8")
	}
	s.sign(h, body, badSig)
	w.WriteHeader(rep.status)
	_, _ = w.Write(body)
}

// sign sets the Wechatpay-* headers over "ts\nnonce\nbody\n".
func (s *Sandbox) sign(h http.Header, body []byte, bad bool) {
	ts := strconv.FormatInt(s.wall().Unix(), 10)
	nonce := randomString(32)
	sum := sha256.Sum256([]byte(ts + "\n" + nonce + "\n" + string(body) + "\n"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.opts.PrivateKey, crypto.SHA256, sum[:])
	if err != nil {
		s.log.Error("sign", "err", err)
	}
	if bad && len(sig) > 0 {
		sig[len(sig)/2] ^= 0xff
	}
	h.Set("Wechatpay-Timestamp", ts)
	h.Set("Wechatpay-Nonce", nonce)
	h.Set("Wechatpay-Serial", s.opts.PublicKeyID)
	h.Set("Wechatpay-Signature", base64.StdEncoding.EncodeToString(sig))
	h.Set("Wechatpay-Signature-Type", authScheme)
}

// decode reads a JSON request body; a malformed one (including an amount
// that is not an integer number of fen) is a PARAM_ERROR.
func decode(c *call, v any) *reply {
	d := json.NewDecoder(bytes.NewReader(c.body))
	if err := d.Decode(v); err != nil {
		rep := reply{status: http.StatusBadRequest, body: apiError{Code: "PARAM_ERROR", Message: "参数错误",
			Detail: map[string]string{"location": "body", "issue": err.Error()}}}
		return &rep
	}
	return nil
}

const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = alnum[int(b[i])%len(alnum)]
	}
	return string(b)
}

// requestID is an answer's Request-ID, in capitals as WeChat Pay's.
func requestID() string { return strings.ToUpper(ids.New()) }

// Errors of the control methods.
var (
	ErrNoOrder = errors.New("no such order")
	ErrState   = errors.New("order is not in a state that allows this")
	ErrExpired = errors.New("order expired")
)
