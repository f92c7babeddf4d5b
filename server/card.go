package server

import (
	"context"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"

	"github.com/multipos/multipos/cards"
	"github.com/multipos/multipos/server/api"
	"github.com/multipos/multipos/server/connector"
	"github.com/multipos/multipos/server/store"
)

// cardSale is POST /v1/card/sales. The full card number, track 2 and PIN
// block go to the acquirer and nowhere else: the journal, the logs and the
// idempotency fingerprint see the masked number only.
func (s *Server) cardSale(r *http.Request, tid string) (int, any, error) {
	var req api.CardSale
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	pinBlock, err := checkCardSale(req)
	if err != nil {
		return 0, nil, err
	}
	masked := cards.Mask(req.PAN)
	ctx := r.Context()
	// The fingerprint leaves the PIN block out (the same PIN encrypts the
	// same way, so it adds nothing) and uses the masked number: a hash of a
	// full card number can be reversed by trying the few possible numbers.
	o, fresh, err := s.journal(ctx, api.Order{TerminalID: tid, Trace: req.Trace, Channel: api.Card,
		Kind: api.KindCardSale, Amount: req.Amount, MaskedPAN: masked, Entry: req.Entry},
		requestHash(string(api.KindCardSale), strconv.FormatInt(req.Amount, 10), masked, req.Expiry, req.Entry))
	if err != nil || !fresh {
		return http.StatusOK, o, err
	}
	cctx, cancel := s.callCtx(ctx)
	res, err := s.opts.Acquirer.Sale(cctx, connector.Sale{TerminalID: tid, MerchantID: s.opts.Merchant.ID,
		Trace: req.Trace, Amount: req.Amount, PAN: req.PAN, Expiry: req.Expiry, Track2: req.Track2,
		Entry: req.Entry, PINBlock: pinBlock})
	cancel()
	var c store.Change
	switch {
	case err == nil && res.Approved():
		c = store.Change{To: api.StateSuccess, ResponseCode: res.ResponseCode, AuthCode: res.AuthCode, RRN: res.RRN, Batch: res.Batch}
	case err == nil:
		c = store.Change{To: api.StateFailed, Reason: api.ReasonDeclined, ResponseCode: res.ResponseCode}
	case unknownOutcome(err):
		// A later issue sends the reversal; until then the order says so.
		s.log.Warn("card sale outcome unknown", append(orderAttrs(o), "err", err)...)
		c = store.Change{To: api.StateUnknown}
	default:
		s.log.Warn("card sale refused by the acquirer link", append(orderAttrs(o), "err", err)...)
		c = store.Change{To: api.StateFailed, Reason: api.ReasonChannelError}
	}
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
