package wechat

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Trade states, as in trade_state.
const (
	StateNotPay     = "NOTPAY"
	StateUserPaying = "USERPAYING"
	StateSuccess    = "SUCCESS"
	StateClosed     = "CLOSED"
	StateRefund     = "REFUND"
	StateRevoked    = "REVOKED"
	StatePayError   = "PAYERROR"
)

var stateDesc = map[string]string{
	StateNotPay:     "订单未支付",
	StateUserPaying: "需要用户输入支付密码",
	StateSuccess:    "支付成功",
	StateClosed:     "订单已关闭",
	StateRefund:     "订单发生过退款",
	StateRevoked:    "订单已撤销",
	StatePayError:   "支付失败",
}

type order struct {
	outTradeNo  string
	txnID       string
	tradeType   string // NATIVE or MICROPAY
	appID       string
	description string
	attach      string
	notifyURL   string
	deviceID    string
	authCode    string
	openID      string
	codeURL     string
	total       int64
	refunded    int64 // fen given back or being given back
	state       string
	desc        string // trade_state_desc, when it says more than the state
	errCode     string // why a code payment failed, as its answer said
	fingerprint string // what a replay of the same out_trade_no must match
	createdAt   time.Time
	expireAt    time.Time
	successAt   time.Time
	refunds     []*refund
}

type amountReq struct {
	Total    *int64 `json:"total"`
	Currency string `json:"currency"`
}

type nativeReq struct {
	AppID       string     `json:"appid"`
	MchID       string     `json:"mchid"`
	Description string     `json:"description"`
	OutTradeNo  string     `json:"out_trade_no"`
	TimeExpire  string     `json:"time_expire"`
	Attach      string     `json:"attach"`
	NotifyURL   string     `json:"notify_url"`
	GoodsTag    string     `json:"goods_tag"`
	Amount      *amountReq `json:"amount"`
	SceneInfo   *struct {
		DeviceID string `json:"device_id"`
	} `json:"scene_info"`
}

type codepayReq struct {
	AppID       string     `json:"appid"`
	MchID       string     `json:"mchid"`
	Description string     `json:"description"`
	OutTradeNo  string     `json:"out_trade_no"`
	Attach      string     `json:"attach"`
	GoodsTag    string     `json:"goods_tag"`
	Amount      *amountReq `json:"amount"`
	Payer       *struct {
		AuthCode string `json:"auth_code"`
	} `json:"payer"`
	SceneInfo *struct {
		DeviceID  string `json:"device_id"`
		StoreInfo *struct {
			OutID string `json:"out_id"`
		} `json:"store_info"`
	} `json:"scene_info"`
}

// transaction is the order as query answers it and notifications carry it.
type transaction struct {
	AppID          string     `json:"appid,omitempty"`
	MchID          string     `json:"mchid,omitempty"`
	OutTradeNo     string     `json:"out_trade_no,omitempty"`
	TransactionID  string     `json:"transaction_id,omitempty"`
	TradeType      string     `json:"trade_type,omitempty"`
	TradeState     string     `json:"trade_state"`
	TradeStateDesc string     `json:"trade_state_desc,omitempty"`
	BankType       string     `json:"bank_type,omitempty"`
	Attach         string     `json:"attach,omitempty"`
	SuccessTime    string     `json:"success_time,omitempty"`
	Payer          *payer     `json:"payer,omitempty"`
	Amount         *txnAmount `json:"amount,omitempty"`
	SceneInfo      *sceneInfo `json:"scene_info,omitempty"`
}

type payer struct {
	OpenID string `json:"openid"`
}

type txnAmount struct {
	Total         int64  `json:"total"`
	PayerTotal    *int64 `json:"payer_total,omitempty"`
	Currency      string `json:"currency"`
	PayerCurrency string `json:"payer_currency"`
}

type sceneInfo struct {
	DeviceID string `json:"device_id"`
}

var outTradeNoRE = regexp.MustCompile(`^[0-9A-Za-z_\-*|]{6,32}$`)

// checkCommon validates what native and codepay share.
func (s *Sandbox) checkCommon(c *call, appID, mchID, desc, outTradeNo string, amt *amountReq) *reply {
	var rep reply
	switch {
	case appID == "":
		rep = paramError("/appid", "必填")
	case mchID == "":
		rep = paramError("/mchid", "必填")
	case mchID != c.mchid:
		rep = fail(http.StatusBadRequest, "INVALID_REQUEST", "请求中的商户号与签名中的商户号不一致")
	case s.opts.AppID != "" && appID != s.opts.AppID:
		rep = fail(http.StatusBadRequest, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
	case desc == "" || utf8.RuneCountInString(desc) > 127:
		rep = paramError("/description", "长度须在1到127个字符之间")
	case !outTradeNoRE.MatchString(outTradeNo):
		rep = paramError("/out_trade_no", "须为6到32位数字、大小写字母或_-|*")
	case amt == nil || amt.Total == nil:
		rep = paramError("/amount/total", "必填")
	case *amt.Total <= 0:
		rep = paramError("/amount/total", "须为正整数，单位为分")
	case amt.Currency != "" && amt.Currency != "CNY":
		rep = paramError("/amount/currency", "仅支持CNY")
	default:
		return nil
	}
	return &rep
}

// native is POST /v3/pay/transactions/native.
func (s *Sandbox) native(c *call) reply {
	var req nativeReq
	if rep := decode(c, &req); rep != nil {
		return *rep
	}
	if rep := s.checkCommon(c, req.AppID, req.MchID, req.Description, req.OutTradeNo, req.Amount); rep != nil {
		return *rep
	}
	u, err := url.Parse(req.NotifyURL)
	if req.NotifyURL == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
		return paramError("/notify_url", "须为不带查询串的绝对URL")
	}
	expire := c.now.Add(2 * time.Hour)
	if req.TimeExpire != "" {
		t, err := time.Parse(time.RFC3339, req.TimeExpire)
		if err != nil {
			return paramError("/time_expire", "须为RFC 3339格式")
		}
		if !t.After(c.now) {
			return fail(http.StatusBadRequest, "INVALID_REQUEST", "订单失效时间已过")
		}
		expire = t
	}
	fp := fmt.Sprintf("NATIVE|%s|%d|%s", req.AppID, *req.Amount.Total, req.Description)
	s.mu.Lock()
	defer s.mu.Unlock()
	if o, found := s.orders[req.OutTradeNo]; found {
		if rep := replayed(o, fp); rep != nil {
			return *rep
		}
		return ok(map[string]string{"code_url": o.codeURL})
	}
	o := &order{outTradeNo: req.OutTradeNo, tradeType: "NATIVE", appID: req.AppID, description: req.Description,
		attach: req.Attach, notifyURL: req.NotifyURL, total: *req.Amount.Total, state: StateNotPay,
		fingerprint: fp, createdAt: c.now, expireAt: expire,
		codeURL: "weixin://wxpay/bizpayurl?pr=" + derivedString(s.opts.MchID+"/"+req.OutTradeNo, 9)}
	if req.SceneInfo != nil {
		o.deviceID = req.SceneInfo.DeviceID
	}
	s.orders[o.outTradeNo] = o
	s.log.Info("native order", "out_trade_no", o.outTradeNo, "total", o.total)
	return ok(map[string]string{"code_url": o.codeURL})
}

// replayed answers an out_trade_no that exists: nil when the replay may go
// on (same parameters, still payable or the same code payment).
// Called with s.mu held.
func replayed(o *order, fp string) *reply {
	var rep reply
	switch {
	case o.fingerprint != fp:
		rep = fail(http.StatusBadRequest, "INVALID_REQUEST", "商户订单号重复，且与首次请求的参数不一致(OUT_TRADE_NO_USED)")
	case o.tradeType == "NATIVE" && (o.state == StateSuccess || o.state == StateRefund):
		rep = fail(http.StatusBadRequest, "ORDER_PAID", "该订单已支付")
	case o.tradeType == "NATIVE" && o.state != StateNotPay:
		rep = fail(http.StatusBadRequest, "ORDER_CLOSED", "该订单已关闭")
	default:
		return nil
	}
	return &rep
}

// codepay is POST /v3/pay/transactions/codepay.
func (s *Sandbox) codepay(c *call) reply {
	var req codepayReq
	if rep := decode(c, &req); rep != nil {
		return *rep
	}
	if rep := s.checkCommon(c, req.AppID, req.MchID, req.Description, req.OutTradeNo, req.Amount); rep != nil {
		return *rep
	}
	if req.Payer == nil || req.Payer.AuthCode == "" {
		return paramError("/payer/auth_code", "必填")
	}
	code := req.Payer.AuthCode
	fp := fmt.Sprintf("MICROPAY|%s|%d|%s|%s", req.AppID, *req.Amount.Total, req.Description, code)
	s.mu.Lock()
	defer s.mu.Unlock()
	if o, found := s.orders[req.OutTradeNo]; found {
		// A retried code payment answers as the first one stands now.
		if rep := replayed(o, fp); rep != nil {
			return *rep
		}
		return s.codepayAnswer(o)
	}
	if !validAuthCode(code) {
		return fail(http.StatusBadRequest, "AUTH_CODE_INVALID", "付款码无效，请刷新付款码后重新支付")
	}
	o := &order{outTradeNo: req.OutTradeNo, tradeType: "MICROPAY", appID: req.AppID, description: req.Description,
		attach: req.Attach, authCode: code, total: *req.Amount.Total, fingerprint: fp, createdAt: c.now,
		openID: openID(code)}
	if req.SceneInfo != nil {
		o.deviceID = req.SceneInfo.DeviceID
	}
	s.orders[o.outTradeNo] = o
	b := s.takeCodeBehavior(code)
	switch b.Outcome {
	case CodeUserPaying:
		o.state = StateUserPaying
		if b.ConfirmAfter > 0 {
			s.later(b.ConfirmAfter, func() {
				if err := s.Confirm(o.outTradeNo); err != nil {
					s.log.Info("customer's confirmation came too late", "out_trade_no", o.outTradeNo, "err", err)
				}
			})
		}
	case CodePayError:
		o.state, o.errCode, o.desc = StatePayError, b.Code, b.Message
		if o.errCode == "" {
			o.errCode, o.desc = "NOTENOUGH", "用户余额不足"
		}
		if o.desc == "" {
			o.desc = o.errCode
		}
	default:
		s.paidLocked(o, c.now)
	}
	s.log.Info("code payment", "out_trade_no", o.outTradeNo, "total", o.total, "trade_state", o.state)
	return s.codepayAnswer(o)
}

// codepayAnswer is the answer to a code payment as the order stands.
// Called with s.mu held.
func (s *Sandbox) codepayAnswer(o *order) reply {
	switch o.state {
	case StateUserPaying:
		// What WeChat Pay answers while the customer types the password
		// (as reported by its community; the official shape is unpublished).
		return reply{status: http.StatusOK, body: map[string]string{"trade_state": StateUserPaying}}
	case StatePayError:
		return fail(http.StatusForbidden, o.errCode, o.desc)
	}
	return ok(s.transactionLocked(o))
}

// validAuthCode: WeChat payment codes are 18 digits starting 10 to 15.
func validAuthCode(code string) bool {
	if len(code) != 18 || code[0] != '1' || code[1] < '0' || code[1] > '5' {
		return false
	}
	for _, r := range code {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// openID makes a stable payer id per payment code's customer.
func openID(seed string) string {
	h := 0
	for _, r := range seed {
		h = h*31 + int(r)
	}
	return fmt.Sprintf("oSandbox%020d", uint64(h)%100_000_000_000_000_000)
}

// paidLocked marks an order paid and notifies it. Called with s.mu held.
func (s *Sandbox) paidLocked(o *order, now time.Time) {
	s.seq++
	o.state, o.desc, o.successAt = StateSuccess, "", now
	o.txnID = fmt.Sprintf("4200%06d%s%010d", s.seq%1_000_000, now.In(cst).Format("20060102"), s.seq)
	if o.openID == "" {
		o.openID = openID(o.outTradeNo)
	}
	s.byTxn[o.txnID] = o
	if o.notifyURL != "" {
		s.notifyLocked("TRANSACTION.SUCCESS", "支付成功", "transaction", o.outTradeNo, o.notifyURL, s.transactionLocked(o))
	}
}

// transactionLocked renders an order. Called with s.mu held.
func (s *Sandbox) transactionLocked(o *order) transaction {
	t := transaction{AppID: o.appID, MchID: s.opts.MchID, OutTradeNo: o.outTradeNo, TradeType: o.tradeType,
		TradeState: o.state, TradeStateDesc: stateDesc[o.state], Attach: o.attach,
		Amount: &txnAmount{Total: o.total, Currency: "CNY", PayerCurrency: "CNY"}}
	if o.desc != "" {
		t.TradeStateDesc = o.desc
	}
	if o.deviceID != "" {
		t.SceneInfo = &sceneInfo{DeviceID: o.deviceID}
	}
	if o.txnID != "" {
		t.TransactionID = o.txnID
		t.BankType = "OTHERS"
		t.SuccessTime = o.successAt.In(cst).Format(time.RFC3339)
		t.Payer = &payer{OpenID: o.openID}
		pt := o.total
		t.Amount.PayerTotal = &pt
	}
	return t
}

// queryMchID checks the mchid query parameter every query carries.
func queryMchID(c *call) *reply {
	m := c.r.URL.Query().Get("mchid")
	var rep reply
	switch {
	case m == "":
		rep = reply{status: http.StatusBadRequest, body: apiError{Code: "PARAM_ERROR", Message: "参数错误",
			Detail: map[string]string{"field": "mchid", "location": "query", "issue": "必填"}}}
	case m != c.mchid:
		rep = fail(http.StatusBadRequest, "INVALID_REQUEST", "请求中的商户号与签名中的商户号不一致")
	default:
		return nil
	}
	return &rep
}

func orderNotExist() reply { return fail(http.StatusNotFound, "ORDER_NOT_EXIST", "订单不存在") }

// queryByOutTradeNo is GET /v3/pay/transactions/out-trade-no/{no}?mchid=.
func (s *Sandbox) queryByOutTradeNo(c *call) reply {
	if rep := queryMchID(c); rep != nil {
		return *rep
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, found := s.orders[c.r.PathValue("no")]
	if !found {
		return orderNotExist()
	}
	return ok(s.transactionLocked(o))
}

// queryByID is GET /v3/pay/transactions/id/{transaction_id}?mchid=.
func (s *Sandbox) queryByID(c *call) reply {
	if rep := queryMchID(c); rep != nil {
		return *rep
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, found := s.byTxn[c.r.PathValue("id")]
	if !found {
		return orderNotExist()
	}
	return ok(s.transactionLocked(o))
}

type mchBody struct {
	AppID string `json:"appid"`
	MchID string `json:"mchid"`
}

// close is POST /v3/pay/transactions/out-trade-no/{no}/close.
func (s *Sandbox) close(c *call) reply {
	var req mchBody
	if rep := decode(c, &req); rep != nil {
		return *rep
	}
	if req.MchID != c.mchid {
		return fail(http.StatusBadRequest, "INVALID_REQUEST", "请求中的商户号与签名中的商户号不一致")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, found := s.orders[c.r.PathValue("no")]
	if !found {
		return orderNotExist()
	}
	switch o.state {
	case StateSuccess, StateRefund:
		return fail(http.StatusBadRequest, "ORDER_PAID", "订单已支付，不能关闭")
	case StateNotPay, StateUserPaying, StatePayError:
		o.state, o.desc = StateClosed, ""
		s.log.Info("order closed", "out_trade_no", o.outTradeNo)
	}
	// Closing a closed or revoked order again is a no-op, not an error.
	return reply{status: http.StatusNoContent}
}

// reverse is POST /v3/pay/transactions/out-trade-no/{no}/reverse.
func (s *Sandbox) reverse(c *call) reply {
	var req mchBody
	if rep := decode(c, &req); rep != nil {
		return *rep
	}
	switch {
	case req.MchID != c.mchid:
		return fail(http.StatusBadRequest, "INVALID_REQUEST", "请求中的商户号与签名中的商户号不一致")
	case req.AppID == "":
		return paramError("/appid", "必填")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	no := c.r.PathValue("no")
	o, found := s.orders[no]
	if !found {
		return orderNotExist()
	}
	if c.now.Sub(o.createdAt) > 7*24*time.Hour {
		return fail(http.StatusBadRequest, "INVALID_REQUEST", "订单已超过撤销期限(7天)")
	}
	switch o.state {
	case StateRefund:
		return fail(http.StatusBadRequest, "INVALID_REQUEST", "订单已发生退款，不能撤销")
	case StateSuccess:
		// The money goes back the way it came, as a full refund that the
		// bill shows as REVOKED.
		s.seq++
		r := &refund{refundID: s.refundID(c.now), outRefundNo: o.outTradeNo, order: o, amount: o.total,
			status: "SUCCESS", createdAt: c.now, successAt: c.now, revoke: true}
		o.refunds = append(o.refunds, r)
		o.refunded = o.total
		fallthrough
	case StateNotPay, StateUserPaying, StatePayError, StateClosed:
		o.state, o.desc = StateRevoked, ""
		s.log.Info("order revoked", "out_trade_no", o.outTradeNo, "given_back", o.refunded)
	}
	return ok(map[string]string{"appid": o.appID, "mchid": s.opts.MchID, "out_trade_no": o.outTradeNo})
}

// payLocked plays the customer paying an order: scanning and paying a
// native code, or confirming a code payment on the phone.
// Called with s.mu held.
func (s *Sandbox) payLocked(no string) error {
	o, found := s.orders[no]
	if !found {
		return fmt.Errorf("%s: %w", no, ErrNoOrder)
	}
	now := s.now()
	switch {
	case o.tradeType == "NATIVE" && o.state == StateNotPay && now.After(o.expireAt):
		return fmt.Errorf("%s expired at %s: %w", no, o.expireAt.In(cst).Format(time.RFC3339), ErrExpired)
	case o.state == StateNotPay && o.tradeType == "NATIVE", o.state == StateUserPaying:
	default:
		return fmt.Errorf("%s is %s: %w", no, strings.ToLower(o.state), ErrState)
	}
	s.paidLocked(o, now)
	s.log.Info("customer paid", "out_trade_no", no, "transaction_id", o.txnID, "total", o.total)
	return nil
}

// derivedString is n characters derived from key: a code URL the same for
// the same order (a demo's screens stay the same from run to run), no less
// random-looking than WeChat Pay's.
func derivedString(key string, n int) string {
	sum := sha256.Sum256([]byte("wechat/" + key))
	b := make([]byte, n)
	for i := range b {
		b[i] = alnum[int(sum[i])%len(alnum)]
	}
	return string(b)
}
