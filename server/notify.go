package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/server/connector"
	"github.com/multipos/multipos/server/store"
)

// ErrRefused is returned by Notify for a notification that does not match
// an order (unknown order, other channel, other amount). The channel will
// send it again; it is logged for the operator, never applied.
var ErrRefused = errors.New("notification refused")

// Notify applies a wallet's payment result to its order. It implements
// connector.Notifier. Duplicates are acknowledged without a second change.
// A result contradicting a final order (paid after it was closed) is
// acknowledged and logged as an error: reconciliation settles it, the order
// does not change.
func (s *Server) Notify(ctx context.Context, n connector.Notification) error {
	ch := api.Channel(n.Channel)
	if !ch.Wallet() {
		s.log.Error("notification from an unknown channel refused", "channel", n.Channel, "out_trade_no", n.OutTradeNo)
		return fmt.Errorf("%w: unknown channel %q", ErrRefused, n.Channel)
	}
	// The order as last changed here, if it was: the compare-and-set below
	// finds out if it has changed since.
	o, ok := s.hub.knownByOutTradeNo(ch, n.OutTradeNo)
	var err error
	if !ok {
		o, err = s.st.ByOutTradeNo(ctx, ch, n.OutTradeNo)
	}
	if errors.Is(err, store.ErrNotFound) {
		s.metrics.Notification(n.Channel, "refused")
		s.log.Error("notification for an unknown order refused", "channel", n.Channel, "out_trade_no", n.OutTradeNo,
			"state", string(n.State), "amount", n.Amount)
		return fmt.Errorf("%w: no %s order %s", ErrRefused, ch, n.OutTradeNo)
	}
	if err != nil {
		return fmt.Errorf("notify %s %s: %w", ch, n.OutTradeNo, err)
	}
	if n.Amount != o.Amount {
		s.log.Error("notification amount differs from the order; refused, and the order is looked into now", append(orderAttrs(o),
			"notified_amount", n.Amount, "notified_state", string(n.State))...)
		if !o.State.Final() {
			// The sweeper asks the wallet at once: a payment of another
			// amount is given back, never taken.
			if err := s.st.Postpone(ctx, o.ID, o.Version, s.now()); err != nil {
				s.log.Warn("could not bring the order's check forward", append(orderAttrs(o), "err", err)...)
			}
		}
		// Counted once handled: who sees the count sees the order due.
		s.metrics.Notification(n.Channel, "refused")
		return fmt.Errorf("%w: %s order %s is %d fen, notification says %d", ErrRefused, ch, n.OutTradeNo, o.Amount, n.Amount)
	}
	if o.State == api.StateCancelling {
		// Being closed: what the customer paid meanwhile is given back by
		// the close, which records how the order ended.
		s.metrics.Notification(n.Channel, "duplicate")
		return nil
	}
	if walletTarget(n.State) == api.StateClosed && !o.State.Final() &&
		(o.Kind == api.KindWalletBarcode || s.now().Before(o.ExpiresAt)) {
		// Before its code expires an order is closed at the wallet by our
		// own hand (the cashier's cancel, a code payment's reversal), and
		// that flow records why once the wallet has answered: the wallet's
		// notice of it must not get there first with a reason of its own.
		// Anything else the sweeper's next query settles.
		s.metrics.Notification(n.Channel, "duplicate")
		return nil
	}
	for range 5 {
		if o.State.Final() {
			switch target := walletTarget(n.State); {
			case target == api.StateSuccess && givenBack(o):
				s.log.Info("notification of a payment that was given back as the order closed", orderAttrs(o)...)
			case target != "" && target != o.State:
				s.log.Error("notification contradicts a final order; left for reconciliation",
					append(orderAttrs(o), "notified_state", string(n.State), "trade_no", n.TradeNo)...)
			}
			s.metrics.Notification(n.Channel, "duplicate")
			return nil
		}
		before := o.Version
		o, err = s.applyWalletState(ctx, o, connector.WalletStatus{OutTradeNo: n.OutTradeNo, TradeNo: n.TradeNo,
			State: n.State, Amount: n.Amount}, api.ReasonExpired, "notification")
		if o.State == api.StateCancelling {
			s.metrics.Notification(n.Channel, "duplicate")
			return nil
		}
		if !errors.Is(err, store.ErrStale) && !errors.Is(err, store.ErrFinal) {
			if err == nil && o.Version > before {
				s.metrics.Notification(n.Channel, "applied")
			}
			return err
		}
	}
	return fmt.Errorf("notify %s %s: order keeps changing", ch, n.OutTradeNo)
}

// givenBack reports an order closed with the customer's payment given back.
func givenBack(o api.Order) bool {
	return o.State == api.StateClosed &&
		(o.Reason == api.ReasonRefunded || o.Reason == api.ReasonAmountMismatch || o.Reason == api.ReasonDoublePayment)
}

// walletTarget is the order state a wallet state leads to ("" for none).
func walletTarget(s connector.WalletState) api.State {
	switch s {
	case connector.WalletPaid:
		return api.StateSuccess
	case connector.WalletDeclined:
		return api.StateFailed
	case connector.WalletClosed:
		return api.StateClosed
	}
	return ""
}
