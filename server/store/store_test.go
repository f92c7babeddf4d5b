package store

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/multipos/multipos/cards"
	"github.com/multipos/multipos/server/api"
)

var t0 = time.Date(2025, 3, 1, 10, 0, 0, 123456000, time.UTC)

func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pos.db")
	st, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, path
}

func walletOrder(trace string) api.Order {
	return api.Order{TerminalID: "T1", Trace: trace, Channel: api.Alipay, Kind: api.KindWalletQR,
		Amount: 1234, OutTradeNo: "T1" + trace, CreatedAt: t0}
}

func mustCreate(t *testing.T, st *Store, o api.Order) api.Order {
	t.Helper()
	got, created, err := st.Create(context.Background(), o, "h-"+o.Trace)
	if err != nil || !created {
		t.Fatalf("create: %v created=%v", err, created)
	}
	return got
}

func TestCreateAndRead(t *testing.T) {
	st, _ := openTemp(t)
	ctx := context.Background()
	o := mustCreate(t, st, walletOrder("000001"))
	if o.ID == "" || o.State != api.StateCreated || o.Version != 1 || o.Amount != 1234 || !o.CreatedAt.Equal(t0) {
		t.Fatalf("created %+v", o)
	}
	got, err := st.Get(ctx, o.ID)
	if err != nil || got != o {
		t.Fatalf("get = %+v, %v; want %+v", got, err, o)
	}
	byTrace, hash, err := st.ByTrace(ctx, "T1", "000001")
	if err != nil || byTrace.ID != o.ID || hash != "h-000001" {
		t.Fatalf("by trace = %+v %q %v", byTrace, hash, err)
	}
	byNo, err := st.ByOutTradeNo(ctx, api.Alipay, "T1000001")
	if err != nil || byNo.ID != o.ID {
		t.Fatalf("by out_trade_no = %+v %v", byNo, err)
	}
	if _, err := st.ByOutTradeNo(ctx, api.WeChat, "T1000001"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("other channel found: %v", err)
	}
	if _, err := st.Get(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get unknown: %v", err)
	}
}

func TestCreateIsIdempotentOnTrace(t *testing.T) {
	st, _ := openTemp(t)
	ctx := context.Background()
	first := mustCreate(t, st, walletOrder("000001"))

	again, created, err := st.Create(ctx, walletOrder("000001"), "h-000001")
	if err != nil || created || again.ID != first.ID {
		t.Fatalf("replay = %+v created=%v %v", again, created, err)
	}
	other := walletOrder("000001")
	other.Amount = 999
	if _, _, err := st.Create(ctx, other, "different"); !errors.Is(err, ErrRequestMismatch) {
		t.Fatalf("mismatch = %v", err)
	}
	// Another trace reusing the out_trade_no is refused, not merged.
	dup := walletOrder("000002")
	dup.OutTradeNo = first.OutTradeNo
	if _, _, err := st.Create(ctx, dup, "h"); err == nil {
		t.Fatal("duplicate out_trade_no accepted")
	}
}

func TestConcurrentCreateOneWinner(t *testing.T) {
	st, _ := openTemp(t)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		winners int
		ids     = map[string]bool{}
	)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o, created, err := st.Create(context.Background(), walletOrder("000007"), "same")
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			ids[o.ID] = true
			if created {
				winners++
			}
		}()
	}
	wg.Wait()
	if winners != 1 || len(ids) != 1 {
		t.Fatalf("winners = %d, ids = %v", winners, ids)
	}
}

func TestTransitionGuards(t *testing.T) {
	st, _ := openTemp(t)
	ctx := context.Background()
	o := mustCreate(t, st, walletOrder("000001"))
	exp := t0.Add(2 * time.Minute)
	p, err := st.Transition(ctx, o.ID, api.StateCreated, 1, Change{To: api.StatePending, At: t0.Add(time.Second),
		QRContent: "https://qr.alipay.com/bax0x", ExpiresAt: exp})
	if err != nil {
		t.Fatal(err)
	}
	if p.State != api.StatePending || p.Version != 2 || p.QRContent == "" || !p.ExpiresAt.Equal(exp) {
		t.Fatalf("pending = %+v", p)
	}
	// A stale version loses, even in the right state.
	if cur, err := st.Transition(ctx, o.ID, api.StatePending, 1, Change{To: api.StateClosed, At: t0}); !errors.Is(err, ErrStale) || cur.State != api.StatePending {
		t.Fatalf("stale version = %+v, %v", cur, err)
	}
	if cur, err := st.Transition(ctx, o.ID, api.StateCreated, 1, Change{To: api.StateUnknown, At: t0}); !errors.Is(err, ErrStale) || cur.Version != 2 {
		t.Fatalf("stale = %+v, %v", cur, err)
	}
	// Not a permitted move.
	if _, err := st.Transition(ctx, o.ID, api.StatePending, 2, Change{To: api.StateCreated, At: t0}); !errors.Is(err, ErrBadTransition) {
		t.Fatalf("back to CREATED = %v", err)
	}
	s, err := st.Transition(ctx, o.ID, api.StatePending, 2, Change{To: api.StateSuccess, TradeNo: "2025", At: t0.Add(2 * time.Second)})
	if err != nil || s.State != api.StateSuccess || s.TradeNo != "2025" || s.QRContent == "" || s.Version != 3 {
		t.Fatalf("success = %+v, %v", s, err)
	}
	// Final never changes, whatever the caller believes the state to be.
	for _, from := range []api.State{api.StatePending, api.StateUnknown, api.StateCreated} {
		cur, err := st.Transition(ctx, o.ID, from, 3, Change{To: api.StateClosed, Reason: api.ReasonCancelled, At: t0})
		if !errors.Is(err, ErrFinal) || cur.State != api.StateSuccess {
			t.Fatalf("from %s: %+v, %v", from, cur, err)
		}
	}
	if _, err := st.Transition(ctx, o.ID, api.StateSuccess, 3, Change{To: api.StateClosed, At: t0}); !errors.Is(err, ErrFinal) {
		t.Fatalf("from final = %v", err)
	}
	if _, err := st.Transition(ctx, "missing", api.StatePending, 1, Change{To: api.StateClosed, At: t0}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing = %v", err)
	}
	got, _ := st.Get(ctx, o.ID)
	if got.State != api.StateSuccess || got.Version != 3 {
		t.Fatalf("after refused changes: %+v", got)
	}
	h, err := st.History(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []Transition{
		{1, "", api.StateCreated, "", t0.Truncate(time.Microsecond)},
		{2, api.StateCreated, api.StatePending, "", t0.Add(time.Second)},
		{3, api.StatePending, api.StateSuccess, "", t0.Add(2 * time.Second)},
	}
	if len(h) != len(want) {
		t.Fatalf("history = %+v", h)
	}
	for i := range want {
		if h[i].Seq != want[i].Seq || h[i].From != want[i].From || h[i].To != want[i].To || !h[i].At.Equal(want[i].At) {
			t.Fatalf("history[%d] = %+v, want %+v", i, h[i], want[i])
		}
	}
}

func TestConcurrentCASOneWinner(t *testing.T) {
	st, _ := openTemp(t)
	ctx := context.Background()
	o := mustCreate(t, st, walletOrder("000001"))
	o, err := st.Transition(ctx, o.ID, api.StateCreated, 1, Change{To: api.StatePending, At: t0})
	if err != nil {
		t.Fatal(err)
	}
	targets := []api.State{api.StateSuccess, api.StateFailed, api.StateClosed}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins []api.State
	)
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			to := targets[i%len(targets)]
			_, err := st.Transition(ctx, o.ID, api.StatePending, o.Version, Change{To: to, At: t0})
			if err == nil {
				mu.Lock()
				wins = append(wins, to)
				mu.Unlock()
			} else if !errors.Is(err, ErrFinal) && !errors.Is(err, ErrStale) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if len(wins) != 1 {
		t.Fatalf("winners = %v", wins)
	}
	final, _ := st.Get(ctx, o.ID)
	h, _ := st.History(ctx, o.ID)
	if final.State != wins[0] || final.Version != 3 || len(h) != 3 || h[2].To != wins[0] {
		t.Fatalf("final %+v, history %+v, winner %s", final, h, wins[0])
	}
}

func TestTotalsAndExpiry(t *testing.T) {
	st, _ := openTemp(t)
	ctx := context.Background()
	pay := func(trace string, amount int64, at time.Time, to api.State) api.Order {
		o := walletOrder(trace)
		o.Amount, o.CreatedAt = amount, at
		o = mustCreate(t, st, o)
		o, err := st.Transition(ctx, o.ID, api.StateCreated, 1, Change{To: api.StatePending, At: at, ExpiresAt: at.Add(time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		if to != api.StatePending {
			if o, err = st.Transition(ctx, o.ID, api.StatePending, 2, Change{To: to, At: at}); err != nil {
				t.Fatal(err)
			}
		}
		return o
	}
	day := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	pay("000001", 100, day.Add(-time.Second), api.StateSuccess) // yesterday
	pay("000002", 200, day.Add(time.Hour), api.StateSuccess)
	pay("000003", 400, day.Add(2*time.Hour), api.StateFailed)
	pending := pay("000004", 800, day.Add(3*time.Hour), api.StatePending)
	pay("000005", 1600, day.Add(4*time.Hour), api.StatePending)
	total, err := st.SuccessTotal(ctx, "T1", api.Alipay, day, day.AddDate(0, 0, 1))
	if err != nil || total != 200 {
		t.Fatalf("total = %d, %v", total, err)
	}
	if total, _ := st.SuccessTotal(ctx, "T1", api.WeChat, day, day.AddDate(0, 0, 1)); total != 0 {
		t.Fatalf("wechat total = %d", total)
	}
	due, err := st.Expired(ctx, day.Add(3*time.Hour+time.Minute), 10)
	if err != nil || len(due) != 1 || due[0].ID != pending.ID {
		t.Fatalf("due = %+v, %v", due, err)
	}
}

func TestNoClearCardNumberStored(t *testing.T) {
	st, path := openTemp(t)
	ctx := context.Background()
	pan := "6212345678900001"
	o := api.Order{TerminalID: "T1", Trace: "000009", Channel: api.Card, Kind: api.KindCardSale, Amount: 500,
		MaskedPAN: pan, Entry: "chip", CreatedAt: t0}
	if _, _, err := st.Create(ctx, o, "h"); err == nil {
		t.Fatal("clear card number accepted")
	}
	o.MaskedPAN = cards.Mask(pan)
	c := mustCreate(t, st, o)
	if _, err := st.Transition(ctx, c.ID, api.StateCreated, 1, Change{To: api.StateSuccess, ResponseCode: "00",
		AuthCode: "123456", RRN: "000000000001", Batch: "000001", At: t0}); err != nil {
		t.Fatal(err)
	}
	got, _ := st.Get(ctx, c.ID)
	if got.MaskedPAN != "621234******0001" || got.AuthCode != "123456" {
		t.Fatalf("card order = %+v", got)
	}
	st.Close()
	for _, f := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(pan)) {
			t.Fatalf("%s holds the full card number", f)
		}
	}
	// The masked number really is in the file: the scan above would find a leak.
	b, _ := os.ReadFile(path)
	w, _ := os.ReadFile(path + "-wal")
	if !bytes.Contains(append(b, w...), []byte("621234******0001")) {
		t.Fatal("masked number not found in the database files: the leak check proves nothing")
	}
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pos.db")
	ctx := context.Background()
	st, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	o := mustCreate(t, st, walletOrder("000001"))
	st.Close()
	st, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if got, err := st.Get(ctx, o.ID); err != nil || got.ID != o.ID {
		t.Fatalf("after reopen: %+v, %v", got, err)
	}
}
