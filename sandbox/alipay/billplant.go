package alipay

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/multipos/multipos/money"
)

// BillChangeKind is a difference a test or a trainer plants in a day's
// bill, to see reconciliation find it.
type BillChangeKind string

const (
	// BillUnknownPayment: a barcode payment the merchant never made (the
	// journal never saw it). It is real in the sandbox's books: paid at
	// At, queryable, in the bill.
	BillUnknownPayment BillChangeKind = "unknown_payment"
	// BillDrop leaves a trade's payment row out of the day's bill (the
	// channel never got it), though the trade stays paid.
	BillDrop BillChangeKind = "drop"
	// BillAmount writes another amount (订单金额, 商家实收) on a trade's
	// payment row.
	BillAmount BillChangeKind = "amount"
	// BillRefund refunds a trade at At as if from the merchant portal,
	// not through the API (the merchant never asked): real in the books.
	BillRefund BillChangeKind = "refund"
	// BillFee writes another 服务费 on a trade's payment row.
	BillFee BillChangeKind = "fee"
)

// ErrBillChange is wrapped by a BillChange the sandbox cannot plant.
var ErrBillChange = errors.New("bill change refused")

// BillChange is one planted difference. Day is the bill's date
// (yyyy-MM-dd, GMT+8). Drop, amount and fee change the payment row of
// OutTradeNo in that day's bill only; unknown_payment and refund change
// the books, so they show wherever Alipay would show them.
type BillChange struct {
	Kind         BillChangeKind `json:"kind"`
	Day          string         `json:"day"`
	OutTradeNo   string         `json:"out_trade_no"`
	OutRequestNo string         `json:"out_request_no,omitempty"` // refund; default PORTAL…
	Amount       int64          `json:"amount,omitempty"`         // fen: the payment, the new amount, the refund
	Fee          int64          `json:"fee,omitempty"`            // fen charged, for fee (the bill shows it negative)
	// At is when the unknown payment or the refund happened (default
	// 12:00 of Day); it must fall on Day.
	At time.Time `json:"at,omitzero"`
}

// billEdit is a bill-only change to one payment row.
type billEdit struct {
	drop   bool
	amount money.Fen // 0: unchanged
	fee    money.Fen // charged, positive
	feeSet bool
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
		return fmt.Errorf("at %s is not on %s: %w", fmtTime(c.At), c.Day, ErrBillChange)
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
		e.amount = money.Fen(c.Amount)
	case BillFee:
		if c.Fee < 0 {
			return fmt.Errorf("fee %d: want fen charged, not negative: %w", c.Fee, ErrBillChange)
		}
		e.fee, e.feeSet = money.Fen(c.Fee), true
	default:
		return fmt.Errorf("kind %q: want unknown_payment, drop, amount, refund or fee: %w", c.Kind, ErrBillChange)
	}
	s.billEdits[key] = e
	return nil
}

// unknownPaymentLocked books a paid barcode payment nobody asked for.
// Called with s.mu held.
func (s *Sandbox) unknownPaymentLocked(c BillChange) error {
	if _, found := s.trades[c.OutTradeNo]; found {
		return fmt.Errorf("%s exists: %w", c.OutTradeNo, ErrBillChange)
	}
	if c.Amount <= 0 {
		return fmt.Errorf("amount %d: want positive fen: %w", c.Amount, ErrBillChange)
	}
	t := &trade{outTradeNo: c.OutTradeNo, appID: s.opts.AppID, kind: kindBarcode, amount: money.Fen(c.Amount), subject: "收款"}
	s.showLocked(t, c.At)
	t.status, t.paidAt = StatusTradeSuccess, c.At
	s.trades[t.outTradeNo] = t
	s.log.Info("planted: unknown payment", "out_trade_no", t.outTradeNo, "amount", c.Amount)
	return nil
}

// portalRefundLocked books a refund made outside the API. Called with s.mu held.
func (s *Sandbox) portalRefundLocked(c BillChange) error {
	t := s.trades[c.OutTradeNo]
	switch {
	case t == nil || !t.visible:
		return fmt.Errorf("no trade %s: %w", c.OutTradeNo, ErrBillChange)
	case !t.wasPaid():
		return fmt.Errorf("%s is %s: %w", c.OutTradeNo, t.status, ErrBillChange)
	case c.Amount <= 0 || money.Fen(c.Amount) > t.amount-t.refunded:
		return fmt.Errorf("refund %d fen of %s (%d left): %w", c.Amount, c.OutTradeNo, t.amount-t.refunded, ErrBillChange)
	}
	s.seq++
	if c.OutRequestNo == "" {
		c.OutRequestNo = fmt.Sprintf("PORTAL%010d", s.seq)
	}
	if t.refund(c.OutRequestNo) != nil {
		return fmt.Errorf("out_request_no %s exists: %w", c.OutRequestNo, ErrBillChange)
	}
	t.refunds = append(t.refunds, &refundRec{outRequestNo: c.OutRequestNo, amount: money.Fen(c.Amount), reason: "商家中心退款", at: c.At})
	t.refunded += money.Fen(c.Amount)
	if t.refunded == t.amount {
		t.status, t.closedAt = StatusTradeClosed, c.At
	}
	s.log.Info("planted: portal refund", "out_trade_no", t.outTradeNo, "out_request_no", c.OutRequestNo, "amount", c.Amount)
	return nil
}

// CorruptNextBill makes the next bill download serve a truncated zip,
// as a dropped connection would.
func (s *Sandbox) CorruptNextBill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.corruptBill++
}

// billControlRoutes serves the bill controls (see doc.go).
func (s *Sandbox) billControlRoutes(m *http.ServeMux) {
	m.HandleFunc("POST /control/bills", func(w http.ResponseWriter, r *http.Request) {
		var c BillChange
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&c); err != nil {
			controlError(w, http.StatusBadRequest, fmt.Errorf("body: %w", err))
			return
		}
		if err := s.PlantInBill(c); err != nil {
			controlError(w, http.StatusBadRequest, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("POST /control/bills/corrupt_next", func(w http.ResponseWriter, r *http.Request) {
		s.CorruptNextBill()
		w.WriteHeader(http.StatusNoContent)
	})
}
