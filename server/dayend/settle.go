package dayend

import (
	"context"
	"errors"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/server/reconcile"
	"github.com/multipos/multipos/server/store"
)

// Actor is who reconciliation's own changes are recorded as, in the
// journal's history and in the audit.
const Actor = "reconcile"

// journal is what matching needs of the journal for a run: the channel's
// wallet orders, or the card entries, with their refs.
type journal struct {
	reconcile.Journal
	refs, cardRefs []store.JournalRef
}

// txID is the journal entry a result matched, "" if none.
func (j *journal) txID(res *reconcile.Result) string {
	switch {
	case res.Order >= 0:
		return j.refs[res.Order].ID
	case res.Card >= 0:
		return j.cardRefs[res.Card].ID
	}
	return ""
}

// settle turns matching's results into stored lines, settling the safe
// differences on the way (see the package doc) and marking every other one
// an exception.
func (r *Runner) settle(ctx context.Context, run store.ReconRun, lines []reconcile.Line, j *journal,
	results []reconcile.Result) ([]store.ReconLine, []store.MatchedLine) {
	refunded := map[string]bool{} // orders the bill gives money back for
	for i := range lines {
		if lines[i].Kind == reconcile.Refund {
			refunded[lines[i].OutTradeNo] = true
		}
	}
	return split(run, results, lines, j, func(res *reconcile.Result, l *store.ReconLine) {
		if res.Class == reconcile.Matched {
			return
		}
		l.Outcome = store.OutcomeException
		if res.Line >= 0 && safe(res, &lines[res.Line], j.refs, refunded) {
			r.settleOne(ctx, run, l, &j.refs[res.Order], &lines[res.Line])
		}
	})
}

// split turns results into what a run stores: exact matches packed, the
// rest lines, which each (if not nil) may amend. Results of another day's
// card lines are that day's, and left out.
func split(run store.ReconRun, results []reconcile.Result, lines []reconcile.Line, j *journal,
	each func(*reconcile.Result, *store.ReconLine)) ([]store.ReconLine, []store.MatchedLine) {
	var out []store.ReconLine
	matched := make([]store.MatchedLine, 0, len(results))
	seq := 0
	for i := range results {
		res := &results[i]
		if res.Neighbour {
			continue
		}
		seq++
		if m, ok := packed(run, res, lines, j, seq); ok {
			matched = append(matched, m)
			continue
		}
		l := lineOf(run, res, lines, j)
		l.Seq = seq
		if each != nil {
			each(res, &l)
		}
		out = append(out, l)
	}
	return out, matched
}

// packed returns a result as a store.MatchedLine when it is one: a
// payment line matched with a paid order of the run's own day with
// nothing to say, the order's trade number the line's.
func packed(run store.ReconRun, res *reconcile.Result, lines []reconcile.Line, j *journal, seq int) (store.MatchedLine, bool) {
	if res.Class != reconcile.Matched || res.Kind != reconcile.Payment || res.Note != "" || res.Line < 0 || res.Order < 0 ||
		res.ChannelAmount != res.JournalAmount {
		return store.MatchedLine{}, false
	}
	line, o := &lines[res.Line], &j.Orders[res.Order]
	if o.Day != run.Day || o.TradeNo != line.TradeNo || o.OutTradeNo != res.OutTradeNo {
		return store.MatchedLine{}, false
	}
	return store.MatchedLine{Seq: seq, BillRow: line.Row, Amount: line.Amount, Settle: line.Settle, FeeMilli: line.FeeMilli,
		Ref: &j.refs[res.Order]}, true
}

// Lines is what a run stores of a wallet channel's results, without
// settling anything or marking exceptions: the benchmark times the store's
// writing of them apart from the rest.
func Lines(run store.ReconRun, results []reconcile.Result, lines []reconcile.Line, j reconcile.Journal,
	refs []store.JournalRef) ([]store.ReconLine, []store.MatchedLine) {
	return split(run, results, lines, &journal{Journal: j, refs: refs}, nil)
}

// lineOf is a result as stored: where the entry was taken (the journal's
// merchant, store and terminal; else the bill's), a card keyed
// terminal/batch/trace with its RRN.
func lineOf(run store.ReconRun, res *reconcile.Result, lines []reconcile.Line, j *journal) store.ReconLine {
	l := store.ReconLine{Class: res.Class.String(), Kind: res.Kind.String(), OutTradeNo: res.OutTradeNo,
		OutRefundNo: res.OutRefundNo, ChannelAmount: res.ChannelAmount, JournalAmount: res.JournalAmount, Note: res.Note}
	if res.Line >= 0 {
		line := &lines[res.Line]
		l.BillRow, l.TradeNo, l.Settle, l.FeeMilli = line.Row, line.TradeNo, line.Settle, line.FeeMilli
		l.StoreID, l.TerminalID = line.Store, line.Terminal
		if line.Channel == reconcile.Card {
			l.TradeNo = line.Card().RRN
		}
	}
	var ref *store.JournalRef
	switch {
	case res.Order >= 0:
		ref, l.TxDay = &j.refs[res.Order], j.Orders[res.Order].Day
	case res.Card >= 0:
		ref, l.TxDay = &j.cardRefs[res.Card], j.Cards[res.Card].Day
	}
	if ref != nil {
		l.TxID, l.CrossDay = ref.ID, l.TxDay != run.Day
		l.MerchantID, l.StoreID, l.TerminalID = ref.MerchantID, ref.StoreID, ref.TermID
	}
	if res.Channel == reconcile.Card && l.OutTradeNo == "" {
		l.OutTradeNo = res.Terminal + "/" + res.Batch + "/" + res.Trace
	}
	return l
}

// safe says whether a difference may be settled without an operator: a
// payment the journal has in flight (CREATED, PENDING, UNKNOWN: not
// CANCELLING, whose money is on its way back) that the bill shows paid, for
// the journal's amount, with no refund of it on the bill.
func safe(res *reconcile.Result, line *reconcile.Line, refs []store.JournalRef, refunded map[string]bool) bool {
	if res.Class != reconcile.StateDiffers || res.Kind != reconcile.Payment || res.Channel == reconcile.Card || res.Order < 0 {
		return false
	}
	switch refs[res.Order].State {
	case api.StateCreated, api.StatePending, api.StateUnknown:
	default:
		return false
	}
	return res.ChannelAmount == res.JournalAmount && !refunded[line.OutTradeNo]
}

// settleOne moves the order to SUCCESS through the journal's normal
// compare-and-set, with an audit entry. Anything in the way (the order
// moved meanwhile, its sale paid by another attempt) leaves the exception.
func (r *Runner) settleOne(ctx context.Context, run store.ReconRun, l *store.ReconLine, ref *store.JournalRef, line *reconcile.Line) {
	now := r.o.Now()
	o, err := r.o.Store.Transition(ctx, ref.ID, ref.State, ref.Version, store.Change{To: api.StateSuccess, TradeNo: line.TradeNo,
		At: now, Actor: Actor, Reason: ""})
	if errors.Is(err, store.ErrStale) || errors.Is(err, store.ErrFinal) {
		if o.State == api.StateSuccess {
			l.Outcome, l.Note = "", "paid in the journal meanwhile"
			return
		}
	}
	if err != nil {
		l.Note += "; not settled: " + err.Error()
		r.o.Logger.Warn("reconciliation: could not settle", "tx", ref.ID, "err", err)
		return
	}
	detail := string(ref.State) + " → SUCCESS: the channel's bill shows it paid, trade_no " + line.TradeNo
	if err := r.o.Store.ReconAudit(ctx, store.AuditEntry{At: now, Actor: Actor, Action: "settled", RunID: run.ID, TxID: ref.ID,
		Day: run.Day, Channel: run.Channel, OutTradeNo: l.OutTradeNo, Detail: detail}); err != nil {
		// The journal's history records the change with actor reconcile
		// anyway; the line says so too.
		r.o.Logger.Error("reconciliation: settled, but the audit entry was not written", "tx", ref.ID, "err", err)
	}
	r.o.Logger.Info("reconciliation settled a payment in flight", "tx", ref.ID, "out_trade_no", l.OutTradeNo, "from", ref.State)
	l.Outcome, l.Note = store.OutcomeSettled, detail
}
