package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/server/store"
	"github.com/multipos/multipos/server/store/storetest"
)

// A checker reads a running server's journal without writing to it: every
// transaction, void and refund, request id and daily total of the
// terminals it names, and nothing of the others.
func TestSnapshotReadOnly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		dsn := storetest.DSN(t, d)
		st := storetest.OpenDSN(t, dsn)
		for _, id := range []string{"T1", "T2"} {
			if err := st.AddTerminal(ctx, terminal(id, "M1", "S1"), "Merchant"); err != nil {
				t.Fatal(err)
			}
		}
		paid := mustMove(t, st, mustCreate(t, st, cardTx("T1", "000001", 500)), api.StateSuccess)
		mustMove(t, st, mustCreate(t, st, walletTx("T1", "000002", 300)), api.StatePending)
		mustCreate(t, st, walletTx("T2", "000001", 700))
		if _, _, err := st.CreateAdjustment(ctx, store.NewAdjustment{ID: "adj1", TerminalID: "T1", RequestID: "rq-adj1",
			RequestHash: "h", Kind: api.KindCardRefund, Trace: "000003", OriginalID: paid.ID, Amount: 200,
			MaskedPAN: paid.MaskedPAN, Entry: "chip", Day: day, At: t0, CheckAfter: t0.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}

		ro, err := store.OpenReadOnly(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer ro.Close()
		snap, err := ro.Snapshot(ctx, []string{"T1"})
		if err != nil {
			t.Fatal(err)
		}
		if len(snap.Transactions) != 2 || snap.Transactions[0].ID != paid.ID || snap.Transactions[0].State != api.StateSuccess ||
			!snap.Transactions[0].CheckAfter.IsZero() || snap.Transactions[0].Day != day || snap.Transactions[0].MerchantID != "M1" ||
			snap.Transactions[1].State != api.StatePending || snap.Transactions[1].CheckAfter.IsZero() || snap.Transactions[1].OutTradeNo != "T1-000002" {
			t.Fatalf("transactions: %+v", snap.Transactions)
		}
		if len(snap.Adjustments) != 1 || snap.Adjustments[0].Original != paid.ID || snap.Adjustments[0].Kind != api.KindCardRefund ||
			snap.Adjustments[0].State != api.StateCreated || snap.Adjustments[0].Amount != 200 || snap.Adjustments[0].RequestID != "rq-adj1" {
			t.Fatalf("adjustments: %+v", snap.Adjustments)
		}
		// Voids and refunds keep their request id in their own row.
		if len(snap.Requests) != 2 {
			t.Fatalf("requests: %+v", snap.Requests)
		}
		for _, r := range snap.Requests {
			if r.TerminalID != "T1" || r.TxID == "" {
				t.Errorf("request %+v", r)
			}
		}
		totals := map[string]int64{}
		for _, x := range snap.Totals {
			totals[x.Channel] = x.Amount
		}
		if len(snap.Totals) != 2 || totals["card"] != 500 || totals["alipay"] != 300 {
			t.Fatalf("totals: %+v", snap.Totals)
		}
		if empty, err := ro.Snapshot(ctx, nil); err != nil || len(empty.Transactions) != 0 {
			t.Fatalf("no terminals: %+v %v", empty, err)
		}
		if d == store.SQLite {
			if _, _, err := ro.Create(ctx, walletTx("T1", "000009", 1)); err == nil {
				t.Fatal("a read-only store wrote")
			}
		}
	})
}
