package reconbench

import (
	"context"
	"fmt"
	"time"

	"github.com/multipos/multipos/server/dayend"
	"github.com/multipos/multipos/server/reconcile"
	"github.com/multipos/multipos/server/store"
)

// The product's steps around matching are the store's own calls
// (store.ReconJournal, store.ClaimReconRun, store.FinishReconRun) and
// dayend's (dayend.Lines); the whole path, dayend.Runner.Run, is timed
// apart (see the package doc).

const owner = "reconbench"

// journalFor is the day's journal as the run reads it: the channel's
// wallet orders of the day and its two neighbours.
func (db *database) journalFor(ctx context.Context, d Day) (reconcile.Journal, []store.JournalRef, error) {
	j, refs, err := db.st.ReconJournal(ctx, Channel, d.Name(), d.Date.AddDate(0, 0, -1).Format("2006-01-02"),
		d.Date.AddDate(0, 0, 1).Format("2006-01-02"))
	if err != nil {
		return reconcile.Journal{}, nil, fmt.Errorf("reconbench: %w", err)
	}
	return j, refs, nil
}

// storeRun claims the day's run (forced: each benchmark run is a rerun)
// and stores the results, replacing the previous run's lines.
func (db *database) storeRun(ctx context.Context, d Day, lines []reconcile.Line, j reconcile.Journal, refs []store.JournalRef,
	rep reconcile.Report) error {
	now := time.Now()
	run, ok, err := db.st.ClaimReconRun(ctx, store.Claim{Day: d.Name(), Channel: Channel, Owner: owner, Lease: time.Hour,
		Deadline: now.Add(time.Hour), Force: true, At: now})
	if err != nil || !ok {
		return fmt.Errorf("reconbench: claim the run: taken %v: %w", ok, err)
	}
	out, matched := toLines(run, lines, j, refs, rep.Results)
	for _, t := range rep.Totals {
		if string(t.Channel) == Channel {
			run.Totals = t
		}
	}
	run.Source, run.Lines, run.Matched = "imported", len(out)+len(matched), len(matched)
	for i := range out {
		if out[i].Outcome == store.OutcomeException {
			run.Differences++
		} else {
			run.Matched++
		}
	}
	if err := db.st.FinishReconRun(ctx, run, out, matched, time.Now()); err != nil {
		return fmt.Errorf("reconbench: %w", err)
	}
	return nil
}

// toLines is dayend's lines of the results, the differences marked
// exceptions (the benchmark's data has nothing safe to settle).
func toLines(run store.ReconRun, lines []reconcile.Line, j reconcile.Journal, refs []store.JournalRef,
	results []reconcile.Result) ([]store.ReconLine, []store.MatchedLine) {
	out, matched := dayend.Lines(run, results, lines, j, refs)
	for i := range out {
		if out[i].Class != reconcile.Matched.String() {
			out[i].Outcome = store.OutcomeException
		}
	}
	return out, matched
}
