package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/server/store"
	"github.com/multipos/multipos/server/store/storetest"
)

// Undone counts what the bank approved only: a refund in flight or
// declined is not money back. A refusal says what is left to refund,
// counting the refunds in flight, which the bank may yet approve.
func TestUndoneAndWhatIsLeft(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		st := storetest.Open(t, d)
		if err := st.AddTerminal(ctx, terminal("T1", "M1", "S1"), "Merchant"); err != nil {
			t.Fatal(err)
		}
		sale := mustMove(t, st, mustCreate(t, st, cardTx("T1", "000001", 1000)), api.StateSuccess)
		adjust := func(id string, kind api.Kind, trace string, amount int64) (api.Order, error) {
			o, _, err := st.CreateAdjustment(ctx, store.NewAdjustment{ID: id, TerminalID: "T1", RequestID: "rq-" + id,
				RequestHash: id, Kind: kind, Trace: trace, OriginalID: sale.ID, Amount: amount,
				MaskedPAN: sale.MaskedPAN, Entry: "chip", Day: day, At: t0, CheckAfter: t0.Add(time.Minute)})
			return o, err
		}
		settle := func(o api.Order, to api.State) {
			if _, err := st.SettleAdjustment(ctx, o.ID, o.Version, store.AdjustmentChange{To: to, At: t0}); err != nil {
				t.Fatal(err)
			}
		}
		undone := func(what string, refunded int64, voided bool) {
			t.Helper()
			r, v, err := st.Undone(ctx, sale.ID)
			if err != nil || r != refunded || v != voided {
				t.Fatalf("%s: %d fen refunded, voided %v, %v; want %d, %v", what, r, v, err, refunded, voided)
			}
		}
		left := func(what string, err error, target error, want int64) {
			t.Helper()
			var refused *store.Refused
			if !errors.As(err, &refused) || !errors.Is(err, target) || refused.Left != want {
				t.Fatalf("%s: %v, want %v with %d fen left", what, err, target, want)
			}
		}
		undone("a fresh sale", 0, false)
		ok, err := adjust("a1", api.KindCardRefund, "000002", 300)
		if err != nil {
			t.Fatal(err)
		}
		undone("a refund in flight", 0, false)
		settle(ok, api.StateSuccess)
		undone("a refund approved", 300, false)
		declined, err := adjust("a2", api.KindCardRefund, "000003", 200)
		if err != nil {
			t.Fatal(err)
		}
		settle(declined, api.StateFailed)
		undone("a refund declined", 300, false)
		if _, err := adjust("a3", api.KindCardRefund, "000004", 100); err != nil { // left in flight
			t.Fatal(err)
		}
		_, err = adjust("a4", api.KindCardRefund, "000005", 601)
		left("more than is left", err, store.ErrOverRefund, 600)
		_, err = adjust("a5", api.KindCardVoid, "000006", 0)
		left("a void of a sale with refunds", err, store.ErrRefunded, 600)

		other := mustMove(t, st, mustCreate(t, st, cardTx("T1", "000007", 500)), api.StateSuccess)
		sale = other
		v, err := adjust("a6", api.KindCardVoid, "000008", 0)
		if err != nil {
			t.Fatal(err)
		}
		settle(v, api.StateSuccess)
		undone("voided", 0, true)
		_, err = adjust("a7", api.KindCardRefund, "000009", 100)
		left("a refund of a voided sale", err, store.ErrVoided, 0)
	})
}
