package campaign

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/sandbox/acquirer"
	"github.com/multipos/multipos/server/store"
)

// FindingKind is which invariant broke.
type FindingKind string

const (
	// Lost: a sale the terminal saw as paid that the journal does not have.
	Lost FindingKind = "lost"
	// DoubleCharged: more money kept at the channels for a sale than its amount.
	DoubleCharged FindingKind = "double-charged"
	// Disagreement: the journal and a channel's books tell different
	// stories (paid here, nothing kept there; money kept there for what
	// the journal failed, closed or reversed; a transaction one has and
	// the other not), or the daily totals are not what was paid.
	Disagreement FindingKind = "disagreement"
	// Stuck: a transaction not final after its deadline.
	Stuck FindingKind = "stuck"
)

// Finding is one broken invariant, with what each side says.
type Finding struct {
	Kind    FindingKind
	Key     string // the same breakage found again has the same key
	What    string // what broke, in a line
	Sale    *Sale  // the terminal's sale it concerns, when known
	Journal string // what the journal says
	Channel string // what the channel kept
	TxIDs   []string
}

// WalletBook is what a wallet keeps of one order.
type WalletBook struct {
	Channel    api.Channel
	OutTradeNo string
	TerminalID string // when the wallet knows it
	Found      bool   // the wallet has the order
	State      string // trade_status / trade_state
	Amount     int64
	Refunded   int64
	Paid       bool  // money moved at some point
	Kept       int64 // what the wallet still holds for the merchant: paid less refunded
}

// Books are the journal and each channel's own books, as read after a run
// settled.
type Books struct {
	Journal store.Snapshot
	Wallets map[string]WalletBook // by channel + "/" + out_trade_no
	Bank    []acquirer.LedgerEntry
	// AllWallets: Wallets holds every order of the wallets (the final
	// check), so an order the journal lacks is a disagreement.
	AllWallets bool
}

func walletKey(ch api.Channel, outTradeNo string) string { return string(ch) + "/" + outTradeNo }

// Scope is which part of the books a check covers.
type Scope struct {
	// Since: the run's transactions are those created since; they are
	// checked for being stuck, and their wallet orders read. Card sales
	// and totals are checked whole, as later voids, refunds and reversals
	// change them.
	Since time.Time
	Now   time.Time
	// Deadline is when a transaction must be final (adjustment: a void
	// or refund).
	Deadline func(tx store.JournalTx, adjustment bool) time.Time
}

// checker holds the indexes of one check.
type checker struct {
	b        Books
	sc       Scope
	sales    []*Sale
	tx       map[string]store.JournalTx
	reqTx    map[string]string            // terminal|request id → transaction
	adjsOf   map[string][]store.JournalTx // sale transaction → its voids and refunds
	bankBy   map[string][]int             // terminal|batch|trace|type → ledger positions
	bankUsed map[int]bool
	saleOf   map[string]*Sale // transaction → the terminal's sale that made it
	flagged  map[string]bool  // transactions already found in disagreement
	out      []Finding
}

// Check compares what the terminals lived with the journal and the
// channels' books and returns every broken invariant.
func Check(sales []*Sale, b Books, sc Scope) []Finding {
	c := &checker{b: b, sc: sc, sales: sales, tx: map[string]store.JournalTx{}, reqTx: map[string]string{},
		adjsOf: map[string][]store.JournalTx{}, bankBy: map[string][]int{}, bankUsed: map[int]bool{},
		saleOf: map[string]*Sale{}, flagged: map[string]bool{}}
	c.index()
	for _, s := range sales {
		c.lost(s)
	}
	for _, tx := range b.Journal.Transactions {
		c.transaction(tx)
	}
	for _, adj := range b.Journal.Adjustments {
		c.adjustment(adj)
	}
	for _, s := range sales {
		c.adjustmentSeen(s)
	}
	c.doubleCharged()
	c.bankOrphans()
	c.walletOrphans()
	c.totals()
	return c.out
}

func (c *checker) index() {
	for _, tx := range c.b.Journal.Transactions {
		c.tx[tx.ID] = tx
	}
	for _, r := range c.b.Journal.Requests {
		c.reqTx[r.TerminalID+"|"+r.RequestID] = r.TxID
	}
	for _, a := range c.b.Journal.Adjustments {
		c.adjsOf[a.Original] = append(c.adjsOf[a.Original], a)
	}
	for i, e := range c.b.Bank {
		k := e.TerminalID + "|" + e.Batch + "|" + e.Trace + "|" + e.Type
		c.bankBy[k] = append(c.bankBy[k], i)
	}
	for _, s := range c.sales {
		for _, id := range c.made(s) {
			c.saleOf[id] = s
		}
	}
	// Every card transaction takes its bank entry now, so that an entry
	// none takes is one the journal does not have.
	for _, tx := range c.b.Journal.Transactions {
		if tx.Channel == api.Card {
			c.bankEntry(tx.TerminalID, tx.Batch, tx.Trace, "sale", tx.RRN, tx.Amount)
		}
	}
	for _, a := range c.b.Journal.Adjustments {
		c.bankEntry(a.TerminalID, a.Batch, a.Trace, strings.TrimPrefix(string(a.Kind), "card_"), a.RRN, a.Amount)
	}
}

// made lists the journal's transactions the sale's attempts created, by
// their request ids (not by what the server answered).
func (c *checker) made(s *Sale) []string {
	var out []string
	for _, a := range s.Attempts {
		for _, rid := range a.RequestIDs {
			if id, ok := c.reqTx[s.Terminal+"|"+rid]; ok && !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	return out
}

func (c *checker) add(f Finding) { c.out = append(c.out, f) }

// describe is what the journal says of a transaction.
func describe(tx store.JournalTx) string {
	s := fmt.Sprintf("%s %s %s trace %s %s %s", tx.ID, tx.Kind, tx.Channel, tx.Trace, yuan(tx.Amount), tx.State)
	if tx.SaleID != "" {
		s = fmt.Sprintf("%s (sale %s) %s %s trace %s %s %s", tx.ID, tx.SaleID, tx.Kind, tx.Channel, tx.Trace, yuan(tx.Amount), tx.State)
	}
	if tx.Reason != "" {
		s += " (" + tx.Reason + ")"
	}
	if tx.ResponseCode != "" {
		s += " rc " + tx.ResponseCode
	}
	return s
}

// lost: the terminal saw the sale paid; the journal must have that payment,
// SUCCESS, of the sale's amount, made by one of the sale's own requests.
func (c *checker) lost(s *Sale) {
	if !s.Paid {
		return
	}
	tx, ok := c.tx[s.PaidBy]
	why := ""
	switch {
	case !ok:
		why = "the journal has no transaction " + s.PaidBy
	case tx.State != api.StateSuccess:
		why = "the journal's transaction is " + string(tx.State)
	case tx.Amount != s.Amount:
		why = fmt.Sprintf("the journal's transaction is of %s, the sale of %s", yuan(tx.Amount), yuan(s.Amount))
	case !slices.Contains(c.made(s), tx.ID):
		why = "the order the terminal was shown paid was made by another request (another sale's, of trace " + tx.Trace + ")"
	default:
		return
	}
	f := Finding{Kind: Lost, Key: "lost:" + s.Terminal + ":" + s.PaidBy + ":" + fmt.Sprint(s.Run, "/", s.N), Sale: s,
		What: "a sale the terminal saw paid is not in the journal: " + why, TxIDs: []string{s.PaidBy}}
	if ok {
		f.Journal = describe(tx)
		f.Channel = c.keptText(tx)
	}
	c.add(f)
}

// kept is what the channel holds for a transaction; known is false when
// the channel's books for it were not read (a wallet order of an earlier
// run, checked then).
func (c *checker) kept(tx store.JournalTx) (kept int64, known bool) {
	if tx.Channel == api.Card {
		if e := c.bankEntry(tx.TerminalID, tx.Batch, tx.Trace, "sale", tx.RRN, tx.Amount); e != nil {
			return e.Charged, true
		}
		return 0, true
	}
	w, ok := c.b.Wallets[walletKey(tx.Channel, tx.OutTradeNo)]
	if !ok {
		return 0, false
	}
	return w.Kept, true
}

func (c *checker) keptText(tx store.JournalTx) string {
	if tx.Channel == api.Card {
		return c.bankText(tx)
	}
	w, ok := c.b.Wallets[walletKey(tx.Channel, tx.OutTradeNo)]
	switch {
	case !ok:
		return string(tx.Channel) + ": not read"
	case !w.Found:
		return string(tx.Channel) + ": no order " + tx.OutTradeNo
	}
	return fmt.Sprintf("%s: %s %s paid=%v refunded %s, keeps %s", tx.Channel, w.OutTradeNo, w.State, w.Paid, yuan(w.Refunded), yuan(w.Kept))
}

// bankText is what the bank's ledger has under the sale's trace and the
// traces of its voids and refunds: every entry, whatever its type, since a
// trace used twice is where the bank and the journal part ways.
func (c *checker) bankText(tx store.JournalTx) string {
	traces := []string{tx.Batch + "/" + tx.Trace}
	for _, a := range c.adjsOf[tx.ID] {
		traces = append(traces, a.Batch+"/"+a.Trace)
	}
	var parts []string
	for _, e := range c.b.Bank {
		if e.TerminalID != tx.TerminalID || !slices.Contains(traces, e.Batch+"/"+e.Trace) {
			continue
		}
		s := fmt.Sprintf("#%d %s trace %s %s rc %s", e.Index, e.Type, e.Trace, yuan(e.Amount), e.ResponseCode)
		switch {
		case e.Reversed:
			s += " reversed"
		case e.Voided:
			s += " voided"
		}
		if e.Type == "sale" {
			s += fmt.Sprintf(", refunded %s, charges %s", yuan(e.Refunded), yuan(e.Charged))
		}
		parts = append(parts, s+" at "+e.At)
	}
	if len(parts) == 0 {
		return "the bank has nothing under batch/trace " + strings.Join(traces, ", ")
	}
	return "bank: " + strings.Join(parts, "; ")
}

// bankEntry finds the ledger entry of a terminal's trace in a batch: by
// RRN when the journal has one, else the latest of that amount. It marks
// it used.
func (c *checker) bankEntry(terminal, batch, trace, typ, rrn string, amount int64) *acquirer.LedgerEntry {
	cands := c.bankBy[terminal+"|"+batch+"|"+trace+"|"+typ]
	pick := -1
	for _, i := range cands {
		e := c.b.Bank[i]
		if rrn != "" && e.RRN == rrn {
			pick = i
			break
		}
		if e.Amount == amount {
			pick = i
		}
	}
	if pick < 0 {
		return nil
	}
	c.bankUsed[pick] = true
	return &c.b.Bank[pick]
}
