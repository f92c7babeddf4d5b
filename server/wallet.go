package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/multipos/multipos/server/api"
	"github.com/multipos/multipos/server/connector"
	"github.com/multipos/multipos/server/store"
)

// createWalletOrder is POST /v1/orders: a merchant-presented QR order.
func (s *Server) createWalletOrder(r *http.Request, t *terminal) (int, any, error) {
	rid, err := requestID(r)
	if err != nil {
		return 0, nil, err
	}
	var req api.CreateWalletOrder
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	if err := checkWalletOrder(req.Trace, req.Channel, req.Subject, req.Amount, req.SaleID); err != nil {
		return 0, nil, err
	}
	ctx := r.Context()
	now := s.now()
	o, rep, err := s.journal(ctx, t, api.Order{SaleID: req.SaleID, Trace: req.Trace, Channel: req.Channel,
		Kind: api.KindWalletQR, Amount: req.Amount, OutTradeNo: outTradeNo(t.ID, now.Format("20060102150405"), req.Trace)},
		rid, string(api.KindWalletQR),
		requestHash(string(req.Channel), strconv.FormatInt(req.Amount, 10), req.Subject, req.Trace, req.SaleID))
	if err != nil {
		return 0, nil, err
	}
	if rep != nil {
		return rep.status, rep.body, nil
	}
	subject := req.Subject
	if subject == "" {
		subject = t.MerchantName
	}
	expires := now.Add(s.opts.QRTTL)
	cctx, cancel := s.callCtx(ctx)
	start := time.Now()
	qr, err := s.opts.Wallets[o.Channel].Precreate(cctx, connector.Precreate{OutTradeNo: o.OutTradeNo,
		Amount: o.Amount, Subject: subject, TerminalID: t.ID, ExpiresAt: expires})
	cancel()
	s.metrics.ChannelCall(string(o.Channel), "precreate", outcome(err), time.Since(start))
	c := store.Change{Actor: "terminal", Answer: &store.AnswerTo{TerminalID: t.ID, RequestID: rid, Status: http.StatusCreated}}
	switch {
	case err == nil:
		c.To, c.QRContent, c.ExpiresAt = api.StatePending, qr, expires
	case unknownOutcome(err):
		// The sweeper queries and closes it once the code would have expired.
		// No answer is recorded: a replay gets the order as it stands then.
		s.log.Warn("precreate outcome unknown", append(orderAttrs(o), "err", err)...)
		c.To, c.ExpiresAt, c.CheckAfter, c.Answer = api.StateUnknown, expires, now.Add(unknownRetry), nil
	default:
		s.log.Warn("precreate refused", append(orderAttrs(o), "err", err)...)
		c.To, c.Reason = api.StateFailed, api.ReasonChannelError
	}
	o, err = s.settle(context.WithoutCancel(ctx), o, c)
	return http.StatusCreated, o, err
}

// checkWalletOrder checks what a QR order and a code payment both carry.
func checkWalletOrder(trace string, ch api.Channel, subject string, amount int64, saleID string) error {
	switch {
	case !validTrace(trace):
		return badRequest("trace %q is not 6 digits", trace)
	case !ch.Wallet():
		return badRequest("channel %q is not a wallet channel", ch)
	case len(subject) > 128:
		return badRequest("subject longer than 128 bytes")
	}
	if err := checkAmount(amount); err != nil {
		return err
	}
	return checkSaleID(saleID)
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
func (s *Server) cancelOrder(r *http.Request, t *terminal) (int, any, error) {
	o, err := s.ownOrder(r.Context(), t.ID, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	if !o.Channel.Wallet() {
		return 0, nil, &api.Error{Status: http.StatusConflict, Code: api.CodeNotCancellable,
			Message: "a card sale cannot be cancelled; it needs a void"}
	}
	return s.once(r, t, "cancel", requestHash("cancel", o.ID), o.ID, func(ctx context.Context) (int, api.Order, error) {
		o, err := s.cancel(ctx, o)
		return http.StatusOK, o, err
	})
}

func (s *Server) cancel(ctx context.Context, o api.Order) (api.Order, error) {
	if o.State == api.StateCreated {
		cur, err := s.waitFor(ctx, "", o.ID, o.Version, s.opts.ChannelTimeout)
		if err != nil {
			return o, err
		}
		o = cur
	}
	for range 3 {
		switch {
		case o.State.Final():
			return o, nil
		case o.State == api.StateCreated:
			return o, &api.Error{Status: http.StatusConflict, Code: api.CodeNotCancellable,
				Message: "the order is still being sent to the channel; try again"}
		}
		var err error
		o, err = s.closeAtChannel(ctx, o, api.ReasonCancelled, "terminal")
		switch {
		case errors.Is(err, store.ErrStale), errors.Is(err, store.ErrFinal):
			continue // changed meanwhile (a notification): look again
		case errors.Is(err, ErrRefused):
			return o, channelError("%v", err)
		case err != nil:
			return o, err
		}
		return o, nil
	}
	return o, nil
}

// closeAtChannel makes sure an open wallet order can no longer be paid:
// it asks the wallet first (query), applies a result the wallet already
// has, and otherwise closes the order there and then here. A
// store.ErrStale comes back with the current order when something else
// changed it meanwhile.
func (s *Server) closeAtChannel(ctx context.Context, o api.Order, reason, actor string) (api.Order, error) {
	w := s.opts.Wallets[o.Channel]
	if w == nil {
		return o, channelError("no connector for %s", o.Channel)
	}
	cctx, cancel := s.callCtx(ctx)
	defer cancel()
	start := time.Now()
	st, err := w.Query(cctx, o.OutTradeNo)
	s.metrics.ChannelCall(string(o.Channel), "query", outcome(err), time.Since(start))
	switch {
	case err == nil && st.State != connector.WalletWaiting && st.State != connector.WalletPaying:
		return s.applyWalletState(ctx, o, st.State, st.TradeNo, st.Amount, reason, actor)
	case err != nil && !errors.Is(err, connector.ErrNotFound):
		s.log.Warn("query at channel failed", append(orderAttrs(o), "err", err)...)
		return o, channelError("asking %s about order %s: %v", o.Channel, o.ID, err)
	}
	start = time.Now()
	op := "close"
	if o.Kind == api.KindWalletBarcode {
		// A code payment is reversed, not closed: the reversal also gives
		// back money taken in the meantime.
		op = "reverse"
		bw, ok := w.(connector.BarcodeWallet)
		if !ok {
			return o, channelError("no reversal of payment codes at %s", o.Channel)
		}
		err = bw.Reverse(cctx, o.OutTradeNo)
	} else {
		err = w.Close(cctx, o.OutTradeNo)
	}
	s.metrics.ChannelCall(string(o.Channel), op, outcome(err), time.Since(start))
	if errors.Is(err, connector.ErrNotFound) && op == "close" {
		// Alipay knows a QR order only once its code is scanned, so a close
		// finds nothing while the code stays payable: a cancel blocks the
		// order number for good. (Not found there either: the precreate
		// never arrived, and nothing can be paid.)
		if bw, ok := w.(connector.BarcodeWallet); ok {
			start = time.Now()
			rerr := bw.Reverse(cctx, o.OutTradeNo)
			s.metrics.ChannelCall(string(o.Channel), "reverse", outcome(rerr), time.Since(start))
			if rerr != nil && !errors.Is(rerr, connector.ErrNotFound) {
				s.log.Warn("blocking an unscanned order at the channel failed", append(orderAttrs(o), "err", rerr)...)
				return o, channelError("closing order %s at %s: %v", o.ID, o.Channel, rerr)
			}
		}
	}
	switch {
	case err == nil, errors.Is(err, connector.ErrNotFound):
		return s.advance(ctx, o, store.Change{To: api.StateClosed, Reason: reason, Actor: actor})
	case errors.Is(err, connector.ErrAlreadyPaid):
		st, qerr := w.Query(cctx, o.OutTradeNo)
		if qerr != nil {
			return o, channelError("%s says order %s is paid, but the query failed: %v", o.Channel, o.ID, qerr)
		}
		return s.applyWalletState(ctx, o, st.State, st.TradeNo, st.Amount, reason, actor)
	default:
		s.log.Warn("close at channel failed", append(orderAttrs(o), "err", err)...)
		return o, channelError("closing order %s at %s: %v", o.ID, o.Channel, err)
	}
}

// applyWalletState moves an open order to what the wallet says. A paid
// amount other than the order's is refused: never mark such an order paid.
func (s *Server) applyWalletState(ctx context.Context, o api.Order, state connector.WalletState, tradeNo string, amount int64, closeReason, actor string) (api.Order, error) {
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
	c.Actor = actor
	n, err := s.advance(ctx, o, c)
	if errors.Is(err, store.ErrSalePaid) {
		// Another attempt of the sale was paid first: the customer paid
		// twice. The attempt stays open for the operator; never mark a
		// sale paid twice.
		s.log.Error("second payment of a sale that is already paid; refund due", append(orderAttrs(o), "trade_no", tradeNo)...)
		return o, fmt.Errorf("%w: sale %s is already paid by another attempt", ErrRefused, o.SaleID)
	}
	return n, err
}
