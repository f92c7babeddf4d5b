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
	return journaled(s, r, func(ctx context.Context, rid string, req api.CreateWalletOrder) (moneyCall, error) {
		if err := checkWalletOrder(req.Trace, req.Channel, req.Subject, req.Amount, req.SaleID); err != nil {
			return moneyCall{}, err
		}
		now := s.now()
		o := api.Order{SaleID: req.SaleID, Trace: req.Trace, Channel: req.Channel, Kind: api.KindWalletQR,
			Amount: req.Amount, OutTradeNo: outTradeNo(t.ID, now.Format("20060102150405"), req.Trace)}
		hash := requestHash(string(req.Channel), strconv.FormatInt(req.Amount, 10), req.Subject, req.Trace, req.SaleID)
		return s.orderCall(t, rid, o, hash, func(ctx context.Context, o api.Order) store.Change {
			return s.precreate(ctx, t, o, req.Subject, now)
		}), nil
	})
}

// precreate asks the wallet for the QR code of a journaled order.
func (s *Server) precreate(ctx context.Context, t *terminal, o api.Order, subject string, now time.Time) store.Change {
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
	switch {
	case err == nil:
		return store.Change{To: api.StatePending, QRContent: qr, ExpiresAt: expires}
	case unknownOutcome(err):
		// The sweeper queries and closes it once the code would have expired.
		s.log.Warn("precreate outcome unknown", append(orderAttrs(o), "err", err)...)
		return store.Change{To: api.StateUnknown, ExpiresAt: expires, CheckAfter: now.Add(unknownRetry)}
	}
	s.log.Warn("precreate refused", append(orderAttrs(o), "err", err)...)
	return store.Change{To: api.StateFailed, Reason: api.ReasonChannelError}
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
