package store_test

import (
	"context"
	"testing"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/server/store"
	"github.com/multipos/multipos/server/store/storetest"
)

// A trace is claimed once per terminal and batch, whatever claims it: of
// concurrent payments, voids and balance inquiries under one trace exactly
// one gets it (on PostgreSQL the payments take the one-statement path).
func TestTraceClaimedOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		st := storetest.Open(t, d)
		ctx := context.Background()
		if err := st.AddTerminal(ctx, terminal("T1", "M1", "S1"), "M"); err != nil {
			t.Fatal(err)
		}
		errs := race(12, func(i int) error {
			switch i % 3 {
			case 0:
				n := walletTx("T1", "000007", 100)
				n.Request.RequestID, n.Order.OutTradeNo = trace(i)+"-rq", "T1-"+trace(i)
				_, _, err := st.Create(ctx, n)
				return err
			case 1:
				n := cardTx("T1", "000007", 100)
				n.Request.RequestID = trace(i) + "-rq"
				_, _, err := st.Create(ctx, n)
				return err
			}
			_, err := st.ClaimTrace(ctx, "T1", "000007", store.TraceBalance, t0)
			return err
		})
		if ok, used := countErrs(t, errs, store.ErrTraceUsed); ok != 1 || used != 11 {
			t.Fatalf("%d claimed, %d refused; want 1 and 11", ok, used)
		}
		// Another terminal's 000007 is its own.
		if _, err := st.ClaimTrace(ctx, "T2", "000007", store.TraceSignOn, t0); err != nil {
			t.Fatal(err)
		}
		if b, next, err := st.NextTrace(ctx, "T1"); err != nil || b != store.FirstBatch || next != "000008" {
			t.Fatalf("next: %s %s %v", b, next, err)
		}
		// A refused trace leaves nothing behind: no sale, no request.
		o := mustCreate(t, st, walletTx("T1", "000008", 100))
		if o.Batch != store.FirstBatch || o.State != api.StateCreated {
			t.Fatalf("%+v", o)
		}
	})
}
