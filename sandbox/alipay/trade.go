package alipay

import (
	"crypto/sha256"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/multipos/multipos/money"
)

// Trade statuses (trade_status).
const (
	StatusWaitBuyerPay  = "WAIT_BUYER_PAY"
	StatusTradeSuccess  = "TRADE_SUCCESS"
	StatusTradeClosed   = "TRADE_CLOSED"
	StatusTradeFinished = "TRADE_FINISHED"
)

const (
	kindQR      = "precreate"
	kindBarcode = "pay"
	kindNone    = "cancelled" // an out_trade_no cancelled before any trade existed
)

// maxAmount is Alipay's ceiling for total_amount: 100,000,000.00 yuan.
const maxAmount money.Fen = 10_000_000_000

// cancelWindow is how long after creation alipay.trade.cancel is accepted.
const cancelWindow = 24 * time.Hour

type trade struct {
	outTradeNo, tradeNo string
	appID               string
	kind                string
	amount              money.Fen
	subject, body       string
	storeID, terminalID string
	operatorID          string
	authCode            string
	notifyURL           string
	qrCode              string
	// visible: Alipay knows the trade (a barcode payment, or a QR code the
	// customer scanned); before that the API answers ACQ.TRADE_NOT_EXIST.
	visible bool
	// dead: a QR code cancelled before anyone scanned it; it cannot be paid.
	dead         bool
	status       string
	created      time.Time
	paidAt       time.Time
	closedAt     time.Time
	expiresAt    time.Time
	buyerID      string
	buyerLogonID string
	refunded     money.Fen
	refunds      []*refundRec
	cancelAction string // "close" or "refund" once alipay.trade.cancel acted
}

type refundRec struct {
	outRequestNo string
	amount       money.Fen
	reason       string
	at           time.Time
	viaCancel    bool
}

func (t *trade) paid() bool { return t.status == StatusTradeSuccess || t.status == StatusTradeFinished }

// wasPaid: money moved at some point, even if it was refunded since.
func (t *trade) wasPaid() bool { return !t.paidAt.IsZero() }

func (t *trade) refund(outRequestNo string) *refundRec {
	for _, r := range t.refunds {
		if r.outRequestNo == outRequestNo {
			return r
		}
	}
	return nil
}

// ageLocked applies what time does to a trade: an unpaid order expires,
// and a paid one stops being refundable after the refund window.
func (s *Sandbox) ageLocked(t *trade) {
	now := s.nowLocked()
	switch {
	case t.status == StatusWaitBuyerPay && !t.expiresAt.IsZero() && !now.Before(t.expiresAt):
		t.status = StatusTradeClosed
		t.closedAt = t.expiresAt
		s.log.Info("order expired", "out_trade_no", t.outTradeNo)
		if t.visible {
			s.notifyLocked(t, t.notifyURL, nil)
		}
	case t.status == StatusTradeSuccess && now.Sub(t.paidAt) >= s.opts.RefundWindow:
		t.status = StatusTradeFinished
		s.notifyLocked(t, t.notifyURL, nil)
	}
}

// findLocked is the trade a request names, if Alipay would know it
// (trade_no wins over out_trade_no, as at Alipay).
func (s *Sandbox) findLocked(b bizContent) *trade {
	var t *trade
	if b.TradeNo != "" {
		t = s.byTradeNo[b.TradeNo]
	} else {
		t = s.trades[b.OutTradeNo]
	}
	if t == nil || !t.visible {
		return nil
	}
	s.ageLocked(t)
	return t
}

// showLocked makes a trade known to the API: the customer scanned the
// code, or presented theirs. The trade gets its number and a buyer.
func (s *Sandbox) showLocked(t *trade, now time.Time) {
	if t.visible {
		return
	}
	s.seq++
	t.visible = true
	t.created = now
	t.tradeNo = now.In(cst).Format("20060102") + "22001" + fmt.Sprintf("%015d", s.seq)
	t.buyerID = fmt.Sprintf("2088%012d", 102000000000+s.seq)
	t.buyerLogonID = fmt.Sprintf("159****%04d", s.seq%10000)
	s.byTradeNo[t.tradeNo] = t
}

func (s *Sandbox) markPaidLocked(t *trade, now time.Time) {
	t.status = StatusTradeSuccess
	t.paidAt = now
	s.notifyLocked(t, t.notifyURL, nil)
}

func validOutTradeNo(no string) bool {
	if no == "" || len(no) > 64 {
		return false
	}
	for _, r := range no {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_') {
			return false
		}
	}
	return true
}

// validAuthCode: Alipay payment codes are 16 to 24 digits starting 25 to 30.
func validAuthCode(code string) bool {
	if len(code) < 16 || len(code) > 24 {
		return false
	}
	for _, r := range code {
		if r < '0' || r > '9' {
			return false
		}
	}
	p, _ := strconv.Atoi(code[:2])
	return p >= 25 && p <= 30
}

// orderParams checks what precreate and pay share; ok is false with the answer.
func orderParams(b bizContent) (money.Fen, result, bool) {
	if !validOutTradeNo(b.OutTradeNo) {
		return 0, bizFail("ACQ.INVALID_PARAMETER", "参数无效：out_trade_no 须为64位以内的字母、数字、下划线"), false
	}
	amt, ok := b.TotalAmount.fen()
	if !ok || amt < 1 {
		return 0, bizFail("ACQ.INVALID_PARAMETER", "参数无效：total_amount 须为[0.01,100000000]内、最多两位小数的金额"), false
	}
	if amt > maxAmount {
		return 0, bizFail("ACQ.TOTAL_FEE_EXCEED", "订单金额超过限额"), false
	}
	if strings.TrimSpace(b.Subject) == "" {
		return 0, bizFail("ACQ.INVALID_PARAMETER", "参数无效：缺少 subject"), false
	}
	return amt, result{}, true
}

// expiry is when an order stops being payable: time_expire, else
// timeout_express (1m to 15d, or 1c for the end of the day), else the default.
func (s *Sandbox) expiry(now time.Time, b bizContent) (time.Time, bool) {
	if b.TimeExpire != "" {
		t, err := time.ParseInLocation(timeLayout, b.TimeExpire, cst)
		return t, err == nil
	}
	te := b.TimeoutExpress
	if te == "" {
		return now.Add(s.opts.QRTimeout), true
	}
	if te == "1c" {
		y, m, d := now.In(cst).Date()
		return time.Date(y, m, d+1, 0, 0, 0, 0, cst), true
	}
	n, err := strconv.Atoi(te[:len(te)-1])
	if err != nil || n < 1 {
		return time.Time{}, false
	}
	var d time.Duration
	switch te[len(te)-1] {
	case 'm':
		d = time.Duration(n) * time.Minute
	case 'h':
		d = time.Duration(n) * time.Hour
	case 'd':
		d = time.Duration(n) * 24 * time.Hour
	default:
		return time.Time{}, false
	}
	if d > 15*24*time.Hour {
		return time.Time{}, false
	}
	return now.Add(d), true
}

// newQRCode derives the code from the order, so that a replayed precreate
// gets the same code (as at Alipay) and a demo's screens are the same from
// run to run; it looks no less random than Alipay's.
func newQRCode(appID, outTradeNo string) string {
	const alnum = "0123456789abcdefghijklmnopqrstuvwxyz"
	sum := sha256.Sum256([]byte("alipay/" + appID + "/" + outTradeNo))
	b := make([]byte, 21)
	for i := range b {
		b[i] = alnum[int(sum[i])%len(alnum)]
	}
	return "https://qr.alipay.com/bax" + string(b)
}

// existingOrder answers a precreate or pay that reuses an out_trade_no.
func existingOrder(t *trade, kind string, amt money.Fen, b bizContent) (result, bool) {
	switch {
	case t.kind == kindNone || t.status == StatusTradeClosed:
		return bizFail("ACQ.TRADE_HAS_CLOSE", "交易已经关闭"), true
	case t.paid():
		return bizFail("ACQ.TRADE_HAS_SUCCESS", "交易已被支付"), true
	case t.kind != kind || t.amount != amt || t.subject != b.Subject || kind == kindBarcode && t.authCode != b.AuthCode:
		return bizFail("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改"), true
	}
	return result{}, false
}

func (s *Sandbox) precreate(rq *request) result {
	b := rq.biz
	amt, bad, ok := orderParams(b)
	if !ok {
		return bad
	}
	now := s.nowLocked()
	if t := s.trades[b.OutTradeNo]; t != nil {
		s.ageLocked(t)
		if res, done := existingOrder(t, kindQR, amt, b); done {
			return res
		}
		return success(obj{{"out_trade_no", t.outTradeNo}, {"qr_code", t.qrCode}})
	}
	exp, ok := s.expiry(now, b)
	if !ok {
		return bizFail("ACQ.INVALID_PARAMETER", "参数无效：timeout_express / time_expire")
	}
	t := &trade{outTradeNo: b.OutTradeNo, appID: rq.params.Get("app_id"), kind: kindQR, amount: amt, subject: b.Subject, body: b.Body,
		storeID: b.StoreID, terminalID: b.TerminalID, operatorID: b.OperatorID,
		notifyURL: rq.params.Get("notify_url"), qrCode: newQRCode(rq.params.Get("app_id"), b.OutTradeNo), status: StatusWaitBuyerPay,
		created: now, expiresAt: exp}
	if s.opts.EagerQRTrades {
		s.showLocked(t, now)
	}
	s.trades[t.outTradeNo] = t
	return success(obj{{"out_trade_no", t.outTradeNo}, {"qr_code", t.qrCode}})
}

func (s *Sandbox) pay(rq *request) result {
	b := rq.biz
	amt, bad, ok := orderParams(b)
	if !ok {
		return bad
	}
	switch {
	case b.Scene != "bar_code" && b.Scene != "wave_code":
		return bizFail("ACQ.INVALID_PARAMETER", "参数无效：scene 须为 bar_code")
	case b.ProductCode != "" && b.ProductCode != "FACE_TO_FACE_PAYMENT" && b.ProductCode != "OFFLINE_PAYMENT":
		return bizFail("ACQ.INVALID_PARAMETER", "参数无效：product_code")
	case !validAuthCode(b.AuthCode):
		return bizFail("ACQ.PAYMENT_AUTH_CODE_INVALID", subMsgs["ACQ.PAYMENT_AUTH_CODE_INVALID"])
	}
	now := s.nowLocked()
	if t := s.trades[b.OutTradeNo]; t != nil {
		s.ageLocked(t)
		if res, done := existingOrder(t, kindBarcode, amt, b); done {
			return res
		}
		// Still waiting for the customer: the same answer as the first time.
		return result{code: "10003", msg: "Order success pay inprocess", body: payBody(t)}
	}
	exp, ok := s.expiry(now, b)
	if !ok {
		return bizFail("ACQ.INVALID_PARAMETER", "参数无效：timeout_express / time_expire")
	}
	out := s.outcomeLocked(b.AuthCode)
	if out.Mode == Declined {
		sub, msg := out.subCode()
		s.log.Info("barcode payment declined", "out_trade_no", b.OutTradeNo, "sub_code", sub)
		return bizFail(sub, msg, field{"out_trade_no", b.OutTradeNo})
	}
	t := &trade{outTradeNo: b.OutTradeNo, appID: rq.params.Get("app_id"), kind: kindBarcode, amount: amt, subject: b.Subject, body: b.Body,
		storeID: b.StoreID, terminalID: b.TerminalID, operatorID: b.OperatorID, authCode: b.AuthCode,
		notifyURL: rq.params.Get("notify_url"), status: StatusWaitBuyerPay, expiresAt: exp}
	s.trades[t.outTradeNo] = t
	s.showLocked(t, now)
	if out.Mode == NeedsConfirm {
		return result{code: "10003", msg: "Order success pay inprocess", body: payBody(t)}
	}
	s.markPaidLocked(t, now)
	return success(payBody(t))
}

func fundBills(t *trade) []obj {
	return []obj{{{"fund_channel", "ALIPAYACCOUNT"}, {"amount", yuan(t.amount)}}}
}

func payBody(t *trade) obj {
	o := obj{{"trade_no", t.tradeNo}, {"out_trade_no", t.outTradeNo}, {"buyer_logon_id", t.buyerLogonID},
		{"total_amount", yuan(t.amount)}}
	if t.wasPaid() {
		o = append(o, field{"receipt_amount", yuan(t.amount)}, field{"buyer_pay_amount", yuan(t.amount)},
			field{"point_amount", "0.00"}, field{"invoice_amount", yuan(t.amount)},
			field{"gmt_payment", fmtTime(t.paidAt)}, field{"fund_bill_list", fundBills(t)})
	} else {
		o = append(o, field{"receipt_amount", "0.00"})
	}
	return append(o, field{"buyer_user_id", t.buyerID})
}

func (s *Sandbox) query(rq *request) result {
	b := rq.biz
	if b.OutTradeNo == "" && b.TradeNo == "" {
		return bizFail("ACQ.INVALID_PARAMETER", "参数无效：out_trade_no 与 trade_no 不能同时为空")
	}
	t := s.findLocked(b)
	if t == nil {
		return bizFail("ACQ.TRADE_NOT_EXIST", "交易不存在")
	}
	o := obj{{"trade_no", t.tradeNo}, {"out_trade_no", t.outTradeNo}, {"buyer_logon_id", t.buyerLogonID},
		{"trade_status", t.status}, {"total_amount", yuan(t.amount)}}
	if t.wasPaid() {
		o = append(o, field{"buyer_pay_amount", yuan(t.amount)}, field{"point_amount", "0.00"},
			field{"invoice_amount", yuan(t.amount)}, field{"receipt_amount", yuan(t.amount)},
			field{"send_pay_date", fmtTime(t.paidAt)}, field{"fund_bill_list", fundBills(t)})
	} else {
		o = append(o, field{"buyer_pay_amount", "0.00"}, field{"point_amount", "0.00"},
			field{"invoice_amount", "0.00"}, field{"receipt_amount", "0.00"})
	}
	o = append(o, field{"store_id", t.storeID}, field{"terminal_id", t.terminalID},
		field{"buyer_user_id", t.buyerID}, field{"subject", t.subject})
	return success(o)
}

func (s *Sandbox) closeTrade(rq *request) result {
	b := rq.biz
	if b.OutTradeNo == "" && b.TradeNo == "" {
		return bizFail("ACQ.INVALID_PARAMETER", "参数无效：out_trade_no 与 trade_no 不能同时为空")
	}
	t := s.findLocked(b)
	if t == nil {
		return bizFail("ACQ.TRADE_NOT_EXIST", "交易不存在")
	}
	if t.status != StatusWaitBuyerPay {
		return bizFail("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
	}
	t.status = StatusTradeClosed
	t.closedAt = s.nowLocked()
	url := rq.params.Get("notify_url")
	if url == "" {
		url = t.notifyURL
	}
	s.notifyLocked(t, url, nil)
	return success(obj{{"trade_no", t.tradeNo}, {"out_trade_no", t.outTradeNo}})
}

// cancelTrade is alipay.trade.cancel: whatever became of the payment, it is
// undone. An unpaid trade closes; a paid one is refunded in full; a trade
// that does not exist yet never will (its out_trade_no is spent).
func (s *Sandbox) cancelTrade(rq *request) result {
	b := rq.biz
	if b.OutTradeNo == "" && b.TradeNo == "" {
		return bizFail("ACQ.INVALID_PARAMETER", "参数无效：out_trade_no 与 trade_no 不能同时为空")
	}
	now := s.nowLocked()
	var t *trade
	if b.TradeNo != "" {
		t = s.byTradeNo[b.TradeNo]
	} else {
		t = s.trades[b.OutTradeNo]
	}
	if t == nil {
		if b.TradeNo == "" {
			s.trades[b.OutTradeNo] = &trade{outTradeNo: b.OutTradeNo, kind: kindNone, status: StatusTradeClosed,
				dead: true, created: now, closedAt: now}
		}
		return success(obj{{"out_trade_no", b.OutTradeNo}, {"retry_flag", "N"}})
	}
	if !t.visible {
		if t.status == StatusWaitBuyerPay {
			t.status, t.closedAt, t.dead = StatusTradeClosed, now, true
		}
		return success(obj{{"out_trade_no", t.outTradeNo}, {"retry_flag", "N"}})
	}
	s.ageLocked(t)
	if now.Sub(t.created) > cancelWindow {
		return bizFail("ACQ.TRADE_CANCEL_TIME_OUT", "超过撤销时间范围", field{"retry_flag", "N"})
	}
	switch t.status {
	case StatusWaitBuyerPay:
		t.status, t.closedAt, t.cancelAction = StatusTradeClosed, now, "close"
		s.notifyLocked(t, t.notifyURL, nil)
	case StatusTradeSuccess:
		if t.refunded > 0 {
			return bizFail("ACQ.REASON_TRADE_REFUND_FEE_ERR", "退款金额无效", field{"retry_flag", "N"})
		}
		r := &refundRec{outRequestNo: t.outTradeNo, amount: t.amount, reason: "撤销", at: now, viaCancel: true}
		t.refunds = append(t.refunds, r)
		t.refunded = t.amount
		t.status, t.closedAt, t.cancelAction = StatusTradeClosed, now, "refund"
		s.notifyLocked(t, t.notifyURL, r)
	case StatusTradeClosed:
		if t.cancelAction == "" {
			if t.wasPaid() {
				return bizFail("ACQ.REASON_TRADE_REFUND_FEE_ERR", "退款金额无效", field{"retry_flag", "N"})
			}
			t.cancelAction = "close"
		}
	case StatusTradeFinished:
		return bizFail("ACQ.TRADE_HAS_FINISHED", "交易已经完结", field{"retry_flag", "N"})
	}
	o := obj{{"trade_no", t.tradeNo}, {"out_trade_no", t.outTradeNo}, {"retry_flag", "N"}, {"action", t.cancelAction}}
	if t.cancelAction == "refund" {
		o = append(o, field{"gmt_refund_pay", fmtTime(t.closedAt)})
	}
	return success(o)
}

func (s *Sandbox) refund(rq *request) result {
	b := rq.biz
	if b.OutTradeNo == "" && b.TradeNo == "" {
		return bizFail("ACQ.INVALID_PARAMETER", "参数无效：out_trade_no 与 trade_no 不能同时为空")
	}
	t := s.findLocked(b)
	if t == nil {
		return bizFail("ACQ.TRADE_NOT_EXIST", "交易不存在")
	}
	amt, ok := b.RefundAmount.fen()
	if !ok || amt < 1 {
		return bizFail("ACQ.INVALID_PARAMETER", "参数无效：refund_amount")
	}
	reqNo := b.OutRequestNo
	if reqNo == "" {
		reqNo = t.outTradeNo
	}
	body := func(r *refundRec, changed bool) obj {
		fc := "N"
		if changed {
			fc = "Y"
		}
		return obj{{"trade_no", t.tradeNo}, {"out_trade_no", t.outTradeNo}, {"buyer_logon_id", t.buyerLogonID},
			{"fund_change", fc}, {"refund_fee", yuan(t.refunded)}, {"gmt_refund_pay", fmtTime(r.at)},
			{"buyer_user_id", t.buyerID}, {"send_back_fee", yuan(r.amount)}}
	}
	if r := t.refund(reqNo); r != nil {
		if r.amount != amt {
			return bizFail("ACQ.CONTEXT_INCONSISTENT", "参数不一致：out_request_no 已用于另一金额的退款")
		}
		return success(body(r, false)) // a retry: nothing moves twice
	}
	switch t.status {
	case StatusWaitBuyerPay:
		return bizFail("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
	case StatusTradeClosed:
		return bizFail("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")
	case StatusTradeFinished:
		return bizFail("ACQ.TRADE_HAS_FINISHED", "交易已完结")
	}
	if t.refunded+amt > t.amount {
		return bizFail("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
	}
	now := s.nowLocked()
	r := &refundRec{outRequestNo: reqNo, amount: amt, reason: b.RefundReason, at: now}
	t.refunds = append(t.refunds, r)
	t.refunded += amt
	if t.refunded == t.amount {
		t.status, t.closedAt = StatusTradeClosed, now
	}
	s.log.Info("refund", "out_trade_no", t.outTradeNo, "out_request_no", reqNo, "amount", amt, "refunded", t.refunded)
	s.notifyLocked(t, t.notifyURL, r)
	return success(body(r, true))
}

func (s *Sandbox) refundQuery(rq *request) result {
	b := rq.biz
	if b.OutTradeNo == "" && b.TradeNo == "" {
		return bizFail("ACQ.INVALID_PARAMETER", "参数无效：out_trade_no 与 trade_no 不能同时为空")
	}
	t := s.findLocked(b)
	if t == nil {
		return bizFail("ACQ.TRADE_NOT_EXIST", "交易不存在")
	}
	reqNo := b.OutRequestNo
	if reqNo == "" {
		return bizFail("ACQ.INVALID_PARAMETER", "参数无效：缺少 out_request_no")
	}
	r := t.refund(reqNo)
	if r == nil {
		// Alipay answers success without refund_status for a refund it
		// never received.
		return success(obj{{"trade_no", t.tradeNo}, {"out_trade_no", t.outTradeNo}, {"out_request_no", reqNo}})
	}
	return success(obj{{"trade_no", t.tradeNo}, {"out_trade_no", t.outTradeNo}, {"out_request_no", reqNo},
		{"total_amount", yuan(t.amount)}, {"refund_amount", yuan(r.amount)}, {"refund_status", "REFUND_SUCCESS"},
		{"gmt_refund_pay", fmtTime(r.at)}, {"send_back_fee", yuan(r.amount)}})
}

// subMsgs are the sub_msg texts of the sub codes the sandbox answers with.
var subMsgs = map[string]string{
	"ACQ.BUYER_BALANCE_NOT_ENOUGH":          "买家余额不足",
	"ACQ.BUYER_BANKCARD_BALANCE_NOT_ENOUGH": "用户银行卡余额不足",
	"ACQ.PAYMENT_AUTH_CODE_INVALID":         "支付失败，获取顾客账户信息失败，请顾客刷新付款码后重新收款，如再次收款失败，请联系管理员处理。",
	"ACQ.TRADE_BUYER_NOT_MATCH":             "交易买家不匹配",
	"ACQ.PAYMENT_FAIL":                      "支付失败",
	"ACQ.PAYMENT_REQUEST_HAS_RISK":          "支付有风险",
	"ACQ.BUYER_ENABLE_STATUS_FORBID":        "不支持该用户支付",
	"ACQ.USER_FACE_PAYMENT_SWITCH_OFF":      "用户当面付付款开关关闭",
	"ACQ.TOTAL_FEE_EXCEED":                  "订单金额超过限额",
	"ACQ.INVALID_STORE_ID":                  "商户门店编号无效",
	"ACQ.ACCESS_FORBIDDEN":                  "无权限使用接口",
}
