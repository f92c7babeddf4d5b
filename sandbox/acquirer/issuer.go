package acquirer

import (
	"crypto/rand"
	"fmt"
	"time"

	"github.com/multipos/multipos/cardkeys"
	"github.com/multipos/multipos/cards"
	"github.com/multipos/multipos/server/connector/bank"
)

// decide is called with h.mu held. It returns the answer and whether to send it.
func (h *Host) decide(req *bank.Message, raw []byte) (*bank.Message, bool) {
	resp := answerTo(req, h.opts.Now())
	if req.MTI == bank.MTISignOn {
		return h.signOn(req, resp), true
	}
	k, ok := h.keys[req.TerminalID]
	if !ok || !macOK(k.MAC, raw) {
		// Not cached: a request with a bad MAC is not the terminal's, and its
		// genuine repeat must still be processed.
		resp.ResponseCode = CodeBadMAC
		return resp, true
	}
	key, ok := msgKey(req)
	if !ok {
		resp.ResponseCode = CodeFormatError // no batch in field 60
		return resp, true
	}
	switch req.MTI {
	case bank.MTISettle:
		return h.settle(req, resp), true
	case bank.MTIBatchUpload:
		return h.batchUpload(req, resp), true
	case bank.MTIReversal:
		return h.reversal(req, resp, key), true
	}
	if h.closedBatch(req.TerminalID, req.MerchantID, req.Field60[2:8]) {
		// Settled: whatever it is, it belongs to the terminal's next batch.
		resp.ResponseCode = CodeBatchClosed
		return resp, true
	}
	h.calls++
	fp := fingerprint(req)
	if prev, ok := h.seen[key]; ok {
		if prev.fp == fp {
			// A repeat (the terminal never saw our answer): same answer,
			// nothing booked again.
			a := prev.answer
			return &a, answered(req)
		}
		// Another message under a trace the batch has used: a host never
		// books it, whatever it is.
		h.log.Warn("trace used again in the batch: refused", "key", key, "mti", req.MTI, "proc", req.ProcCode)
		resp.ResponseCode = CodeDuplicate
		return resp, true
	}
	if h.orphans[key] {
		// Its reversal came first (the original was late): it is void.
		h.log.Warn("original after its reversal: refused", "key", key)
		resp.ResponseCode = CodeDuplicate
		return resp, true
	}
	switch {
	case req.MTI == bank.MTISale && req.ProcCode == bank.ProcSale:
		h.sale(req, resp, k, key)
	case req.MTI == bank.MTISale && req.ProcCode == bank.ProcVoid:
		h.void(req, resp, k, key)
	case req.MTI == bank.MTISale && req.ProcCode == bank.ProcBalance:
		h.balance(req, resp, k)
	case req.MTI == bank.MTIRefund && req.ProcCode == bank.ProcRefund:
		h.refund(req, resp, k, key)
	default:
		resp.ResponseCode = CodeInvalidTxn
	}
	h.seen[key] = seenMsg{fp: fp, answer: *resp}
	return resp, answered(req)
}

// answered is false for the NoAnswer card's requests (not its reversals,
// which carry no PAN): they are decided and booked, and every repeat too
// goes unanswered, so the terminal's only way out is the reversal.
func answered(req *bank.Message) bool {
	c, ok := findCard(req.PAN)
	return !ok || c.Behaviour != NoAnswer || req.MTI == bank.MTIReversal
}

func macOK(key, raw []byte) bool {
	mk, err := cardkeys.NewMACKey(key)
	return err == nil && mk.VerifyBytes(raw) == nil
}

// answerTo copies what the answer echoes (no PIN, track 2 or MAC).
func answerTo(req *bank.Message, now time.Time) *bank.Message {
	resp := *req
	if len(req.MTI) == 4 && req.MTI[2] < '9' {
		resp.MTI = req.MTI[:2] + string(req.MTI[2]+1) + req.MTI[3:]
	}
	resp.PINBlock, resp.SecurityInfo, resp.Track2, resp.MAC, resp.ICCData = nil, "", "", nil, nil
	resp.Field62, resp.ResponseCode, resp.AuthCode = nil, "", ""
	resp.LocalTime, resp.LocalDate = now.Format("150405"), now.Format("0102")
	return &resp
}

func (h *Host) signOn(req, resp *bank.Message) *bank.Message {
	tmk, ok := h.opts.MasterKey(req.TerminalID)
	if !ok {
		resp.ResponseCode = CodeUnknownTerminal
		return resp
	}
	k := cardkeys.WorkingKeys{PIN: randomKey(), MAC: randomKey()}
	f62, err := cardkeys.EncodeWorkingKeys(tmk, k)
	if err != nil {
		h.log.Error("sign-on: bad master key", "terminal", req.TerminalID, "err", err)
		resp.ResponseCode = CodeUnknownTerminal
		return resp
	}
	h.keys[req.TerminalID] = k
	resp.Field62, resp.ResponseCode = f62, CodeApproved
	return resp
}

func randomKey() []byte {
	k := make([]byte, 16)
	_, _ = rand.Read(k) // crypto/rand.Read never fails
	return k
}

// cardID names the test card with that PAN ("" for none), so that the
// ledger and balances need not hold full PANs.
func cardID(pan string) string {
	c, _ := findCard(pan)
	return c.ID
}

func findCard(pan string) (TestCard, bool) {
	for _, c := range TestCards() {
		if c.PAN == pan {
			return c, true
		}
	}
	return TestCard{}, false
}

// checkCard runs the issuer's card and PIN checks in a host's order and
// returns the refusal code, or "" when the cardholder is verified.
func (h *Host) checkCard(req *bank.Message, k cardkeys.WorkingKeys, needPIN bool) (TestCard, string) {
	c, ok := findCard(req.PAN)
	if !ok || req.Expiry != c.Expiry {
		return c, CodeInvalidCard
	}
	if c.Behaviour == Expired || c.Expiry < h.opts.Now().Format("0601") {
		return c, CodeExpiredCard
	}
	if h.pinFails[c.ID] >= MaxPINTries {
		return c, CodePINTriesExceeded
	}
	if req.PINBlock == nil {
		if needPIN {
			return c, CodeIncorrectPIN
		}
		return c, ""
	}
	if !h.pinOK(req, c, k) {
		h.pinFails[c.ID]++
		if h.pinFails[c.ID] >= MaxPINTries {
			return c, CodePINTriesExceeded
		}
		return c, CodeIncorrectPIN
	}
	h.pinFails[c.ID] = 0
	return c, ""
}

func (h *Host) pinOK(req *bank.Message, c TestCard, k cardkeys.WorkingKeys) bool {
	if len(req.PINBlock) != 8 || c.Behaviour == RefusePIN {
		return false
	}
	clearBlock, err := cards.DecryptPINBlock(k.PIN, [8]byte(req.PINBlock))
	if err != nil {
		return false
	}
	pin, err := cards.PINFromBlock0(clearBlock, req.PAN)
	clear(clearBlock[:])
	return err == nil && pin == c.PIN
}

// issuer applies the card's behaviour to a debit of amount fen.
func (h *Host) issuer(c TestCard, amount int64) string {
	switch c.Behaviour {
	case Insufficient:
		return CodeInsufficientFunds
	case IssuerUnavailable:
		return CodeIssuerUnavailable
	}
	if amount > h.balances[c.ID] {
		return CodeInsufficientFunds
	}
	return ""
}

func (h *Host) approve(resp *bank.Message) {
	h.seq++
	now := h.opts.Now()
	resp.ResponseCode = CodeApproved
	resp.RRN = fmt.Sprintf("%s%06d", now.Format("060102"), h.seq%1_000_000)
	resp.AuthCode = fmt.Sprintf("%06d", (h.seq*7919)%1_000_000)
}

func (h *Host) book(req, resp *bank.Message, typ TxnType, key, orig string) {
	now := h.opts.Now()
	e := Entry{
		Type: typ, TerminalID: req.TerminalID, MerchantID: req.MerchantID, Batch: req.Field60[2:8], Trace: req.Trace,
		Amount: req.Amount, MaskedPAN: bank.MaskPAN(req.PAN), ResponseCode: resp.ResponseCode,
		Approved: resp.ResponseCode == CodeApproved, RRN: resp.RRN, AuthCode: resp.AuthCode,
		Original: orig, At: now, Date: now.Format("0102"), cardID: cardID(req.PAN),
		EntryMode: req.EntryMode, ICCBytes: len(req.ICCData), sent: sentFields(req),
	}
	h.byKey[key] = len(h.ledger)
	h.ledger = append(h.ledger, e)
}

func (h *Host) sale(req, resp *bank.Message, k cardkeys.WorkingKeys, key string) {
	c, code := h.checkCard(req, k, true)
	if code == "" && req.Amount <= 0 {
		code = CodeInvalidAmount
	}
	if code == "" {
		code = h.issuer(c, req.Amount)
	}
	if code != "" {
		resp.ResponseCode = code
	} else {
		h.approve(resp)
		h.balances[c.ID] -= req.Amount
	}
	h.book(req, resp, Sale, key, "")
}

func (h *Host) balance(req, resp *bank.Message, k cardkeys.WorkingKeys) {
	c, code := h.checkCard(req, k, true)
	if code == "" && c.Behaviour == IssuerUnavailable {
		code = CodeIssuerUnavailable
	}
	if code != "" {
		resp.ResponseCode = code
		return
	}
	h.approve(resp)
	resp.Amount = h.balances[c.ID] // see doc.go: no field 54 in bank.Spec
}

// original finds the sale field 61 points at (batch 6 + trace 6 [+ MMDD])
// and returns it with its key.
func (h *Host) original(req *bank.Message) (*Entry, string) {
	if len(req.Original) < 12 {
		return nil, ""
	}
	key := keyOf(req.TerminalID, req.MerchantID, req.Original[:6], req.Original[6:12])
	i, ok := h.byKey[key]
	if !ok || h.ledger[i].Type != Sale {
		return nil, ""
	}
	return &h.ledger[i], key
}

func (h *Host) void(req, resp *bank.Message, k cardkeys.WorkingKeys, key string) {
	o, origKey := h.original(req)
	code := ""
	switch {
	case o == nil:
		code = CodeNotFound
	case !o.Approved || o.Voided || o.Reversed || o.Refunded > 0 || o.cardID != cardID(req.PAN) ||
		o.At.Format("20060102") != h.opts.Now().Format("20060102") || h.closedBatch(o.TerminalID, o.MerchantID, o.Batch):
		code = CodeInvalidTxn
	case req.Amount != o.Amount:
		code = CodeInvalidAmount
	}
	if code == "" {
		_, code = h.checkCard(req, k, false)
	}
	if code != "" {
		resp.ResponseCode = code
	} else {
		h.approve(resp)
		o.Voided = true
		h.balances[cardID(req.PAN)] += req.Amount
	}
	h.book(req, resp, Void, key, origKey)
}

func (h *Host) refund(req, resp *bank.Message, k cardkeys.WorkingKeys, key string) {
	o, origKey := h.original(req)
	code := ""
	switch {
	case o == nil:
		code = CodeNotFound
	case len(req.Original) != 16 || req.Original[12:] != o.Date:
		code = CodeNotFound // the date is part of how the original is named
	case !o.Approved || o.Voided || o.Reversed || o.cardID != cardID(req.PAN):
		code = CodeInvalidTxn
	case req.Amount <= 0 || o.Refunded+req.Amount > o.Amount:
		code = CodeInvalidAmount
	}
	if code == "" {
		_, code = h.checkCard(req, k, false)
	}
	if code != "" {
		resp.ResponseCode = code
	} else {
		h.approve(resp)
		o.Refunded += req.Amount
		h.balances[cardID(req.PAN)] += req.Amount
	}
	h.book(req, resp, Refund, key, origKey)
}

// reversal decides an 0400. It must name one original exactly, as a real
// host requires: found by terminal, merchant, batch and trace, and its
// copied fields (processing code, amount, entry mode, card sequence
// number, condition code, currency, field 60, field 61) agreeing with
// what was sent. Then the original is undone if it was booked approved
// (00 either way). A reversal that names nothing is refused with 25, and
// the key remembered, so that an original arriving after it is refused
// too. One that disagrees with its original is refused with 12 and
// undoes nothing: a bug of the sender must show, not be guessed around.
func (h *Host) reversal(req, resp *bank.Message, key string) *bank.Message {
	if prev, ok := h.revAnswer[key]; ok {
		a := prev
		return &a // a repeat
	}
	if h.closedBatch(req.TerminalID, req.MerchantID, req.Field60[2:8]) {
		// Settled: too late to undo anything in it.
		resp.ResponseCode = CodeBatchClosed
		return resp
	}
	if h.failRev > 0 && h.strikes(req, key, h.failRevArm) {
		h.failRev--
		resp.ResponseCode = h.failCode
		return resp // not kept: the repeat is decided again
	}
	i, ok := h.byKey[key]
	if !ok {
		h.log.Info("reversal of nothing booked", "key", key)
		h.orphans[key] = true
		resp.ResponseCode = CodeNotFound
		h.revAnswer[key] = *resp
		return resp
	}
	e := &h.ledger[i]
	if got := sentFields(req); got != e.sent {
		h.log.Warn("reversal does not match its original: refused", "key", key, "sent", got.String(), "original", e.sent.String())
		resp.ResponseCode = CodeInvalidTxn
		return resp
	}
	resp.ResponseCode = CodeApproved
	h.revAnswer[key] = *resp
	h.undo(e)
	return resp
}

// undo takes back what an entry moved.
func (h *Host) undo(e *Entry) {
	if !e.Approved || e.Reversed {
		return
	}
	e.Reversed = true
	var o *Entry
	if j, ok := h.byKey[e.Original]; ok && e.Original != "" {
		o = &h.ledger[j]
	}
	switch e.Type {
	case Sale:
		h.balances[e.cardID] += e.Amount
	case Void:
		if o != nil {
			o.Voided = false
		}
		h.balances[e.cardID] -= e.Amount
	case Refund:
		if o != nil {
			o.Refunded -= e.Amount
		}
		h.balances[e.cardID] -= e.Amount
	}
}
