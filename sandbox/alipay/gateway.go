package alipay

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/multipos/multipos/money"
)

// Methods the gateway serves.
const (
	MethodPrecreate   = "alipay.trade.precreate"
	MethodPay         = "alipay.trade.pay"
	MethodQuery       = "alipay.trade.query"
	MethodCancel      = "alipay.trade.cancel"
	MethodClose       = "alipay.trade.close"
	MethodRefund      = "alipay.trade.refund"
	MethodRefundQuery = "alipay.trade.fastpay.refund.query"
	MethodBillURL     = "alipay.data.dataservice.bill.downloadurl.query"
)

var methods = map[string]func(*Sandbox, *request) result{
	MethodPrecreate:   (*Sandbox).precreate,
	MethodPay:         (*Sandbox).pay,
	MethodQuery:       (*Sandbox).query,
	MethodCancel:      (*Sandbox).cancelTrade,
	MethodClose:       (*Sandbox).closeTrade,
	MethodRefund:      (*Sandbox).refund,
	MethodRefundQuery: (*Sandbox).refundQuery,
	MethodBillURL:     (*Sandbox).billURL,
}

// request is a gateway call that passed the envelope checks.
type request struct {
	method string
	params url.Values
	biz    bizContent
	base   string // scheme://host the client used, for links back here
}

// bizContent holds the biz_content fields the methods read. Empty means
// absent: the SDKs send some fields empty rather than leave them out.
type bizContent struct {
	OutTradeNo     string     `json:"out_trade_no"`
	TradeNo        string     `json:"trade_no"`
	TotalAmount    amountText `json:"total_amount"`
	Subject        string     `json:"subject"`
	Body           string     `json:"body"`
	StoreID        string     `json:"store_id"`
	TerminalID     string     `json:"terminal_id"`
	OperatorID     string     `json:"operator_id"`
	Scene          string     `json:"scene"`
	AuthCode       string     `json:"auth_code"`
	ProductCode    string     `json:"product_code"`
	TimeoutExpress string     `json:"timeout_express"`
	TimeExpire     string     `json:"time_expire"`
	RefundAmount   amountText `json:"refund_amount"`
	RefundReason   string     `json:"refund_reason"`
	OutRequestNo   string     `json:"out_request_no"`
	BillType       string     `json:"bill_type"`
	BillDate       string     `json:"bill_date"`
}

// amountText keeps an amount as the client wrote it, a JSON string or a
// JSON number alike, so that it is parsed exactly and never through a float.
type amountText string

func (a *amountText) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = amountText(s)
		return nil
	}
	if string(b) == "null" {
		*a = ""
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*a = amountText(n.String())
	return nil
}

// fen parses a yuan amount the way Alipay takes it: at most two decimals,
// no sign, no exponent, no separators.
func (a amountText) fen() (money.Fen, bool) {
	s := string(a)
	if s == "" || strings.ContainsAny(s, ", +-eE") {
		return 0, false
	}
	f, err := money.Parse(s)
	return f, err == nil
}

// result is a method's answer before it is encoded and signed.
type result struct {
	code, msg, subCode, subMsg string
	body                       obj
}

func success(body obj) result { return result{code: "10000", msg: "Success", body: body} }

// bizFail is a 40004 business failure with an ACQ.* (or isp.*) sub code.
func bizFail(subCode, subMsg string, body ...field) result {
	return result{code: "40004", msg: "Business Failed", subCode: subCode, subMsg: subMsg, body: body}
}

func missing(subCode, subMsg string) result {
	return result{code: "40001", msg: "Missing Required Arguments", subCode: subCode, subMsg: subMsg}
}

func invalid(subCode, subMsg string) result {
	return result{code: "40002", msg: "Invalid Arguments", subCode: subCode, subMsg: subMsg}
}

func unavailable() result {
	return result{code: "20000", msg: "Service Currently Unavailable", subCode: "isp.unknow-error", subMsg: "系统繁忙"}
}

func systemError() result { return bizFail("ACQ.SYSTEM_ERROR", "系统错误") }

// encode writes the inner response object: code and msg first, as Alipay
// does, then the method's fields.
func (r result) encode() []byte {
	o := obj{{"code", r.code}, {"msg", r.msg}}
	if r.subCode != "" {
		o = append(o, field{"sub_code", r.subCode}, field{"sub_msg", r.subMsg})
	}
	o = append(o, r.body...)
	b, err := o.MarshalJSON()
	if err != nil {
		panic(err) // only strings, objects and lists of them: always encodes
	}
	return b
}

// field and obj build JSON objects in a fixed field order: the response
// signature covers the exact bytes, so they must not depend on map order.
type field struct {
	k string
	v any
}

type obj []field

func (o obj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	n := 0
	for _, f := range o {
		if s, ok := f.v.(string); ok && s == "" {
			continue // Alipay leaves absent fields out
		}
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		if err := writeJSON(&b, f.k); err != nil {
			return nil, err
		}
		b.WriteByte(':')
		if err := writeJSON(&b, f.v); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// writeJSON encodes without HTML escaping: Alipay sends & and < as they are.
func writeJSON(b *bytes.Buffer, v any) error {
	var e bytes.Buffer
	enc := json.NewEncoder(&e)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	b.Write(bytes.TrimSuffix(e.Bytes(), []byte("\n")))
	return nil
}

func (s *Sandbox) gateway(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		s.respondError(w, invalid("isv.invalid-parameter", "请求参数无法解析"))
		return
	}
	p := r.Form
	method := p.Get("method")
	s.mu.Lock()
	s.calls[method]++
	f := s.takeFaultLocked(method)
	s.mu.Unlock()

	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-s.ctx.Done():
			t.Stop()
		}
	}
	if method == "" {
		s.respondError(w, missing("isv.missing-method", "缺少方法名参数"))
		return
	}
	do, ok := methods[method]
	if !ok {
		s.respondError(w, invalid("isv.invalid-method", "不存在的方法名"))
		return
	}
	rq, bad, signed := s.checkEnvelope(r, method, p)
	if bad != nil {
		s.log.Warn("gateway request refused", "method", method, "sub_code", bad.subCode, "sub_msg", bad.subMsg)
		s.respond(w, method, *bad, signed, false)
		return
	}

	var res result
	switch {
	case f.Answer == Answer20000 && !f.Applied:
		res = unavailable()
	case f.Answer == AnswerSystemError && !f.Applied:
		res = systemError()
	default:
		s.mu.Lock()
		res = do(s, rq)
		s.mu.Unlock()
		switch f.Answer {
		case Answer20000:
			res = unavailable()
		case AnswerSystemError:
			res = systemError()
		}
	}
	if method == MethodCancel && res.code != "10000" && (f.Answer == Answer20000 || f.Answer == AnswerSystemError) {
		res.body = append(res.body, field{"retry_flag", "Y"}) // Alipay asks for the cancel to be repeated
	}
	s.log.Info("gateway call", "method", method, "out_trade_no", rq.biz.OutTradeNo, "code", res.code, "sub_code", res.subCode)
	if f.Answer == AnswerLost {
		// The call took effect; its answer never arrives. Aborting the
		// handler closes the connection with nothing written.
		s.log.Info("answer lost on purpose", "method", method, "out_trade_no", rq.biz.OutTradeNo)
		panic(http.ErrAbortHandler)
	}
	s.respond(w, method, res, true, f.Answer == AnswerBadSign)
}

// checkEnvelope applies the common-parameter checks and the request
// signature check. On failure it returns the answer, and whether Alipay
// would sign it (not when it cannot tell which app is asking).
func (s *Sandbox) checkEnvelope(r *http.Request, method string, p url.Values) (*request, *result, bool) {
	fail := func(res result, signed bool) (*request, *result, bool) { return nil, &res, signed }
	appID := p.Get("app_id")
	switch {
	case appID == "":
		return fail(missing("isv.missing-app-id", "缺少AppID参数"), false)
	case s.opts.AppID != "" && appID != s.opts.AppID:
		return fail(invalid("isv.invalid-app-id", "无效的AppID参数"), false)
	case p.Get("sign_type") == "":
		return fail(missing("isv.missing-signature-type", "缺少签名类型参数"), true)
	case p.Get("sign_type") != "RSA2":
		return fail(invalid("isv.invalid-signature-type", "无效的签名类型参数"), true)
	case p.Get("sign") == "":
		return fail(missing("isv.missing-signature", "缺少签名参数"), true)
	case p.Get("charset") != "" && !strings.EqualFold(p.Get("charset"), "utf-8"):
		return fail(invalid("isv.invalid-charset", "字符集错误"), true)
	case p.Get("format") != "" && !strings.EqualFold(p.Get("format"), "JSON"):
		return fail(invalid("isv.invalid-format", "无效的数据格式"), true)
	case p.Get("timestamp") == "":
		return fail(missing("isv.missing-timestamp", "缺少时间戳参数"), true)
	case p.Get("version") == "":
		return fail(missing("isv.missing-version", "缺少版本参数"), true)
	case p.Get("version") != "1.0":
		return fail(invalid("isv.invalid-parameter", "版本号错误，必须为1.0"), true)
	case p.Get("encrypt_type") != "":
		return fail(invalid("isv.invalid-encrypt-type", "沙箱不支持接口内容加密"), true)
	}
	ts, err := time.ParseInLocation(timeLayout, p.Get("timestamp"), cst)
	if err != nil {
		return fail(invalid("isv.invalid-timestamp", "非法的时间戳参数"), true)
	}
	if skew := s.opts.MaxClockSkew; skew > 0 {
		if d := s.Now().Sub(ts); d > skew || d < -skew {
			return fail(invalid("isv.invalid-timestamp", "非法的时间戳参数"), true)
		}
	}
	if s.opts.AppPublicKey != nil {
		content := SignContent(p, "sign")
		if err := VerifyRSA2(s.opts.AppPublicKey, []byte(content), p.Get("sign")); err != nil {
			return fail(invalid("isv.invalid-signature",
				"验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为："+content), true)
		}
	}
	rq := &request{method: method, params: p, base: s.baseURL(r)}
	if bc := p.Get("biz_content"); bc != "" {
		dec := json.NewDecoder(strings.NewReader(bc))
		if err := dec.Decode(&rq.biz); err != nil {
			return fail(invalid("isv.invalid-parameter", "biz_content 不是合法的JSON："+err.Error()), true)
		}
	}
	return rq, nil, true
}

func (s *Sandbox) baseURL(r *http.Request) string {
	if s.opts.PublicURL != "" {
		return strings.TrimSuffix(s.opts.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// respond writes {"<method>_response":{...},"sign":"..."}, the signature
// over the exact bytes of the inner object.
func (s *Sandbox) respond(w http.ResponseWriter, method string, res result, signed, badSign bool) {
	inner := res.encode()
	var b bytes.Buffer
	b.WriteString(`{"`)
	b.WriteString(strings.ReplaceAll(method, ".", "_") + "_response")
	b.WriteString(`":`)
	b.Write(inner)
	if signed {
		sig, err := SignRSA2(s.key, inner)
		if err != nil {
			s.log.Error("sign response", "err", err)
			http.Error(w, "sign failed", http.StatusInternalServerError)
			return
		}
		if badSign {
			sig = corrupt(sig)
		}
		b.WriteString(`,"sign":"`)
		b.WriteString(sig)
		b.WriteString(`"`)
	}
	b.WriteString("}")
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	_, _ = w.Write(b.Bytes())
}

// respondError answers under error_response, unsigned, as Alipay does when
// it cannot tell which method was meant.
func (s *Sandbox) respondError(w http.ResponseWriter, res result) {
	var b bytes.Buffer
	b.WriteString(`{"error_response":`)
	b.Write(res.encode())
	b.WriteString("}")
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	_, _ = w.Write(b.Bytes())
}
