package server

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/cards"
	"github.com/multipos/multipos/internal/ids"
	"github.com/multipos/multipos/server/connector"
	"github.com/multipos/multipos/server/store"
)

// cardVoid is POST /v1/card/voids (消费撤销).
func (s *Server) cardVoid(r *http.Request, t *terminal) (int, any, error) {
	return s.cardAdjust(r, t, api.KindCardVoid)
}

// cardRefund is POST /v1/card/refunds (退货).
func (s *Server) cardRefund(r *http.Request, t *terminal) (int, any, error) {
	return s.cardAdjust(r, t, api.KindCardRefund)
}

// cardAdjust journals a void or refund, checked against its sale and what
// was voided or refunded of it already, then sends it to the acquirer. As
// for a sale, a lost answer leaves it UNKNOWN: reversed at once if the
// acquirer answers that, else by the sweeper.
func (s *Server) cardAdjust(r *http.Request, t *terminal, kind api.Kind) (int, any, error) {
	return journaled(s, r, func(ctx context.Context, rid string, req api.CardAdjust) (moneyCall, error) {
		return s.prepareAdjustment(ctx, t, kind, rid, req)
	})
}

// prepareAdjustment checks a void or refund, its card and its sale before
// anything is journaled.
func (s *Server) prepareAdjustment(ctx context.Context, t *terminal, kind api.Kind, rid string, req api.CardAdjust) (moneyCall, error) {
	icc, err := checkCardData(req.Trace, req.PAN, req.Expiry, req.Track2, req.Entry, req.CardSeq, req.ICC)
	if err != nil {
		return moneyCall{}, err
	}
	if kind == api.KindCardRefund {
		if err := checkAmount(req.Amount); err != nil {
			return moneyCall{}, err
		}
	}
	if err := s.checkCardMAC(ctx, t.ID, req.MACData(kind), req.MAC); err != nil {
		return moneyCall{}, err
	}
	services, ok := s.opts.Acquirer.(connector.CardServices)
	if !ok {
		return moneyCall{}, &api.Error{Status: http.StatusConflict, Code: api.CodeChannelDisabled,
			Message: "this server's bank link does not take voids and refunds"}
	}
	orig, err := s.ownOrder(ctx, t.ID, req.Original)
	if err != nil {
		return moneyCall{}, err
	}
	masked := cards.Mask(req.PAN)
	now := s.now()
	if err := checkAdjustable(orig, kind, masked, req.Amount, s.acquirerDate(orig) == s.mmdd(now)); err != nil {
		return moneyCall{}, err
	}
	n := store.NewAdjustment{
		ID: ids.Prefixed("adj"), TerminalID: t.ID, RequestID: rid, Kind: kind, Trace: req.Trace,
		RequestHash: requestHash(string(kind), req.Original, strconv.FormatInt(req.Amount, 10), masked, req.Trace),
		OriginalID:  orig.ID, Amount: req.Amount, MaskedPAN: masked, Entry: req.Entry, CardSeq: req.CardSeq, Day: s.day(now), At: now,
		CheckAfter: now.Add(s.opts.ChannelTimeout + createdGrace),
	}
	a := connector.CardAdjustment{TerminalID: t.ID, MerchantID: t.MerchantID, Trace: req.Trace,
		PAN: req.PAN, Expiry: req.Expiry, Track2: req.Track2, Entry: req.Entry, CardSeq: req.CardSeq, ICC: icc,
		OrigBatch: orig.Batch, OrigTrace: orig.Trace, OrigRRN: orig.RRN, OrigDate: s.acquirerDate(orig)}
	return moneyCall{
		journal: func(ctx context.Context) (api.Order, *reply, error) { return s.journalAdjustment(ctx, t, n) },
		send: func(ctx context.Context, o api.Order) (api.Order, error) {
			a.Batch, a.Amount = o.Batch, o.Amount
			return s.sendAdjustment(ctx, services, o, a)
		},
	}, nil
}

// checkAdjustable checks a void or refund against its sale as far as the
// sale alone tells (the store checks it against the other adjustments);
// today says whether the sale is of the business day now.
func checkAdjustable(orig api.Order, kind api.Kind, masked string, amount int64, today bool) error {
	switch {
	case orig.Kind != api.KindCardSale || orig.State != api.StateSuccess:
		return notAdjustable(api.AdjustNotApproved, 0, "order %s is not an approved card sale", orig.ID)
	case masked != orig.MaskedPAN:
		return notAdjustable(api.AdjustOtherCard, 0, "card %s is not the card of the sale (%s)", masked, orig.MaskedPAN)
	case kind != api.KindCardVoid:
		return nil
	case amount != 0 && amount != orig.Amount:
		return notAdjustable(api.AdjustVoidAmount, 0, "a void undoes the whole sale of %d fen, not %d fen", orig.Amount, amount)
	case !today:
		// The acquirer's date of the sale against the business day: the
		// acquirer closes its batch at the day's midnight.
		return notAdjustable(api.AdjustNotToday, 0, "%v", store.ErrNotToday)
	}
	return nil
}

// journalAdjustment journals a void or refund; a replay of its request
// comes back as the reply.
func (s *Server) journalAdjustment(ctx context.Context, t *terminal, n store.NewAdjustment) (api.Order, *reply, error) {
	o, replay, err := s.st.CreateAdjustment(ctx, n)
	var refused *store.Refused
	switch {
	case errors.Is(err, store.ErrRequestMismatch):
		return o, nil, &api.Error{Status: http.StatusConflict, Code: api.CodeIdempotencyConflict,
			Message: "request id " + n.RequestID + " was used with other parameters"}
	case errors.Is(err, store.ErrTraceUsed):
		return o, nil, s.traceUsed(t.ID, n.Trace)
	case errors.Is(err, store.ErrSettling):
		return o, nil, batchSettling(err)
	case errors.Is(err, store.ErrVoided):
		return o, nil, notAdjustable(api.AdjustVoided, 0, "%v", err)
	case errors.Is(err, store.ErrRefunded) && errors.As(err, &refused):
		// A void of a sale with refunds would undo more than is left.
		return o, nil, notAdjustable(api.AdjustHasRefunds, refused.Left, "%v", err)
	case errors.As(err, &refused):
		return o, nil, notAdjustable(api.AdjustOverRefund, refused.Left, "%v", err)
	case errors.Is(err, store.ErrNotAdjustable):
		return o, nil, notAdjustable(api.AdjustNotApproved, 0, "%v", err)
	case err != nil:
		return o, nil, err
	case replay:
		// The first call may still be at the bank: answer with its outcome,
		// as a sale's replay does, or as it stands when that takes longer
		// than a call may (then it is UNKNOWN to the terminal, and resolved).
		return o, &reply{http.StatusCreated, s.settledAdjustment(ctx, o)}, nil
	}
	s.usedTrace(t.ID, o.Batch, o.Trace)
	return o, nil, nil
}

// sendAdjustment sends a journaled void or refund to the acquirer and
// records its outcome; a lost answer is reversed at once.
func (s *Server) sendAdjustment(ctx context.Context, services connector.CardServices, o api.Order, a connector.CardAdjustment) (api.Order, error) {
	cctx, cancel := s.callCtx(ctx)
	start := time.Now()
	var (
		res connector.SaleResult
		err error
	)
	if o.Kind == api.KindCardVoid {
		res, err = services.Void(cctx, a)
	} else {
		res, err = services.Refund(cctx, a)
	}
	cancel()
	op := strings.TrimPrefix(string(o.Kind), "card_")
	result := outcome(err)
	c := store.AdjustmentChange{At: s.now()}
	switch {
	case err == nil && res.Approved():
		c.To, c.ResponseCode, c.AuthCode, c.RRN = api.StateSuccess, res.ResponseCode, res.AuthCode, res.RRN
	case err == nil:
		result = "declined"
		c.To, c.Reason, c.ResponseCode = api.StateFailed, api.ReasonDeclined, res.ResponseCode
	case unknownOutcome(err):
		s.log.Warn("card "+op+" outcome unknown; reversing", "id", o.ID, "terminal", o.TerminalID, "trace", o.Trace, "err", err)
		c.To, c.CheckAfter = api.StateUnknown, s.now().Add(unknownRetry)
	default:
		s.log.Warn("card "+op+" refused by the acquirer link", "id", o.ID, "terminal", o.TerminalID, "err", err)
		c.To, c.Reason = api.StateFailed, api.ReasonChannelError
	}
	s.metrics.ChannelCall(string(api.Card), op, result, time.Since(start))
	wctx := context.WithoutCancel(ctx)
	o, err = s.st.SettleAdjustment(wctx, o.ID, o.Version, c)
	if err != nil {
		return o, err
	}
	if o.State == api.StateUnknown {
		// The terminal is waiting: try the reversal now rather than at the
		// next sweep; the sweeper retries it if this fails too.
		if n, err := s.reverseAdjustment(wctx, o); err == nil {
			o = n
		}
	}
	s.log.Info("card "+op, "id", o.ID, "terminal", o.TerminalID, "trace", o.Trace, "original", o.Original, "amount", o.Amount,
		"state", string(o.State), "rc", o.ResponseCode)
	return o, nil
}

// settledAdjustment waits, within a channel call's time, for an adjustment
// to leave CREATED, and returns it as it then stands.
func (s *Server) settledAdjustment(ctx context.Context, o api.Order) api.Order {
	deadline := time.Now().Add(s.opts.ChannelTimeout)
	for o.State == api.StateCreated && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return o
		case <-time.After(20 * time.Millisecond):
		}
		if n, err := s.st.Adjustment(ctx, o.ID); err == nil {
			o = n
		}
	}
	return o
}

// notAdjustable refuses a void or refund: reason is one of api's Adjust*
// reasons, left (for api.AdjustOverRefund) what is left to refund in fen.
func notAdjustable(reason string, left int64, format string, args ...any) error {
	return &api.Error{Status: http.StatusUnprocessableEntity, Code: api.CodeNotAdjustable, Reason: reason, Limit: left,
		Message: fmt.Sprintf(format, args...)}
}

// reverseAdjustment sends the reversal of a void or refund whose answer was
// lost and closes it.
func (s *Server) reverseAdjustment(ctx context.Context, o api.Order) (api.Order, error) {
	t, err := s.st.Terminal(ctx, o.TerminalID)
	if err != nil {
		return o, err
	}
	cctx, cancel := s.callCtx(ctx)
	start := time.Now()
	rev, err := s.adjustmentReversal(ctx, o, t.MerchantID)
	if err == nil {
		err = s.withBankKeys(cctx, o.TerminalID, t.MerchantID, func() error { return s.opts.Acquirer.Reverse(cctx, rev) })
	}
	cancel()
	s.metrics.ChannelCall(string(api.Card), "reverse", outcome(err), time.Since(start))
	reason := api.ReasonReversed
	if errors.Is(err, connector.ErrNothingToReverse) {
		reason, err = api.ReasonNotBooked, nil
	}
	if err != nil {
		next := s.now().Add(unknownRetry)
		if _, serr := s.st.SettleAdjustment(ctx, o.ID, o.Version, store.AdjustmentChange{To: api.StateUnknown,
			At: s.now(), CheckAfter: next}); serr != nil && !errors.Is(serr, store.ErrStale) {
			return o, errors.Join(err, serr)
		}
		return o, channelError("reversing %s %s: %v", o.Kind, o.ID, err)
	}
	return s.st.SettleAdjustment(ctx, o.ID, o.Version, store.AdjustmentChange{To: api.StateClosed, Reason: reason, At: s.now()})
}

// adjustmentReversal is the reversal of a void or refund: a copy of it,
// naming the same original sale.
func (s *Server) adjustmentReversal(ctx context.Context, o api.Order, merchantID string) (connector.Reversal, error) {
	orig, err := s.st.Get(ctx, o.Original)
	if err != nil {
		return connector.Reversal{}, err
	}
	return connector.Reversal{TerminalID: o.TerminalID, MerchantID: merchantID, Kind: strings.TrimPrefix(string(o.Kind), "card_"),
		Trace: o.Trace, Batch: o.Batch, Amount: o.Amount, Entry: o.Entry, CardSeq: o.CardSeq,
		OrigBatch: orig.Batch, OrigTrace: orig.Trace, OrigRRN: orig.RRN, OrigDate: s.acquirerDate(orig)}, nil
}

// sweepAdjustments reverses the voids and refunds whose answers were lost
// (and those left CREATED by a crash once their call would have timed out).
func (s *Server) sweepAdjustments(ctx context.Context) error {
	if s.opts.Acquirer == nil {
		return nil
	}
	due, err := s.st.DueAdjustments(ctx, s.now(), sweepBatch)
	if err != nil {
		return err
	}
	for _, o := range due {
		if _, err := s.reverseAdjustment(ctx, o); err != nil && !errors.Is(err, store.ErrStale) {
			// Not an error of the sweep: reverseAdjustment put it off.
			s.metrics.Sweep("deferred")
			s.log.Warn("could not reverse; will try again", "id", o.ID, "terminal", o.TerminalID, "err", err)
			continue
		}
		s.metrics.Sweep("reversed")
	}
	return nil
}

// cardBalance is POST /v1/card/balance (余额查询). It moves no money, so it
// is not journaled, and a lost answer is just an error to try again.
func (s *Server) cardBalance(r *http.Request, t *terminal) (int, any, error) {
	var req api.CardBalance
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	icc, err := checkCardData(req.Trace, req.PAN, req.Expiry, req.Track2, req.Entry, req.CardSeq, req.ICC)
	if err != nil {
		return 0, nil, err
	}
	b, err := hex.DecodeString(req.PINBlock)
	if err != nil || len(b) != 8 {
		return 0, nil, badRequest("pin_block must be 16 hex digits")
	}
	ctx := r.Context()
	if err := s.checkCardMAC(ctx, t.ID, req.MACData(), req.MAC); err != nil {
		return 0, nil, err
	}
	services, ok := s.opts.Acquirer.(connector.CardServices)
	if !ok {
		return 0, nil, &api.Error{Status: http.StatusConflict, Code: api.CodeChannelDisabled,
			Message: "this server's bank link does not take balance inquiries"}
	}
	batch, err := s.claimTrace(ctx, t.ID, req.Trace, store.TraceBalance)
	if err != nil {
		return 0, nil, err
	}
	cctx, cancel := s.callCtx(ctx)
	start := time.Now()
	res, err := services.Balance(cctx, connector.Sale{TerminalID: t.ID, MerchantID: t.MerchantID, Trace: req.Trace, Batch: batch,
		PAN: req.PAN, Expiry: req.Expiry, Track2: req.Track2, Entry: req.Entry, PINBlock: [8]byte(b), CardSeq: req.CardSeq, ICC: icc})
	cancel()
	s.metrics.ChannelCall(string(api.Card), "balance", outcome(err), time.Since(start))
	if err != nil {
		s.log.Warn("balance inquiry failed", "terminal", t.ID, "trace", req.Trace, "err", err)
		return 0, nil, &api.Error{Status: http.StatusBadGateway, Code: api.CodeChannelError,
			Message: "the bank did not answer the balance inquiry; try again"}
	}
	out := api.Balance{Trace: req.Trace, MaskedPAN: cards.Mask(req.PAN), ResponseCode: res.ResponseCode, Balance: res.Balance}
	if mac, err := s.cardMAC(ctx, t.ID, out.MACData()); err == nil {
		out.MAC = mac
	}
	return http.StatusOK, out, nil
}
