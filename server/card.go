package server

import (
	"context"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/multipos/multipos/cards"
	"github.com/multipos/multipos/server/api"
	"github.com/multipos/multipos/server/connector"
	"github.com/multipos/multipos/server/store"
)

// cardSale is POST /v1/card/sales. The full card number, track 2 and PIN
// block go to the acquirer and nowhere else: the journal, the logs and the
// idempotency fingerprint see the masked number only.
func (s *Server) cardSale(r *http.Request, t *terminal) (int, any, error) {
	rid, err := requestID(r)
	if err != nil {
		return 0, nil, err
	}
	var req api.CardSale
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	pinBlock, err := checkCardSale(req)
	if err != nil {
		return 0, nil, err
	}
	if err := checkSaleID(req.SaleID); err != nil {
		return 0, nil, err
	}
	masked := cards.Mask(req.PAN)
	ctx := r.Context()
	// The fingerprint leaves the PIN block out (the same PIN encrypts the
	// same way, so it adds nothing) and uses the masked number: a hash of a
	// full card number can be reversed by trying the few possible numbers.
	o, rep, err := s.journal(ctx, t, api.Order{SaleID: req.SaleID, Trace: req.Trace, Channel: api.Card,
		Kind: api.KindCardSale, Amount: req.Amount, MaskedPAN: masked, Entry: req.Entry},
		rid, string(api.KindCardSale),
		requestHash(strconv.FormatInt(req.Amount, 10), masked, req.Expiry, req.Entry, req.Trace, req.SaleID))
	if err != nil {
		return 0, nil, err
	}
	if rep != nil {
		return rep.status, rep.body, nil
	}
	cctx, cancel := s.callCtx(ctx)
	start := time.Now()
	res, err := s.opts.Acquirer.Sale(cctx, connector.Sale{TerminalID: t.ID, MerchantID: t.MerchantID,
		Trace: req.Trace, Amount: req.Amount, PAN: req.PAN, Expiry: req.Expiry, Track2: req.Track2,
		Entry: req.Entry, PINBlock: pinBlock})
	cancel()
	c := store.Change{Actor: "terminal", Answer: &store.AnswerTo{TerminalID: t.ID, RequestID: rid, Status: http.StatusCreated}}
	result := outcome(err)
	switch {
	case err == nil && res.Approved():
		c.To, c.ResponseCode, c.AuthCode, c.RRN, c.Batch = api.StateSuccess, res.ResponseCode, res.AuthCode, res.RRN, res.Batch
	case err == nil:
		result = "declined"
		c.To, c.Reason, c.ResponseCode = api.StateFailed, api.ReasonDeclined, res.ResponseCode
	case unknownOutcome(err):
		// The sweeper reverses it: the bank may have approved it. No answer
		// is recorded, so a replay gets the sale as it stands then.
		s.log.Warn("card sale outcome unknown", append(orderAttrs(o), "err", err)...)
		c.To, c.Answer = api.StateUnknown, nil
	default:
		s.log.Warn("card sale refused by the acquirer link", append(orderAttrs(o), "err", err)...)
		c.To, c.Reason = api.StateFailed, api.ReasonChannelError
	}
	s.metrics.ChannelCall(string(api.Card), "sale", result, time.Since(start))
	o, err = s.settle(context.WithoutCancel(ctx), o, c)
	return http.StatusCreated, o, err
}

// checkCardSale validates a card sale and decodes its PIN block. Messages
// never quote the card number.
func checkCardSale(req api.CardSale) ([8]byte, error) {
	var blk [8]byte
	if !validTrace(req.Trace) {
		return blk, badRequest("trace %q is not 6 digits", req.Trace)
	}
	if err := checkAmount(req.Amount); err != nil {
		return blk, err
	}
	if !cards.ValidPAN(req.PAN) {
		return blk, badRequest("card number %s is not valid", cards.Mask(req.PAN))
	}
	if !validExpiry(req.Expiry) {
		return blk, badRequest("expiry must be YYMM")
	}
	switch cards.Entry(req.Entry) {
	case cards.EntryChip, cards.EntrySwipe, cards.EntryContactless:
	default:
		return blk, badRequest("entry %q is not chip, swipe or contactless", req.Entry)
	}
	if req.Track2 != "" {
		pan, rest, ok := strings.Cut(strings.ReplaceAll(req.Track2, "D", "="), "=")
		if !ok || pan != req.PAN || !strings.HasPrefix(rest, req.Expiry) {
			return blk, badRequest("track 2 does not match the card number and expiry")
		}
	}
	b, err := hex.DecodeString(req.PINBlock)
	if err != nil || len(b) != len(blk) {
		return blk, badRequest("pin_block must be 16 hex digits")
	}
	copy(blk[:], b)
	return blk, nil
}

func validExpiry(yymm string) bool {
	if len(yymm) != 4 {
		return false
	}
	n, err := strconv.Atoi(yymm)
	return err == nil && n%100 >= 1 && n%100 <= 12 && yymm[0] != '-' && yymm[0] != '+'
}
