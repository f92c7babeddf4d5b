package reconcile

import "time"

// Channel names a wallet whose bills are matched, or the card acquirer.
type Channel string

const (
	Alipay Channel = "alipay"
	WeChat Channel = "wechat"
	Card   Channel = "card" // the acquirer's daily settlement file
)

// Kind says whether a line or entry is a payment or a refund.
type Kind uint8

const (
	Payment Kind = iota
	Refund
)

func (k Kind) String() string {
	if k == Refund {
		return "refund"
	}
	return "payment"
}

// Line is one line of a channel's bill.
type Line struct {
	Channel     Channel
	Kind        Kind
	Row         int // 1-based position among the bill's detail rows
	At          time.Time
	Store       string // the store and terminal the channel was told, for the reports
	Terminal    string
	OutTradeNo  string
	TradeNo     string // the channel's number of the trade
	OutRefundNo string // refunds: ours (out_refund_no, out_request_no)
	RefundNo    string // refunds: the channel's, where it has one
	RefundState string // refunds: as the bill says (WeChat), "" when it says nothing
	Amount      int64  // fen, positive: the order's amount, or the amount refunded
	Settle      int64  // fen, payments: what the channel settles (商家实收, 应结订单金额)
	// FeeMilli is the channel's fee in 0.001 fen: positive charged,
	// negative given back (on a refund).
	FeeMilli int64

	// *CardLine is a card line's own (Channel Card); nil on a wallet's,
	// whose bills run to a million lines.
	*CardLine
}

// CardLine is what a line of the acquirer's file carries beyond a
// wallet's (Kind Refund for voids and refunds), keyed by Terminal, Batch
// and Trace as the terminal sent them.
type CardLine struct {
	Merchant  string
	Batch     string
	Trace     string
	RRN       string
	AuthCode  string
	TxnType   string // sale, void or refund
	SettleDay string // 2006-01-02: the day the acquirer settled it (its file's date)
}

// OrderState is a wallet order's state in the journal.
type OrderState uint8

const (
	OrderPending  OrderState = iota // in flight: the outcome is not known yet
	OrderPaid                       // paid (refunds are separate entries)
	OrderFailed                     // declined
	OrderClosed                     // closed unpaid, or cancelled
	OrderReversed                   // paid, then reversed (冲正/撤销)
)

var orderStates = [...]string{"pending", "paid", "failed", "closed", "reversed"}

func (s OrderState) String() string {
	if int(s) < len(orderStates) {
		return orderStates[s]
	}
	return "unknown"
}

// RefundState is a refund's state in the journal.
type RefundState uint8

const (
	RefundPending RefundState = iota
	RefundDone
	RefundFailed
)

// Order is a wallet order of the journal.
type Order struct {
	Channel    Channel
	OutTradeNo string
	TradeNo    string // the channel's, if the journal learnt it
	Amount     int64  // fen
	State      OrderState
	Day        string // its business day (2006-01-02), in the chain's zone
}

// RefundEntry is a wallet refund of the journal.
type RefundEntry struct {
	Channel     Channel
	OutTradeNo  string
	OutRefundNo string
	Amount      int64 // fen
	State       RefundState
	Day         string // the business day it was asked for
}

// Journal is what the journal holds for the day being reconciled, and
// possibly for its neighbours (see the package doc).
type Journal struct {
	Orders  []Order
	Refunds []RefundEntry
	Cards   []CardEntry
	prep    *prepared // Prepare's
}

// Class is what matching found.
type Class uint8

const (
	Matched Class = iota
	ChannelOnly
	JournalOnly
	AmountDiffers
	StateDiffers
	RefundDiffers
)

var classes = [...]string{"matched", "channel_only", "journal_only", "amount_differs", "state_differs", "refund_differs"}

func (c Class) String() string {
	if int(c) < len(classes) {
		return classes[c]
	}
	return "unknown"
}

// Result is the outcome for one bill line, or for a journal entry no line
// matched. Line, Order and Refund index the inputs; -1 where there is none.
type Result struct {
	Class         Class
	Kind          Kind
	Channel       Channel
	Line          int
	Order         int
	Refund        int
	OutTradeNo    string
	OutRefundNo   string
	ChannelAmount int64  // fen, as the bill says
	JournalAmount int64  // fen, as the journal says
	Note          string // why, in English for logs and audit; screens translate Class
	// Card results: the entry of Journal.Cards (-1 where there is none)
	// and the key of the line or entry.
	Card                   int
	Terminal, Batch, Trace string
	// Neighbour marks the result of a card line of another day's file,
	// passed only to match (see the package doc): its own day's run
	// reports it; store only the others.
	Neighbour bool
}

// Totals is what a channel's bill says for the day. Net is what the
// channel settles: what it took for the payments less refunds and fees.
type Totals struct {
	Channel  Channel
	Payments int
	Refunds  int
	Gross    int64 // fen, the payments' amounts
	Settled  int64 // fen, what the channel takes in for them (after discounts)
	Refunded int64 // fen
	FeeMilli int64 // 0.001 fen
	Fees     int64 // fen, FeeMilli rounded half away from zero
	Net      int64 // fen, Settled - Refunded - Fees
}

// Report is the outcome of matching one day.
type Report struct {
	Day     string
	Results []Result // the lines' in line order, then the journal's left over, sorted
	Totals  []Totals // by channel name
}

// Count returns how many results have class c.
func (r *Report) Count(c Class) int {
	n := 0
	for i := range r.Results {
		if r.Results[i].Class == c {
			n++
		}
	}
	return n
}
