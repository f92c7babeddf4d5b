package server

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/cardkeys"
	"github.com/multipos/multipos/cards"
	"github.com/multipos/multipos/server/connector"
	"github.com/multipos/multipos/server/connector/bank"
	"github.com/multipos/multipos/server/store"
)

// cardSale is POST /v1/card/sales. The full card number, track 2 and PIN
// block go to the acquirer and nowhere else: the journal, the logs and the
// idempotency fingerprint see the masked number only.
func (s *Server) cardSale(r *http.Request, t *terminal) (int, any, error) {
	return journaled(s, r, func(ctx context.Context, rid string, req api.CardSale) (moneyCall, error) {
		pinBlock, icc, err := checkCardSale(req)
		if err != nil {
			return moneyCall{}, err
		}
		if err := s.checkCardMAC(ctx, t.ID, req.MACData(), req.MAC); err != nil {
			return moneyCall{}, err
		}
		if err := checkSaleID(req.SaleID); err != nil {
			return moneyCall{}, err
		}
		masked := cards.Mask(req.PAN)
		o := api.Order{SaleID: req.SaleID, Trace: req.Trace, Channel: api.Card, Kind: api.KindCardSale,
			Amount: req.Amount, MaskedPAN: masked, Entry: req.Entry, CardSeq: req.CardSeq}
		// The fingerprint leaves the PIN block out (the same PIN encrypts the
		// same way, so it adds nothing) and uses the masked number: a hash of a
		// full card number can be reversed by trying the few possible numbers.
		hash := requestHash(strconv.FormatInt(req.Amount, 10), masked, req.Expiry, req.Entry, req.Trace, req.SaleID)
		return s.orderCall(t, rid, o, hash, func(ctx context.Context, o api.Order) store.Change {
			return s.sendSale(ctx, o, connector.Sale{TerminalID: t.ID, MerchantID: t.MerchantID,
				Trace: req.Trace, Batch: o.Batch, Amount: req.Amount, PAN: req.PAN, Expiry: req.Expiry, Track2: req.Track2,
				Entry: req.Entry, PINBlock: pinBlock, CardSeq: req.CardSeq, ICC: icc})
		}), nil
	})
}

// sendSale sends a journaled card sale to the acquirer.
func (s *Server) sendSale(ctx context.Context, o api.Order, sale connector.Sale) store.Change {
	cctx, cancel := s.callCtx(ctx)
	start := time.Now()
	res, err := s.opts.Acquirer.Sale(cctx, sale)
	cancel()
	var c store.Change
	result := outcome(err)
	switch {
	case err == nil && res.Approved():
		// The batch stays the one the trace was claimed in (the bank
		// echoes it): voids, refunds and reversals name the sale by it.
		c.To, c.ResponseCode, c.AuthCode, c.RRN = api.StateSuccess, res.ResponseCode, res.AuthCode, res.RRN
		c.TradeNo = cardTradeNo(res.Date, res.RRN)
	case err == nil:
		result = "declined"
		c.To, c.Reason, c.ResponseCode = api.StateFailed, api.ReasonDeclined, res.ResponseCode
	case unknownOutcome(err):
		// The sweeper reverses it: the bank may have approved it. No answer
		// is recorded, so a replay gets the sale as it stands then.
		s.log.Warn("card sale outcome unknown", append(orderAttrs(o), "err", err)...)
		c.To = api.StateUnknown
	default:
		s.log.Warn("card sale refused by the acquirer link", append(orderAttrs(o), "err", err)...)
		c.To, c.Reason = api.StateFailed, api.ReasonChannelError
	}
	s.metrics.ChannelCall(string(api.Card), "sale", result, time.Since(start))
	return c
}

// checkCardSale validates a card sale and decodes its PIN block and chip
// data. Messages never quote the card number.
func checkCardSale(req api.CardSale) (blk [8]byte, icc []byte, err error) {
	if icc, err = checkCardData(req.Trace, req.PAN, req.Expiry, req.Track2, req.Entry, req.CardSeq, req.ICC); err != nil {
		return blk, nil, err
	}
	if err := checkAmount(req.Amount); err != nil {
		return blk, nil, err
	}
	b, err := hex.DecodeString(req.PINBlock)
	if err != nil || len(b) != len(blk) {
		return blk, nil, badRequest("pin_block must be 16 hex digits")
	}
	copy(blk[:], b)
	return blk, icc, nil
}

// checkCardData validates what every card request carries: the trace and
// the card as read. It returns the chip data decoded.
func checkCardData(trace, pan, expiry, track2, entry, cardSeq, iccHex string) ([]byte, error) {
	if !validTrace(trace) {
		return nil, badRequest("trace %q is not 6 digits", trace)
	}
	if !cards.ValidPAN(pan) {
		return nil, badRequest("card number %s is not valid", cards.Mask(pan))
	}
	if !validExpiry(expiry) {
		return nil, badRequest("expiry must be YYMM")
	}
	switch cards.Entry(entry) {
	case cards.EntryChip, cards.EntrySwipe, cards.EntryContactless:
	default:
		return nil, badRequest("entry %q is not chip, swipe or contactless", entry)
	}
	if len(track2) > 37 { // ISO 7813: track 2 holds at most 37 characters
		return nil, badRequest("track 2 is longer than a stripe holds")
	}
	if track2 != "" {
		p, rest, ok := strings.Cut(strings.ReplaceAll(track2, "D", "="), "=")
		if !ok || p != pan || !strings.HasPrefix(rest, expiry) {
			return nil, badRequest("track 2 does not match the card number and expiry")
		}
	}
	if cardSeq != "" && !validDigits(cardSeq, 3) {
		return nil, badRequest("card_seq must be up to 3 digits")
	}
	icc, err := hex.DecodeString(iccHex)
	if err != nil || len(icc) > 255 {
		return nil, badRequest("icc must be at most 255 bytes of hex")
	}
	return icc, nil
}

func validExpiry(yymm string) bool {
	if len(yymm) != 4 {
		return false
	}
	n, err := strconv.Atoi(yymm)
	return err == nil && n%100 >= 1 && n%100 <= 12 && yymm[0] != '-' && yymm[0] != '+'
}

func validDigits(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// cardSignOn is POST /v1/card/signon (签到): the acquirer issues the
// terminal fresh PIN and MAC working keys under its master key. The server
// keeps them sealed, to check the terminal's MACs and sign its bank
// messages from any instance; the terminal gets them as the bank sent them
// and decrypts them itself.
func (s *Server) cardSignOn(r *http.Request, t *terminal) (int, any, error) {
	var req api.SignOn
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	if !validTrace(req.Trace) {
		return 0, nil, badRequest("trace %q is not 6 digits", req.Trace)
	}
	issuer, ok := s.opts.Acquirer.(connector.KeyIssuer)
	if !ok || s.opts.Keys == nil {
		return 0, nil, &api.Error{Status: http.StatusConflict, Code: api.CodeChannelDisabled,
			Message: "this server's bank link issues no working keys"}
	}
	tmk, ok := s.opts.Keys.MasterKey(t.ID)
	if !ok {
		return 0, nil, fmt.Errorf("sign-on of terminal %s: its master key does not open", t.ID)
	}
	ctx := r.Context()
	batch, err := s.claimTrace(ctx, t.ID, req.Trace, store.TraceSignOn)
	if err != nil {
		return 0, nil, err
	}
	if !req.Renew {
		if ans, ok := s.todaysKeys(ctx, t.ID, tmk); ok {
			return http.StatusOK, ans, nil
		}
	}
	cctx, cancel := s.callCtx(ctx)
	start := time.Now()
	res, err := issuer.IssueKeys(cctx, connector.SignOn{TerminalID: t.ID, MerchantID: t.MerchantID, Trace: req.Trace,
		Batch: batch, MasterKey: tmk})
	cancel()
	s.metrics.ChannelCall(string(api.Card), "signon", outcome(err), time.Since(start))
	if err != nil {
		s.log.Warn("card sign-on failed", "terminal", t.ID, "trace", req.Trace, "err", err)
		if unknownOutcome(err) {
			s.dropKeys(ctx, t.ID, "a sign-on's answer was lost")
		}
		msg := "the bank did not answer the sign-on; try again"
		var d *bank.DeclinedError
		if errors.As(err, &d) {
			msg = "the bank refused the sign-on: " + cards.ResponseText(d.Code, false) + " (" + d.Code + ")"
		}
		return 0, nil, &api.Error{Status: http.StatusBadGateway, Code: api.CodeChannelError, Message: msg}
	}
	at := s.now()
	if err := s.opts.Keys.SaveCardKeys(context.WithoutCancel(ctx), t.ID, res.PINKey, res.MACKey, at); err != nil {
		return 0, nil, err
	}
	s.log.Info("card sign-on", "terminal", t.ID, "trace", req.Trace)
	return http.StatusOK, api.SignedOn{Keys: strings.ToUpper(hex.EncodeToString(res.Keys)), SignedOnAt: at}, nil
}

// todaysKeys is a sign-on's answer with the keys the terminal signed on
// with today, under its master key, as the bank would send them; false
// when there are none (or they do not open: then the bank is asked).
func (s *Server) todaysKeys(ctx context.Context, tid string, tmk []byte) (api.SignedOn, bool) {
	pin, mac, at, err := s.opts.Keys.SignedOn(ctx, tid)
	if err != nil || s.day(at) != s.day(s.now()) {
		return api.SignedOn{}, false
	}
	f62, err := cardkeys.EncodeWorkingKeys(tmk, cardkeys.WorkingKeys{PIN: pin, MAC: mac})
	if err != nil {
		return api.SignedOn{}, false
	}
	s.log.Info("card sign-on: the terminal's keys of today", "terminal", tid, "signed_on_at", at)
	return api.SignedOn{Keys: strings.ToUpper(hex.EncodeToString(f62)), SignedOnAt: at}, true
}

// checkCardMAC checks a card request's MAC under the terminal's MAC key.
// A mismatch is checked again against the keys in the database: the
// terminal may have signed on through another instance since.
func (s *Server) checkCardMAC(ctx context.Context, tid string, data []byte, macHex string) error {
	if s.opts.Keys == nil {
		return nil // a bank link without working keys (tests of other parts)
	}
	got, err := hex.DecodeString(macHex)
	if err != nil || len(got) != cardkeys.MACSize {
		return &api.Error{Status: http.StatusUnauthorized, Code: api.CodeBadMAC,
			Message: "the card request has no MAC (16 hex digits); sign on (签到) and try again"}
	}
	for _, fresh := range []bool{false, true} {
		// A fresh read also puts the new keys in the cache the bank link
		// and the answers' MACs use.
		_, mk, err := s.opts.Keys.CardKeys(ctx, tid, fresh)
		if errors.Is(err, ErrNoCardKeys) {
			return &api.Error{Status: http.StatusConflict, Code: api.CodeSignOnRequired,
				Message: "terminal " + tid + " has not signed on for card payments: sign on (签到) first"}
		}
		if err != nil {
			return err
		}
		k, err := cardkeys.NewMACKey(mk)
		if err != nil {
			return err
		}
		want := k.Compute(data)
		if subtle.ConstantTimeCompare(want[:], got) == 1 {
			return nil
		}
	}
	s.log.Warn("card request with a bad MAC refused", "terminal", tid)
	return &api.Error{Status: http.StatusUnauthorized, Code: api.CodeBadMAC,
		Message: "the card request's MAC does not check: sign on (签到) again"}
}

// macCardOrder adds the MAC to a card order on its way to the terminal,
// whichever endpoint sends it (a sale's answer, its replay, a long-poll, a
// look-up by trace, a void or refund). Anything else passes unchanged.
func (s *Server) macCardOrder(ctx context.Context, tid string, body any) any {
	if s.opts.Keys == nil {
		return body
	}
	var o api.Order
	switch b := body.(type) {
	case api.Order:
		o = b
	case json.RawMessage:
		if !bytes.Contains(b, []byte(`"channel":"card"`)) || json.Unmarshal(b, &o) != nil {
			return body
		}
	default:
		return body
	}
	if o.Channel != api.Card || o.ID == "" {
		return body
	}
	mac, err := s.cardMAC(ctx, tid, o.MACData())
	if err != nil {
		return body // no keys: the terminal cannot check it either, and says so
	}
	o.MAC = mac
	return o
}

// cardMAC is the MAC of data under the terminal's MAC working key.
func (s *Server) cardMAC(ctx context.Context, tid string, data []byte) (string, error) {
	if s.opts.Keys == nil {
		return "", ErrNoCardKeys
	}
	_, mk, err := s.opts.Keys.CardKeys(ctx, tid, false)
	if err != nil {
		return "", err
	}
	k, err := cardkeys.NewMACKey(mk)
	if err != nil {
		return "", err
	}
	sum := k.Compute(data)
	return strings.ToUpper(hex.EncodeToString(sum[:])), nil
}

// cardTradeNo is a card sale's transaction number at the acquirer, as a
// refund or void names its original: the acquirer's date (field 13, MMDD)
// and the RRN, "MMDD/RRN". The date is the acquirer's, not ours: a sale
// journaled at 23:59:59 may be booked the next day.
func cardTradeNo(date, rrn string) string {
	if len(date) != 4 || rrn == "" {
		return ""
	}
	return date + "/" + rrn
}

// acquirerDate is the acquirer's date of a card sale (MMDD): from its
// trade number, or for a sale recorded before trade numbers were kept,
// the business day it was answered on.
func (s *Server) acquirerDate(o api.Order) string {
	if d, _, ok := strings.Cut(o.TradeNo, "/"); ok && len(d) == 4 {
		return d
	}
	return s.mmdd(o.UpdatedAt)
}
