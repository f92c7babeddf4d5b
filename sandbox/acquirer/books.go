package acquirer

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/multipos/multipos/server/connector"
	"github.com/multipos/multipos/server/connector/bank"
)

// Ways to make the host's books differ from a terminal's, so that a
// settlement comes out of balance as it does when a real host lost or
// double-booked a transaction.

// ErrNoEntry is returned by DropEntry for a transaction not in the
// host's books: never booked approved, reversed, or lost already.
var ErrNoEntry = errors.New("acquirer: no such approved entry")

// ErrBatchClosed is returned for a change to a settled batch.
var ErrBatchClosed = errors.New("acquirer: the batch is settled and closed")

// DropEntry makes the host lose the approved entry of terminal, merchant,
// batch and trace: it no longer counts in the batch's totals nor shows in
// the settlement file, until the terminal's batch upload brings it back.
func (h *Host) DropEntry(terminal, merchant, batch, trace string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closedBatch(terminal, merchant, batch) {
		return ErrBatchClosed
	}
	i, ok := h.byKey[keyOf(terminal, merchant, batch, trace)]
	if !ok || !h.ledger[i].Approved || h.ledger[i].Reversed || h.ledger[i].Lost {
		return fmt.Errorf("%w: %s/%s batch %s trace %s", ErrNoEntry, terminal, merchant, batch, trace)
	}
	h.ledger[i].Lost = true
	h.log.Info("control: entry lost", "terminal", terminal, "batch", batch, "trace", trace)
	return nil
}

// Planted is an entry the host books without the terminal: a sale, void
// or refund the terminal never sent.
type Planted struct {
	TerminalID string  `json:"terminal"`
	MerchantID string  `json:"merchant"`
	Batch      string  `json:"batch"`
	Trace      string  `json:"trace"` // one the batch has not used
	Type       TxnType `json:"type"`
	Amount     int64   `json:"amount"` // fen
}

// AddEntry books p as approved (with an RRN and auth code of its own) in
// the host's books; the trace counts as used, as any booked message's.
// It returns the entry as the control API shows it.
func (h *Host) AddEntry(p Planted) (LedgerEntry, error) {
	if !validDigits(p.Batch, 6) || !validDigits(p.Trace, 6) || p.TerminalID == "" || p.MerchantID == "" {
		return LedgerEntry{}, errors.New("acquirer: a planted entry names its terminal, merchant, batch and trace (6 digits)")
	}
	if p.Amount <= 0 || !slices.Contains([]TxnType{Sale, Void, Refund}, p.Type) {
		return LedgerEntry{}, errors.New("acquirer: a planted entry is a sale, void or refund of a positive amount")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closedBatch(p.TerminalID, p.MerchantID, p.Batch) {
		return LedgerEntry{}, ErrBatchClosed
	}
	key := keyOf(p.TerminalID, p.MerchantID, p.Batch, p.Trace)
	if _, ok := h.seen[key]; ok || h.orphans[key] {
		return LedgerEntry{}, fmt.Errorf("acquirer: trace %s is used in batch %s", p.Trace, p.Batch)
	}
	resp := &bank.Message{}
	h.approve(resp) // an RRN and auth code from the host's own sequence
	now := h.opts.Now()
	e := Entry{Type: p.Type, TerminalID: p.TerminalID, MerchantID: p.MerchantID, Batch: p.Batch, Trace: p.Trace,
		Amount: p.Amount, ResponseCode: CodeApproved, Approved: true, RRN: resp.RRN, AuthCode: resp.AuthCode,
		At: now, Date: now.Format("0102"), Planted: true}
	h.byKey[key] = len(h.ledger)
	h.ledger = append(h.ledger, e)
	// A message the terminal sends later under this trace is another
	// message under a used trace (94), as for any booked one.
	h.seen[key] = seenMsg{fp: "planted"}
	h.log.Info("control: entry planted", "terminal", p.TerminalID, "batch", p.Batch, "trace", p.Trace,
		"type", p.Type, "amount", p.Amount)
	return ledgerEntry(len(h.ledger)-1, e), nil
}

func validDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// BatchInfo is a batch the host has had a settlement for.
type BatchInfo struct {
	TerminalID string        `json:"terminal"`
	MerchantID string        `json:"merchant"`
	Batch      string        `json:"batch"`
	State      string        `json:"state"` // settling or closed
	Flag       string        `json:"flag"`  // the last 0510's verdict: 1 balanced, 2 out of balance
	Claimed    ControlTotals `json:"claimed"`
	Books      ControlTotals `json:"books"`   // the host's books now
	Settled    ControlTotals `json:"settled"` // once closed
	Uploaded   int           `json:"uploaded"`
	// Differences found when settling on the terminal's upload: traces
	// the host booked that the terminal did not upload, and uploaded
	// traces the host never booked.
	NotUploaded []string `json:"not_uploaded,omitempty"`
	NotBooked   []string `json:"not_booked,omitempty"`
}

// ControlTotals are batch totals in the control API's JSON.
type ControlTotals struct {
	DebitCount   int   `json:"debit_count"`
	DebitAmount  int64 `json:"debit_amount"`
	CreditCount  int   `json:"credit_count"`
	CreditAmount int64 `json:"credit_amount"`
}

func controlTotals(t connector.BatchTotals) ControlTotals {
	return ControlTotals{DebitCount: t.DebitCount, DebitAmount: t.DebitAmount, CreditCount: t.CreditCount, CreditAmount: t.CreditAmount}
}

// Batches returns the batches settled or being settled, of those
// terminals (all when none), by terminal, merchant and batch.
func (h *Host) Batches(terminals ...string) []BatchInfo {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := []BatchInfo{}
	for _, st := range h.batches {
		if st.flag == 0 || len(terminals) > 0 && !slices.Contains(terminals, st.terminal) {
			continue
		}
		b := BatchInfo{TerminalID: st.terminal, MerchantID: st.merchant, Batch: st.batch, State: "settling",
			Flag: string(st.flag), Claimed: controlTotals(st.claimed), Books: controlTotals(h.books(st.terminal, st.merchant, st.batch)),
			Uploaded: len(st.uploads), NotUploaded: st.missing, NotBooked: st.unknown}
		if st.closed {
			b.State, b.Settled = "closed", controlTotals(st.settled)
		}
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b BatchInfo) int {
		return strings.Compare(batchKey(a.TerminalID, a.MerchantID, a.Batch), batchKey(b.TerminalID, b.MerchantID, b.Batch))
	})
	return out
}
