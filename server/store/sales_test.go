package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/server/store"
	"github.com/multipos/multipos/server/store/storetest"
)

// retry is another attempt at sale, made at t0+after.
func retry(term, trace, sale string, amount int64, after time.Duration) store.NewTx {
	n := walletTx(term, trace, amount)
	n.Order.SaleID = sale
	n.Order.CreatedAt = t0.Add(after)
	return n
}

func TestSaleAttempts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		st := storetest.Open(t, d)
		ctx := context.Background()
		first := mustCreate(t, st, walletTx("T1", "000001", 500))
		sale := first.SaleID

		// While the first attempt is open (in any of its open states) a
		// second one is refused, and nothing of it is kept.
		second := retry("T1", "000002", sale, 500, 10*time.Second)
		for _, to := range []api.State{"", api.StatePending, api.StateUnknown} {
			if to != "" {
				first = mustMove(t, st, first, to)
			}
			if o, replay, err := st.Create(ctx, second); !errors.Is(err, store.ErrSaleBusy) || replay != nil {
				t.Errorf("second attempt while the first is %s: %+v, %+v, %v; want ErrSaleBusy", first.State, o, replay, err)
			}
		}
		if _, err := st.ByTrace(ctx, "T1", "", "000002"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("refused attempt written: %v", err)
		}
		if _, err := st.Request(ctx, "T1", second.Request.RequestID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("refused attempt's request recorded: %v", err)
		}

		// Another terminal's sale is unknown to this one, whatever its state.
		if _, _, err := st.Create(ctx, retry("T2", "000001", sale, 500, 0)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("another terminal's sale: %v, want ErrNotFound", err)
		}
		if _, _, err := st.Create(ctx, retry("T1", "000003", "sa-nope", 500, 0)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown sale: %v, want ErrNotFound", err)
		}
		if _, _, err := st.Create(ctx, retry("T1", "000004", sale, 501, 0)); !errors.Is(err, store.ErrSaleMismatch) {
			t.Errorf("other amount: %v, want ErrSaleMismatch", err)
		}

		// Once the first failed, the same call is accepted.
		first = mustMove(t, st, first, api.StateFailed)
		a2, replay, err := st.Create(ctx, second)
		if err != nil || replay != nil {
			t.Fatalf("second attempt after the first failed: %+v, %v", replay, err)
		}
		if a2.SaleID != sale || a2.ID == first.ID || a2.State != api.StateCreated {
			t.Errorf("second attempt %+v", a2)
		}
		if _, _, err := st.Create(ctx, retry("T1", "000005", sale, 500, 20*time.Second)); !errors.Is(err, store.ErrSaleBusy) {
			t.Errorf("third attempt while the second is open: %v, want ErrSaleBusy", err)
		}
		attempts, err := st.BySale(ctx, sale)
		if err != nil || len(attempts) != 2 || attempts[0] != first || attempts[1] != a2 {
			t.Errorf("by sale = %+v, %v\nwant [%+v %+v]", attempts, err, first, a2)
		}

		// The second succeeds: the sale is paid.
		a2 = mustMove(t, st, a2, api.StateSuccess)
		if _, _, err := st.Create(ctx, retry("T1", "000006", sale, 500, 30*time.Second)); !errors.Is(err, store.ErrSalePaid) {
			t.Errorf("attempt on a paid sale: %v, want ErrSalePaid", err)
		}
		if _, _, err := st.Create(ctx, retry("T1", "000007", sale, 999, 30*time.Second)); !errors.Is(err, store.ErrSalePaid) {
			t.Errorf("other amount on a paid sale: %v, want ErrSalePaid", err)
		}
		if _, _, err := st.Create(ctx, retry("T2", "000002", sale, 500, 30*time.Second)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("another terminal on a paid sale: %v, want ErrNotFound", err)
		}
		if total := dailyTotal(t, st, "T1", api.Alipay); total != 500 {
			t.Errorf("daily total %d, want 500 (the failed attempt given back)", total)
		}
		if attempts, err := st.BySale(ctx, sale); err != nil || len(attempts) != 2 || attempts[1] != a2 {
			t.Errorf("by sale after payment = %+v, %v", attempts, err)
		}

		// A new sale of the same terminal is unaffected.
		if o := mustCreate(t, st, walletTx("T1", "000008", 500)); o.SaleID == sale {
			t.Error("a new attempt without a sale id joined the paid sale")
		}
	})
}

func TestSaleCardRetryAfterWallet(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		st := storetest.Open(t, d)
		first := mustCreate(t, st, walletTx("T1", "000001", 800))
		mustMove(t, st, first, api.StateClosed)
		n := cardTx("T1", "000002", 800)
		n.Order.SaleID = first.SaleID
		card := mustCreate(t, st, n)
		if card.SaleID != first.SaleID || card.Channel != api.Card {
			t.Errorf("card attempt %+v", card)
		}
		mustMove(t, st, card, api.StateSuccess)
		if total := dailyTotal(t, st, "T1", api.Alipay); total != 0 {
			t.Errorf("closed wallet attempt still counted: %d", total)
		}
		if total := dailyTotal(t, st, "T1", api.Card); total != 800 {
			t.Errorf("card total %d, want 800", total)
		}
	})
}

func TestSaleConcurrentRetries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		st := storetest.Open(t, d)
		ctx := context.Background()
		first := mustCreate(t, st, walletTx("T1", "000001", 500))
		mustMove(t, st, first, api.StateFailed)

		const n = 10
		errs := race(n, func(i int) error {
			_, replay, err := st.Create(ctx, retry("T1", trace(100+i), first.SaleID, 500, time.Second))
			if err == nil && replay != nil {
				return errors.New("unexpected replay")
			}
			return err
		})
		if ok, busy := countErrs(t, errs, store.ErrSaleBusy); ok != 1 || busy != n-1 {
			t.Errorf("%d accepted, %d ErrSaleBusy; want 1 and %d", ok, busy, n-1)
		}
		attempts, err := st.BySale(ctx, first.SaleID)
		if err != nil || len(attempts) != 2 {
			t.Errorf("by sale = %+v, %v; want 2 attempts", attempts, err)
		}
		if total := dailyTotal(t, st, "T1", api.Alipay); total != 500 {
			t.Errorf("daily total %d, want 500", total)
		}
	})
}

// Should an attempt ever reach SUCCESS when its sale is paid already (no
// code path lets it; the database must refuse it anyway), the change is
// refused whole: the attempt, its history and the sale stay as they were.
func TestSuccessOnPaidSaleRefusedWhole(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		dsn := storetest.DSN(t, d)
		st := storetest.OpenDSN(t, dsn)
		ctx := context.Background()
		o := mustCreate(t, st, walletTx("T1", "000001", 100))
		o = mustMove(t, st, o, api.StatePending)
		db := rawDB(t, d, dsn)
		mark := `UPDATE sales SET state = 'PAID', paid_by = 'tx-elsewhere' WHERE id = ?`
		if d == store.Postgres {
			mark = strings.Replace(mark, "?", "$1", 1)
		}
		if _, err := db.ExecContext(ctx, mark, o.SaleID); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Transition(ctx, o.ID, o.State, o.Version, change(api.StateSuccess)); !errors.Is(err, store.ErrSalePaid) {
			t.Fatalf("SUCCESS on a paid sale: %v, want ErrSalePaid", err)
		}
		if got := mustGet(t, st, o.ID); got != o {
			t.Errorf("the refused change left %+v, want %+v", got, o)
		}
		if h, err := st.History(ctx, o.ID); err != nil || len(h) != 2 {
			t.Errorf("history after the refusal: %+v, %v", h, err)
		}
	})
}
