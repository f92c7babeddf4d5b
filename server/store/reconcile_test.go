package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/server/reconcile"
	"github.com/multipos/multipos/server/store"
	"github.com/multipos/multipos/server/store/storetest"
)

func claimRun(t *testing.T, st *store.Store, owner string, force bool, at time.Time) (store.ReconRun, bool, error) {
	t.Helper()
	return st.ClaimReconRun(t.Context(), store.Claim{Day: day, Channel: "alipay", Owner: owner, Lease: time.Minute,
		Deadline: at.Add(time.Hour), Force: force, At: at})
}

// TestReconClaim: one claimant wins; a waiting run is taken again when due;
// a done run only by force; a run past its deadline fails.
func TestReconClaim(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		st := storetest.Open(t, d)
		run, ok, err := claimRun(t, st, "i1", false, t0)
		if err != nil || !ok || run.Status != store.RunRunning || run.Attempts != 1 {
			t.Fatalf("first claim: %+v %v %v", run, ok, err)
		}
		if _, ok, err := claimRun(t, st, "i2", false, t0); ok || !errors.Is(err, store.ErrRunBusy) {
			t.Fatalf("second claim while held: %v %v", ok, err)
		}
		if _, err := st.WaitReconRun(t.Context(), run.ID, "i1", t0.Add(10*time.Minute), "bill not ready"); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := claimRun(t, st, "i2", false, t0.Add(time.Minute)); ok || err != nil {
			t.Fatalf("claim before due: %v %v", ok, err)
		}
		run, ok, err = claimRun(t, st, "i2", false, t0.Add(11*time.Minute))
		if !ok || err != nil || run.Attempts != 2 || run.Owner != "i2" {
			t.Fatalf("claim when due: %+v %v %v", run, ok, err)
		}
		// A lease that ran out is taken over.
		run, ok, err = claimRun(t, st, "i3", false, t0.Add(13*time.Minute))
		if !ok || err != nil || run.Owner != "i3" {
			t.Fatalf("take over: %+v %v %v", run, ok, err)
		}
		w, err := st.WaitReconRun(t.Context(), run.ID, "i3", t0.Add(2*time.Hour), "still not ready")
		if err != nil || w.Status != store.RunFailed {
			t.Fatalf("past the deadline: %+v %v", w, err)
		}
		if _, ok, _ := claimRun(t, st, "i1", false, t0.Add(3*time.Hour)); ok {
			t.Fatal("a failed run taken by the daily run")
		}
		if run, ok, err = claimRun(t, st, "cmd", true, t0.Add(3*time.Hour)); !ok || err != nil {
			t.Fatalf("forced claim: %+v %v %v", run, ok, err)
		}
	})
}

// TestReconResults: lines stored in bulk, exceptions raised, a resolution
// kept across a rerun, a difference gone on rerun resolved with an audit,
// the daily report and the open counts.
func TestReconResults(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		st := storetest.Open(t, d)
		ctx := t.Context()
		paid := mustMove(t, st, mustCreate(t, st, walletTx("T1", trace(1), 1000)), api.StateSuccess)
		pending := mustCreate(t, st, walletTx("T1", trace(2), 500))
		j, refs, err := st.ReconJournal(ctx, "alipay", day, "2025-02-28", "2025-03-02")
		if err != nil || len(j.Orders) != 2 || len(refs) != 2 {
			t.Fatalf("journal: %+v %v", j, err)
		}
		for i, o := range j.Orders {
			want := map[string]reconcile.OrderState{paid.ID: reconcile.OrderPaid, pending.ID: reconcile.OrderPending}[refs[i].ID]
			if o.State != want || o.Day != day || refs[i].MerchantID != "M1" {
				t.Errorf("order %d: %+v %+v", i, o, refs[i])
			}
		}
		lines := make([]store.ReconLine, 1203) // more than two batches
		for i := range lines {
			lines[i] = store.ReconLine{Class: "matched", Kind: "payment", BillRow: i + 1, OutTradeNo: trace(i), ChannelAmount: 100,
				Settle: 100, FeeMilli: 600, MerchantID: "M1", StoreID: "S1", TerminalID: "T1"}
		}
		lines[0].TxID, lines[0].OutTradeNo = paid.ID, paid.OutTradeNo
		lines[1] = store.ReconLine{Class: "channel_only", Kind: "payment", BillRow: 2, OutTradeNo: "X1", ChannelAmount: 700,
			Settle: 700, StoreID: "S9", Outcome: store.OutcomeException, Note: "paid at the channel, not in the journal"}
		lines[2] = store.ReconLine{Class: "amount_differs", Kind: "payment", BillRow: 3, OutTradeNo: "X2", ChannelAmount: 1,
			JournalAmount: 2, Outcome: store.OutcomeException}
		run, _, err := claimRun(t, st, "i1", true, t0)
		if err != nil {
			t.Fatal(err)
		}
		run.Lines, run.Differences, run.Source = len(lines), 2, "imported"
		if err := st.FinishReconRun(ctx, run, lines, nil, t0); err != nil {
			t.Fatal(err)
		}
		open, err := st.Exceptions(ctx, false)
		if err != nil || len(open) != 2 {
			t.Fatalf("open exceptions: %+v %v", open, err)
		}
		if open[0].OutTradeNo != "X1" {
			open[0] = open[1]
		}
		if _, err := st.ResolveException(ctx, open[0].ID, "ops", "refunded by hand", t0); err != nil {
			t.Fatal(err)
		}
		if _, err := st.ResolveException(ctx, open[0].ID, "ops", "again", t0); !errors.Is(err, store.ErrResolved) {
			t.Fatalf("resolving twice: %v", err)
		}
		// The rerun finds the first difference again, not the second.
		run, _, _ = claimRun(t, st, "i1", true, t0.Add(time.Minute))
		lines[2] = store.ReconLine{Class: "matched", Kind: "payment", BillRow: 3, OutTradeNo: "X2", ChannelAmount: 1}
		if err := st.FinishReconRun(ctx, run, lines, nil, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		all, _ := st.Exceptions(ctx, true)
		if len(all) != 2 || all[0].State != store.ExceptionResolved || all[1].State != store.ExceptionResolved ||
			all[0].ResolvedBy == all[1].ResolvedBy {
			t.Fatalf("after rerun: %+v", all)
		}
		audit, _ := st.ReconAuditLog(ctx, day)
		if len(audit) != 2 {
			t.Fatalf("audit: %+v", audit)
		}
		got, _ := st.ReconLines(ctx, run.ID)
		if len(got) != len(lines) || got[0].TxID != paid.ID || got[1202].OutTradeNo != trace(1202) {
			t.Fatalf("lines: %d", len(got))
		}
		rep, err := st.DailyReport(ctx, day)
		if err != nil || len(rep) != 3 || rep[2].Payments != 1201 || rep[2].FeeMilli != 1201*600 || rep[1].StoreID != "S9" {
			t.Fatalf("report: %+v %v", rep, err)
		}
		counts, _ := st.OpenExceptions(ctx)
		if counts["alipay"] != 0 {
			t.Fatalf("open counts: %v", counts)
		}
	})
}

// TestReconNeighbours: an order of the day before that a line of this
// day's run matched is not offered to its own day again, and its "not at
// the channel" exception there is resolved, audited.
func TestReconNeighbours(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		st := storetest.Open(t, d)
		ctx := t.Context()
		late := mustMove(t, st, mustCreate(t, st, walletTx("T1", trace(1), 1000)), api.StateSuccess) // on day
		const next = "2025-03-02"
		// The day's run: the late payment is not on its bill.
		run, _, err := st.ClaimReconRun(ctx, store.Claim{Day: day, Channel: "alipay", Owner: "i1", Lease: time.Minute, Force: true, At: t0})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.FinishReconRun(ctx, run, []store.ReconLine{{Class: "journal_only", Kind: "payment", OutTradeNo: late.OutTradeNo,
			JournalAmount: 1000, TxID: late.ID, TxDay: day, Outcome: store.OutcomeException}}, nil, t0); err != nil {
			t.Fatal(err)
		}
		// The next day's bill has it: offered as a neighbour, matched.
		j, _, err := st.ReconJournal(ctx, "alipay", next, day, "2025-03-03")
		if err != nil || len(j.Orders) != 1 {
			t.Fatalf("next day's journal: %+v %v", j, err)
		}
		run2, _, err := st.ClaimReconRun(ctx, store.Claim{Day: next, Channel: "alipay", Owner: "i1", Lease: time.Minute, Force: true, At: t0})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.FinishReconRun(ctx, run2, []store.ReconLine{{Class: "matched", Kind: "payment", BillRow: 1, OutTradeNo: late.OutTradeNo,
			ChannelAmount: 1000, JournalAmount: 1000, TxID: late.ID, TxDay: day, CrossDay: true}}, nil, t0); err != nil {
			t.Fatal(err)
		}
		if exs, _ := st.Exceptions(ctx, false); len(exs) != 0 {
			t.Fatalf("still open: %+v", exs)
		}
		if audit, _ := st.ReconAuditLog(ctx, day); len(audit) != 1 || audit[0].Actor != "reconcile" || audit[0].TxID != late.ID {
			t.Fatalf("audit: %+v", audit)
		}
		// Neither the day's own run again nor its other neighbour's sees it.
		for _, dd := range [][3]string{{day, "2025-02-28", next}, {"2025-02-28", "2025-02-27", day}} {
			if j, _, err := st.ReconJournal(ctx, "alipay", dd[0], dd[1], dd[2]); err != nil || len(j.Orders) != 0 {
				t.Fatalf("journal of %s: %+v %v", dd[0], j, err)
			}
		}
	})
}

// TestReconPacked: matched lines stored packed read back in their places
// among the other lines, with their orders' keys and IDs; they count in
// the daily report, and a neighbouring day's run sees them as matched on
// their own day.
func TestReconPacked(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		st := storetest.Open(t, d)
		ctx := t.Context()
		a := mustMove(t, st, mustCreate(t, st, walletTx("T1", trace(1), 1000)), api.StateSuccess)
		b := mustMove(t, st, mustCreate(t, st, walletTx("T2", trace(2), 2500)), api.StateSuccess)
		_, refs, err := st.ReconJournal(ctx, "alipay", day, "2025-02-28", "2025-03-02")
		if err != nil || len(refs) != 2 {
			t.Fatalf("journal: %+v %v", refs, err)
		}
		ref := map[string]*store.JournalRef{refs[0].ID: &refs[0], refs[1].ID: &refs[1]}
		run, _, err := claimRun(t, st, "i1", true, t0)
		if err != nil {
			t.Fatal(err)
		}
		matched := []store.MatchedLine{
			{Seq: 1, BillRow: 1, Amount: 1000, Settle: 990, FeeMilli: 6000, Ref: ref[a.ID]},
			{Seq: 3, BillRow: 3, Amount: 2500, Settle: 2500, FeeMilli: -1, Ref: ref[b.ID]},
		}
		lines := []store.ReconLine{{Seq: 2, Class: "channel_only", Kind: "payment", BillRow: 2, OutTradeNo: "X1", ChannelAmount: 700,
			Settle: 700, TerminalID: "T9", Outcome: store.OutcomeException}}
		run.Lines, run.Matched, run.Differences = 3, 2, 1
		if err := st.FinishReconRun(ctx, run, lines, matched, t0); err != nil {
			t.Fatal(err)
		}
		got, err := st.ReconLines(ctx, run.ID)
		if err != nil || len(got) != 3 {
			t.Fatalf("lines: %+v %v", got, err)
		}
		want := store.ReconLine{Seq: 1, Class: "matched", Kind: "payment", BillRow: 1, OutTradeNo: a.OutTradeNo, TradeNo: a.TradeNo,
			ChannelAmount: 1000, JournalAmount: 1000, Settle: 990, FeeMilli: 6000, TxID: a.ID, TxDay: day, MerchantID: "M1",
			StoreID: "S1", TerminalID: "T1"}
		if got[0] != want || got[1].OutTradeNo != "X1" || got[2].TxID != b.ID || got[2].TerminalID != "T2" || got[2].FeeMilli != -1 {
			t.Fatalf("lines:\n%+v\nwant %+v", got, want)
		}
		rep, err := st.DailyReport(ctx, day)
		if err != nil || len(rep) != 3 {
			t.Fatalf("report: %+v %v", rep, err)
		}
		var gross, fee int64
		for _, r := range rep {
			gross, fee = gross+r.Gross, fee+r.FeeMilli
		}
		if gross != 4200 || fee != 5999 {
			t.Fatalf("report: %+v", rep)
		}
		if counts, err := st.ReconClassCounts(ctx, run.ID); err != nil || counts["matched"] != 2 || counts["channel_only"] != 1 {
			t.Fatalf("counts: %v %v", counts, err)
		}
		seen, err := st.OwnDayMatched(ctx, "alipay", day, []string{b.ID, "tx-none"})
		if err != nil || !seen[b.ID] || len(seen) != 1 {
			t.Fatalf("own day matched: %v %v", seen, err)
		}
		// A rerun replaces them.
		run, _, _ = claimRun(t, st, "i1", true, t0.Add(time.Minute))
		if err := st.FinishReconRun(ctx, run, lines, matched[:1], t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.ReconLines(ctx, run.ID); len(got) != 2 {
			t.Fatalf("after rerun: %+v", got)
		}
	})
}
