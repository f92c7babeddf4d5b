package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/server/store"
	"github.com/multipos/multipos/server/store/storetest"
)

// cardSuccess journals an approved card sale of T1 with an RRN.
func cardSuccess(t *testing.T, st *store.Store, trace string, amount int64) api.Order {
	t.Helper()
	o := mustCreate(t, st, cardTx("T1", trace, amount))
	c := change(api.StateSuccess)
	c.ResponseCode, c.AuthCode, c.RRN, c.TradeNo = "00", "A"+trace, "R"+trace, "0301/R"+trace
	got, err := st.Transition(context.Background(), o.ID, o.State, o.Version, c)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// adjust journals a void or refund of sale and moves it to `to`.
func adjust(t *testing.T, st *store.Store, sale api.Order, kind api.Kind, trace string, amount int64, to api.State) api.Order {
	t.Helper()
	ctx := context.Background()
	a, _, err := st.CreateAdjustment(ctx, store.NewAdjustment{ID: "adj" + trace, TerminalID: "T1", RequestID: "rq-adj-" + trace,
		RequestHash: "h" + trace, Kind: kind, Trace: trace, OriginalID: sale.ID, Amount: amount, MaskedPAN: sale.MaskedPAN,
		Entry: "swipe", Day: day, At: t0, CheckAfter: t0.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	a, err = st.SettleAdjustment(ctx, a.ID, a.Version, store.AdjustmentChange{To: to, ResponseCode: "00", RRN: "R" + trace,
		AuthCode: "A" + trace, At: t0, CheckAfter: t0.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// A batch as its settlement sees it: approved sales (a voided one too),
// approved voids and refunds, never a declined, reversed or open one, nor
// a wallet order; and what is still open, owed a reversal.
func TestBatchTxns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		st := storetest.Open(t, d)
		ctx := context.Background()
		if err := st.AddTerminal(ctx, terminal("T1", "M1", "S1"), "M"); err != nil {
			t.Fatal(err)
		}
		s1, s2 := cardSuccess(t, st, "000001", 1000), cardSuccess(t, st, "000002", 2000)
		s3 := mustMove(t, st, mustCreate(t, st, cardTx("T1", "000003", 3000)), api.StateUnknown)
		mustMove(t, st, mustCreate(t, st, cardTx("T1", "000004", 4000)), api.StateFailed)
		mustMove(t, st, mustCreate(t, st, walletTx("T1", "000005", 5000)), api.StateSuccess)
		adjust(t, st, s1, api.KindCardVoid, "000006", 1000, api.StateSuccess)
		r := adjust(t, st, s2, api.KindCardRefund, "000007", 500, api.StateUnknown)
		adjust(t, st, s2, api.KindCardRefund, "000008", 300, api.StateSuccess)
		got, err := st.BatchTxns(ctx, "T1", store.FirstBatch)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"sale 000001 1000", "sale 000002 2000", "void 000006 1000 000001/000001 0301/R000001", "refund 000008 300 000001/000002 0301/R000002"}
		if len(got) != len(want) {
			t.Fatalf("%+v", got)
		}
		for i, e := range got {
			s := fmt.Sprintf("%s %s %d", e.Kind, e.Trace, e.Amount)
			if e.OrigTrace != "" {
				s += " " + e.OrigBatch + "/" + e.OrigTrace
			}
			if e.OrigTradeNo != "" {
				s += " " + e.OrigTradeNo
			}
			if s != want[i] || e.RRN != "R"+e.Trace || e.AuthCode != "A"+e.Trace || e.PIN != (e.Kind == "sale") {
				t.Errorf("%d: %s %+v, want %s", i, s, e, want[i])
			}
		}
		sales, adjs, err := st.OpenInBatch(ctx, "T1", store.FirstBatch)
		if err != nil || len(sales) != 1 || sales[0].ID != s3.ID || len(adjs) != 1 || adjs[0].ID != r.ID {
			t.Fatalf("open: %+v %+v %v", sales, adjs, err)
		}
		if b, err := st.BatchesToSettle(ctx, t0.Add(time.Hour)); err != nil || len(b) != 1 || b[0] != (store.OpenBatch{TerminalID: "T1", MerchantID: "M1", Batch: store.FirstBatch}) {
			t.Fatalf("to settle: %+v %v", b, err)
		}
		if b, err := st.BatchesToSettle(ctx, t0); err != nil || len(b) != 0 {
			t.Fatalf("to settle before the sales: %+v %v", b, err)
		}
		if at, err := st.BatchOpenedAt(ctx, "T1", store.FirstBatch); err != nil || !at.Equal(us(t0)) {
			t.Fatalf("opened %v %v", at, err)
		}
	})
}

// A batch's settlement is claimed by one claimant at a time, taken over
// when its lease runs out or is given back, and closed once, moving the
// terminal to its next batch in the same transaction.
func TestClaimSettlement(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		st := storetest.Open(t, d)
		ctx := context.Background()
		if err := st.AddTerminal(ctx, terminal("T1", "M1", "S1"), "M"); err != nil {
			t.Fatal(err)
		}
		b := store.FirstBatch
		lease := t0.Add(time.Minute)
		errs := race(8, func(i int) error {
			_, err := st.ClaimSettlement(ctx, "T1", b, fmt.Sprint("owner", i), "01", t0, lease)
			return err
		})
		if ok, held := countErrs(t, errs, store.ErrSettling); ok != 1 || held != 7 {
			t.Fatalf("%d claimed, %d refused", ok, held)
		}
		owner := ""
		for i, err := range errs {
			if err == nil {
				owner = fmt.Sprint("owner", i)
			}
		}
		if _, err := st.ClaimSettlement(ctx, "T1", "000002", "x", "01", t0, lease); !errors.Is(err, store.ErrBatchMoved) {
			t.Fatalf("another batch: %v", err)
		}
		if err := st.ExtendSettlement(ctx, "T1", b, "x", lease); !errors.Is(err, store.ErrStale) {
			t.Fatalf("extended by another: %v", err)
		}
		if l, err := st.LapsedSettlements(ctx, t0, 10); err != nil || len(l) != 0 {
			t.Fatalf("lapsed during the lease: %+v %v", l, err)
		}
		// The lease runs out: another takes it over.
		later := lease.Add(time.Second)
		if l, err := st.LapsedSettlements(ctx, later, 10); err != nil || len(l) != 1 || l[0].LeaseOwner != owner {
			t.Fatalf("lapsed: %+v %v", l, err)
		}
		x, err := st.ClaimSettlement(ctx, "T1", b, "second", api.SettledByCutoff, later, later.Add(time.Minute))
		if err != nil || x.Tries != 2 || x.By != api.SettledByCutoff || x.LeaseOwner != "second" {
			t.Fatalf("take-over: %+v %v", x, err)
		}
		if err := st.SetSettlementTraces(ctx, "T1", b, "second", "000010", "000011"); err != nil {
			t.Fatal(err)
		}
		// Given back after a failure: free at once for a station.
		if err := st.ReleaseSettlement(ctx, "T1", b, "second", "the bank did not answer", later.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		x, err = st.ClaimSettlement(ctx, "T1", b, "third", "02", later, later.Add(time.Minute))
		if err != nil || x.SettleTrace != "000010" || x.EndTrace != "000011" || x.LastError != "the bank did not answer" {
			t.Fatalf("after release: %+v %v", x, err)
		}
		r := api.Settlement{TerminalID: "T1", MerchantID: "M1", Batch: b, NextBatch: store.NextBatch(b), From: t0, To: later,
			DebitCount: 1, DebitAmount: 100, Net: 100, Balanced: true, By: "02"}
		if err := st.CloseSettlement(ctx, "second", r, later); !errors.Is(err, store.ErrStale) {
			t.Fatalf("closed by a former claimant: %v", err)
		}
		if err := st.CloseSettlement(ctx, "third", r, later); err != nil {
			t.Fatal(err)
		}
		if batch, next, err := st.NextTrace(ctx, "T1"); err != nil || batch != "000002" || next != "000001" {
			t.Fatalf("next batch: %s %s %v", batch, next, err)
		}
		x, err = st.ClaimSettlement(ctx, "T1", b, "fourth", "01", later, later.Add(time.Minute))
		if !errors.Is(err, store.ErrBatchMoved) || x.Result == nil || x.Result.DebitAmount != 100 || x.OpenBatch != "000002" || x.State != store.SettlementSettled {
			t.Fatalf("settled batch: %+v %v", x, err)
		}
		if l, err := st.LapsedSettlements(ctx, later.Add(time.Hour), 10); err != nil || len(l) != 0 {
			t.Fatalf("lapsed after close: %+v %v", l, err)
		}
	})
}
