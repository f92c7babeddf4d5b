package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/server/connector"
	"github.com/multipos/multipos/server/store"
)

// Closing a wallet order: what the cashier's cancel, an expired QR code, a
// code payment never confirmed, an unknown outcome and a payment of another
// amount all come down to. The rule for a payment that races the close
// ("cancel raced payment") is the package doc's: what the wallet has when
// posserver asks (the query that starts every close) stands; once the order
// is CANCELLING, whatever the customer pays is given back and the order
// ends CLOSED with ReasonRefunded, never SUCCESS.

// errRefundRefused is a refund the wallet ended without giving the money
// back (WeChat Pay's ABNORMAL or CLOSED).
var errRefundRefused = errors.New("the wallet refused the refund")

// closeAtChannel makes sure an open wallet order can no longer be paid
// and that the wallet keeps nothing of it. It asks the wallet first
// (query) and applies a result the wallet already has; otherwise it
// journals the order CANCELLING (reason: why it is closed) and gives back
// what the wallet holds (giveBack). A store.ErrStale comes back with the
// current order when something else changed it meanwhile.
func (s *Server) closeAtChannel(ctx context.Context, o api.Order, reason, actor string) (api.Order, error) {
	w := s.opts.Wallets[o.Channel]
	if w == nil {
		return o, channelError("no connector for %s", o.Channel)
	}
	if o.State == api.StateCancelling {
		return s.giveBack(ctx, o, actor, nil)
	}
	st, err := s.query(ctx, o)
	switch {
	case err == nil && st.State == connector.WalletPaid && st.Amount != o.Amount:
		s.log.Error("the wallet charged another amount than the order's; giving it back",
			append(orderAttrs(o), "channel_amount", st.Amount)...)
		reason = api.ReasonAmountMismatch
	case err == nil && st.State == connector.WalletPaid && reason == api.ReasonDoublePayment:
		// The sale was paid by another attempt: this payment goes back.
	case err == nil && st.State != connector.WalletWaiting && st.State != connector.WalletPaying:
		return s.applyWalletState(ctx, o, st, reason, actor)
	case err != nil && !errors.Is(err, connector.ErrNotFound):
		s.log.Warn("query at channel failed", append(orderAttrs(o), "err", err)...)
		return o, channelError("asking %s about order %s: %v", o.Channel, o.ID, err)
	}
	o, err = s.advance(ctx, o, store.Change{To: api.StateCancelling, Reason: reason, Actor: actor,
		CheckAfter: s.now().Add(unknownRetry)})
	if err != nil {
		return o, err
	}
	return s.giveBack(ctx, o, actor, &queried{st: st, err: err})
}

// queried is a query's answer already in hand.
type queried struct {
	st  connector.WalletStatus
	err error
}

// query asks the wallet about the order, counting the call.
func (s *Server) query(ctx context.Context, o api.Order) (connector.WalletStatus, error) {
	cctx, cancel := s.callCtx(ctx)
	defer cancel()
	start := time.Now()
	st, err := s.opts.Wallets[o.Channel].Query(cctx, o.OutTradeNo)
	s.metrics.ChannelCall(string(o.Channel), "query", outcome(err), time.Since(start))
	return st, err
}

// giveBack finishes a CANCELLING order: it closes it at the wallet (a
// code payment is reversed), has whatever the customer paid given back,
// and records CLOSED, with ReasonRefunded when money went back. When the
// wallet cannot be reached the order stays CANCELLING and the sweeper
// tries again (every step is safe to repeat). known is the query the
// caller just made, if any.
func (s *Server) giveBack(ctx context.Context, o api.Order, actor string, known *queried) (api.Order, error) {
	var (
		refunded bool
		err      error
	)
	if o.Kind == api.KindWalletBarcode {
		refunded, err = s.reverseCode(ctx, o)
	}
	if o.Kind != api.KindWalletBarcode || errors.Is(err, connector.ErrTooLateToReverse) {
		// A QR order; or a code payment past the wallet's reversal window,
		// closed and refunded as a QR order is.
		refunded, err = s.closeQR(ctx, o, known)
	}
	switch {
	case errors.Is(err, errRefundRefused):
		// Neither the customer's nor the merchant's for now (WeChat Pay's
		// ABNORMAL: it left the merchant and did not reach the customer):
		// an operator settles it in the wallet's merchant platform. The
		// order stays open, and says so at every try.
		s.log.Error("a payment made while the order was being closed was not refunded; an operator must settle it",
			append(orderAttrs(o), "err", err)...)
		return o, channelError("closing order %s at %s: %v", o.ID, o.Channel, err)
	case err != nil:
		s.log.Warn("closing at the channel not finished; the sweeper goes on", append(orderAttrs(o), "err", err)...)
		return o, channelError("closing order %s at %s: %v", o.ID, o.Channel, err)
	}
	reason := o.Reason
	if refunded && reason != api.ReasonAmountMismatch && reason != api.ReasonDoublePayment {
		reason = api.ReasonRefunded
	}
	if refunded {
		s.log.Warn("the customer paid while the order was being closed; the wallet gave it back", orderAttrs(o)...)
	}
	return s.advance(ctx, o, store.Change{To: api.StateClosed, Reason: reason, Actor: actor})
}

// reverseCode reverses a code payment: Alipay's cancel and WeChat's
// reverse close it and give back money taken.
func (s *Server) reverseCode(ctx context.Context, o api.Order) (bool, error) {
	bw, ok := s.opts.Wallets[o.Channel].(connector.BarcodeWallet)
	if !ok {
		return false, fmt.Errorf("no reversal of payment codes at %s", o.Channel)
	}
	cctx, cancel := s.callCtx(ctx)
	defer cancel()
	start := time.Now()
	r, err := bw.Reverse(cctx, o.OutTradeNo)
	s.metrics.ChannelCall(string(o.Channel), "reverse", outcome(err), time.Since(start))
	switch {
	case errors.Is(err, connector.ErrNotFound):
		return false, nil // never reached the wallet: nothing to undo
	case err != nil || r.Refunded:
		return r.Refunded, err
	}
	// WeChat Pay's answer does not say whether the customer had paid (a
	// confirmation racing the reversal): its order does.
	if st, qerr := s.query(ctx, o); qerr == nil && st.State == connector.WalletClosed {
		return st.Refunded, nil
	}
	return false, nil
}

// closeQR closes a QR order at its wallet and reports whether money went
// back. Each step is safe to repeat, so the sweeper can run it again after
// a lost answer: it starts from what the wallet says now.
func (s *Server) closeQR(ctx context.Context, o api.Order, known *queried) (bool, error) {
	st, err := s.queryOr(ctx, o, known)
	switch {
	case errors.Is(err, connector.ErrNotFound):
		// Alipay knows a QR order only once its code is scanned: its
		// cancel blocks the number for good, and gives back a payment
		// that lands meanwhile.
		return s.blockUnscanned(ctx, o)
	case err != nil:
		return false, err
	case st.State == connector.WalletPaid:
		return true, s.refundAll(ctx, o, st)
	case st.State == connector.WalletClosed:
		return st.Refunded, nil
	case st.State == connector.WalletDeclined:
		return false, nil
	}
	cctx, cancel := s.callCtx(ctx)
	defer cancel()
	start := time.Now()
	err = s.opts.Wallets[o.Channel].Close(cctx, o.OutTradeNo)
	s.metrics.ChannelCall(string(o.Channel), "close", outcome(err), time.Since(start))
	switch {
	case err == nil:
		return false, nil
	case errors.Is(err, connector.ErrNotFound):
		return s.blockUnscanned(ctx, o)
	case errors.Is(err, connector.ErrAlreadyPaid):
		// Paid between the query and the close: given back.
		st, err := s.query(ctx, o)
		switch {
		case err != nil:
			return false, err
		case st.State == connector.WalletClosed:
			return st.Refunded, nil
		case st.State != connector.WalletPaid:
			return false, fmt.Errorf("%s says order %s is paid, then %s", o.Channel, o.ID, st.State)
		}
		return true, s.refundAll(ctx, o, st)
	}
	return false, err
}

func (s *Server) queryOr(ctx context.Context, o api.Order, known *queried) (connector.WalletStatus, error) {
	if known != nil {
		return known.st, known.err
	}
	return s.query(ctx, o)
}

// blockUnscanned closes a QR order its wallet does not know yet: with a
// reversal where the wallet has one (Alipay's cancel spends the number),
// else there is nothing to close.
func (s *Server) blockUnscanned(ctx context.Context, o api.Order) (bool, error) {
	if _, ok := s.opts.Wallets[o.Channel].(connector.BarcodeWallet); !ok {
		return false, nil
	}
	return s.reverseCode(ctx, o)
}

// refundAll gives back a payment in full (what the wallet says was paid,
// whatever the order's amount), under a refund number made from the
// order's id so that a repeat is the same refund.
func (s *Server) refundAll(ctx context.Context, o api.Order, st connector.WalletStatus) error {
	rf, ok := s.opts.Wallets[o.Channel].(connector.Refunder)
	if !ok {
		return fmt.Errorf("no refunds at %s", o.Channel)
	}
	cctx, cancel := s.callCtx(ctx)
	defer cancel()
	start := time.Now()
	res, err := rf.Refund(cctx, connector.Refund{OutTradeNo: o.OutTradeNo, OutRefundNo: closeRefundNo(o),
		Amount: st.Amount, Total: st.Amount, Reason: "订单已取消 order cancelled"})
	s.metrics.ChannelCall(string(o.Channel), "refund", outcome(err), time.Since(start))
	switch {
	case err != nil:
		return err
	case res.State == connector.RefundSuccess:
		return nil
	case res.State == connector.RefundFailed:
		return fmt.Errorf("refund %s of %d fen: %w", closeRefundNo(o), st.Amount, errRefundRefused)
	}
	return fmt.Errorf("refund of %d fen still processing at %s", st.Amount, o.Channel)
}

// closeRefundNo is the refund number of a payment given back on close.
func closeRefundNo(o api.Order) string { return "rf" + o.ID }

// applyWalletState moves an open order to what the wallet says. A paid
// amount other than the order's is never marked paid: errOtherAmount, and
// the caller closes the order (closeAtChannel gives the money back).
func (s *Server) applyWalletState(ctx context.Context, o api.Order, st connector.WalletStatus, closeReason, actor string) (api.Order, error) {
	var c store.Change
	switch st.State {
	case connector.WalletPaid:
		if st.Amount != o.Amount {
			s.log.Error("channel reports another amount paid", append(orderAttrs(o), "channel_amount", st.Amount)...)
			return o, fmt.Errorf("%w: %s reports %d fen paid for order %s of %d fen", errOtherAmount, o.Channel, st.Amount, o.ID, o.Amount)
		}
		c = store.Change{To: api.StateSuccess, TradeNo: st.TradeNo}
	case connector.WalletDeclined:
		c = store.Change{To: api.StateFailed, Reason: api.ReasonCustomerDeclined}
	case connector.WalletClosed:
		c = store.Change{To: api.StateClosed, Reason: closeReason}
		if st.Refunded {
			c.Reason = api.ReasonRefunded
		}
	default: // still waiting: nothing to change
		return o, nil
	}
	if o.State == c.To {
		return o, nil
	}
	if o.State == api.StateCancelling && c.To == api.StateSuccess {
		// Paid while being closed: the close gives it back.
		return o, nil
	}
	c.Actor = actor
	n, err := s.advance(ctx, o, c)
	if errors.Is(err, store.ErrSalePaid) {
		// Another attempt of the sale was paid first: the customer paid
		// twice. Give this one back.
		s.log.Error("second payment of a sale that is already paid; giving it back", append(orderAttrs(o), "trade_no", st.TradeNo)...)
		return s.closeAtChannel(ctx, o, api.ReasonDoublePayment, actor)
	}
	return n, err
}

// errOtherAmount: the wallet says the order was paid at another amount.
var errOtherAmount = errors.New("paid at another amount")
