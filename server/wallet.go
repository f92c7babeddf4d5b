package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/multipos/multipos/api"
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
		n, err := s.closeAtChannel(ctx, o, api.ReasonCancelled, "terminal")
		switch {
		case errors.Is(err, store.ErrStale), errors.Is(err, store.ErrFinal):
			o = n
			continue // changed meanwhile (a notification, the sweeper): look again
		case err != nil && n.State == api.StateCancelling:
			// The cancel is journaled: the sweeper finishes it at the
			// wallet, and the terminal follows the order to its end.
			return n, nil
		case err != nil:
			return n, err
		}
		return n, nil
	}
	return o, nil
}
