package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/server/store"
	"github.com/multipos/multipos/server/store/storetest"
)

// queueBehindHeldWorkers runs each call in its own goroutine while the
// group-commit workers are held, waits until the calls beyond the workers'
// own are queued, so that they go out in shared batches, then lets them go.
func queueBehindHeldWorkers(t *testing.T, st *store.Store, calls []func()) {
	t.Helper()
	release := st.HoldGroup()
	var wg sync.WaitGroup
	for _, call := range calls {
		wg.Go(call)
	}
	want := len(calls) - store.GroupWorkers
	for deadline := time.Now().Add(10 * time.Second); st.GroupQueued() < want; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			release()
			t.Fatalf("%d statements queued, want %d", st.GroupQueued(), want)
		}
	}
	release()
	wg.Wait()
}

// Statements of many calls share batches (one transaction each), yet each
// call gets its own outcome: a refused one (a limit, a replay, a lost
// compare-and-set) neither takes the others down nor leaves anything of
// itself behind.
func TestGroupCommitKeepsCallsApart(t *testing.T) {
	st := storetest.Open(t, store.Postgres)
	ctx := context.Background()
	first := mustCreate(t, st, walletTx("T0", "000001", 100))

	const n = 48
	type outcome struct {
		o      api.Order
		replay *store.Request
		err    error
	}
	got := make([]outcome, n)
	var calls []func()
	for i := range n {
		calls = append(calls, func() {
			var tx store.NewTx
			switch i % 4 {
			case 0: // a replay of the first call
				tx = walletTx("T0", "000001", 100)
			case 1: // over its terminal's daily limit
				tx = walletTx(fmt.Sprintf("L%02d", i), "000001", 100)
				tx.TerminalDaily = 50
			default:
				tx = walletTx(fmt.Sprintf("T%02d", i), "000001", 100)
			}
			o, replay, err := st.Create(ctx, tx)
			got[i] = outcome{o, replay, err}
		})
	}
	queueBehindHeldWorkers(t, st, calls)

	var created []api.Order
	for i, g := range got {
		switch i % 4 {
		case 0:
			if g.err != nil || g.replay == nil || g.replay.TxID != first.ID {
				t.Errorf("replay %d: %+v, %v", i, g.replay, g.err)
			}
		case 1:
			if !errors.Is(g.err, store.ErrOverLimit) {
				t.Errorf("over the limit %d: %v, want ErrOverLimit", i, g.err)
			}
			term := fmt.Sprintf("L%02d", i)
			if _, err := st.ByTrace(ctx, term, "", "000001"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("a refused entry left its transaction: %v", err)
			}
			if total := dailyTotal(t, st, term, api.Alipay); total != 0 {
				t.Errorf("a refused entry left %d fen in the day's total", total)
			}
		default:
			if g.err != nil || g.replay != nil || g.o.State != api.StateCreated {
				t.Errorf("create %d: %+v, %v", i, g.o, g.err)
				continue
			}
			if stored := mustGet(t, st, g.o.ID); stored != g.o {
				t.Errorf("create %d stored as %+v, answered %+v", i, stored, g.o)
			}
			created = append(created, g.o)
		}
	}
	batches, statements, alone := st.GroupStats()
	if batches >= statements || alone == 0 {
		t.Fatalf("%d batches of %d statements, %d run again alone: the calls did not share batches", batches, statements, alone)
	}

	// Two changes race for each attempt; in one batch the second sees the
	// first's row and loses its compare-and-set.
	wins := make([]int, len(created))
	var mu sync.Mutex
	calls = nil
	for k, o := range created {
		for range 2 {
			calls = append(calls, func() {
				_, err := st.Transition(ctx, o.ID, api.StateCreated, 1, change(api.StatePending))
				switch {
				case err == nil:
					mu.Lock()
					wins[k]++
					mu.Unlock()
				case !errors.Is(err, store.ErrStale):
					t.Errorf("%s: %v, want ErrStale for the loser", o.ID, err)
				}
			})
		}
	}
	queueBehindHeldWorkers(t, st, calls)
	for k, o := range created {
		if wins[k] != 1 {
			t.Errorf("%s changed %d times, want once", o.ID, wins[k])
		}
		if h, err := st.History(ctx, o.ID); err != nil || len(h) != 2 {
			t.Errorf("%s history %+v, %v", o.ID, h, err)
		}
	}
}
