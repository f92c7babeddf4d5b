package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/server/store"
	"github.com/multipos/multipos/server/store/storetest"
)

// limited is walletTx with daily limits.
func limited(term, trace string, amount, terminalDaily, merchantDaily int64) store.NewTx {
	n := walletTx(term, trace, amount)
	n.TerminalDaily, n.MerchantDaily = terminalDaily, merchantDaily
	return n
}

// wantOver checks that err is an *OverLimit of that scope, limit and use.
func wantOver(t *testing.T, what string, err error, scope string, limit, used int64) {
	t.Helper()
	var over *store.OverLimit
	if !errors.As(err, &over) || !errors.Is(err, store.ErrOverLimit) {
		t.Errorf("%s: %v, want *OverLimit", what, err)
		return
	}
	if over.Scope != scope || over.Limit != limit || over.Used != used {
		t.Errorf("%s: %+v, want %s limit %d used %d", what, *over, scope, limit, used)
	}
}

func merchantTotal(t *testing.T, st *store.Store, merchant string) int64 {
	t.Helper()
	n, err := st.MerchantDailyTotal(context.Background(), merchant, api.Alipay, day)
	if err != nil {
		t.Fatalf("merchant total: %v", err)
	}
	return n
}

func TestTerminalDailyLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		st := storetest.Open(t, d)
		ctx := context.Background()
		mustCreate(t, st, limited("T1", "000001", 600, 1000, 0))
		if got := dailyTotal(t, st, "T1", api.Alipay); got != 600 {
			t.Fatalf("daily total %d, want 600", got)
		}
		over := limited("T1", "000002", 500, 1000, 0)
		_, replay, err := st.Create(ctx, over)
		wantOver(t, "600+500 of 1000", err, store.ScopeTerminal, 1000, 600)
		if replay != nil {
			t.Errorf("over the limit: replay %+v", replay)
		}
		if _, err := st.ByTrace(ctx, "T1", "", "000002"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("refused attempt written: %v", err)
		}
		if _, err := st.Request(ctx, "T1", over.Request.RequestID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("refused attempt's request recorded: %v", err)
		}

		mustCreate(t, st, limited("T1", "000003", 400, 1000, 0)) // exactly the limit
		_, _, err = st.Create(ctx, limited("T1", "000004", 1, 1000, 0))
		wantOver(t, "one fen more", err, store.ScopeTerminal, 1000, 1000)
		_, _, err = st.Create(ctx, limited("T9", "000001", 1001, 1000, 0))
		wantOver(t, "single attempt above the limit", err, store.ScopeTerminal, 1000, 0)
		if got := dailyTotal(t, st, "T1", api.Alipay); got != 1000 {
			t.Errorf("daily total %d, want 1000", got)
		}

		// Other channels, other days and other terminals are counted apart;
		// no limit means none.
		c := cardTx("T1", "000005", 900)
		c.TerminalDaily = 1000
		mustCreate(t, st, c)
		tomorrow := limited("T1", "000006", 1000, 1000, 0)
		tomorrow.Day = "2025-03-02"
		mustCreate(t, st, tomorrow)
		mustCreate(t, st, limited("T2", "000001", 1000, 1000, 0))
		mustCreate(t, st, limited("T1", "000007", 5000, 0, 0))
		for _, c := range []struct {
			term string
			ch   api.Channel
			day  string
			want int64
		}{{"T1", api.Alipay, day, 6000}, {"T1", api.Card, day, 900}, {"T1", api.Alipay, "2025-03-02", 1000},
			{"T2", api.Alipay, day, 1000}, {"T3", api.Alipay, day, 0}} {
			if got, err := st.DailyTotal(ctx, c.term, c.ch, c.day); err != nil || got != c.want {
				t.Errorf("total of %s on %s %s = %d, %v; want %d", c.term, c.ch, c.day, got, err, c.want)
			}
		}
	})
}

func TestFailedAndClosedGiveBack(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		st := storetest.Open(t, d)
		ctx := context.Background()
		a := mustCreate(t, st, limited("T1", "000001", 300, 1000, 0))
		b := mustCreate(t, st, limited("T1", "000002", 200, 1000, 0))
		c := mustCreate(t, st, limited("T1", "000003", 100, 1000, 0))
		e := mustCreate(t, st, limited("T1", "000004", 400, 1000, 0))
		steps := []struct {
			o    api.Order
			path []api.State
			want int64
		}{
			{a, []api.State{api.StateFailed}, 700},
			{b, []api.State{api.StatePending, api.StateClosed}, 500},
			{c, []api.State{api.StateUnknown, api.StateSuccess}, 500},
			{e, []api.State{api.StatePending, api.StateUnknown}, 500},
		}
		for _, s := range steps {
			o := s.o
			for _, to := range s.path {
				o = mustMove(t, st, o, to)
			}
			if got := dailyTotal(t, st, "T1", api.Alipay); got != s.want {
				t.Errorf("after %s went %v: total %d, want %d", s.o.Trace, s.path, got, s.want)
			}
		}
		if got := merchantTotal(t, st, "M1"); got != 500 {
			t.Errorf("merchant total %d, want 500 (c and e)", got)
		}
		// What was given back can be taken again.
		mustCreate(t, st, limited("T1", "000005", 500, 1000, 0))
		_, _, err := st.Create(ctx, limited("T1", "000006", 1, 1000, 0))
		wantOver(t, "after refilling", err, store.ScopeTerminal, 1000, 1000)
	})
}

func TestMerchantDailyAcrossTerminals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		st := storetest.Open(t, d)
		ctx := context.Background()
		// Made before the merchant's limit was first met today.
		mustCreate(t, st, limited("T1", "000001", 300, 0, 0))

		t2 := mustCreate(t, st, limited("T2", "000001", 500, 0, 1000))
		_, _, err := st.Create(ctx, limited("T2", "000002", 300, 0, 1000))
		wantOver(t, "300+500+300 of 1000", err, store.ScopeMerchant, 1000, 800)
		mustCreate(t, st, limited("T1", "000002", 200, 0, 1000))
		_, _, err = st.Create(ctx, limited("T1", "000003", 1, 0, 1000))
		wantOver(t, "one fen more", err, store.ScopeMerchant, 1000, 1000)
		if got := merchantTotal(t, st, "M1"); got != 1000 {
			t.Errorf("merchant total %d, want 1000", got)
		}
		// The terminal limit is checked too, and first.
		_, _, err = st.Create(ctx, limited("T1", "000004", 100, 500, 1000))
		wantOver(t, "terminal limit", err, store.ScopeTerminal, 500, 500)

		// Another merchant has its own total.
		other := limited("T9", "000001", 900, 0, 1000)
		other.MerchantID = "M2"
		mustCreate(t, st, other)

		// A failed attempt counted by the limit gives its amount back.
		mustMove(t, st, t2, api.StateFailed)
		mustCreate(t, st, limited("T2", "000003", 500, 0, 1000))
		_, _, err = st.Create(ctx, limited("T2", "000004", 1, 0, 1000))
		wantOver(t, "after the give-back", err, store.ScopeMerchant, 1000, 1000)
		if got := merchantTotal(t, st, "M1"); got != 1000 {
			t.Errorf("merchant total %d, want 1000", got)
		}
	})
}

// Attempts made before the merchant's limit was first met are counted in
// the merchant's total from then on; one that fails must give its amount
// back like any other, one that succeeds keeps it.
func TestMerchantDailyGivesBackEarlierAttempt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		st := storetest.Open(t, d)
		ctx := context.Background()
		fails := mustCreate(t, st, limited("T1", "000001", 300, 0, 0))
		pays := mustCreate(t, st, limited("T1", "000002", 200, 0, 0))
		mustCreate(t, st, limited("T2", "000001", 500, 0, 1000)) // 300 + 200 + 500: the limit
		mustMove(t, st, fails, api.StateFailed)
		mustMove(t, st, mustMove(t, st, pays, api.StatePending), api.StateSuccess)
		if got := merchantTotal(t, st, "M1"); got != 700 {
			t.Fatalf("merchant total %d, want 700", got)
		}
		if _, _, err := st.Create(ctx, limited("T2", "000002", 300, 0, 1000)); err != nil {
			t.Errorf("700 used of 1000, 300 more refused: %v", err)
		}
		_, _, err := st.Create(ctx, limited("T2", "000003", 1, 0, 1000))
		wantOver(t, "one fen more", err, store.ScopeMerchant, 1000, 1000)
	})
}

func TestMerchantDailyConcurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		st := storetest.Open(t, d)
		ctx := context.Background()
		const n, amount, allowed = 20, 100, 5
		errs := race(n, func(i int) error {
			_, replay, err := st.Create(ctx, limited(fmt.Sprintf("T%02d", i), "000001", amount, 0, allowed*amount))
			if err == nil && replay != nil {
				return errors.New("unexpected replay")
			}
			return err
		})
		ok, over := countErrs(t, errs, store.ErrOverLimit)
		if ok != allowed || over != n-allowed {
			t.Errorf("%d created, %d over the limit; want %d and %d", ok, over, allowed, n-allowed)
		}
		for i, err := range errs {
			var o *store.OverLimit
			if errors.As(err, &o) && (o.Scope != store.ScopeMerchant || o.Used != allowed*amount) {
				t.Errorf("goroutine %d: %+v", i, *o)
			}
		}
		if got := merchantTotal(t, st, "M1"); got != allowed*amount {
			t.Errorf("merchant total %d, want %d", got, allowed*amount)
		}
		var sum int64
		for i := range n {
			sum += dailyTotal(t, st, fmt.Sprintf("T%02d", i), api.Alipay)
		}
		if sum != allowed*amount {
			t.Errorf("terminal totals add up to %d, want %d", sum, allowed*amount)
		}
		_, _, err := st.Create(ctx, limited("T99", "000001", amount, 0, allowed*amount))
		wantOver(t, "one more", err, store.ScopeMerchant, allowed*amount, allowed*amount)
	})
}

func TestTerminalDailyConcurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		st := storetest.Open(t, d)
		ctx := context.Background()
		const n, amount, allowed = 20, 100, 5
		errs := race(n, func(i int) error {
			_, _, err := st.Create(ctx, limited("T1", trace(i), amount, allowed*amount, 0))
			return err
		})
		if ok, over := countErrs(t, errs, store.ErrOverLimit); ok != allowed || over != n-allowed {
			t.Errorf("%d created, %d over the limit; want %d and %d", ok, over, allowed, n-allowed)
		}
		if got := dailyTotal(t, st, "T1", api.Alipay); got != allowed*amount {
			t.Errorf("daily total %d, want %d", got, allowed*amount)
		}
	})
}
