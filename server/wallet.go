package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/multipos/multipos/server/api"
	"github.com/multipos/multipos/server/connector"
	"github.com/multipos/multipos/server/store"
)

// createWalletOrder is POST /v1/orders: a merchant-presented QR order.
func (s *Server) createWalletOrder(r *http.Request, tid string) (int, any, error) {
	var req api.CreateWalletOrder
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	switch {
	case !validTrace(req.Trace):
		return 0, nil, badRequest("trace %q is not 6 digits", req.Trace)
	case !req.Channel.Wallet():
		return 0, nil, badRequest("channel %q is not a wallet channel", req.Channel)
	case len(req.Subject) > 128:
		return 0, nil, badRequest("subject longer than 128 bytes")
	}
	if err := checkAmount(req.Amount); err != nil {
		return 0, nil, err
	}
	ctx := r.Context()
	now := s.now()
	o, fresh, err := s.journal(ctx, api.Order{TerminalID: tid, Trace: req.Trace, Channel: req.Channel,
		Kind: api.KindWalletQR, Amount: req.Amount, OutTradeNo: outTradeNo(tid, now.Format("20060102150405"), req.Trace)},
		requestHash(string(api.KindWalletQR), string(req.Channel), strconv.FormatInt(req.Amount, 10), req.Subject))
	if err != nil || !fresh {
		return http.StatusOK, o, err
	}
	subject := req.Subject
	if subject == "" {
		subject = s.opts.Merchant.Name
	}
	expires := now.Add(s.opts.QRTTL)
	cctx, cancel := s.callCtx(ctx)
	qr, err := s.opts.Wallets[o.Channel].Precreate(cctx, connector.Precreate{OutTradeNo: o.OutTradeNo,
		Amount: o.Amount, Subject: subject, TerminalID: tid, ExpiresAt: expires})
	cancel()
	var c store.Change
	switch {
	case err == nil:
		c = store.Change{To: api.StatePending, QRContent: qr, ExpiresAt: expires}
	case unknownOutcome(err):
		s.log.Warn("precreate outcome unknown", append(orderAttrs(o), "err", err)...)
		c = store.Change{To: api.StateUnknown, ExpiresAt: expires} // the sweeper closes it then
	default:
		s.log.Warn("precreate refused", append(orderAttrs(o), "err", err)...)
		c = store.Change{To: api.StateFailed, Reason: api.ReasonChannelError}
	}
	o, err = s.settle(context.WithoutCancel(ctx), o, c)
	return http.StatusCreated, o, err
}

// outTradeNo is the order's number at the wallet: the terminal id, the time
// and the trace, letters and digits only, at most 32 characters. Unique as
// long as a terminal does not reuse a trace within a second.
func outTradeNo(tid, stamp, trace string) string {
	var b strings.Builder
	for _, r := range tid {
		if b.Len() == 12 {
			break
		}
		if r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			b.WriteRune(r)
		}
	}
	return b.String() + stamp + trace
}

// cancelOrder is POST /v1/orders/{id}/cancel: the cashier gives up on a QR
// order. The order is closed at the wallet first; if the customer paid in
// the meantime the order comes back SUCCESS instead.
func (s *Server) cancelOrder(r *http.Request, tid string) (int, any, error) {
	o, err := s.ownOrder(r.Context(), tid, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	if !o.Channel.Wallet() {
		return 0, nil, &api.Error{Status: http.StatusConflict, Code: api.CodeNotCancellable,
			Message: "a card sale cannot be cancelled; it needs a void"}
	}
	ctx := context.WithoutCancel(r.Context())
	o = s.settled(ctx, o)
	for range 3 {
		switch {
		case o.State.Final():
			return http.StatusOK, o, nil
		case o.State == api.StateCreated:
			return 0, nil, &api.Error{Status: http.StatusConflict, Code: api.CodeNotCancellable,
				Message: "the order is still being sent to the channel; try again"}
		}
		o, err = s.closeAtChannel(ctx, o, api.ReasonCancelled)
		switch {
		case errors.Is(err, store.ErrStale), errors.Is(err, store.ErrFinal):
			continue // changed meanwhile (a notification): look again
		case errors.Is(err, ErrRefused):
			return 0, nil, channelError("%v", err)
		case err != nil:
			return 0, nil, err
		}
		return http.StatusOK, o, nil
	}
	return http.StatusOK, o, nil
}

// closeAtChannel closes an open wallet order at the wallet and then here.
// When the wallet says it was paid meanwhile, the order becomes SUCCESS.
// A store.ErrStale comes back with the current order when something else
// changed it meanwhile.
func (s *Server) closeAtChannel(ctx context.Context, o api.Order, reason string) (api.Order, error) {
	w := s.opts.Wallets[o.Channel]
	if w == nil {
		return o, channelError("no connector for %s", o.Channel)
	}
	cctx, cancel := s.callCtx(ctx)
	defer cancel()
	err := w.Close(cctx, o.OutTradeNo)
	switch {
	case err == nil, errors.Is(err, connector.ErrNotFound):
		// Not found: the precreate never arrived, so nothing can be paid.
		return s.advance(ctx, o, store.Change{To: api.StateClosed, Reason: reason})
	case errors.Is(err, connector.ErrAlreadyPaid):
		st, qerr := w.Query(cctx, o.OutTradeNo)
		if qerr != nil {
			return o, channelError("%s says order %s is paid, but the query failed: %v", o.Channel, o.ID, qerr)
		}
		return s.applyWalletState(ctx, o, st.State, st.TradeNo, st.Amount, reason)
	default:
		s.log.Warn("close at channel failed", append(orderAttrs(o), "err", err)...)
		return o, channelError("closing order %s at %s: %v", o.ID, o.Channel, err)
	}
}

// applyWalletState moves an open order to what the wallet says. A paid
// amount other than the order's is refused: never mark such an order paid.
func (s *Server) applyWalletState(ctx context.Context, o api.Order, state connector.WalletState, tradeNo string, amount int64, closeReason string) (api.Order, error) {
	var c store.Change
	switch state {
	case connector.WalletPaid:
		if amount != o.Amount {
			s.log.Error("channel reports another amount paid; order left open", append(orderAttrs(o), "channel_amount", amount)...)
			return o, fmt.Errorf("%w: %s reports %d fen paid for order %s of %d fen", ErrRefused, o.Channel, amount, o.ID, o.Amount)
		}
		c = store.Change{To: api.StateSuccess, TradeNo: tradeNo}
	case connector.WalletDeclined:
		c = store.Change{To: api.StateFailed, Reason: api.ReasonCustomerDeclined}
	case connector.WalletClosed:
		c = store.Change{To: api.StateClosed, Reason: closeReason}
	default: // still waiting: nothing to change
		return o, nil
	}
	if o.State == c.To {
		return o, nil
	}
	return s.advance(ctx, o, c)
}
