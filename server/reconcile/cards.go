package reconcile

import (
	"github.com/multipos/multipos/server/connector/bank"
)

// CardKind is what a card entry of the journal is.
type CardKind uint8

const (
	CardSale   CardKind = iota // card_sale
	CardVoid                   // card_void (消费撤销)
	CardRefund                 // card_refund (退货)
)

var cardKinds = [...]string{"sale", "void", "refund"}

func (k CardKind) String() string {
	if int(k) < len(cardKinds) {
		return cardKinds[k]
	}
	return "unknown"
}

// CardEntry is a card transaction of the journal: a sale (transactions,
// channel card) or a void or refund (card_adjustments), keyed as the
// terminal sent it. State is, for a sale: OrderPaid (SUCCESS; a voided
// sale stays paid, its void is an entry of its own, as in the file),
// OrderPending (outcome unknown), OrderFailed (declined), OrderReversed
// (CLOSED, reversed) or OrderClosed (CLOSED, not booked); for a void or
// refund: OrderPaid when done, OrderPending in flight, OrderFailed or
// OrderClosed when it did not happen.
type CardEntry struct {
	Kind      CardKind
	Terminal  string
	Merchant  string
	Batch     string
	Trace     string
	RRN       string // the acquirer's, from the answer; "" if none came
	AuthCode  string
	Amount    int64 // fen
	State     OrderState
	OrigBatch string // voids and refunds: the sale's batch and trace
	OrigTrace string
	Day       string // its business day (2006-01-02)
}

// FromSettlementFile turns the rows of the acquirer's settlement file
// (bank.ParseSettlementFile) into lines, in the file's order. Sales are
// payments, voids and refunds are refunds; the fee is the file's,
// positive charged and negative given back.
func FromSettlementFile(rows []bank.SettleRow) []Line {
	lines := make([]Line, len(rows))
	for i := range rows {
		r := &rows[i]
		l := Line{Channel: Card, Kind: Payment, Row: i + 1, At: r.At, Terminal: r.Terminal,
			CardLine: &CardLine{Merchant: r.Merchant, Batch: r.Batch, Trace: r.Trace, RRN: r.RRN, AuthCode: r.AuthCode,
				TxnType: r.Type, SettleDay: r.SettleDate},
			Amount: r.Amount, Settle: r.Amount, FeeMilli: r.Fee * 1000}
		if r.Type != "sale" {
			l.Kind, l.Settle = Refund, 0
		}
		lines[i] = l
	}
	return lines
}

// cardIndex finds the journal's card entries by terminal, batch and trace,
// and by terminal and RRN.
type cardIndex struct {
	byKey map[string]int32
	byRRN map[string]int32
	seen  []bool
}

func cardKey(terminal, batch, trace string) string { return terminal + "|" + batch + "|" + trace }

func (m *matcher) buildCards() {
	cs := m.j.Cards
	m.cards = cardIndex{byKey: make(map[string]int32, len(cs)), byRRN: make(map[string]int32, len(cs)), seen: make([]bool, len(cs))}
	for i := range cs {
		c := &cs[i]
		m.cards.byKey[cardKey(c.Terminal, c.Batch, c.Trace)] = int32(i)
		if c.RRN != "" {
			m.cards.byRRN[c.Terminal+"|"+c.RRN] = int32(i)
		}
	}
}

// matchCards decides the card lines.
func (m *matcher) matchCards() {
	m.buildCards()
	// The day's own lines first: another day's file only takes what is left.
	for _, neighbours := range []bool{false, true} {
		for i := range m.lines {
			if l := &m.lines[i]; l.Channel == Card && l.neighbour(m.day) == neighbours {
				m.res[i] = m.cardLine(i)
			}
		}
	}
}

// cardEntry finds the line's journal entry: by terminal, batch and trace,
// or by RRN when the file has no trace or batch. ok is false when the key
// names an entry of another RRN: another transaction.
func (m *matcher) cardEntry(l *Line) (ci int, ok bool) {
	if l.Trace != "" && l.Batch != "" {
		i, found := m.cards.byKey[cardKey(l.Terminal, l.Batch, l.Trace)]
		if !found {
			return -1, true
		}
		c := &m.j.Cards[i]
		if l.RRN != "" && c.RRN != "" && l.RRN != c.RRN {
			return int(i), false
		}
		return int(i), true
	}
	if i, found := m.cards.byRRN[l.Terminal+"|"+l.RRN]; found && l.RRN != "" {
		return int(i), true
	}
	return -1, true
}

// neighbour says l is a card line of another day's file than day's.
func (l *Line) neighbour(day string) bool {
	c := l.Card()
	return l.Channel == Card && c.SettleDay != "" && c.SettleDay != day
}

// noCard is what Card gives for a line without card fields.
var noCard CardLine

// Card is the line's card fields: empty ones for a wallet's line, or for a
// card line made without them (matched by none). Not to be changed.
func (l *Line) Card() *CardLine {
	if l.CardLine == nil {
		return &noCard
	}
	return l.CardLine
}

func (m *matcher) cardLine(i int) Result {
	r := m.cardResult(i)
	r.Neighbour = m.lines[i].neighbour(m.day)
	return r
}

func (m *matcher) cardResult(i int) Result {
	l := &m.lines[i]
	if l.CardLine == nil { // a card line without its keys: matched by none
		c := *l
		c.CardLine = l.Card()
		l = &c
	}
	r := m.lineResult(i, Matched, "")
	r.Terminal, r.Batch, r.Trace = l.Terminal, l.Batch, l.Trace
	ci, ok := m.cardEntry(l)
	what := l.TxnType
	if what == "" {
		what = "transaction"
	}
	switch {
	case !ok && l.Kind == Payment:
		r.Class, r.Note = ChannelOnly, "settled by the acquirer, another RRN than the journal's under that trace"
		return r
	case !ok:
		r.Class, r.Note = RefundDiffers, "a "+what+" at the acquirer, another RRN than the journal's under that trace"
		return r
	case ci < 0 && l.Kind == Payment:
		r.Class, r.Note = ChannelOnly, "settled by the acquirer, not in the journal"
		return r
	case ci < 0:
		r.Class, r.Note = RefundDiffers, "a "+what+" at the acquirer, not in the journal"
		return r
	}
	c := &m.j.Cards[ci]
	r.Card, r.JournalAmount = ci, c.Amount
	r.Batch, r.Trace = c.Batch, c.Trace
	if m.cards.seen[ci] {
		r.Class, r.Note = ChannelOnly, "a second line for one transaction"
		if l.Kind == Refund {
			r.Class = RefundDiffers
		}
		return r
	}
	m.cards.seen[ci] = true
	if l.Kind == Payment {
		r.Class, r.Note = cardSale(l, c)
	} else {
		r.Class, r.Note = cardAdjustment(l, c)
	}
	return r
}

// cardSale compares a sale line with its journal entry.
func cardSale(l *Line, c *CardEntry) (Class, string) {
	switch {
	case c.Kind != CardSale:
		return StateDiffers, "a sale at the acquirer, a " + c.Kind.String() + " in the journal"
	case c.State == OrderPaid && c.Amount == l.Amount:
		return Matched, ""
	case c.State == OrderPaid:
		return AmountDiffers, "sale amounts differ"
	}
	return StateDiffers, "the acquirer settled a sale the journal shows " + c.State.String()
}

// cardAdjustment compares a void or refund line with its journal entry.
func cardAdjustment(l *Line, c *CardEntry) (Class, string) {
	switch {
	case c.Kind == CardSale:
		return RefundDiffers, "a " + l.TxnType + " at the acquirer, a sale in the journal"
	case l.TxnType != "" && l.TxnType != c.Kind.String():
		return RefundDiffers, "a " + l.TxnType + " at the acquirer, a " + c.Kind.String() + " in the journal"
	case c.Amount != l.Amount:
		return RefundDiffers, c.Kind.String() + " amounts differ"
	case c.State == OrderPaid:
		return Matched, ""
	case c.State == OrderPending:
		return RefundDiffers, "settled by the acquirer, in flight in the journal"
	}
	return RefundDiffers, "settled by the acquirer, " + c.State.String() + " in the journal"
}

// cardLeftOver reports the day's card entries that moved money and that
// no line matched.
func (m *matcher) cardLeftOver() {
	for i := range m.j.Cards {
		c := &m.j.Cards[i]
		if m.cards.seen[i] || c.Day != m.day || c.State != OrderPaid {
			continue
		}
		r := Result{Class: JournalOnly, Kind: Payment, Channel: Card, Line: -1, Order: -1, Refund: -1, Card: i,
			Terminal: c.Terminal, Batch: c.Batch, Trace: c.Trace, JournalAmount: c.Amount,
			Note: "approved in the journal, not in the acquirer's file"}
		if c.Kind != CardSale {
			r.Class, r.Kind, r.Note = RefundDiffers, Refund, "a "+c.Kind.String()+" done in the journal, not in the acquirer's file"
		}
		m.res = append(m.res, r)
	}
}
