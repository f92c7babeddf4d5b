package wallet

import (
	"context"
	"fmt"

	"github.com/multipos/multipos/paycode"
	"github.com/multipos/multipos/server/connector"
)

// Ops of customer-presented codes.
const (
	OpPay     Op = "pay"
	OpReverse Op = "reverse"
	OpRefund  Op = "refund"
)

// CodeBehaviour is what the customer's phone does with a scanned code.
type CodeBehaviour int

const (
	CodePays         CodeBehaviour = iota // paid at once (password-free)
	CodeNeedsConfirm                      // the customer must confirm on the phone (Alipay 10003, WeChat USERPAYING)
	CodeDeclined                          // the balance does not cover it
	CodeInvalid                           // the code expired or was used
	// CodeWrongAmount: paid at once, but at 1 yuan more than asked: a
	// wallet's fault (or a tampered answer) that must never be taken as
	// the order paid.
	CodeWrongAmount
)

// Reasons the wallets give, as the connectors pass them on.
const (
	reasonBalance = "BUYER_BALANCE_NOT_ENOUGH: 买家余额不足"
	reasonCode    = "PAYMENT_AUTH_CODE_INVALID: 付款码无效或已过期"
)

// NextCodes makes the next scanned codes behave as given, in order; after
// them, codes are paid at once.
func (w *Wallet) NextCodes(b ...CodeBehaviour) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.codes = append(w.codes, b...)
}

// Pay charges a customer-presented code. The same out_trade_no with the
// same code and amount answers as it stands (a retried call); with others
// it is refused, as the real services do.
func (w *Wallet) Pay(ctx context.Context, req connector.BarcodePay) (connector.WalletStatus, error) {
	if err := ctx.Err(); err != nil {
		return connector.WalletStatus{}, fmt.Errorf("%s pay: %w: %w", w.brand, connector.ErrUnknownOutcome, err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	f, faulty := w.enter(OpPay)
	if faulty && !f.after {
		return connector.WalletStatus{}, fmt.Errorf("%s pay %s: %w", w.brand, req.OutTradeNo, f.err)
	}
	if err := checkPrecreate(w.brand, connector.Precreate{OutTradeNo: req.OutTradeNo, Amount: req.Amount}); err != nil {
		return connector.WalletStatus{}, fmt.Errorf("%s pay %s: %w", w.brand, req.OutTradeNo, err)
	}
	if t, ok := w.trades[req.OutTradeNo]; ok {
		if !t.barcode || t.amount != req.Amount || t.code != codeDigest(req.AuthCode) {
			return connector.WalletStatus{}, fmt.Errorf("%s pay %s: %w", w.brand, req.OutTradeNo, ErrInconsistent)
		}
		return t.status(), nil
	}
	t := &trade{outTradeNo: req.OutTradeNo, amount: req.Amount, subject: req.Subject, terminalID: req.TerminalID,
		barcode: true, code: codeDigest(req.AuthCode)}
	behaviour := CodePays
	if len(w.codes) > 0 {
		behaviour, w.codes = w.codes[0], w.codes[1:]
	}
	if ch, err := paycode.Classify(req.AuthCode); err != nil || string(ch) != string(w.brand) {
		behaviour = CodeInvalid // the wallet does not know the code
	}
	now := w.opts.Now()
	switch behaviour {
	case CodePays:
		w.seq++
		t.state, t.tradeNo, t.paidAt = connector.WalletPaid, w.tradeNo(now, w.seq), now
	case CodeNeedsConfirm:
		t.state = connector.WalletPaying
	case CodeDeclined:
		t.state, t.reason = connector.WalletDeclined, reasonBalance
	case CodeInvalid:
		t.state, t.reason = connector.WalletDeclined, reasonCode
	case CodeWrongAmount:
		w.seq++
		t.amount += 100
		t.state, t.tradeNo, t.paidAt = connector.WalletPaid, w.tradeNo(now, w.seq), now
	}
	w.trades[req.OutTradeNo] = t
	w.log.Info("code scanned", "out_trade_no", req.OutTradeNo, "code", paycode.Mask(req.AuthCode), "state", string(t.state))
	if faulty {
		return connector.WalletStatus{}, fmt.Errorf("%s pay %s: %w", w.brand, req.OutTradeNo, f.err)
	}
	return t.status(), nil
}

// Confirm plays the customer confirming a code payment on the phone.
func (w *Wallet) Confirm(ctx context.Context, outTradeNo string) error {
	return w.answerCode(ctx, outTradeNo, connector.WalletPaid)
}

// Refuse plays the customer cancelling a code payment on the phone.
func (w *Wallet) Refuse(ctx context.Context, outTradeNo string) error {
	return w.answerCode(ctx, outTradeNo, connector.WalletDeclined)
}

func (w *Wallet) answerCode(ctx context.Context, outTradeNo string, to connector.WalletState) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	t, ok := w.trades[outTradeNo]
	switch {
	case !ok || !t.barcode:
		return fmt.Errorf("%s %s: no code payment: %w", w.brand, outTradeNo, connector.ErrNotFound)
	case t.state != connector.WalletPaying:
		return fmt.Errorf("%s %s: not waiting for the customer (%s): %w", w.brand, outTradeNo, t.state, ErrTradeClosed)
	}
	t.state = to
	if to == connector.WalletPaid {
		now := w.opts.Now()
		w.seq++
		t.tradeNo, t.paidAt = w.tradeNo(now, w.seq), now
	} else {
		t.reason = "USER_CANCELLED: 用户取消支付"
	}
	return nil
}

// Reverse undoes a code payment: one not confirmed is closed, one paid is
// given back and closed. Repeating it is harmless. As the real services'
// answers do, Alipay's says whether money went back (its cancel's action),
// WeChat Pay's does not (its order does: a query).
func (w *Wallet) Reverse(ctx context.Context, outTradeNo string) (connector.Reversed, error) {
	if err := ctx.Err(); err != nil {
		return connector.Reversed{}, fmt.Errorf("%s reverse: %w: %w", w.brand, connector.ErrUnknownOutcome, err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	f, faulty := w.enter(OpReverse)
	if faulty && !f.after {
		return connector.Reversed{}, fmt.Errorf("%s reverse %s: %w", w.brand, outTradeNo, f.err)
	}
	t, ok := w.trades[outTradeNo]
	if !ok {
		return connector.Reversed{}, fmt.Errorf("%s reverse %s: %w", w.brand, outTradeNo, connector.ErrNotFound)
	}
	if t.state == connector.WalletPaid {
		w.log.Info("payment given back", "out_trade_no", outTradeNo, "amount", t.amount)
		t.refunded = t.amount
	}
	t.state = connector.WalletClosed
	if faulty {
		return connector.Reversed{}, fmt.Errorf("%s reverse %s: %w", w.brand, outTradeNo, f.err)
	}
	return connector.Reversed{Refunded: w.brand == Alipay && t.refunded > 0}, nil
}

// Refund gives back part or all of a paid trade; the same OutRefundNo
// repeats the same refund. A full refund closes the trade.
func (w *Wallet) Refund(ctx context.Context, r connector.Refund) (connector.RefundResult, error) {
	if err := ctx.Err(); err != nil {
		return connector.RefundResult{}, fmt.Errorf("%s refund: %w: %w", w.brand, connector.ErrUnknownOutcome, err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	f, faulty := w.enter(OpRefund)
	if faulty && !f.after {
		return connector.RefundResult{}, fmt.Errorf("%s refund %s: %w", w.brand, r.OutRefundNo, f.err)
	}
	t, ok := w.trades[r.OutTradeNo]
	if !ok {
		return connector.RefundResult{}, fmt.Errorf("%s refund %s: %w", w.brand, r.OutTradeNo, connector.ErrNotFound)
	}
	if t.refunds == nil {
		t.refunds = map[string]int64{}
	}
	if _, done := t.refunds[r.OutRefundNo]; !done {
		if t.state != connector.WalletPaid || r.Amount <= 0 || t.refunded+r.Amount > t.amount {
			return connector.RefundResult{}, fmt.Errorf("%s refund %s of %d fen: not refundable", w.brand, r.OutRefundNo, r.Amount)
		}
		t.refunds[r.OutRefundNo] = r.Amount
		t.refunded += r.Amount
		if t.refunded == t.amount {
			t.state = connector.WalletClosed
		}
		w.log.Info("refunded", "out_trade_no", r.OutTradeNo, "out_refund_no", r.OutRefundNo, "amount", r.Amount)
	}
	res := connector.RefundResult{OutRefundNo: r.OutRefundNo, State: connector.RefundSuccess,
		Amount: t.refunds[r.OutRefundNo], Refunded: t.refunded}
	if faulty {
		return connector.RefundResult{}, fmt.Errorf("%s refund %s: %w", w.brand, r.OutRefundNo, f.err)
	}
	return res, nil
}

// QueryRefund answers a refund made with Refund.
func (w *Wallet) QueryRefund(ctx context.Context, outTradeNo, outRefundNo string) (connector.RefundResult, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	t, ok := w.trades[outTradeNo]
	if !ok || t.refunds == nil {
		return connector.RefundResult{}, fmt.Errorf("%s refund %s: %w", w.brand, outRefundNo, connector.ErrNotFound)
	}
	amount, ok := t.refunds[outRefundNo]
	if !ok {
		return connector.RefundResult{}, fmt.Errorf("%s refund %s: %w", w.brand, outRefundNo, connector.ErrNotFound)
	}
	return connector.RefundResult{OutRefundNo: outRefundNo, State: connector.RefundSuccess, Amount: amount, Refunded: t.refunded}, nil
}

// Refunded returns how much of a trade was given back.
func (w *Wallet) Refunded(outTradeNo string) int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	if t, ok := w.trades[outTradeNo]; ok {
		return t.refunded
	}
	return 0
}
