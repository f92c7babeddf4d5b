package server

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/posclient"
	"github.com/multipos/multipos/sandbox/acquirer"
	"github.com/multipos/multipos/server/connector/bank"
	"github.com/multipos/multipos/server/dayend"
	"github.com/multipos/multipos/server/reconcile"
	"github.com/multipos/multipos/server/store"
)

// cardKeyOf is how a card line and its exception name a transaction.
func cardKeyOf(batch, trace string) string { return "T1/" + batch + "/" + trace }

// cardDay is the state of one business day of card payments: what the
// terminal did through posserver and what was planted at the acquirer.
type cardDay struct {
	s1, s2, s3, s4, s5, s6 api.Order // batch 000001, settled by the terminal
	v4, r5, r6             api.Order // the void of s4, refunds of s5 and s6
	s7, s8, s9, s10        api.Order // batch 000002, left to the acquirer's day cut
}

// TestReconcileCardClasses drives every card difference class through the
// real path: sales, a void and refunds made on terminal T1 through
// posserver's API, batch 000001 settled balanced by the terminal (POST
// /v1/card/settle), batch 000002 left open for the acquirer's day cut; the
// differences planted with the acquirer's own controls (another amount,
// another fee, another refund amount on the file; an entry lost; a sale, a
// refund and a void the terminal never sent; a lost answer still UNKNOWN
// at midnight, one whose reversal the acquirer refused and that arrives
// after its day cut) and one on the journal's side (a lost answer the
// journal has failed); the day's file fetched by the dayend runner over
// HTTP from the acquirer. The store's lines, exceptions and totals are
// checked against the file: exactly the planted differences are open
// exceptions, none settled. Then the next day: the terminal settles batch
// 000002 out of balance (reversing the UNKNOWN sale first), its upload
// brings the lost sale back onto that day's file, and the next day's run
// matches it across the day and resolves the first day's journal_only
// exception by itself, audited; a rerun of the first day leaves it so.
func TestReconcileCardClasses(t *testing.T) {
	onBoth(t, func(o *Options) { o.SettleCutoff = "off" }, func(t *testing.T, r *rig) {
		ctx := context.Background()
		start := r.clock.Now()
		day := start.In(DefaultZone()).Format("2006-01-02")
		next := start.In(DefaultZone()).AddDate(0, 0, 1).Format("2006-01-02")
		d := cardDayOf(t, r)

		files := httptest.NewServer(r.bank.ControlHandler())
		t.Cleanup(files.Close)
		run, err := dayend.New(dayend.Options{Store: r.st,
			Sources: []dayend.BillSource{dayend.CardBills{Source: files.URL + "/files/settlement-{date}.csv"}},
			Dir:     filepath.Join(t.TempDir(), "bills"), Zone: DefaultZone(), Owner: "i1", Now: r.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		res, err := run.Run(ctx, dayend.Request{Day: day, Channel: reconcile.Card})
		if err != nil || res.Run.Status != store.RunDone || res.Run.Source != "fetched" {
			t.Fatalf("run of %s: %+v %v", day, res.Run, err)
		}
		checkKept(t, res.Run)
		want := map[string]string{
			cardKeyOf("000001", d.s1.Trace):  "matched/",
			cardKeyOf("000001", d.s2.Trace):  "amount_differs/exception",
			cardKeyOf("000001", d.s3.Trace):  "matched/", // another fee: the money still matches
			cardKeyOf("000001", d.s4.Trace):  "matched/", // voided: the void is a line of its own
			cardKeyOf("000001", d.v4.Trace):  "matched/",
			cardKeyOf("000001", d.s5.Trace):  "matched/",
			cardKeyOf("000001", d.r5.Trace):  "matched/",
			cardKeyOf("000001", d.s6.Trace):  "matched/",
			cardKeyOf("000001", d.r6.Trace):  "refund_differs/exception",
			cardKeyOf("000002", d.s7.Trace):  "journal_only/exception",
			cardKeyOf("000002", "000090"):    "channel_only/exception",
			cardKeyOf("000002", "000091"):    "refund_differs/exception", // a refund the terminal never sent
			cardKeyOf("000002", "000092"):    "refund_differs/exception", // a void the terminal never sent
			cardKeyOf("000002", d.s8.Trace):  "state_differs/exception",  // UNKNOWN in the journal
			cardKeyOf("000002", d.s9.Trace):  "state_differs/exception",  // reversed in the journal
			cardKeyOf("000002", d.s10.Trace): "state_differs/exception",  // failed in the journal
		}
		checkCardLines(t, r.st, res.Run, want)
		checkCardTotals(t, r, res.Run, start)
		var openKeys []string
		for k, v := range want {
			if strings.HasSuffix(v, "/exception") {
				openKeys = append(openKeys, k)
			}
		}
		checkOpen(t, r.st, day, openKeys, "")
		if res.Run.Settled != 0 {
			t.Errorf("card differences settled automatically: %+v", res.Run)
		}

		// The next day: the terminal settles batch 000002; the acquirer is
		// out of balance (it lost s7 and has two the terminal never sent),
		// the upload brings s7 back onto that day's file.
		r.clock.Advance(10 * time.Minute)
		s, status, code := r.settleOn("T1", posclient.NewRequestID(), "000002", "01")
		if status != 200 || s.Balanced || s.Uploaded != 1 || s.DebitCount != 1 || s.DebitAmount != d.s7.Amount {
			t.Fatalf("settlement of batch 000002 on %s: %d %s %+v", next, status, code, s)
		}
		if hb := hostBatch(t, r.bank, "T1", "000002"); hb.State != "closed" {
			t.Fatalf("the acquirer's batch 000002: %+v", hb)
		}
		// The settlement reversed s8 first: the journal now has it closed,
		// the acquirer's file of the day before still lists it.
		if got := r.get(d.s8.ID); got.State != api.StateClosed || got.Reason != api.ReasonReversed {
			t.Fatalf("s8 after the settlement: %+v", got)
		}
		r.clock.Advance(24 * time.Hour) // the next day's cut
		res2, err := run.Run(ctx, dayend.Request{Day: next, Channel: reconcile.Card})
		if err != nil || res2.Run.Status != store.RunDone {
			t.Fatalf("run of %s: %+v %v", next, res2.Run, err)
		}
		lines, _ := r.st.ReconLines(ctx, res2.Run.ID)
		if len(lines) != 1 || lines[0].Class != "matched" || lines[0].TxID != d.s7.ID || !lines[0].CrossDay || lines[0].TxDay != day {
			t.Fatalf("%s's lines: %+v", next, lines)
		}
		if ex, _ := r.st.DayExceptions(ctx, next, "card"); len(ex) != 0 {
			t.Fatalf("%s's exceptions: %+v", next, ex)
		}
		s7 := cardKeyOf("000002", d.s7.Trace)
		var still []string
		for _, k := range openKeys {
			if k != s7 {
				still = append(still, k)
			}
		}
		checkOpen(t, r.st, day, still, s7)
		audit, _ := r.st.ReconAuditLog(ctx, "")
		resolved := 0
		for _, a := range audit {
			if a.Channel == "card" && a.Action == "resolved" && a.Actor == dayend.Actor && a.Day == day && a.OutTradeNo == s7 {
				resolved++
			}
		}
		if resolved != 1 {
			t.Fatalf("no audit of the resolution of %s: %+v", s7, audit)
		}

		// A rerun of the first day by hand: s7, matched by the next day's
		// run, is not offered again; its exception stays resolved, the
		// others stay open.
		res, err = run.Run(ctx, dayend.Request{Day: day, Channel: reconcile.Card, Force: true})
		if err != nil || res.Run.Status != store.RunDone {
			t.Fatalf("rerun of %s: %+v %v", day, res.Run, err)
		}
		delete(want, s7)
		checkCardLines(t, r.st, res.Run, want)
		checkOpen(t, r.st, day, still, s7)
	})
}

// cardDayOf makes day D's card traffic on T1 from 23:00 and plants the
// differences, then moves the clock past midnight and sweeps.
func cardDayOf(t *testing.T, r *rig) cardDay {
	t.Helper()
	ctx := context.Background()
	c := r.client("T1")
	var d cardDay
	adjust := func(kind string, o api.Order, trace string, amount int64) api.Order {
		t.Helper()
		var got api.Order
		var err error
		if kind == "void" {
			got, err = c.CardVoid(ctx, posclient.NewRequestID(), adjustOf(t, o, "approved", trace, amount))
		} else {
			got, err = c.CardRefund(ctx, posclient.NewRequestID(), adjustOf(t, o, "approved", trace, amount))
		}
		if err != nil || got.State != api.StateSuccess {
			t.Fatalf("%s of %s: %+v, %v", kind, o.Trace, got, err)
		}
		return got
	}
	edit := func(e acquirer.FileEdit) {
		t.Helper()
		e.TerminalID, e.MerchantID = "T1", m1
		if err := r.bank.EditFileLine(e); err != nil {
			t.Fatalf("file edit %+v: %v", e, err)
		}
	}
	fen := func(v int64) *int64 { return &v }
	d.s1, d.s2, d.s3, d.s4 = r.sellOK("000001", 1000), r.sellOK("000002", 2000), r.sellOK("000003", 3000), r.sellOK("000004", 4000)
	d.v4 = adjust("void", d.s4, "000005", 0)
	d.s5 = r.sellOK("000006", 5000)
	d.r5 = adjust("refund", d.s5, "000007", 1500)
	d.s6 = r.sellOK("000008", 6000)
	d.r6 = adjust("refund", d.s6, "000009", 1000)
	edit(acquirer.FileEdit{Batch: "000001", Trace: d.s2.Trace, Amount: fen(2100)})
	edit(acquirer.FileEdit{Batch: "000001", Trace: d.s3.Trace, Fee: fen(50)})
	edit(acquirer.FileEdit{Batch: "000001", Trace: d.r6.Trace, Amount: fen(1200)})
	if s := r.settled("T1", "000001", "01"); !s.Balanced || s.NextBatch != "000002" {
		t.Fatalf("settlement of batch 000001: %+v", s)
	}

	// Batch 000002, left open: the acquirer's day cut settles it.
	d.s7 = r.sellOK("000001", 7000)
	if d.s7.Batch != "000002" {
		t.Fatalf("s7 in batch %s", d.s7.Batch)
	}
	if err := r.bank.DropEntry("T1", m1, "000002", d.s7.Trace); err != nil {
		t.Fatal(err)
	}
	for _, p := range []acquirer.Planted{{Trace: "000090", Type: acquirer.Sale, Amount: 8000},
		{Trace: "000091", Type: acquirer.Refund, Amount: 500}, {Trace: "000092", Type: acquirer.Void, Amount: 600}} {
		p.TerminalID, p.MerchantID, p.Batch = "T1", m1, "000002"
		if _, err := r.bank.AddEntry(p); err != nil {
			t.Fatal(err)
		}
	}
	lost := func(trace string, amount int64) api.Order {
		t.Helper()
		r.bank.LoseNextReply()
		o, err := r.sell(r.cardSale("approved", "123456", "T1", trace, amount))
		if err != nil || o.State != api.StateUnknown {
			t.Fatalf("lost answer: %+v, %v", o, err)
		}
		return o
	}
	// s9's answer is lost at 23:00; its reversal is refused once, and
	// goes again only after midnight, when the acquirer has cut the day.
	d.s9 = lost("000002", 900)
	r.clock.Advance(unknownRetry + time.Second)
	r.bank.FailNextReversals(1, "96")
	r.sweep()
	if got := r.get(d.s9.ID); got.State != api.StateUnknown {
		t.Fatalf("after a refused reversal: %+v", got)
	}
	// s10's answer is lost too, and the journal (planted: no acquirer
	// control makes a declined sale approved) has it failed.
	d.s10 = lost("000004", 1100)
	if _, err := r.st.Transition(ctx, d.s10.ID, d.s10.State, d.s10.Version, store.Change{To: api.StateFailed,
		Reason: "planted", At: r.clock.Now(), Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	// s8's answer is lost at 23:59:59: still UNKNOWN when the day is
	// reconciled.
	now := r.clock.Now().In(DefaultZone())
	midnight := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, DefaultZone())
	r.clock.Advance(midnight.Add(-time.Second).Sub(now))
	d.s8 = lost("000003", 800)
	r.clock.Advance(2 * time.Second)
	r.sweep()
	if got := r.wait("T1", api.Order{ID: d.s9.ID}); got.State != api.StateClosed || got.Reason != api.ReasonReversed {
		t.Fatalf("s9 after midnight: %+v", got)
	}
	if got := r.get(d.s8.ID); got.State != api.StateUnknown {
		t.Fatalf("s8 after midnight: %+v", got)
	}
	return d
}

// checkCardLines checks the run's lines' classes and outcomes by key.
func checkCardLines(t *testing.T, st *store.Store, run store.ReconRun, want map[string]string) {
	t.Helper()
	lines, err := st.ReconLines(context.Background(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, l := range lines {
		k := l.OutTradeNo
		if l.Kind == "refund" && l.OutRefundNo != "" {
			k = l.OutRefundNo
		}
		if _, dup := got[k]; dup {
			t.Errorf("two lines for %s: %+v", k, lines)
		}
		got[k] = l.Class + "/" + l.Outcome
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) || t.Failed() {
		for _, l := range lines {
			t.Logf("line %+v", l)
		}
		t.FailNow()
	}
}

// checkCardTotals checks the run's totals against the acquirer's file.
func checkCardTotals(t *testing.T, r *rig, run store.ReconRun, day time.Time) {
	t.Helper()
	raw, ok := r.bank.SettlementFileData(day)
	if !ok {
		t.Fatal("no settlement file")
	}
	rows, err := bank.ParseSettlementFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	var want reconcile.Totals
	var net int64
	for _, row := range rows {
		if row.Type == "sale" {
			want.Payments++
			want.Gross += row.Amount
		} else {
			want.Refunds++
			want.Refunded += row.Amount
		}
		want.Fees += row.Fee
		net += row.Net
	}
	tot := run.Totals
	if tot.Payments != want.Payments || tot.Refunds != want.Refunds || tot.Gross != want.Gross || tot.Settled != want.Gross ||
		tot.Refunded != want.Refunded || tot.Fees != want.Fees || tot.FeeMilli != want.Fees*1000 || tot.Net != net {
		t.Fatalf("totals %+v, the file's %+v net %d:\n%s", tot, want, net, raw)
	}
	// The planted fee and amounts are what the file says: s3's fee of
	// 0.50, s2's 21.00 with its fee of 0.13, r6's 12.00 given back 0.07.
	for _, s := range []string{",30.00,0.50,29.50,", ",21.00,0.13,20.87,", ",12.00,-0.07,-11.93,"} {
		if !strings.Contains(string(raw), s) {
			t.Errorf("the file has no line with %q:\n%s", s, raw)
		}
	}
	if want.Payments != 10 || want.Refunds != 5 {
		t.Errorf("the file lists %d sales and %d voids and refunds:\n%s", want.Payments, want.Refunds, raw)
	}
}

// checkOpen checks that exactly keys are the open exceptions of day, and
// that resolved, if any, is resolved by reconcile.
func checkOpen(t *testing.T, st *store.Store, day string, keys []string, resolved string) {
	t.Helper()
	all, err := st.DayExceptions(context.Background(), day, "card")
	if err != nil {
		t.Fatal(err)
	}
	open := map[string]bool{}
	for _, e := range all {
		k := e.OutTradeNo
		if e.Kind == "refund" && e.OutRefundNo != "" {
			k = e.OutRefundNo
		}
		switch {
		case e.State == store.ExceptionOpen:
			open[k] = true
		case k == resolved && e.ResolvedBy == dayend.Actor:
			resolved = ""
		}
	}
	for _, k := range keys {
		if !open[k] {
			t.Errorf("%s: no open exception", k)
		}
	}
	if len(open) != len(keys) || resolved != "" {
		t.Fatalf("open exceptions of %s: %v, want %v; %q not resolved by %s (%s)", day, open, keys, resolved, dayend.Actor, fmt.Sprint(all))
	}
}
