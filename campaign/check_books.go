package campaign

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/server/store"
)

// transaction checks one journal transaction: stuck, or final and at odds
// with what its channel kept.
func (c *checker) transaction(tx store.JournalTx) {
	ours := !tx.CreatedAt.Before(c.sc.Since)
	if !tx.State.Final() {
		if ours && c.sc.Deadline != nil && c.sc.Now.After(c.sc.Deadline(tx, false)) {
			c.add(Finding{Kind: Stuck, Key: "stuck:" + tx.ID, Sale: c.saleOf[tx.ID], TxIDs: []string{tx.ID},
				What:    fmt.Sprintf("%s is still %s, %v after it was made", tx.ID, tx.State, c.sc.Now.Sub(tx.CreatedAt).Round(100_000_000)),
				Journal: describe(tx), Channel: c.keptText(tx)})
		}
		return
	}
	if tx.Channel.Wallet() && !ours && !c.b.AllWallets {
		return // checked in its own run
	}
	expected, settled := c.expected(tx)
	if !settled {
		return // a void or refund of it is open: reported when overdue
	}
	kept, known := c.kept(tx)
	if !known || kept == expected {
		return
	}
	var what string
	switch {
	case expected > 0 && kept == 0:
		what = "the journal has it paid; the channel kept nothing"
	case expected == 0 && tx.State != api.StateSuccess:
		what = fmt.Sprintf("the channel kept %s for a transaction the journal has %s", yuan(kept), tx.State)
		if tx.Reason != "" {
			what += " (" + tx.Reason + ")"
		}
	default:
		what = fmt.Sprintf("the channel kept %s; by the journal it should keep %s", yuan(kept), yuan(expected))
	}
	c.flagged[tx.ID] = true
	c.add(Finding{Kind: Disagreement, Key: fmt.Sprintf("disagree:%s:%d:%d", tx.ID, expected, kept), Sale: c.saleOf[tx.ID],
		What: what, Journal: describe(tx) + c.adjustmentsText(tx) + c.sameTraces(tx), Channel: c.keptText(tx), TxIDs: []string{tx.ID}})
}

// sameTraces names the journal's other entries of the terminal under the
// traces of a card sale and of its voids and refunds: where a trace served
// twice.
func (c *checker) sameTraces(tx store.JournalTx) string {
	if tx.Channel != api.Card {
		return ""
	}
	traces := map[string]bool{tx.Trace: true}
	mine := map[string]bool{tx.ID: true}
	for _, a := range c.adjsOf[tx.ID] {
		traces[a.Trace], mine[a.ID] = true, true
	}
	var parts []string
	for _, o := range append(append([]store.JournalTx(nil), c.b.Journal.Transactions...), c.b.Journal.Adjustments...) {
		if o.TerminalID == tx.TerminalID && traces[o.Trace] && !mine[o.ID] {
			parts = append(parts, describe(o))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "; the same traces also served " + strings.Join(parts, ", ")
}

// expected is what the channel should keep for a final transaction by the
// journal: a paid one's amount, less its card refunds, none once voided.
// settled is false while a void or refund of it is open.
func (c *checker) expected(tx store.JournalTx) (int64, bool) {
	if tx.State != api.StateSuccess {
		return 0, true
	}
	keep := tx.Amount
	for _, a := range c.adjsOf[tx.ID] {
		switch {
		case !a.State.Final():
			return 0, false
		case a.State != api.StateSuccess:
		case a.Kind == api.KindCardVoid:
			keep = 0
		default:
			keep -= a.Amount
		}
	}
	return max(keep, 0), true
}

func (c *checker) adjustmentsText(tx store.JournalTx) string {
	var parts []string
	for _, a := range c.adjsOf[tx.ID] {
		parts = append(parts, fmt.Sprintf("%s %s trace %s %s %s", a.ID, strings.TrimPrefix(string(a.Kind), "card_"), a.Trace, yuan(a.Amount), a.State))
	}
	if len(parts) == 0 {
		return ""
	}
	return "; then " + strings.Join(parts, ", ")
}

// adjustment checks a void or refund: stuck, or at odds with the bank's
// entry for it (when its sale was not found at odds already).
func (c *checker) adjustment(a store.JournalTx) {
	ours := !a.CreatedAt.Before(c.sc.Since)
	typ := strings.TrimPrefix(string(a.Kind), "card_")
	e := c.bankEntry(a.TerminalID, a.Batch, a.Trace, typ, a.RRN, a.Amount)
	if !a.State.Final() {
		if ours && c.sc.Deadline != nil && c.sc.Now.After(c.sc.Deadline(a, true)) {
			c.add(Finding{Kind: Stuck, Key: "stuck:" + a.ID, Sale: c.saleOf[a.Original], TxIDs: []string{a.ID, a.Original},
				What:    fmt.Sprintf("%s %s is still %s, %v after it was made", typ, a.ID, a.State, c.sc.Now.Sub(a.CreatedAt).Round(100_000_000)),
				Journal: describe(a)})
		}
		return
	}
	if c.flagged[a.Original] {
		return
	}
	booked := e != nil && e.Approved && !e.Reversed
	if booked == (a.State == api.StateSuccess) {
		return
	}
	bank := "the bank has no " + typ + " with trace " + a.Trace
	if e != nil {
		bank = fmt.Sprintf("bank: %s trace %s %s approved=%v reversed=%v", typ, e.Trace, yuan(e.Amount), e.Approved, e.Reversed)
	}
	c.add(Finding{Kind: Disagreement, Key: "disagree-adj:" + a.ID, Sale: c.saleOf[a.Original], TxIDs: []string{a.ID, a.Original},
		What: fmt.Sprintf("the journal has the %s %s; the bank does not agree", typ, a.State), Journal: describe(a), Channel: bank})
}

// adjustmentSeen: a void or refund the terminal told the customer was
// made must be made in the journal.
func (c *checker) adjustmentSeen(s *Sale) {
	adj := s.Adjust
	if adj == nil || adj.Saw != api.StateSuccess {
		return
	}
	for _, a := range c.b.Journal.Adjustments {
		if a.TerminalID == s.Terminal && slices.Contains(adj.RequestIDs, a.RequestID) {
			if a.State == api.StateSuccess || !a.State.Final() {
				return // agrees, or open: reported when overdue
			}
			c.add(Finding{Kind: Disagreement, Key: "adj-seen:" + a.ID, Sale: s, TxIDs: []string{a.ID, a.Original},
				What:    fmt.Sprintf("the terminal said the %s was made; the journal has it %s", adj.Kind, a.State),
				Journal: describe(a)})
			return
		}
	}
	c.add(Finding{Kind: Disagreement, Key: fmt.Sprintf("adj-seen:%s:%s", s.Terminal, adj.Trace), Sale: s,
		What: fmt.Sprintf("the terminal said the %s (trace %s) was made; the journal has no such request", adj.Kind, adj.Trace)})
}

// doubleCharged: what the channels keep for a sale's attempts together is
// at most its amount, whether the attempts are one sale in the journal or
// one purchase at the terminal.
func (c *checker) doubleCharged() {
	groups := map[string][]store.JournalTx{}
	for _, tx := range c.b.Journal.Transactions {
		groups["sale:"+tx.SaleID] = append(groups["sale:"+tx.SaleID], tx)
	}
	for _, s := range c.sales {
		made := c.made(s)
		var txs []store.JournalTx
		sales := map[string]bool{}
		for _, id := range made {
			txs = append(txs, c.tx[id])
			sales[c.tx[id].SaleID] = true
		}
		if len(sales) > 1 {
			groups[fmt.Sprintf("purchase:%s:%d:%d", s.Terminal, s.Run, s.N)] = txs
		}
	}
	for _, key := range slices.Sorted(maps.Keys(groups)) {
		txs := groups[key]
		var total int64
		var parts []string
		for _, tx := range txs {
			if k, _ := c.kept(tx); k > 0 {
				total += k
				parts = append(parts, fmt.Sprintf("%s keeps %s", tx.ID, yuan(k)))
			}
		}
		if total <= txs[0].Amount {
			continue
		}
		var ids []string
		for _, tx := range txs {
			ids = append(ids, tx.ID)
		}
		c.add(Finding{Kind: DoubleCharged, Key: "double:" + key, Sale: c.saleOf[txs[0].ID], TxIDs: ids,
			What:    fmt.Sprintf("the channels keep %s for a sale of %s", yuan(total), yuan(txs[0].Amount)),
			Journal: strings.Join(describeAll(txs), "; "), Channel: strings.Join(parts, "; ")})
	}
}

func describeAll(txs []store.JournalTx) []string {
	var out []string
	for _, tx := range txs {
		out = append(out, describe(tx))
	}
	return out
}

// bankOrphans: money the bank moved for these terminals that the journal
// has no transaction for.
func (c *checker) bankOrphans() {
	for i, e := range c.b.Bank {
		if c.bankUsed[i] || !e.Approved || e.Reversed || e.Type == "sale" && e.Charged == 0 {
			continue
		}
		c.add(Finding{Kind: Disagreement, Key: fmt.Sprintf("bank-orphan:%s:%d", e.TerminalID, i),
			What: fmt.Sprintf("the bank booked a %s the journal does not have", e.Type),
			Channel: fmt.Sprintf("bank: %s %s trace %s %s approved, charges %s (rrn %s, at %s)",
				e.TerminalID, e.Type, e.Trace, yuan(e.Amount), yuan(e.Charged), e.RRN, e.At)})
	}
}

// walletOrphans: with every wallet order at hand, money a wallet keeps for
// an order the journal does not have.
func (c *checker) walletOrphans() {
	if !c.b.AllWallets {
		return
	}
	known := map[string]bool{}
	for _, tx := range c.b.Journal.Transactions {
		known[walletKey(tx.Channel, tx.OutTradeNo)] = true
	}
	for _, k := range slices.Sorted(maps.Keys(c.b.Wallets)) {
		w := c.b.Wallets[k]
		if known[k] || w.Kept == 0 {
			continue
		}
		c.add(Finding{Kind: Disagreement, Key: "wallet-orphan:" + k,
			What:    fmt.Sprintf("%s keeps %s for an order the journal does not have", w.Channel, yuan(w.Kept)),
			Channel: fmt.Sprintf("%s: %s %s %s", w.Channel, w.OutTradeNo, w.State, yuan(w.Amount))})
	}
}

// totals: each terminal's daily total per channel is what it was paid
// (with what is still open, which is reported as stuck when overdue).
func (c *checker) totals() {
	want := map[string]int64{}
	for _, tx := range c.b.Journal.Transactions {
		if tx.State != api.StateFailed && tx.State != api.StateClosed {
			want[tx.TerminalID+"|"+string(tx.Channel)+"|"+tx.Day] += tx.Amount
		}
	}
	got := map[string]int64{}
	for _, d := range c.b.Journal.Totals {
		got[d.ScopeID+"|"+d.Channel+"|"+d.Day] = d.Amount
	}
	keys := slices.Collect(maps.Keys(want))
	for k := range got {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		if want[k] == got[k] {
			continue
		}
		p := strings.Split(k, "|")
		c.add(Finding{Kind: Disagreement, Key: fmt.Sprintf("totals:%s:%d:%d", k, want[k], got[k]),
			What:    fmt.Sprintf("daily total of %s on %s for %s is %s; what was paid (and is open) adds up to %s", p[0], p[1], p[2], yuan(got[k]), yuan(want[k])),
			Journal: "daily_totals " + yuan(got[k]) + ", transactions " + yuan(want[k])})
	}
}
