package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/server/store"
	"github.com/multipos/multipos/server/store/storetest"
)

func TestCreateReplay(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		st := storetest.Open(t, d)
		ctx := context.Background()
		n := walletTx("T1", "000001", 100)
		o := mustCreate(t, st, n)

		// The same call again: the first record comes back, nothing new.
		again, replay, err := st.Create(ctx, n)
		if err != nil || replay == nil {
			t.Fatalf("replay = %+v, %+v, %v", again, replay, err)
		}
		if again.ID != "" {
			t.Errorf("replay also returned an order %+v", again)
		}
		want := store.Request{TerminalID: "T1", RequestID: n.Request.RequestID, Op: "wallet_order", Hash: "h-000001",
			TxID: o.ID, CreatedAt: us(t0)}
		if !equalRequest(*replay, want) {
			t.Errorf("replay %+v\nwant %+v", *replay, want)
		}
		// The request id decides, not the trace: a replay with another trace
		// (same fingerprint) writes nothing either.
		moved := n
		moved.Order.Trace, moved.Order.OutTradeNo = "000002", "T1-000002"
		if _, replay, err := st.Create(ctx, moved); err != nil || replay == nil || replay.TxID != o.ID {
			t.Errorf("replay with another trace = %+v, %v", replay, err)
		}
		if _, err := st.ByTrace(ctx, "T1", "", "000002"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a replay wrote a transaction: %v", err)
		}
		if total := dailyTotal(t, st, "T1", api.Alipay); total != 100 {
			t.Errorf("replays counted in the daily total: %d", total)
		}
		if sale, err := st.BySale(ctx, o.SaleID); err != nil || len(sale) != 1 {
			t.Errorf("sale after replays: %+v, %v", sale, err)
		}

		// A transition answering the request: replays carry that answer.
		c := change(api.StatePending)
		c.Answer = &store.AnswerTo{TerminalID: "T1", RequestID: n.Request.RequestID, Status: 201}
		p, err := st.Transition(ctx, o.ID, api.StateCreated, 1, c)
		if err != nil {
			t.Fatal(err)
		}
		body, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		_, replay, err = st.Create(ctx, n)
		if err != nil || replay == nil {
			t.Fatalf("replay after answer = %+v, %v", replay, err)
		}
		if replay.Status != 201 || !bytes.Equal(replay.Answer, body) {
			t.Errorf("replay answer %d %s\nwant 201 %s", replay.Status, replay.Answer, body)
		}
		var answered api.Order
		if err := json.Unmarshal(replay.Answer, &answered); err != nil || answered.State != api.StatePending ||
			answered.Version != 2 || answered.ID != o.ID {
			t.Errorf("answer %+v, %v; want the order PENDING v2", answered, err)
		}

		// A later change answering again leaves the first answer.
		c = change(api.StateSuccess)
		c.Answer = &store.AnswerTo{TerminalID: "T1", RequestID: n.Request.RequestID, Status: 200}
		if _, err := st.Transition(ctx, o.ID, api.StatePending, 2, c); err != nil {
			t.Fatal(err)
		}
		if r, err := st.Request(ctx, "T1", n.Request.RequestID); err != nil || r.Status != 201 || !bytes.Equal(r.Answer, body) {
			t.Errorf("second answer replaced the first: %d %s, %v", r.Status, r.Answer, err)
		}

		// Same request id, other parameters.
		for name, spoil := range map[string]func(*store.NewTx){
			"hash": func(n *store.NewTx) { n.Request.Hash = "h-other" },
			"op":   func(n *store.NewTx) { n.Request.Op = "card_sale" },
		} {
			m := n
			spoil(&m)
			if _, replay, err := st.Create(ctx, m); !errors.Is(err, store.ErrRequestMismatch) || replay == nil || replay.TxID != o.ID {
				t.Errorf("other %s: replay %+v, %v; want the first record and ErrRequestMismatch", name, replay, err)
			}
		}

		// A new request id reusing the trace.
		reuse := walletTx("T1", "000001", 100)
		reuse.Request.RequestID = "rq-new"
		if _, replay, err := st.Create(ctx, reuse); !errors.Is(err, store.ErrTraceUsed) || replay != nil {
			t.Errorf("trace reused: replay %+v, %v; want ErrTraceUsed", replay, err)
		}
		if _, err := st.Request(ctx, "T1", "rq-new"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("refused request recorded: %v", err)
		}
		if total := dailyTotal(t, st, "T1", api.Alipay); total != 100 {
			t.Errorf("refused attempt counted in the daily total: %d", total)
		}

		// Request ids are per terminal.
		other := walletTx("T2", "000001", 100)
		other.Request.RequestID = n.Request.RequestID
		if o2 := mustCreate(t, st, other); o2.ID == o.ID {
			t.Error("another terminal's request id replayed this terminal's")
		}
	})
}

// A caller that worked out the answer itself (Apply) has it recorded as
// given, and it is what the store would have written.
func TestAnswerBody(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		st := storetest.Open(t, d)
		ctx := context.Background()
		n := walletTx("T1", "000001", 100)
		o := mustCreate(t, st, n)
		c := change(api.StatePending)
		c.TradeNo, c.QRContent, c.ExpiresAt = "W1", "https://qr/1", t0.Add(5*time.Minute+7)
		body, err := json.Marshal(store.Apply(o, c))
		if err != nil {
			t.Fatal(err)
		}
		c.Answer = &store.AnswerTo{TerminalID: "T1", RequestID: n.Request.RequestID, Status: 201, Body: body}
		p, err := st.Transition(ctx, o.ID, api.StateCreated, 1, c)
		if err != nil {
			t.Fatal(err)
		}
		if stored, _ := json.Marshal(p); !bytes.Equal(stored, body) {
			t.Errorf("Apply's answer %s\nthe transaction %s", body, stored)
		}
		_, replay, err := st.Create(ctx, n)
		if err != nil || replay == nil || replay.Status != 201 || !bytes.Equal(replay.Answer, body) {
			t.Errorf("replay = %+v, %v; want 201 %s", replay, err, body)
		}

		// A quiet change records its answer just the same.
		m := walletTx("T1", "000002", 100)
		o = mustCreate(t, st, m)
		c = change(api.StateFailed)
		c.Quiet = true
		body, _ = json.Marshal(store.Apply(o, c))
		c.Answer = &store.AnswerTo{TerminalID: "T1", RequestID: m.Request.RequestID, Status: 200, Body: body}
		if _, err := st.Transition(ctx, o.ID, api.StateCreated, 1, c); err != nil {
			t.Fatal(err)
		}
		if r, err := st.Request(ctx, "T1", m.Request.RequestID); err != nil || r.Status != 200 || !bytes.Equal(r.Answer, body) {
			t.Errorf("quiet change's answer = %+v, %v", r, err)
		}
		if total := dailyTotal(t, st, "T1", api.Alipay); total != 100 {
			t.Errorf("daily total %d after the quiet FAILED, want 100", total)
		}
	})
}

func equalRequest(a, b store.Request) bool {
	return a.TerminalID == b.TerminalID && a.RequestID == b.RequestID && a.Op == b.Op && a.Hash == b.Hash &&
		a.TxID == b.TxID && a.Status == b.Status && bytes.Equal(a.Answer, b.Answer) && a.CreatedAt.Equal(b.CreatedAt)
}

func TestCreateConcurrentDuplicates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		st := storetest.Open(t, d)
		ctx := context.Background()
		const n = 20
		nt := walletTx("T1", "000001", 100)
		orders := make([]api.Order, n)
		replays := make([]*store.Request, n)
		errs := race(n, func(i int) error {
			var err error
			orders[i], replays[i], err = st.Create(ctx, nt)
			return err
		})
		countErrs(t, errs, nil)
		var created []api.Order
		for i := range n {
			if replays[i] == nil && errs[i] == nil {
				created = append(created, orders[i])
			}
		}
		if len(created) != 1 {
			t.Fatalf("%d goroutines created, want 1", len(created))
		}
		for i := range n {
			if replays[i] != nil && replays[i].TxID != created[0].ID {
				t.Errorf("goroutine %d replayed %s, want %s", i, replays[i].TxID, created[0].ID)
			}
		}
		if total := dailyTotal(t, st, "T1", api.Alipay); total != 100 {
			t.Errorf("daily total %d, want 100", total)
		}
	})
}

func TestClaimAnswerUnclaim(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		st := storetest.Open(t, d)
		ctx := context.Background()
		r := store.Request{TerminalID: "T1", RequestID: "c1", Op: "cancel", Hash: "hc", TxID: "tx-1", CreatedAt: t0}

		if prev, err := st.Claim(ctx, r); err != nil || prev != nil {
			t.Fatalf("first claim = %+v, %v; want nil, nil", prev, err)
		}
		prev, err := st.Claim(ctx, r)
		if err != nil || prev == nil || !equalRequest(*prev, store.Request{TerminalID: "T1", RequestID: "c1", Op: "cancel",
			Hash: "hc", TxID: "tx-1", CreatedAt: us(t0)}) {
			t.Fatalf("second claim = %+v, %v", prev, err)
		}
		other := r
		other.Hash = "hx"
		if prev, err := st.Claim(ctx, other); !errors.Is(err, store.ErrRequestMismatch) || prev == nil || prev.Hash != "hc" {
			t.Errorf("other hash: %+v, %v; want the first record and ErrRequestMismatch", prev, err)
		}
		other = r
		other.Op = "refund"
		if _, err := st.Claim(ctx, other); !errors.Is(err, store.ErrRequestMismatch) {
			t.Errorf("other op: %v, want ErrRequestMismatch", err)
		}
		// A claimed id cannot be used to create a payment.
		n := walletTx("T1", "000001", 100)
		n.Request.RequestID = "c1"
		if _, _, err := st.Create(ctx, n); !errors.Is(err, store.ErrRequestMismatch) {
			t.Errorf("create under a claimed id: %v, want ErrRequestMismatch", err)
		}

		if err := st.Answer(ctx, "T1", "c1", 0, []byte(`{}`), t0); err == nil {
			t.Error("answer without a status accepted")
		}
		if err := st.Answer(ctx, "T1", "c1", 200, []byte(`{"ok":1}`), t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := st.Answer(ctx, "T1", "c1", 500, []byte(`{"ok":2}`), t0.Add(2*time.Second)); err != nil {
			t.Fatal(err)
		}
		prev, err = st.Claim(ctx, r)
		if err != nil || prev == nil || prev.Status != 200 || string(prev.Answer) != `{"ok":1}` {
			t.Errorf("claim after answers = %+v, %v; want the first answer", prev, err)
		}
		// An answered request stays.
		if err := st.Unclaim(ctx, "T1", "c1"); err != nil {
			t.Fatal(err)
		}
		if got, err := st.Request(ctx, "T1", "c1"); err != nil || got.Status != 200 {
			t.Errorf("unclaim dropped an answered request: %+v, %v", got, err)
		}

		// An unanswered one goes, and the id can be claimed afresh.
		r2 := r
		r2.RequestID, r2.Hash = "c2", "h2"
		if prev, err := st.Claim(ctx, r2); err != nil || prev != nil {
			t.Fatalf("claim c2 = %+v, %v", prev, err)
		}
		if err := st.Unclaim(ctx, "T1", "c2"); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Request(ctx, "T1", "c2"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unclaimed request still there: %v", err)
		}
		r2.Hash = "h2-other"
		if prev, err := st.Claim(ctx, r2); err != nil || prev != nil {
			t.Errorf("claim after unclaim = %+v, %v; want nil, nil", prev, err)
		}
		// Ids are per terminal.
		r3 := r
		r3.TerminalID = "T2"
		if prev, err := st.Claim(ctx, r3); err != nil || prev != nil {
			t.Errorf("T2's c1 = %+v, %v; want a fresh claim", prev, err)
		}

		for name, spoil := range map[string]func(*store.Request){
			"terminal": func(r *store.Request) { r.TerminalID = "" },
			"id":       func(r *store.Request) { r.RequestID = "" },
			"op":       func(r *store.Request) { r.Op = "" },
			"hash":     func(r *store.Request) { r.Hash = "" },
			"time":     func(r *store.Request) { r.CreatedAt = time.Time{} },
		} {
			bad := store.Request{TerminalID: "T9", RequestID: "c9", Op: "cancel", Hash: "h", CreatedAt: t0}
			spoil(&bad)
			if _, err := st.Claim(ctx, bad); err == nil {
				t.Errorf("claim without %s accepted", name)
			}
		}
		if _, err := st.Request(ctx, "T9", "c9"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("invalid claim recorded: %v", err)
		}
	})
}

func TestForgetRequests(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		st := storetest.Open(t, d)
		ctx := context.Background()
		ages := map[string]time.Duration{"old2": 48 * time.Hour, "old1": 25 * time.Hour, "edge": 24 * time.Hour, "new": time.Hour}
		for id, age := range ages {
			if _, err := st.Claim(ctx, store.Request{TerminalID: "T1", RequestID: id, Op: "cancel", Hash: "h", CreatedAt: t0.Add(-age)}); err != nil {
				t.Fatal(err)
			}
		}
		n := walletTx("T1", "000001", 100)
		o := mustCreate(t, st, n)

		gone, err := st.ForgetRequests(ctx, t0.Add(-24*time.Hour))
		if err != nil || gone != 2 {
			t.Fatalf("forget = %d, %v; want 2", gone, err)
		}
		for id := range ages {
			_, err := st.Request(ctx, "T1", id)
			if old := id == "old1" || id == "old2"; old != errors.Is(err, store.ErrNotFound) {
				t.Errorf("request %s: %v (forgotten: %v)", id, err, old)
			}
		}
		if _, err := st.Request(ctx, "T1", n.Request.RequestID); err != nil {
			t.Errorf("payment request forgotten too early: %v", err)
		}

		gone, err = st.ForgetRequests(ctx, t0.Add(time.Second))
		if err != nil || gone != 3 {
			t.Fatalf("forget all = %d, %v; want 3", gone, err)
		}
		// The transaction stays; the replay is no longer recognised.
		if got := mustGet(t, st, o.ID); got != o {
			t.Errorf("transaction changed by forgetting: %+v", got)
		}
		if _, replay, err := st.Create(ctx, n); !errors.Is(err, store.ErrTraceUsed) || replay != nil {
			t.Errorf("create after forgetting = %+v, %v; want ErrTraceUsed", replay, err)
		}
	})
}

func TestClaimConcurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		st := storetest.Open(t, d)
		ctx := context.Background()
		const n = 20
		prevs := make([]*store.Request, n)
		errs := race(n, func(i int) error {
			var err error
			prevs[i], err = st.Claim(ctx, store.Request{TerminalID: "T1", RequestID: "c1", Op: "cancel", Hash: "h",
				TxID: "tx-1", CreatedAt: t0})
			return err
		})
		countErrs(t, errs, nil)
		first := 0
		for i, p := range prevs {
			switch {
			case p == nil && errs[i] == nil:
				first++
			case p != nil && (p.TxID != "tx-1" || p.Hash != "h"):
				t.Errorf("goroutine %d got %+v", i, *p)
			}
		}
		if first != 1 {
			t.Errorf("%d goroutines claimed first, want 1", first)
		}
	})
}
