package bank

import (
	"errors"
	"fmt"
	"strings"
)

// Terminal identifies the POS to the acquirer.
type Terminal struct {
	TerminalID string // field 41, ans8
	MerchantID string // field 42, ans15
	Batch      string // 6 digits, the current settlement batch (field 60)
}

// Card is what the terminal read from the card. Leave PINBlock nil when no
// PIN was entered.
type Card struct {
	PAN       string
	Expiry    string // YYMM
	Track2    string
	EntryMode string // field 22, e.g. "051" chip + PIN, "021" stripe + PIN
	CardSeq   string // field 23, chip cards only
	PINBlock  []byte // 8 bytes, ISO 9564 format 0 encrypted under the PIN key
	ICCData   []byte // field 55 TLV, chip cards only
}

// PINSecurityInfo is field 53 when a PIN block is present: 2 = ISO 9564
// format 0 (with PAN), 6 = double-length TDES, then reserved zeros.
const PINSecurityInfo = "2600000000000000"

var errNoAmount = errors.New("bank: amount must be > 0 fen")

func (t Terminal) base(mti, proc, trace string) *Message {
	return &Message{
		MTI:        mti,
		ProcCode:   proc,
		Trace:      trace,
		TerminalID: t.TerminalID,
		MerchantID: t.MerchantID,
	}
}

func (m *Message) setCard(c Card) error {
	if c.PINBlock != nil && len(c.PINBlock) != 8 {
		return fmt.Errorf("bank: PIN block must be 8 bytes, got %d", len(c.PINBlock))
	}
	m.PAN, m.Expiry, m.Track2 = c.PAN, c.Expiry, c.Track2
	m.EntryMode, m.CardSeq, m.ICCData = c.EntryMode, c.CardSeq, c.ICCData
	if n := len(c.CardSeq); n > 0 && n < 3 {
		// Field 23 is n3; the chip's 5F34 has 2 digits.
		m.CardSeq = strings.Repeat("0", 3-n) + c.CardSeq
	}
	if c.PINBlock != nil {
		m.PINBlock = append([]byte(nil), c.PINBlock...)
		m.SecurityInfo = PINSecurityInfo
	}
	return nil
}

// NewSale builds an 0200 purchase.
func (t Terminal) NewSale(trace string, amount int64, c Card) (*Message, error) {
	if amount <= 0 {
		return nil, errNoAmount
	}
	m := t.base(MTISale, ProcSale, trace)
	m.Amount, m.ConditionCode, m.Currency = amount, "00", CurrencyCNY
	m.Field60 = "22" + t.Batch
	return m, m.setCard(c)
}

// NewBalance builds an 0200 balance inquiry (no amount; the PIN is required
// by most issuers).
func (t Terminal) NewBalance(trace string, c Card) (*Message, error) {
	m := t.base(MTISale, ProcBalance, trace)
	m.ConditionCode, m.Currency = "00", CurrencyCNY
	m.Field60 = "01" + t.Batch
	return m, m.setCard(c)
}

// Original identifies the transaction a void, refund or reversal refers to.
type Original struct {
	Batch string // 6 digits
	Trace string // 6 digits
	RRN   string // field 37 of its answer
	Date  string // MMDD, field 13 of its answer (refund only)
}

// NewVoid builds an 0200 void (消费撤销) of a sale in the open batch.
func (t Terminal) NewVoid(trace string, amount int64, c Card, o Original) (*Message, error) {
	if amount <= 0 {
		return nil, errNoAmount
	}
	if len(o.Batch) != 6 || len(o.Trace) != 6 {
		return nil, errors.New("bank: a void names its original's batch and trace")
	}
	m := t.base(MTISale, ProcVoid, trace)
	m.Amount, m.ConditionCode, m.Currency = amount, "00", CurrencyCNY
	m.RRN = o.RRN
	m.Field60 = "23" + t.Batch
	m.Original = o.Batch + o.Trace
	return m, m.setCard(c)
}

// NewRefund builds an 0220 refund (退货) of a settled sale; amount may be
// less than the sale's.
func (t Terminal) NewRefund(trace string, amount int64, c Card, o Original) (*Message, error) {
	if amount <= 0 {
		return nil, errNoAmount
	}
	if len(o.Date) != 4 || len(o.Batch) != 6 || len(o.Trace) != 6 {
		return nil, errors.New("bank: a refund names its original's batch, trace and date MMDD")
	}
	m := t.base(MTIRefund, ProcRefund, trace)
	m.Amount, m.ConditionCode, m.Currency = amount, "00", CurrencyCNY
	m.RRN = o.RRN
	m.Field60 = "25" + t.Batch
	m.Original = o.Batch + o.Trace + o.Date
	return m, m.setCard(c)
}

// NewReversal builds the 0400 for a request whose answer never came: a
// copy of the original as UnionPay POS send it (LYPOS trancomm.c; see the
// notes): the same trace, processing code, amount, entry mode, card
// sequence number, condition code, currency, field 60 with its batch and
// field 61, and field 39 saying why (98: no answer). The PIN, track data,
// RRN (37) and chip data are left out; so is the card number, which the
// host does not need to find the original by terminal, merchant, batch and
// trace.
func NewReversal(orig *Message) *Message {
	return &Message{
		MTI:           MTIReversal,
		ProcCode:      orig.ProcCode,
		Amount:        orig.Amount,
		Trace:         orig.Trace,
		EntryMode:     orig.EntryMode,
		CardSeq:       orig.CardSeq,
		ConditionCode: orig.ConditionCode,
		ResponseCode:  ReversalNoResponse,
		TerminalID:    orig.TerminalID,
		MerchantID:    orig.MerchantID,
		Currency:      orig.Currency,
		Field60:       orig.Field60,
		Original:      orig.Original,
	}
}

// NewSignOn builds the 0800 sign-on asking for double-length working keys.
func (t Terminal) NewSignOn(trace string) *Message {
	m := t.base(MTISignOn, "", trace)
	m.Field60 = "00" + t.Batch + "004"
	return m
}
