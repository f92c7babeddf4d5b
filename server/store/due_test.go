package store_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/server/store"
	"github.com/multipos/multipos/server/store/storetest"
)

// dueAt creates an attempt that the sweeper should look at from `check`.
func dueAt(t *testing.T, st *store.Store, trace string, check time.Time) api.Order {
	t.Helper()
	n := walletTx("T1", trace, 100)
	n.CheckAfter = check
	return mustCreate(t, st, n)
}

func claim(t *testing.T, st *store.Store, owner string, now, until time.Time, limit int) []store.Due {
	t.Helper()
	due, err := st.ClaimDue(context.Background(), owner, now, until, limit)
	if err != nil {
		t.Fatalf("claim due by %s at %v: %v", owner, now, err)
	}
	return due
}

func dueIDs(due []store.Due) []string {
	var ids []string
	for _, d := range due {
		ids = append(ids, d.ID)
	}
	slices.Sort(ids)
	return ids
}

func sorted(ids ...string) []string {
	slices.Sort(ids)
	return ids
}

func TestClaimDue(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		st := storetest.Open(t, d)
		ctx := context.Background()
		a := dueAt(t, st, "000001", t0.Add(-time.Minute))
		b := dueAt(t, st, "000002", t0.Add(time.Hour))
		c := dueAt(t, st, "000003", t0) // due exactly now
		final := dueAt(t, st, "000004", t0.Add(-time.Minute))
		mustMove(t, st, final, api.StateSuccess)
		pending := dueAt(t, st, "000005", t0.Add(-time.Minute))
		pending = mustMove(t, st, pending, api.StatePending) // next check t0+2m

		due := claim(t, st, "A", t0, t0.Add(30*time.Second), 10)
		if got, want := dueIDs(due), sorted(a.ID, c.ID); !slices.Equal(got, want) {
			t.Fatalf("due at t0: %v, want %v (a, c)", got, want)
		}
		for _, d := range due {
			if d.Sweeps != 0 || d.State != api.StateCreated || d.Version != 1 || d.Amount != 100 || d.TerminalID != "T1" {
				t.Errorf("due %+v", d)
			}
		}
		if due := claim(t, st, "B", t0, t0.Add(time.Minute), 10); len(due) != 0 {
			t.Errorf("leased transactions claimed again: %v", dueIDs(due))
		}
		if due := claim(t, st, "B", t0.Add(29*time.Second), t0.Add(time.Minute), 10); len(due) != 0 {
			t.Errorf("claimed before the lease ran out: %v", dueIDs(due))
		}
		// The lease runs out: another owner takes them.
		due = claim(t, st, "B", t0.Add(30*time.Second), t0.Add(time.Minute), 10)
		if got, want := dueIDs(due), sorted(a.ID, c.ID); !slices.Equal(got, want) {
			t.Errorf("after the lease: %v, want %v", got, want)
		}

		// Earliest check first, up to the limit.
		due = claim(t, st, "C", t0.Add(time.Hour), t0.Add(2*time.Hour), 1)
		if len(due) != 1 || due[0].ID != a.ID {
			t.Errorf("limit 1: %v, want [%s]", dueIDs(due), a.ID)
		}

		// A final state takes a transaction out of the due set.
		mustMove(t, st, a, api.StateFailed)
		due = claim(t, st, "D", t0.Add(10*time.Hour), t0.Add(11*time.Hour), 10)
		if got, want := dueIDs(due), sorted(b.ID, c.ID, pending.ID); !slices.Equal(got, want) {
			t.Errorf("at t0+10h: %v, want %v (b, c, pending)", got, want)
		}

		for name, args := range map[string]struct {
			owner      string
			now, until time.Time
			limit      int
		}{
			"no owner":      {"", t0, t0.Add(time.Minute), 1},
			"lease in past": {"E", t0, t0.Add(-time.Minute), 1},
			"empty lease":   {"E", t0, t0, 1},
			"no limit":      {"E", t0, t0.Add(time.Minute), 0},
		} {
			if _, err := st.ClaimDue(ctx, args.owner, args.now, args.until, args.limit); err == nil {
				t.Errorf("%s: accepted", name)
			}
		}
	})
}

func TestTransitionEndsLease(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		st := storetest.Open(t, d)
		a := dueAt(t, st, "000001", t0.Add(-time.Minute))
		if due := claim(t, st, "A", t0, t0.Add(time.Hour), 10); len(due) != 1 {
			t.Fatalf("claimed %v", dueIDs(due))
		}
		// A change to a state that is not final sets the next check and ends
		// the lease: at that check time anyone may take it.
		p := mustMove(t, st, a, api.StatePending) // next check t0+2m
		if due := claim(t, st, "B", t0.Add(time.Minute), t0.Add(time.Hour), 10); len(due) != 0 {
			t.Errorf("claimed before its new check time: %v", dueIDs(due))
		}
		due := claim(t, st, "B", t0.Add(2*time.Minute), t0.Add(time.Hour), 10)
		if len(due) != 1 || due[0].ID != a.ID || due[0].Version != p.Version || due[0].State != api.StatePending {
			t.Errorf("after the change: %+v", due)
		}
	})
}

func TestDefer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		st := storetest.Open(t, d)
		ctx := context.Background()
		a := dueAt(t, st, "000001", t0.Add(-time.Minute))
		if due := claim(t, st, "A", t0, t0.Add(10*time.Minute), 10); len(due) != 1 {
			t.Fatalf("claimed %v", dueIDs(due))
		}
		if err := st.Defer(ctx, a.ID, a.Version, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if due := claim(t, st, "B", t0.Add(30*time.Second), t0.Add(time.Hour), 10); len(due) != 0 {
			t.Errorf("claimed before the deferred check: %v", dueIDs(due))
		}
		// A's lease (to t0+10m) ended with the Defer.
		due := claim(t, st, "B", t0.Add(time.Minute), t0.Add(5*time.Minute), 10)
		if len(due) != 1 || due[0].ID != a.ID || due[0].Sweeps != 1 {
			t.Fatalf("after defer: %+v, want a with 1 sweep", due)
		}
		if got := mustGet(t, st, a.ID); got != a {
			t.Errorf("defer changed the transaction: %+v", got)
		}

		// A stale version changes nothing: B keeps its lease.
		if err := st.Defer(ctx, a.ID, a.Version+1, t0.Add(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if due := claim(t, st, "C", t0.Add(2*time.Minute), t0.Add(time.Hour), 10); len(due) != 0 {
			t.Errorf("stale defer ended the lease: %v", dueIDs(due))
		}
		if err := st.Defer(ctx, a.ID, a.Version, t0.Add(3*time.Minute)); err != nil {
			t.Fatal(err)
		}
		due = claim(t, st, "C", t0.Add(3*time.Minute), t0.Add(time.Hour), 10)
		if len(due) != 1 || due[0].Sweeps != 2 {
			t.Errorf("second defer: %+v, want 2 sweeps", due)
		}

		// A final transaction stays out of the due set, deferred or not.
		s := mustMove(t, st, a, api.StateSuccess)
		if err := st.Defer(ctx, s.ID, s.Version, t0.Add(4*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if due := claim(t, st, "D", t0.Add(time.Hour), t0.Add(2*time.Hour), 10); len(due) != 0 {
			t.Errorf("final transaction due again: %v", dueIDs(due))
		}
	})
}

// Two server instances on one database sweep together: each transaction
// goes to exactly one of them.
func TestClaimDueTwoInstances(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		dsn := storetest.DSN(t, d)
		stores := []*store.Store{storetest.OpenDSN(t, dsn), storetest.OpenDSN(t, dsn)}
		const n = 40
		all := map[string]bool{}
		for i := range n {
			all[dueAt(t, stores[0], trace(i), t0.Add(-time.Duration(i)*time.Second)).ID] = true
		}

		var (
			total atomic.Int64
			wg    sync.WaitGroup
			got   = make([][]string, 2)
			errs  = make([]error, 2)
		)
		deadline := time.Now().Add(30 * time.Second)
		for w := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				owner := []string{"A", "B"}[w]
				for total.Load() < n && time.Now().Before(deadline) {
					due, err := stores[w].ClaimDue(context.Background(), owner, t0, t0.Add(time.Hour), 3)
					if err != nil {
						errs[w] = err
						return
					}
					for _, d := range due {
						got[w] = append(got[w], d.ID)
					}
					total.Add(int64(len(due)))
				}
			}()
		}
		wg.Wait()
		for w, err := range errs {
			if err != nil {
				t.Errorf("instance %d: %v", w, err)
			}
		}
		seen := map[string]int{}
		for w := range got {
			for _, id := range got[w] {
				if prev, ok := seen[id]; ok {
					t.Errorf("%s claimed by instance %d and by instance %d", id, prev, w)
				}
				seen[id] = w
			}
		}
		if len(seen) != n {
			t.Errorf("claimed %d of %d", len(seen), n)
		}
		for id := range seen {
			if !all[id] {
				t.Errorf("claimed unknown id %s", id)
			}
		}
		t.Logf("instance A took %d, B took %d", len(got[0]), len(got[1]))
		for w, st := range stores {
			if due := claim(t, st, "Z", t0, t0.Add(time.Minute), n); len(due) != 0 {
				t.Errorf("instance %d still finds %d due while all are leased", w, len(due))
			}
		}
	})
}

func TestUndelivered(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		st := storetest.Open(t, d)
		ctx := context.Background()
		// end creates an attempt at t0+created and moves it to `to` at t0+at.
		end := func(term, trace string, created time.Duration, to api.State, at time.Duration) api.Order {
			t.Helper()
			n := walletTx(term, trace, 100)
			n.Order.CreatedAt = t0.Add(created)
			o := mustCreate(t, st, n)
			c := change(to)
			c.At = t0.Add(at)
			got, err := st.Transition(ctx, o.ID, o.State, o.Version, c)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		a := end("T1", "000001", time.Second, api.StateSuccess, 10*time.Second)
		b := end("T1", "000002", 2*time.Second, api.StateFailed, 5*time.Second) // created after a, changed before it
		end("T1", "000003", 3*time.Second, api.StatePending, 6*time.Second)     // not final
		late := end("T1", "000004", 4*time.Second, api.StateClosed, 10*time.Minute)
		old := end("T1", "000005", -time.Hour, api.StateSuccess, 3*time.Second)
		other := end("T2", "000001", time.Second, api.StateSuccess, 10*time.Second)
		n := walletTx("T1", "000006", 100)
		n.Order.CreatedAt = t0.Add(5 * time.Second)
		mustCreate(t, st, n) // still CREATED

		list := func(term string, since, before time.Duration, limit int) []api.Order {
			t.Helper()
			got, err := st.Undelivered(ctx, term, t0.Add(since), t0.Add(before), limit)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		for _, c := range []struct {
			name          string
			since, before time.Duration
			limit         int
			want          []api.Order
		}{
			{"created since t0, changed in the first minute", 0, time.Minute, 10, []api.Order{a, b}},
			{"created since t0+2s", 2 * time.Second, time.Minute, 10, []api.Order{b}},
			{"changed before t0+10s", 0, 10 * time.Second, 10, []api.Order{b}},
			{"limit 1", 0, time.Minute, 1, []api.Order{a}},
			{"all", -2 * time.Hour, time.Hour, 10, []api.Order{old, a, b, late}},
		} {
			if got := list("T1", c.since, c.before, c.limit); !slices.Equal(got, c.want) {
				t.Errorf("%s:\n%+v\nwant\n%+v", c.name, got, c.want)
			}
		}

		if err := st.MarkDelivered(ctx, "T1", []string{a.ID, other.ID, "tx-nope"}, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := st.MarkDelivered(ctx, "T1", nil, t0.Add(time.Hour)); err != nil {
			t.Errorf("mark nothing: %v", err)
		}
		if got := list("T1", -2*time.Hour, time.Hour, 10); !slices.Equal(got, []api.Order{old, b, late}) {
			t.Errorf("after marking a: %+v, want [old b late]", got)
		}
		if got := list("T2", -2*time.Hour, time.Hour, 10); !slices.Equal(got, []api.Order{other}) {
			t.Errorf("T2's result marked by T1: %+v", got)
		}
		if err := st.MarkDelivered(ctx, "T1", []string{old.ID, b.ID, late.ID}, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got := list("T1", -2*time.Hour, time.Hour, 10); len(got) != 0 {
			t.Errorf("all marked, still undelivered: %+v", got)
		}
	})
}

// A change without a check time keeps the one set before (a fresh QR order
// keeps its journal entry's), and Postpone moves it without counting a try.
func TestKeepAndPostponeCheckTime(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		st := storetest.Open(t, d)
		ctx := context.Background()
		o := dueAt(t, st, "000001", t0.Add(time.Minute))
		c := change(api.StatePending)
		c.CheckAfter = time.Time{}
		o, err := st.Transition(ctx, o.ID, o.State, o.Version, c)
		if err != nil {
			t.Fatalf("to PENDING keeping the check time: %v", err)
		}
		if due := claim(t, st, "A", t0.Add(59*time.Second), t0.Add(2*time.Minute), 10); len(due) != 0 {
			t.Fatalf("claimed before its check time: %+v", due)
		}
		due := claim(t, st, "A", t0.Add(time.Minute), t0.Add(2*time.Minute), 10)
		if got := dueIDs(due); !slices.Equal(got, []string{o.ID}) {
			t.Fatalf("claimed %v at the kept check time, want %s", got, o.ID)
		}
		if err := st.Postpone(ctx, o.ID, o.Version, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if due := claim(t, st, "B", t0.Add(59*time.Minute), t0.Add(61*time.Minute), 10); len(due) != 0 {
			t.Fatalf("claimed before the postponed time: %+v", due)
		}
		due = claim(t, st, "B", t0.Add(time.Hour), t0.Add(61*time.Minute), 10)
		if len(due) != 1 || due[0].ID != o.ID || due[0].Sweeps != 0 {
			t.Fatalf("after postponing: %+v, want %s with no try counted", due, o.ID)
		}
		// A postponement of a version that moved on does nothing.
		if err := st.Postpone(ctx, o.ID, o.Version-1, t0.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if due := claim(t, st, "C", t0.Add(62*time.Minute), t0.Add(63*time.Minute), 10); len(due) != 1 {
			t.Fatalf("a stale postponement moved the check time: %+v", due)
		}
	})
}
