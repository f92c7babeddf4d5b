package alipay

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/multipos/multipos/money"
	"github.com/multipos/multipos/server/connector"
)

// ErrTradeClosed is returned by the customer controls for a closed trade.
var ErrTradeClosed = errors.New("trade closed")

// PayMode is how the customer's phone answers a barcode payment.
type PayMode string

const (
	PaidAtOnce   PayMode = "paid"    // 10000 at once (the default)
	NeedsConfirm PayMode = "confirm" // 10003, then WAIT_BUYER_PAY until Confirm, Decline or expiry
	Declined     PayMode = "decline" // 40004 with a sub code; no trade is left
)

// PayOutcome is what a barcode payment will meet.
type PayOutcome struct {
	Mode PayMode `json:"mode"`
	// SubCode and SubMsg are the answer for Declined (default
	// ACQ.BUYER_BALANCE_NOT_ENOUGH with Alipay's text).
	SubCode string `json:"sub_code,omitempty"`
	SubMsg  string `json:"sub_msg,omitempty"`
}

func (o PayOutcome) subCode() (string, string) {
	sub := o.SubCode
	if sub == "" {
		sub = "ACQ.BUYER_BALANCE_NOT_ENOUGH"
	}
	msg := o.SubMsg
	if msg == "" {
		msg = subMsgs[sub]
	}
	if msg == "" {
		msg = "支付失败"
	}
	return sub, msg
}

func (o PayOutcome) valid() error {
	switch o.Mode {
	case PaidAtOnce, NeedsConfirm, Declined:
		return nil
	}
	return fmt.Errorf("pay mode %q: want paid, confirm or decline", o.Mode)
}

// NextPay sets what the next barcode payment meets, whatever its code;
// several calls queue up.
func (s *Sandbox) NextPay(o PayOutcome) error {
	if err := o.valid(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextPay = append(s.nextPay, o)
	return nil
}

// SetAuthCode sets what every payment with this payment code meets, before
// anything NextPay queued. A zero PayOutcome forgets the code.
func (s *Sandbox) SetAuthCode(code string, o PayOutcome) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o.Mode == "" {
		delete(s.codes, code)
		return nil
	}
	if err := o.valid(); err != nil {
		return err
	}
	s.codes[code] = o
	return nil
}

func (s *Sandbox) outcomeLocked(code string) PayOutcome {
	if o, ok := s.codes[code]; ok {
		return o
	}
	if len(s.nextPay) > 0 {
		o := s.nextPay[0]
		s.nextPay = s.nextPay[1:]
		return o
	}
	return PayOutcome{Mode: PaidAtOnce}
}

// Answer is how a faulty gateway call is answered.
type Answer string

const (
	AnswerNormal      Answer = ""
	Answer20000       Answer = "20000"            // code 20000, isp.unknow-error
	AnswerSystemError Answer = "ACQ.SYSTEM_ERROR" // 40004 ACQ.SYSTEM_ERROR
	AnswerLost        Answer = "lost"             // the call takes effect; the connection closes with no answer
	AnswerBadSign     Answer = "bad_sign"         // the answer's signature does not verify
)

// Fault is a one-shot disturbance of the next gateway call of Method (any
// method when empty). Faults queue in the order injected.
type Fault struct {
	Method string
	// Delay holds the call back before anything happens (a slow network or
	// a slow Alipay: the client may time out while the call still acts).
	Delay  time.Duration
	Answer Answer
	// Applied makes the call take effect before a 20000 or
	// ACQ.SYSTEM_ERROR answer; without it nothing happens.
	Applied bool
}

// Inject queues a fault.
func (s *Sandbox) Inject(f Fault) error {
	switch f.Answer {
	case AnswerNormal, Answer20000, AnswerSystemError, AnswerLost, AnswerBadSign:
	default:
		return fmt.Errorf("fault answer %q: want 20000, ACQ.SYSTEM_ERROR, lost or bad_sign", f.Answer)
	}
	if f.Method != "" && methods[f.Method] == nil {
		return fmt.Errorf("fault method %q: not a method the sandbox serves", f.Method)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
	return nil
}

func (s *Sandbox) takeFaultLocked(method string) Fault {
	for i, f := range s.faults {
		if f.Method == "" || f.Method == method {
			s.faults = slices.Delete(s.faults, i, i+1)
			s.log.Info("fault injected", "method", method, "answer", string(f.Answer), "delay", f.Delay, "applied", f.Applied)
			return f
		}
	}
	return Fault{}
}

// Scan plays the customer scanning a QR code: from now on Alipay knows the
// trade (WAIT_BUYER_PAY) and query, close and cancel see it.
func (s *Sandbox) Scan(ctx context.Context, outTradeNo string) error {
	return s.customer(ctx, outTradeNo, func(t *trade, now time.Time) error {
		if t.kind != kindQR {
			return fmt.Errorf("alipay sandbox: %s is not a QR order", outTradeNo)
		}
		s.showLocked(t, now)
		return nil
	})
}

// Pay plays the customer paying: scanning and paying a QR order, or
// confirming a barcode payment that waits on the phone. The trade becomes
// TRADE_SUCCESS and is notified.
func (s *Sandbox) Pay(ctx context.Context, outTradeNo string) error {
	return s.customer(ctx, outTradeNo, func(t *trade, now time.Time) error {
		s.showLocked(t, now)
		s.markPaidLocked(t, now)
		s.log.Info("customer paid", "out_trade_no", outTradeNo, "trade_no", t.tradeNo, "amount", t.amount)
		return nil
	})
}

// Confirm plays the customer confirming a barcode payment on the phone
// (after 10003); it is Pay under the name the flow uses.
func (s *Sandbox) Confirm(ctx context.Context, outTradeNo string) error {
	return s.Pay(ctx, outTradeNo)
}

// Decline plays the customer refusing to pay: the trade closes
// (TRADE_CLOSED, notified). Alipay itself would keep it WAIT_BUYER_PAY
// until it expires; closing it at once lets a trainer see the refusal.
func (s *Sandbox) Decline(ctx context.Context, outTradeNo string) error {
	return s.customer(ctx, outTradeNo, func(t *trade, now time.Time) error {
		s.showLocked(t, now)
		t.status, t.closedAt = StatusTradeClosed, now
		s.notifyLocked(t, t.notifyURL, nil)
		s.log.Info("customer declined", "out_trade_no", outTradeNo)
		return nil
	})
}

// customer runs a customer's action on a trade still waiting for payment.
func (s *Sandbox) customer(ctx context.Context, outTradeNo string, act func(*trade, time.Time) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.trades[outTradeNo]
	if t == nil || t.kind == kindNone {
		return fmt.Errorf("alipay sandbox: order %s: %w", outTradeNo, connector.ErrNotFound)
	}
	s.ageLocked(t)
	switch {
	case t.paid() || t.wasPaid():
		return fmt.Errorf("alipay sandbox: order %s: %w", outTradeNo, connector.ErrAlreadyPaid)
	case t.status != StatusWaitBuyerPay || t.dead:
		return fmt.Errorf("alipay sandbox: order %s: %w", outTradeNo, ErrTradeClosed)
	}
	return act(t, s.nowLocked())
}

// Trade is a trade as the sandbox holds it, for the control API and tests.
type Trade struct {
	OutTradeNo string `json:"out_trade_no"`
	TradeNo    string `json:"trade_no,omitempty"`
	Kind       string `json:"kind"` // precreate, pay, or cancelled (an out_trade_no cancelled before it existed)
	Status     string `json:"trade_status"`
	// Visible: Alipay's API knows the trade. A QR order becomes visible
	// when the customer scans it.
	Visible      bool      `json:"visible"`
	Amount       money.Fen `json:"total_amount"`
	Refunded     money.Fen `json:"refund_fee"`
	Subject      string    `json:"subject,omitempty"`
	StoreID      string    `json:"store_id,omitempty"`
	TerminalID   string    `json:"terminal_id,omitempty"`
	QRCode       string    `json:"qr_code,omitempty"`
	AuthCode     string    `json:"auth_code,omitempty"`
	NotifyURL    string    `json:"notify_url,omitempty"`
	Created      string    `json:"gmt_create,omitempty"`
	Paid         string    `json:"gmt_payment,omitempty"`
	Closed       string    `json:"gmt_close,omitempty"`
	Expires      string    `json:"time_expire,omitempty"`
	CancelAction string    `json:"cancel_action,omitempty"`
	Refunds      []Refund  `json:"refunds,omitempty"`
}

// Refund is one refund of a trade.
type Refund struct {
	OutRequestNo string    `json:"out_request_no"`
	Amount       money.Fen `json:"refund_amount"`
	Reason       string    `json:"refund_reason,omitempty"`
	At           string    `json:"gmt_refund"`
	ViaCancel    bool      `json:"via_cancel,omitempty"`
}

func (t *trade) snapshot() Trade {
	x := Trade{OutTradeNo: t.outTradeNo, TradeNo: t.tradeNo, Kind: t.kind, Status: t.status, Visible: t.visible,
		Amount: t.amount, Refunded: t.refunded, Subject: t.subject, StoreID: t.storeID, TerminalID: t.terminalID,
		QRCode: t.qrCode, AuthCode: t.authCode, NotifyURL: t.notifyURL, Created: fmtTime(t.created),
		Paid: fmtTime(t.paidAt), Closed: fmtTime(t.closedAt), Expires: fmtTime(t.expiresAt),
		CancelAction: t.cancelAction}
	for _, r := range t.refunds {
		x.Refunds = append(x.Refunds, Refund{OutRequestNo: r.outRequestNo, Amount: r.amount, Reason: r.reason,
			At: fmtTime(r.at), ViaCancel: r.viaCancel})
	}
	return x
}

// Trade returns the trade for an out_trade_no.
func (s *Sandbox) Trade(outTradeNo string) (Trade, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.trades[outTradeNo]
	if t == nil {
		return Trade{}, false
	}
	s.ageLocked(t)
	return t.snapshot(), true
}

// Trades returns every trade, oldest first.
func (s *Sandbox) Trades() []Trade {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Trade, 0, len(s.trades))
	for _, t := range s.trades {
		s.ageLocked(t)
		out = append(out, t.snapshot())
	}
	slices.SortFunc(out, func(a, b Trade) int {
		if c := strings.Compare(a.Created, b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.OutTradeNo, b.OutTradeNo)
	})
	return out
}
