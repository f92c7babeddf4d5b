package acquirer

import "time"

// TxnType is the kind of a ledger entry.
type TxnType string

// Ledger entry types.
const (
	Sale   TxnType = "sale"
	Void   TxnType = "void"
	Refund TxnType = "refund"
)

// Entry is one financial request the host decided, approved or not, keyed
// by terminal, merchant, batch and trace. Balance inquiries move no money
// and are not kept.
type Entry struct {
	Type         TxnType
	TerminalID   string
	MerchantID   string
	Batch        string // field 60.2
	Trace        string
	Original     string // key of the sale a void or refund refers to (terminal|merchant|batch|trace)
	Amount       int64  // fen
	MaskedPAN    string
	ResponseCode string
	Approved     bool
	RRN          string
	AuthCode     string
	At           time.Time
	Date         string // MMDD, field 13 of the answer
	Reversed     bool   // undone by an 0400
	Voided       bool   // sales only: voided by an approved, unreversed void
	Refunded     int64  // sales only: fen refunded so far
	EntryMode    string // field 22 as received, e.g. 051 chip with PIN
	ICCBytes     int    // length of the chip data in field 55 (0: none came)
	// Set through the control API or by settlement, so the host's books
	// can differ from the terminal's (see DropEntry, AddEntry):
	Lost     bool // dropped from the host's books; back when an upload brings it
	Planted  bool // booked by the control API, never sent by the terminal
	Excluded bool // not in the terminal's upload: left out of its settled batch
	// ListedOn is the day (YYYYMMDD) whose settlement file lists the
	// entry: the day its batch closed, or the host's day cut; "" until then.
	ListedOn string

	cardID string // test card ID, to credit the card back without keeping its PAN
	sent   sent   // the fields its reversal must copy
}

// Charged is what the entry moves, in fen, from the cardholder's point of
// view: for a sale, its amount less refunds, or 0 once voided or reversed;
// 0 for voids and refunds themselves.
func (e Entry) Charged() int64 {
	// Voids and refunds show up in their sale's Voided and Refunded, so
	// counting them here too would credit the cardholder twice.
	if e.Type != Sale || !e.Approved || e.Reversed || e.Voided {
		return 0
	}
	return e.Amount - e.Refunded
}

// Ledger returns a copy of the ledger, oldest first.
func (h *Host) Ledger() []Entry {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Entry(nil), h.ledger...)
}

// Result is the settlement file's result column for e: the response code
// for a decline, otherwise approved, voided or reversed.
func (e Entry) Result() string {
	switch {
	case !e.Approved:
		return "declined-" + e.ResponseCode
	case e.Excluded:
		return "excluded"
	case e.Reversed:
		return "reversed"
	case e.Voided:
		return "voided"
	}
	return "approved"
}

// SettlementFile is the name of day's settlement file.
func SettlementFile(day time.Time) string {
	return "settlement-" + day.Format("20060102") + ".csv"
}
