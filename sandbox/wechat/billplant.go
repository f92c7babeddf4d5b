package wechat

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// BillChangeKind is a difference a test or a trainer plants in a day's
// bill, to see reconciliation find it.
type BillChangeKind string

const (
	// BillUnknownPayment: a code payment the merchant never made (the
	// journal never saw it). It is real in the sandbox's books: paid at
	// At, queryable, in the bill.
	BillUnknownPayment BillChangeKind = "unknown_payment"
	// BillDrop leaves an order's payment row out of the bill (the channel
	// never got it), though the order stays paid.
	BillDrop BillChangeKind = "drop"
	// BillAmount writes another amount on an order's payment row.
	BillAmount BillChangeKind = "amount"
	// BillRefund refunds an order at At as if from the merchant portal,
	// not through the API (the merchant never asked): real in the books,
	// SUCCESS at once, no notification.
	BillRefund BillChangeKind = "refund"
	// BillFee writes another 手续费 on an order's payment row.
	BillFee BillChangeKind = "fee"
)

// ErrBillChange is wrapped by a BillChange the sandbox cannot plant.
var ErrBillChange = errors.New("bill change refused")

// BillChange is one planted difference. Day is the bill's date
// (yyyy-MM-dd, Beijing time). Drop, amount and fee change the row of
// OutTradeNo's payment in that day's bill only; unknown_payment and
// refund change the books, so they show wherever WeChat Pay would show them.
type BillChange struct {
	Kind        BillChangeKind `json:"kind"`
	Day         string         `json:"day"`
	OutTradeNo  string         `json:"out_trade_no"`
	OutRefundNo string         `json:"out_refund_no,omitempty"` // refund; default PORTAL…
	Amount      int64          `json:"amount,omitempty"`        // fen: the payment, the new amount, the refund
	Fee         int64          `json:"fee,omitempty"`           // fen, for fee
	// At is when the unknown payment or the refund happened (default
	// 12:00 of Day); it must fall on Day.
	At time.Time `json:"at,omitzero"`
}

// billEdit is a bill-only change to one payment row.
type billEdit struct {
	drop        bool
	amount, fee int64 // 0: unchanged; fee in 0.00001 yuan
	feeSet      bool
}

// PlantInBill plants a difference in a day's bill.
func (s *Sandbox) PlantInBill(c BillChange) error {
	day, err := time.ParseInLocation("2006-01-02", c.Day, cst)
	if err != nil {
		return fmt.Errorf("day %q: want yyyy-MM-dd: %w", c.Day, ErrBillChange)
	}
	if c.At.IsZero() {
		c.At = day.Add(12 * time.Hour)
	}
	if c.At.Before(day) || !c.At.Before(day.AddDate(0, 0, 1)) {
		return fmt.Errorf("at %s is not on %s: %w", c.At.In(cst).Format(time.RFC3339), c.Day, ErrBillChange)
	}
	if c.OutTradeNo == "" {
		return fmt.Errorf("out_trade_no is required: %w", ErrBillChange)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := c.Day + "/" + c.OutTradeNo
	e := s.billEdits[key]
	switch c.Kind {
	case BillUnknownPayment:
		return s.unknownPaymentLocked(c)
	case BillRefund:
		return s.portalRefundLocked(c)
	case BillDrop:
		e.drop = true
	case BillAmount:
		if c.Amount <= 0 {
			return fmt.Errorf("amount %d: want positive fen: %w", c.Amount, ErrBillChange)
		}
		e.amount = c.Amount
	case BillFee:
		if c.Fee < 0 {
			return fmt.Errorf("fee %d: want fen, not negative: %w", c.Fee, ErrBillChange)
		}
		e.fee, e.feeSet = c.Fee*1000, true
	default:
		return fmt.Errorf("kind %q: want unknown_payment, drop, amount, refund or fee: %w", c.Kind, ErrBillChange)
	}
	s.billEdits[key] = e
	return nil
}

// unknownPaymentLocked books a paid code payment nobody asked for.
// Called with s.mu held.
func (s *Sandbox) unknownPaymentLocked(c BillChange) error {
	if _, found := s.orders[c.OutTradeNo]; found {
		return fmt.Errorf("%s exists: %w", c.OutTradeNo, ErrBillChange)
	}
	if c.Amount <= 0 {
		return fmt.Errorf("amount %d: want positive fen: %w", c.Amount, ErrBillChange)
	}
	o := &order{outTradeNo: c.OutTradeNo, tradeType: "MICROPAY", appID: s.opts.AppID, description: "收款",
		total: c.Amount, createdAt: c.At}
	s.orders[o.outTradeNo] = o
	s.paidLocked(o, c.At)
	s.log.Info("planted: unknown payment", "out_trade_no", o.outTradeNo, "total", o.total)
	return nil
}

// portalRefundLocked books a refund made outside the API. Called with s.mu held.
func (s *Sandbox) portalRefundLocked(c BillChange) error {
	o := s.orders[c.OutTradeNo]
	switch {
	case o == nil:
		return fmt.Errorf("%s: %w", c.OutTradeNo, ErrNoOrder)
	case o.state != StateSuccess && o.state != StateRefund:
		return fmt.Errorf("%s is %s: %w", c.OutTradeNo, o.state, ErrState)
	case c.Amount <= 0 || c.Amount > o.total-o.refunded:
		return fmt.Errorf("refund %d fen of %s (%d left): %w", c.Amount, c.OutTradeNo, o.total-o.refunded, ErrBillChange)
	}
	s.seq++
	if c.OutRefundNo == "" {
		c.OutRefundNo = fmt.Sprintf("PORTAL%010d", s.seq)
	}
	if _, found := s.refunds[c.OutRefundNo]; found {
		return fmt.Errorf("out_refund_no %s exists: %w", c.OutRefundNo, ErrBillChange)
	}
	r := &refund{refundID: s.refundID(c.At), outRefundNo: c.OutRefundNo, order: o, amount: c.Amount,
		reason: "商户平台退款", status: RefundSuccess, createdAt: c.At, successAt: c.At}
	s.refunds[r.outRefundNo] = r
	o.refunds = append(o.refunds, r)
	o.refunded += r.amount
	o.state = StateRefund
	s.log.Info("planted: portal refund", "out_trade_no", o.outTradeNo, "out_refund_no", r.outRefundNo, "refund", r.amount)
	return nil
}

// CorruptNextBill spoils the next bill download by one bit, after its
// SHA1 was given: only the SHA1 check can tell (the same as a
// bad_signature fault on billdownload).
func (s *Sandbox) CorruptNextBill() {
	s.InjectFault(OpBillDownload, Fault{Kind: FaultBadSignature})
}

// Now is the sandbox's clock: Options.Now moved ahead by Advance.
func (s *Sandbox) Now() time.Time { return s.now() }

// Advance moves the sandbox's business clock ahead (orders expire, days
// end, bills become ready). Signatures stay on Options.Now, which the
// clients' clocks follow.
func (s *Sandbox) Advance(d time.Duration) {
	if d > 0 {
		s.offset.Add(int64(d))
	}
}

// billControlRoutes serves the bill and clock controls (see doc.go).
func (s *Sandbox) billControlRoutes(m *http.ServeMux) {
	m.HandleFunc("POST /control/bills", func(w http.ResponseWriter, r *http.Request) {
		var c BillChange
		if !controlDecode(w, r, &c) {
			return
		}
		controlAnswer(w, nil, s.PlantInBill(c))
	})
	m.HandleFunc("POST /control/bills/corrupt_next", func(w http.ResponseWriter, r *http.Request) {
		s.CorruptNextBill()
		controlAnswer(w, nil, nil)
	})
	m.HandleFunc("POST /control/clock", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Advance string `json:"advance"` // a Go duration: "90m", "25h"
		}
		if !controlDecode(w, r, &req) {
			return
		}
		d, err := time.ParseDuration(req.Advance)
		if err != nil || d <= 0 {
			controlAnswer(w, nil, fmt.Errorf("advance %q: want a positive duration such as 90m", req.Advance))
			return
		}
		s.Advance(d)
		controlAnswer(w, map[string]string{"now": s.Now().In(cst).Format(time.RFC3339)}, nil)
	})
}
