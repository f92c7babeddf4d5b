package bank

import (
	"errors"
	"fmt"
	"strings"

	"github.com/moov-io/iso8583"
)

// MTIs and processing codes used by the terminal.
const (
	MTISale           = "0200" // sale, void, balance inquiry
	MTISaleResponse   = "0210"
	MTIRefund         = "0220"
	MTIRefundResponse = "0230"
	MTIReversal       = "0400"
	MTIReversalResp   = "0410"
	MTISignOn         = "0800"
	MTISignOnResponse = "0810"

	ProcSale    = "000000"
	ProcVoid    = "200000" // also the refund's, told apart by MTI 0220
	ProcRefund  = "200000"
	ProcBalance = "310000"

	CurrencyCNY = "156"

	// ReversalNoResponse is field 39 of an 0400: the terminal got no answer.
	ReversalNoResponse = "98"
)

// Message is every field the terminal sends or receives, as typed Go values.
// Empty strings and nil slices are absent fields. Field 4 is an int64 in fen:
// an amount of 0 is packed only for message types whose amount is
// mandatory (see Pack), because moov-io skips zero values unless told
// otherwise, and a zero-amount sale is a bug, not a message to send.
type Message struct {
	MTI           string `iso8583:"0"`
	PAN           string `iso8583:"2"`
	ProcCode      string `iso8583:"3"`
	Amount        int64  `iso8583:"4"` // fen
	Trace         string `iso8583:"11"`
	LocalTime     string `iso8583:"12"` // hhmmss
	LocalDate     string `iso8583:"13"` // MMDD
	Expiry        string `iso8583:"14"` // YYMM
	EntryMode     string `iso8583:"22"`
	CardSeq       string `iso8583:"23"`
	ConditionCode string `iso8583:"25"`
	Track2        string `iso8583:"35"`
	RRN           string `iso8583:"37"`
	AuthCode      string `iso8583:"38"`
	ResponseCode  string `iso8583:"39"`
	TerminalID    string `iso8583:"41"`
	MerchantID    string `iso8583:"42"`
	Field48       string `iso8583:"48"` // settlement totals and flags, upload count
	Currency      string `iso8583:"49"`
	PINBlock      []byte `iso8583:"52"` // 8 bytes, encrypted under the PIN key
	SecurityInfo  string `iso8583:"53"`
	ICCData       []byte `iso8583:"55"` // EMV TLV
	Field60       string `iso8583:"60"`
	Original      string `iso8583:"61"`
	Field62       []byte `iso8583:"62"`
	Field63       string `iso8583:"63"` // operator (0500), card organisation (0320)
	MAC           []byte `iso8583:"64"`
}

// amountKept is the same struct shape for Marshal when the amount must be
// sent even if 0 (a reversal or void of a zero amount is still a
// well-formed message to the host).
type amountKept struct {
	Amount int64 `iso8583:"4,keepzero"`
}

// ErrMalformed is returned by Unpack for bytes that are not a message of Spec.
var ErrMalformed = errors.New("bank: malformed ISO 8583 message")

// ToISO converts m to a moov-io message of Spec.
func (m *Message) ToISO() (*iso8583.Message, error) {
	if len(m.MTI) != 4 {
		return nil, fmt.Errorf("bank: MTI %q is not 4 characters", m.MTI)
	}
	// Fields 41 and 42 are fixed width (ans8, ans15): shorter ids are
	// padded with spaces, as acquirers do, and FromISO trims them again.
	padded := *m
	var err error
	if padded.TerminalID, err = pad(m.TerminalID, 8, "terminal id"); err != nil {
		return nil, err
	}
	if padded.MerchantID, err = pad(m.MerchantID, 15, "merchant id"); err != nil {
		return nil, err
	}
	msg := iso8583.NewMessage(Spec)
	if err := msg.Marshal(&padded); err != nil {
		return nil, fmt.Errorf("bank: marshal %s: %w", m.MTI, err)
	}
	if m.Amount == 0 && amountMandatory(m.MTI, m.ProcCode) {
		if err := msg.Marshal(amountKept{}); err != nil {
			return nil, fmt.Errorf("bank: marshal amount: %w", err)
		}
	}
	return msg, nil
}

func amountMandatory(mti, proc string) bool {
	switch mti {
	case MTISale:
		return proc != ProcBalance
	case MTIRefund, MTIReversal:
		return true
	}
	return false
}

// FromISO reads a moov-io message of Spec into a Message.
func FromISO(msg *iso8583.Message) (*Message, error) {
	var m Message
	if err := msg.Unmarshal(&m); err != nil {
		// Not err's text: a parse error can quote the field (a card number
		// in field 2 of an echoed answer).
		return nil, fmt.Errorf("%w: a field does not fit the message spec", ErrMalformed)
	}
	m.TerminalID, m.MerchantID = strings.TrimRight(m.TerminalID, " "), strings.TrimRight(m.MerchantID, " ")
	return &m, nil
}

func pad(id string, width int, what string) (string, error) {
	if id == "" {
		return "", nil
	}
	if len(id) > width {
		return "", fmt.Errorf("bank: %s %q is longer than %d characters", what, id, width)
	}
	return id + strings.Repeat(" ", width-len(id)), nil
}

// Pack encodes m (without the network length header).
func (m *Message) Pack() ([]byte, error) {
	msg, err := m.ToISO()
	if err != nil {
		return nil, err
	}
	b, err := msg.Pack()
	if err != nil {
		return nil, fmt.Errorf("bank: pack %s: %w", m.MTI, err)
	}
	return b, nil
}

// Unpack decodes b. It never panics on hostile input: the host is on the
// other end of a network and a parser crash would take the till down.
func Unpack(b []byte) (m *Message, err error) {
	msg, err := unpackISO(b)
	if err != nil {
		return nil, err
	}
	return FromISO(msg)
}

func unpackISO(b []byte) (msg *iso8583.Message, err error) {
	defer func() {
		if r := recover(); r != nil {
			msg, err = nil, fmt.Errorf("%w: parser panic: %v", ErrMalformed, r)
		}
	}()
	msg = iso8583.NewMessage(Spec)
	if err := msg.Unpack(b); err != nil {
		// moov-io's error text can quote field contents; keep only our word.
		return nil, fmt.Errorf("%w (%d bytes)", ErrMalformed, len(b))
	}
	return msg, nil
}

// String describes m for logs with the PAN masked (first 6, last 4), and the
// track 2, PIN block, ICC data and keys reduced to their lengths.
func (m *Message) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "MTI=%s", m.MTI)
	add := func(name, v string) {
		if v != "" {
			fmt.Fprintf(&sb, " %s=%s", name, v)
		}
	}
	add("PAN", MaskPAN(m.PAN))
	add("proc", m.ProcCode)
	if m.Amount != 0 {
		fmt.Fprintf(&sb, " amount=%dfen", m.Amount)
	}
	add("trace", m.Trace)
	add("time", m.LocalTime)
	add("date", m.LocalDate)
	if m.Expiry != "" {
		add("expiry", "****")
	}
	add("entry", m.EntryMode)
	add("cond", m.ConditionCode)
	if m.Track2 != "" {
		fmt.Fprintf(&sb, " track2=[%d chars]", len(m.Track2))
	}
	add("rrn", m.RRN)
	add("auth", m.AuthCode)
	add("rc", m.ResponseCode)
	add("tid", m.TerminalID)
	add("mid", m.MerchantID)
	add("f48", m.Field48)
	if m.PINBlock != nil {
		fmt.Fprintf(&sb, " pinblock=[%d bytes]", len(m.PINBlock))
	}
	if m.ICCData != nil {
		fmt.Fprintf(&sb, " icc=[%d bytes]", len(m.ICCData))
	}
	add("f60", m.Field60)
	add("f61", m.Original)
	add("f63", m.Field63)
	if m.Field62 != nil {
		fmt.Fprintf(&sb, " f62=[%d bytes]", len(m.Field62))
	}
	if m.MAC != nil {
		sb.WriteString(" mac=present")
	}
	return sb.String()
}

// MaskPAN keeps the first 6 and last 4 digits, as receipts and logs may.
func MaskPAN(pan string) string {
	if pan == "" {
		return ""
	}
	if len(pan) < 13 {
		return strings.Repeat("*", len(pan))
	}
	return pan[:6] + strings.Repeat("*", len(pan)-10) + pan[len(pan)-4:]
}
