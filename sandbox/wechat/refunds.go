package wechat

import (
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Refund statuses, as in status.
const (
	RefundProcessing = "PROCESSING"
	RefundSuccess    = "SUCCESS"
	RefundAbnormal   = "ABNORMAL"
	RefundClosed     = "CLOSED"
)

type refund struct {
	refundID    string
	outRefundNo string
	order       *order
	amount      int64
	reason      string
	notifyURL   string
	status      string
	createdAt   time.Time
	successAt   time.Time
	revoke      bool // the money a reverse gave back, not a refund asked for
}

type refundReq struct {
	TransactionID string `json:"transaction_id"`
	OutTradeNo    string `json:"out_trade_no"`
	OutRefundNo   string `json:"out_refund_no"`
	Reason        string `json:"reason"`
	NotifyURL     string `json:"notify_url"`
	FundsAccount  string `json:"funds_account"`
	Amount        *struct {
		Refund   *int64 `json:"refund"`
		Total    *int64 `json:"total"`
		Currency string `json:"currency"`
	} `json:"amount"`
}

type refundBody struct {
	RefundID            string       `json:"refund_id"`
	OutRefundNo         string       `json:"out_refund_no"`
	TransactionID       string       `json:"transaction_id"`
	OutTradeNo          string       `json:"out_trade_no"`
	Channel             string       `json:"channel"`
	UserReceivedAccount string       `json:"user_received_account"`
	SuccessTime         string       `json:"success_time,omitempty"`
	CreateTime          string       `json:"create_time"`
	Status              string       `json:"status"`
	FundsAccount        string       `json:"funds_account"`
	Amount              refundAmount `json:"amount"`
}

type refundAmount struct {
	Total            int64  `json:"total"`
	Refund           int64  `json:"refund"`
	PayerTotal       int64  `json:"payer_total"`
	PayerRefund      int64  `json:"payer_refund"`
	SettlementTotal  int64  `json:"settlement_total"`
	SettlementRefund int64  `json:"settlement_refund"`
	DiscountRefund   int64  `json:"discount_refund"`
	Currency         string `json:"currency"`
	From             []any  `json:"from"`
}

// refundNotice is the plaintext of a REFUND.* notification.
type refundNotice struct {
	MchID               string `json:"mchid"`
	OutTradeNo          string `json:"out_trade_no"`
	TransactionID       string `json:"transaction_id"`
	OutRefundNo         string `json:"out_refund_no"`
	RefundID            string `json:"refund_id"`
	RefundStatus        string `json:"refund_status"`
	SuccessTime         string `json:"success_time,omitempty"`
	UserReceivedAccount string `json:"user_received_account"`
	Amount              struct {
		Total       int64 `json:"total"`
		Refund      int64 `json:"refund"`
		PayerTotal  int64 `json:"payer_total"`
		PayerRefund int64 `json:"payer_refund"`
	} `json:"amount"`
}

// refundID makes a 29-digit refund id shaped like WeChat Pay's (503…).
// Called with s.mu held, after s.seq++.
func (s *Sandbox) refundID(now time.Time) string {
	return fmt.Sprintf("5030%07d%s%010d", s.seq%10_000_000, now.In(cst).Format("20060102"), s.seq)
}

func refundNotExist() reply {
	return fail(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "退款单不存在")
}

// refund is POST /v3/refund/domestic/refunds.
func (s *Sandbox) refund(c *call) reply {
	var req refundReq
	if rep := decode(c, &req); rep != nil {
		return *rep
	}
	if rep := checkRefund(req); rep != nil {
		return *rep
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var o *order
	if req.TransactionID != "" {
		o = s.byTxn[req.TransactionID]
	} else {
		o = s.orders[req.OutTradeNo]
	}
	if o == nil || (req.OutTradeNo != "" && o.outTradeNo != req.OutTradeNo) {
		return fail(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "订单不存在")
	}
	if r, found := s.refunds[req.OutRefundNo]; found {
		// The same out_refund_no retries the same refund; it never
		// refunds twice.
		if r.order != o || r.amount != *req.Amount.Refund {
			return fail(http.StatusBadRequest, "INVALID_REQUEST", "退款单号重复，且与首次请求的参数不一致")
		}
		return ok(s.refundBodyLocked(r))
	}
	if rep := refundable(o, req); rep != nil {
		return *rep
	}
	s.seq++
	r := &refund{refundID: s.refundID(c.now), outRefundNo: req.OutRefundNo, order: o, amount: *req.Amount.Refund,
		reason: req.Reason, notifyURL: req.NotifyURL, status: RefundProcessing, createdAt: c.now}
	s.refunds[r.outRefundNo] = r
	o.refunds = append(o.refunds, r)
	o.refunded += r.amount
	o.state = StateRefund
	end := RefundSuccess
	if s.abnormal > 0 {
		s.abnormal--
		end = RefundAbnormal
	}
	s.later(s.opts.RefundDelay, func() { s.settleRefund(r, end) })
	s.log.Info("refund accepted", "out_trade_no", o.outTradeNo, "out_refund_no", r.outRefundNo, "refund", r.amount,
		"refunded", o.refunded)
	return ok(s.refundBodyLocked(r))
}

// checkRefund checks a refund request's fields; nil when they are right.
func checkRefund(req refundReq) *reply {
	switch {
	case req.OutRefundNo == "" || len(req.OutRefundNo) > 64:
		return refuse(paramError("/out_refund_no", "必填，最长64位"))
	case req.TransactionID == "" && req.OutTradeNo == "":
		return refuse(paramError("/out_trade_no", "transaction_id和out_trade_no须填一个"))
	case req.Amount == nil || req.Amount.Refund == nil || req.Amount.Total == nil:
		return refuse(paramError("/amount", "refund和total必填"))
	case *req.Amount.Refund <= 0:
		return refuse(paramError("/amount/refund", "须为正整数，单位为分"))
	case req.Amount.Currency != "CNY":
		return refuse(paramError("/amount/currency", "须为CNY"))
	case len([]rune(req.Reason)) > 80:
		return refuse(paramError("/reason", "最长80个字符"))
	}
	if req.NotifyURL != "" {
		if u, err := url.Parse(req.NotifyURL); err != nil || u.Host == "" || u.RawQuery != "" {
			return refuse(paramError("/notify_url", "须为不带查询串的绝对URL"))
		}
	}
	return nil
}

// refundable checks a new refund against its order; nil when the
// order allows it. Called with s.mu held.
func refundable(o *order, req refundReq) *reply {
	switch {
	case *req.Amount.Total != o.total:
		return refuse(fail(http.StatusBadRequest, "INVALID_REQUEST", "订单金额与原订单不一致"))
	case o.state != StateSuccess && o.state != StateRefund:
		return refuse(fail(http.StatusBadRequest, "INVALID_REQUEST", "订单状态不允许退款("+o.state+")"))
	case *req.Amount.Refund > o.total-o.refunded:
		return refuse(fail(http.StatusBadRequest, "INVALID_REQUEST", "申请退款金额超过订单可退金额"))
	}
	return nil
}

func refuse(r reply) *reply { return &r }

// settleRefund ends a PROCESSING refund and notifies it.
func (s *Sandbox) settleRefund(r *refund, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.status != RefundProcessing {
		return
	}
	r.status = status
	if status == RefundSuccess {
		r.successAt = s.now()
	}
	s.log.Info("refund settled", "out_refund_no", r.outRefundNo, "status", status)
	if r.notifyURL == "" {
		return
	}
	n := refundNotice{MchID: s.opts.MchID, OutTradeNo: r.order.outTradeNo, TransactionID: r.order.txnID,
		OutRefundNo: r.outRefundNo, RefundID: r.refundID, RefundStatus: status, UserReceivedAccount: "支付用户零钱"}
	if status == RefundSuccess {
		n.SuccessTime = r.successAt.In(cst).Format(time.RFC3339)
	}
	n.Amount.Total, n.Amount.Refund, n.Amount.PayerTotal, n.Amount.PayerRefund = r.order.total, r.amount, r.order.total, r.amount
	summary := map[string]string{RefundSuccess: "退款成功", RefundAbnormal: "退款异常"}[status]
	s.notifyLocked("REFUND."+status, summary, "refund", r.order.outTradeNo, r.notifyURL, n)
}

// refundBodyLocked renders a refund. Called with s.mu held.
func (s *Sandbox) refundBodyLocked(r *refund) refundBody {
	b := refundBody{RefundID: r.refundID, OutRefundNo: r.outRefundNo, TransactionID: r.order.txnID,
		OutTradeNo: r.order.outTradeNo, Channel: "ORIGINAL", UserReceivedAccount: "支付用户零钱",
		CreateTime: r.createdAt.In(cst).Format(time.RFC3339), Status: r.status, FundsAccount: "AVAILABLE",
		Amount: refundAmount{Total: r.order.total, Refund: r.amount, PayerTotal: r.order.total, PayerRefund: r.amount,
			SettlementTotal: r.order.total, SettlementRefund: r.amount, Currency: "CNY", From: []any{}}}
	if r.status == RefundSuccess {
		b.SuccessTime = r.successAt.In(cst).Format(time.RFC3339)
	}
	return b
}

// queryRefund is GET /v3/refund/domestic/refunds/{out_refund_no}.
func (s *Sandbox) queryRefund(c *call) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, found := s.refunds[c.r.PathValue("no")]
	if !found {
		return refundNotExist()
	}
	return ok(s.refundBodyLocked(r))
}

// later runs fn in its own goroutine after d, unless the sandbox closes
// first. Called with s.mu held (so that Close's Wait is final); fn takes
// the lock itself.
func (s *Sandbox) later(d time.Duration, fn func()) {
	if s.closed {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if d > 0 {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-s.ctx.Done():
				return
			case <-t.C:
			}
		}
		fn()
	}()
}
