package wechat

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"time"
)

// Op names an API call, for faults and call counters.
type Op string

const (
	OpNative       Op = "native"
	OpCodepay      Op = "codepay"
	OpQuery        Op = "query" // by out_trade_no or by transaction_id
	OpClose        Op = "close"
	OpReverse      Op = "reverse"
	OpRefund       Op = "refund"
	OpRefundQuery  Op = "refund_query"
	OpTradeBill    Op = "tradebill"
	OpBillDownload Op = "billdownload"
	OpUnknown      Op = "unknown" // a path the API does not have
	// OpAny in a fault means the next call, whichever it is.
	OpAny Op = "any"
)

// FaultKind is what goes wrong with a call.
type FaultKind string

const (
	// FaultSystemError answers 500 SYSTEM_ERROR without acting.
	FaultSystemError FaultKind = "system_error"
	// FaultLoseReply acts, then drops the connection before answering:
	// the outcome is unknown to the client. Go's HTTP client may resend a
	// GET on its own when this happens, so it shows on POSTs.
	FaultLoseReply FaultKind = "lose_reply"
	// FaultDelay holds the call for Delay before acting on it.
	FaultDelay FaultKind = "delay"
	// FaultBadSignature acts and answers with a signature that does not
	// verify (on a bill download, whose answer is unsigned, it corrupts
	// the file instead).
	FaultBadSignature FaultKind = "bad_signature"
)

// Fault is one fault for the next call of an Op.
type Fault struct {
	Kind  FaultKind
	Delay time.Duration // for FaultDelay
}

type pendingFault struct {
	op    Op
	kind  FaultKind
	delay time.Duration
}

// InjectFault makes the next call of op (OpAny: of any op) go wrong as f
// says. Faults queue up and are used one per call.
func (s *Sandbox) InjectFault(op Op, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, pendingFault{op: op, kind: f.Kind, delay: f.Delay})
}

// SetLatency delays every API call by d (0 ends it), like a slow link.
func (s *Sandbox) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// takeFault removes and returns the first fault for op. Called with s.mu held.
func (s *Sandbox) takeFault(op Op) pendingFault {
	for i, f := range s.faults {
		if f.op == op || f.op == OpAny {
			s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			return f
		}
	}
	return pendingFault{}
}

// Calls returns how many times op was called (authenticated or not).
func (s *Sandbox) Calls(op Op) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// AllCalls returns the call counters.
func (s *Sandbox) AllCalls() map[Op]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.calls)
}

// CodeOutcome is what happens to a code payment.
type CodeOutcome string

const (
	// CodePaid: paid at once (the default).
	CodePaid CodeOutcome = "paid"
	// CodeUserPaying: the customer must enter the password: USERPAYING
	// until Confirm, Decline, ConfirmAfter, or never.
	CodeUserPaying CodeOutcome = "userpaying"
	// CodePayError: refused (403 with Code and Message, then PAYERROR).
	CodePayError CodeOutcome = "payerror"
)

// CodeBehavior is how the customer behind a payment code acts.
type CodeBehavior struct {
	Outcome CodeOutcome
	// Code and Message of a CodePayError (default NOTENOUGH, 用户余额不足).
	Code, Message string
	// ConfirmAfter, for CodeUserPaying, has the customer confirm by
	// themselves after this long (0: wait for Confirm or Decline).
	ConfirmAfter time.Duration
}

// NextCodepay sets how the next code payment goes (queued; each is used once).
func (s *Sandbox) NextCodepay(b CodeBehavior) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextCode = append(s.nextCode, b)
}

// CodepayFor sets how every payment with this auth code goes, until
// changed. It takes precedence over NextCodepay.
func (s *Sandbox) CodepayFor(authCode string, b CodeBehavior) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codeFor[authCode] = b
}

// takeCodeBehavior picks how a new code payment goes. Called with s.mu held.
func (s *Sandbox) takeCodeBehavior(authCode string) CodeBehavior {
	if b, found := s.codeFor[authCode]; found {
		return b
	}
	if len(s.nextCode) > 0 {
		b := s.nextCode[0]
		s.nextCode = s.nextCode[1:]
		return b
	}
	return CodeBehavior{Outcome: CodePaid}
}

// Pay plays the customer: scanning and paying a native order's code, or
// confirming a code payment that is USERPAYING. The order becomes SUCCESS
// and, for a native order, TRANSACTION.SUCCESS goes to its notify_url.
func (s *Sandbox) Pay(outTradeNo string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.payLocked(outTradeNo)
}

// Confirm is Pay for a code payment waiting on the customer's password.
func (s *Sandbox) Confirm(outTradeNo string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, found := s.orders[outTradeNo]
	if found && o.state != StateUserPaying {
		return fmt.Errorf("%s is %s, not USERPAYING: %w", outTradeNo, o.state, ErrState)
	}
	return s.payLocked(outTradeNo)
}

// Decline plays the customer refusing. A code payment that is USERPAYING
// becomes PAYERROR (用户取消支付). A native order stays NOTPAY: WeChat Pay
// learns nothing when a customer does not pay a scanned code, and tells
// the merchant nothing either; the order waits for its time_expire or a close.
func (s *Sandbox) Decline(outTradeNo string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, found := s.orders[outTradeNo]
	switch {
	case !found:
		return fmt.Errorf("%s: %w", outTradeNo, ErrNoOrder)
	case o.state == StateUserPaying:
		o.state, o.errCode, o.desc = StatePayError, "USER_CANCEL", "用户取消支付"
	case o.tradeType == "NATIVE" && o.state == StateNotPay:
	default:
		return fmt.Errorf("%s is %s: %w", outTradeNo, o.state, ErrState)
	}
	s.log.Info("customer declined", "out_trade_no", outTradeNo, "trade_state", o.state)
	return nil
}

// AbnormalNextRefund makes the next new refund end ABNORMAL instead of SUCCESS.
func (s *Sandbox) AbnormalNextRefund() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.abnormal++
}

// OrderInfo is an order as the sandbox holds it.
type OrderInfo struct {
	OutTradeNo    string    `json:"out_trade_no"`
	TransactionID string    `json:"transaction_id,omitempty"`
	TradeType     string    `json:"trade_type"`
	TradeState    string    `json:"trade_state"`
	Description   string    `json:"description"`
	Total         int64     `json:"total"`    // fen
	Refunded      int64     `json:"refunded"` // fen given back or being given back
	CodeURL       string    `json:"code_url,omitempty"`
	AuthCode      string    `json:"auth_code,omitempty"`
	NotifyURL     string    `json:"notify_url,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	ExpireAt      time.Time `json:"expire_at,omitzero"`
	SuccessTime   time.Time `json:"success_time,omitzero"`
	Refunds       []string  `json:"refunds,omitempty"` // out_refund_no, oldest first
}

// Order returns an order by out_trade_no.
func (s *Sandbox) Order(outTradeNo string) (OrderInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, found := s.orders[outTradeNo]
	if !found {
		return OrderInfo{}, false
	}
	info := OrderInfo{OutTradeNo: o.outTradeNo, TransactionID: o.txnID, TradeType: o.tradeType, TradeState: o.state,
		Description: o.description, Total: o.total, Refunded: o.refunded, CodeURL: o.codeURL, AuthCode: o.authCode,
		NotifyURL: o.notifyURL, CreatedAt: o.createdAt, ExpireAt: o.expireAt, SuccessTime: o.successAt}
	for _, r := range o.refunds {
		info.Refunds = append(info.Refunds, r.outRefundNo)
	}
	return info, true
}

// controlRoutes serves the control API (see doc.go). It is not WeChat
// Pay's and takes no signature: never expose it beyond a test network.
func (s *Sandbox) controlRoutes(m *http.ServeMux) {
	act := func(fn func(string) error) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			controlAnswer(w, nil, fn(r.PathValue("no")))
		}
	}
	m.HandleFunc("GET /control/orders/{no}", func(w http.ResponseWriter, r *http.Request) {
		info, found := s.Order(r.PathValue("no"))
		if !found {
			controlAnswer(w, nil, ErrNoOrder)
			return
		}
		controlAnswer(w, info, nil)
	})
	m.HandleFunc("POST /control/orders/{no}/pay", act(s.Pay))
	m.HandleFunc("POST /control/orders/{no}/confirm", act(s.Confirm))
	m.HandleFunc("POST /control/orders/{no}/decline", act(s.Decline))
	m.HandleFunc("POST /control/codepay", s.controlCodepay)
	m.HandleFunc("POST /control/faults", s.controlFaults)
	m.HandleFunc("POST /control/latency", s.controlLatency)
	m.HandleFunc("POST /control/notifications", s.controlNotifications)
	m.HandleFunc("GET /control/notifications", func(w http.ResponseWriter, r *http.Request) {
		controlAnswer(w, s.Deliveries(), nil)
	})
	m.HandleFunc("POST /control/refunds/abnormal_next", func(w http.ResponseWriter, r *http.Request) {
		s.AbnormalNextRefund()
		controlAnswer(w, nil, nil)
	})
	m.HandleFunc("GET /control/calls", func(w http.ResponseWriter, r *http.Request) {
		controlAnswer(w, s.AllCalls(), nil)
	})
}

func controlDecode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(v); err != nil {
		controlAnswer(w, nil, fmt.Errorf("body: %w", err))
		return false
	}
	return true
}

// controlAnswer writes v (or 204), or the error as {"error":…} with 404
// for an unknown order, 409 for a wrong state and 400 otherwise.
func controlAnswer(w http.ResponseWriter, v any, err error) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if err != nil {
		status := http.StatusBadRequest
		switch {
		case errors.Is(err, ErrNoOrder):
			status = http.StatusNotFound
		case errors.Is(err, ErrState), errors.Is(err, ErrExpired):
			status = http.StatusConflict
		}
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
		return
	}
	if v == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	_ = json.NewEncoder(w).Encode(v)
}

// controlCodepay is POST /control/codepay: how the next payment code
// (or one given code) is answered.
func (s *Sandbox) controlCodepay(w http.ResponseWriter, r *http.Request) {
	var req struct {
		AuthCode     string      `json:"auth_code"`
		Outcome      CodeOutcome `json:"outcome"`
		Code         string      `json:"code"`
		Message      string      `json:"message"`
		ConfirmAfter string      `json:"confirm_after"`
	}
	if !controlDecode(w, r, &req) {
		return
	}
	b := CodeBehavior{Outcome: req.Outcome, Code: req.Code, Message: req.Message}
	switch req.Outcome {
	case CodePaid, CodeUserPaying, CodePayError:
	default:
		controlAnswer(w, nil, fmt.Errorf("outcome %q: want paid, userpaying or payerror", req.Outcome))
		return
	}
	if req.ConfirmAfter != "" {
		d, err := time.ParseDuration(req.ConfirmAfter)
		if err != nil {
			controlAnswer(w, nil, fmt.Errorf("confirm_after: %w", err))
			return
		}
		b.ConfirmAfter = d
	}
	if req.AuthCode != "" {
		s.CodepayFor(req.AuthCode, b)
	} else {
		s.NextCodepay(b)
	}
	controlAnswer(w, nil, nil)
}

// controlFaults is POST /control/faults: a fault for the next call of an
// operation.
func (s *Sandbox) controlFaults(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Op    Op        `json:"op"`
		Kind  FaultKind `json:"kind"`
		Delay string    `json:"delay"`
	}
	if !controlDecode(w, r, &req) {
		return
	}
	f := Fault{Kind: req.Kind}
	switch req.Kind {
	case FaultSystemError, FaultLoseReply, FaultDelay, FaultBadSignature:
	default:
		controlAnswer(w, nil, fmt.Errorf("kind %q: want system_error, lose_reply, delay or bad_signature", req.Kind))
		return
	}
	if req.Delay != "" {
		d, err := time.ParseDuration(req.Delay)
		if err != nil {
			controlAnswer(w, nil, fmt.Errorf("delay: %w", err))
			return
		}
		f.Delay = d
	}
	if req.Op == "" {
		req.Op = OpAny
	}
	s.InjectFault(req.Op, f)
	controlAnswer(w, nil, nil)
}

// controlLatency is POST /control/latency: the delay before every answer.
func (s *Sandbox) controlLatency(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Latency string `json:"latency"`
	}
	if !controlDecode(w, r, &req) {
		return
	}
	d, err := time.ParseDuration(req.Latency)
	if err != nil {
		controlAnswer(w, nil, fmt.Errorf("latency: %w", err))
		return
	}
	s.SetLatency(d)
	controlAnswer(w, nil, nil)
}

// controlNotifications is POST /control/notifications: what happens to
// the next notifications.
func (s *Sandbox) controlNotifications(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Action string `json:"action"`
	}
	if !controlDecode(w, r, &req) {
		return
	}
	switch req.Action {
	case "duplicate_next":
		s.DuplicateNextNotification()
	case "bad_signature_next":
		s.BadSignatureNextNotification()
	case "hold":
		s.HoldNotifications()
	case "release":
		s.ReleaseNotifications(false)
	case "release_reversed":
		s.ReleaseNotifications(true)
	default:
		controlAnswer(w, nil, fmt.Errorf("action %q: want duplicate_next, bad_signature_next, hold, release or release_reversed", req.Action))
		return
	}
	controlAnswer(w, nil, nil)
}
