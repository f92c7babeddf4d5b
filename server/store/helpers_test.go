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
)

// t0 has nanoseconds on purpose: the store keeps microseconds.
var t0 = time.Date(2025, 3, 1, 10, 0, 0, 123456789, time.UTC)

const day = "2025-03-01"

// us is t as the store gives it back: microseconds, UTC.
func us(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }

// walletTx is a wallet payment attempt of terminal term (merchant M1,
// store S1) whose request id, hash and out_trade_no derive from trace.
func walletTx(term, trace string, amount int64) store.NewTx {
	return store.NewTx{
		Order: api.Order{
			TerminalID: term, Trace: trace, Channel: api.Alipay, Kind: api.KindWalletQR,
			Amount: amount, OutTradeNo: term + "-" + trace, CreatedAt: t0,
		},
		MerchantID: "M1",
		StoreID:    "S1",
		Day:        day,
		CheckAfter: t0.Add(time.Minute),
		Request:    store.Request{RequestID: "rq-" + term + "-" + trace, Op: "wallet_order", Hash: "h-" + trace},
		Actor:      "terminal",
	}
}

// cardTx is a card sale attempt of terminal term (merchant M1, store S1).
func cardTx(term, trace string, amount int64) store.NewTx {
	n := walletTx(term, trace, amount)
	n.Order.Channel, n.Order.Kind, n.Order.OutTradeNo = api.Card, api.KindCardSale, ""
	n.Order.MaskedPAN, n.Order.Entry = "622202******1234", "chip"
	n.Request.Op = "card_sale"
	return n
}

func mustCreate(t *testing.T, st *store.Store, n store.NewTx) api.Order {
	t.Helper()
	o, replay, err := st.Create(context.Background(), n)
	if err != nil || replay != nil {
		t.Fatalf("create %s/%s: %v (replay %+v)", n.Order.TerminalID, n.Order.Trace, err, replay)
	}
	return o
}

// change is a transition to `to` at t0+1s by the sweeper, with a check
// time when `to` is not final.
func change(to api.State) store.Change {
	c := store.Change{To: to, Reason: "to " + string(to), At: t0.Add(time.Second), Actor: "sweeper"}
	if !to.Final() {
		c.CheckAfter = t0.Add(2 * time.Minute)
	}
	return c
}

// mustMove moves o to `to` and returns it as it is then.
func mustMove(t *testing.T, st *store.Store, o api.Order, to api.State) api.Order {
	t.Helper()
	got, err := st.Transition(context.Background(), o.ID, o.State, o.Version, change(to))
	if err != nil {
		t.Fatalf("transition %s %s → %s: %v", o.ID, o.State, to, err)
	}
	if got.State != to || got.Version != o.Version+1 {
		t.Fatalf("transition %s → %s gave %s v%d, want %s v%d", o.ID, to, got.State, got.Version, to, o.Version+1)
	}
	return got
}

func mustGet(t *testing.T, st *store.Store, id string) api.Order {
	t.Helper()
	o, err := st.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	return o
}

func dailyTotal(t *testing.T, st *store.Store, term string, ch api.Channel) int64 {
	t.Helper()
	n, err := st.DailyTotal(context.Background(), term, ch, day)
	if err != nil {
		t.Fatalf("daily total of %s: %v", term, err)
	}
	return n
}

// race runs f(i) for i in [0, n) in n goroutines released at once, and
// returns their errors by i.
func race(n int, f func(i int) error) []error {
	errs := make([]error, n)
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			errs[i] = f(i)
		}()
	}
	start.Done()
	done.Wait()
	return errs
}

// countErrs counts nil errors and errors that are target; any other error
// is reported.
func countErrs(t *testing.T, errs []error, target error) (ok, matched int) {
	t.Helper()
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, target):
			matched++
		default:
			t.Errorf("goroutine %d: unexpected error %v", i, err)
		}
	}
	return ok, matched
}

func trace(i int) string { return fmt.Sprintf("%06d", i) }
