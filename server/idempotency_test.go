package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/posclient"
	"github.com/multipos/multipos/sandbox/wallet"
	"github.com/multipos/multipos/server/connector"
)

func TestIdempotentReplay(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		ctx := context.Background()
		c := r.client("T1")
		rid := posclient.NewRequestID()
		req := api.CreateWalletOrder{Trace: "000001", Channel: api.Alipay, Amount: 999, Subject: "tea"}
		first, err := c.CreateWalletOrder(ctx, rid, req)
		if err != nil {
			t.Fatal(err)
		}
		again, err := c.CreateWalletOrder(ctx, rid, req)
		if err != nil || again.ID != first.ID || again.QRContent != first.QRContent || again.Version != first.Version {
			t.Fatalf("replay: %+v, %v", again, err)
		}
		if n := r.ali.Calls(wallet.OpPrecreate); n != 1 {
			t.Fatalf("%d precreates for one order", n)
		}
		for name, other := range map[string]api.CreateWalletOrder{
			"amount":  {Trace: "000001", Channel: api.Alipay, Amount: 1000, Subject: "tea"},
			"channel": {Trace: "000001", Channel: api.WeChat, Amount: 999, Subject: "tea"},
			"subject": {Trace: "000001", Channel: api.Alipay, Amount: 999, Subject: "coffee"},
			"trace":   {Trace: "000002", Channel: api.Alipay, Amount: 999, Subject: "tea"},
		} {
			_, err = c.CreateWalletOrder(ctx, rid, other)
			if e := apiErr(t, err); e.Code != api.CodeIdempotencyConflict || e.Status != http.StatusConflict {
				t.Fatalf("conflict on %s: %+v", name, e)
			}
		}
		// The same trace under another request id is not a replay either:
		// the trace is taken.
		_, err = c.CreateWalletOrder(ctx, posclient.NewRequestID(), req)
		if e := apiErr(t, err); e.Code != api.CodeTraceUsed || e.Status != http.StatusConflict {
			t.Fatalf("trace reused: %+v", e)
		}
		// Request ids and traces are the terminal's own: on T2 they make another order.
		other, err := r.client("T2").CreateWalletOrder(ctx, rid, req)
		if err != nil || other.ID == first.ID || other.TerminalID != "T2" {
			t.Fatalf("T2: %+v, %v", other, err)
		}
		byTrace, err := c.OrderByTrace(ctx, "000001")
		if err != nil || byTrace.ID != first.ID {
			t.Fatalf("by trace: %+v, %v", byTrace, err)
		}
		if n := r.ali.Calls(wallet.OpPrecreate); n != 2 {
			t.Fatalf("%d precreates", n)
		}
		if n := metric(t, r.met, "multipos_idempotent_replays_total", map[string]string{"result": "conflict"}); n != 4 {
			t.Fatalf("%v conflicts counted", n)
		}
	})
}

// A replay gets the first answer as it was sent, even after the order moved on.
func TestReplayIsTheFirstAnswer(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		ctx := context.Background()
		rid := posclient.NewRequestID()
		req := api.CreateWalletOrder{Trace: "000001", Channel: api.WeChat, Amount: 600}
		status, first := r.post("T1", "/v1/orders", rid, req)
		if status != http.StatusCreated {
			t.Fatalf("%d %s", status, first)
		}
		var o api.Order
		if err := json.Unmarshal(first, &o); err != nil {
			t.Fatal(err)
		}
		if err := r.wx.CustomerPay(ctx, o.OutTradeNo); err != nil {
			t.Fatal(err)
		}
		if paid := r.wait("T1", o); paid.State != api.StateSuccess {
			t.Fatalf("after pay: %+v", paid)
		}
		status, again := r.post("T1", "/v1/orders", rid, req)
		if status != http.StatusCreated || !bytes.Equal(bytes.TrimSpace(again), bytes.TrimSpace(first)) {
			t.Fatalf("replay: %d\n%s\nfirst answer:\n%s", status, again, first)
		}
		var replayed api.Order
		if err := json.Unmarshal(again, &replayed); err != nil {
			t.Fatal(err)
		}
		if replayed.ID != o.ID || replayed.State != api.StatePending || replayed.Version != 2 {
			t.Fatalf("replayed %+v", replayed)
		}
		// A refusal by the channel is a first answer too.
		r.wx.FailNext(wallet.OpPrecreate, wallet.ErrBadRequest)
		rid = posclient.NewRequestID()
		req.Trace = "000002"
		_, first = r.post("T1", "/v1/orders", rid, req)
		status, again = r.post("T1", "/v1/orders", rid, req)
		if status != http.StatusCreated || !bytes.Equal(again, first) || !bytes.Contains(again, []byte(`"FAILED"`)) {
			t.Fatalf("replay of a refusal: %d %s / %s", status, again, first)
		}
		if n := r.wx.Calls(wallet.OpPrecreate); n != 2 {
			t.Fatalf("%d precreates", n)
		}
	})
}

func TestIdempotencyKeyRequired(t *testing.T) {
	onSQLite(t, nil, func(t *testing.T, r *rig) {
		o := r.order(api.Alipay, "000001", 100)
		for _, rid := range []string{"", "short", "has space in it", "x/y/z/1234567", string(bytes.Repeat([]byte("a"), 65))} {
			for path, body := range map[string]any{
				"/v1/orders":                           api.CreateWalletOrder{Trace: "000002", Channel: api.Alipay, Amount: 100},
				"/v1/card/sales":                       r.cardSale("approved", "123456", "T1", "000003", 100),
				"/v1/orders/" + o.ID + "/cancel":       nil,
				"/v1/demo/orders/" + o.ID + "/pay":     nil,
				"/v1/demo/orders/" + o.ID + "/decline": nil,
			} {
				status, answer := r.post("T1", path, rid, body)
				if status != http.StatusBadRequest || errCode(t, answer) != api.CodeBadRequest {
					t.Errorf("%s with request id %q: %d %s", path, rid, status, answer)
				}
			}
		}
		if r.ali.Calls(wallet.OpPrecreate) != 1 || r.ali.Calls(wallet.OpQuery) != 0 || r.bank.Calls() != 0 {
			t.Fatal("a request without a request id reached a channel")
		}
		if cur := r.wait("T1", api.Order{ID: o.ID}); cur.State != api.StatePending || cur.Version != o.Version {
			t.Fatalf("order changed: %+v", cur)
		}
		// 8 to 64 letters, digits, '-' and '_' are fine.
		for i, rid := range []string{"abcd-_12", string(bytes.Repeat([]byte("Z"), 64))} {
			o := r.order(api.Alipay, "00010"+string(rune('0'+i)), 100)
			if status, answer := r.post("T1", "/v1/demo/orders/"+o.ID+"/decline", rid, nil); status != http.StatusOK {
				t.Fatalf("request id %q: %d %s", rid, status, answer)
			}
		}
	})
}

// Concurrent duplicates (a terminal resending while the first call is
// still out) call the channel once and all get the same transaction.
func TestConcurrentDuplicatesCallTheChannelOnce(t *testing.T) {
	// A long channel timeout: a server that waited for the first call's
	// change would take about that long, well apart from the few hundred
	// milliseconds 40 calls take on a loaded 2-core machine.
	const timeout = 10 * time.Second
	onBoth(t, func(o *Options) { o.ChannelTimeout = timeout }, func(t *testing.T, r *rig) {
		const n = 20
		wrid, crid := posclient.NewRequestID(), posclient.NewRequestID()
		req := api.CreateWalletOrder{Trace: "000042", Channel: api.WeChat, Amount: 321}
		sale := r.cardSale("approved", "123456", "T1", "000043", 654)
		r.httpClient("T1") // built before the goroutines share it
		var (
			wg     sync.WaitGroup
			mu     sync.Mutex
			orders = map[string]map[string]api.State{} // path → order id → state
		)
		start := make(chan struct{})
		for range n {
			for path, body := range map[string]any{"/v1/orders": req, "/v1/card/sales": sale} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					rid := wrid
					if path == "/v1/card/sales" {
						rid = crid
					}
					status, b, err := r.tryPost("T1", path, rid, body)
					var o api.Order
					if err == nil {
						err = json.Unmarshal(b, &o)
					}
					if err != nil || status/100 != 2 {
						t.Errorf("%s: %d %s %v", path, status, b, err)
						return
					}
					mu.Lock()
					defer mu.Unlock()
					if orders[path] == nil {
						orders[path] = map[string]api.State{}
					}
					orders[path][o.ID] = o.State
				}()
			}
		}
		began := time.Now()
		close(start)
		wg.Wait()
		quickerThan(t, "answering 20 duplicates", time.Since(began), timeout/2)
		for path, want := range map[string]api.State{"/v1/orders": api.StatePending, "/v1/card/sales": api.StateSuccess} {
			if got := orders[path]; len(got) != 1 {
				t.Errorf("%s: orders %v", path, got)
			}
			for _, st := range orders[path] {
				if st != want {
					t.Errorf("%s: a duplicate got %s", path, st)
				}
			}
		}
		if n := r.wx.Calls(wallet.OpPrecreate); n != 1 {
			t.Fatalf("%d precreates", n)
		}
		if r.bank.Calls() != 1 || len(r.bank.Ledger()) != 1 {
			t.Fatalf("the bank saw %d sales", r.bank.Calls())
		}
		if n := metric(t, r.met, "multipos_idempotent_replays_total", map[string]string{"result": "replayed"}); n != 2*(20-1) {
			t.Fatalf("%v replays counted", n)
		}
	})
}

func TestCancelReplay(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		o := r.order(api.Alipay, "000001", 300)
		other := r.order(api.Alipay, "000002", 300)
		rid := posclient.NewRequestID()
		status, first := r.post("T1", "/v1/orders/"+o.ID+"/cancel", rid, nil)
		if status != http.StatusOK || !bytes.Contains(first, []byte(`"CLOSED"`)) {
			t.Fatalf("cancel: %d %s", status, first)
		}
		status, again := r.post("T1", "/v1/orders/"+o.ID+"/cancel", rid, nil)
		if status != http.StatusOK || !bytes.Equal(bytes.TrimSpace(again), bytes.TrimSpace(first)) {
			t.Fatalf("replay: %d %s, first %s", status, again, first)
		}
		if n := r.ali.Calls(wallet.OpClose); n != 1 {
			t.Fatalf("%d closes", n)
		}
		// The same request id for another order is a conflict.
		status, answer := r.post("T1", "/v1/orders/"+other.ID+"/cancel", rid, nil)
		if status != http.StatusConflict || errCode(t, answer) != api.CodeIdempotencyConflict {
			t.Fatalf("cancel of another order under the same id: %d %s", status, answer)
		}
		// A cancel the wallet did not confirm is journaled (CANCELLING)
		// but its answer not kept: repeating it finishes it.
		r.ali.FailNext(wallet.OpClose, connector.ErrUnknownOutcome)
		rid = posclient.NewRequestID()
		status, answer = r.post("T1", "/v1/orders/"+other.ID+"/cancel", rid, nil)
		if status != http.StatusOK || !bytes.Contains(answer, []byte(`"CANCELLING"`)) {
			t.Fatalf("cancel not confirmed: %d %s", status, answer)
		}
		status, answer = r.post("T1", "/v1/orders/"+other.ID+"/cancel", rid, nil)
		if status != http.StatusOK || !bytes.Contains(answer, []byte(`"CLOSED"`)) {
			t.Fatalf("repeated cancel: %d %s", status, answer)
		}
		// The trainer's pay is replayed, not done twice.
		paid := r.order(api.WeChat, "000003", 300)
		rid = posclient.NewRequestID()
		status, first = r.post("T1", "/v1/demo/orders/"+paid.ID+"/pay", rid, nil)
		if status != http.StatusOK || !bytes.Contains(first, []byte(`"SUCCESS"`)) {
			t.Fatalf("demo pay: %d %s", status, first)
		}
		status, again = r.post("T1", "/v1/demo/orders/"+paid.ID+"/pay", rid, nil)
		if status != http.StatusOK || !bytes.Equal(again, first) {
			t.Fatalf("demo pay replay: %d %s", status, again)
		}
	})
}

// A create whose channel outcome is unknown has no first answer; its
// replay gets the transaction as it stands, without waiting for a change
// that only the sweeper will make.
func TestReplayWithoutFirstAnswer(t *testing.T) {
	onBoth(t, func(o *Options) { o.ChannelTimeout = 2 * time.Second }, func(t *testing.T, r *rig) {
		ctx := context.Background()
		rid := posclient.NewRequestID()
		req := api.CreateWalletOrder{Trace: "000001", Channel: api.Alipay, Amount: 100}
		r.ali.LoseNextReply(wallet.OpPrecreate)
		o, err := r.client("T1").CreateWalletOrder(ctx, rid, req)
		if err != nil || o.State != api.StateUnknown {
			t.Fatalf("%+v, %v", o, err)
		}
		start := time.Now()
		again, err := r.client("T1").CreateWalletOrder(ctx, rid, req)
		if err != nil || again.ID != o.ID || again.State != api.StateUnknown {
			t.Fatalf("replay: %+v, %v", again, err)
		}
		quick(t, "replay of an unknown precreate", time.Since(start))
		crid := posclient.NewRequestID()
		sale := r.cardSale("approved", "123456", "T1", "000002", 100)
		r.bank.LoseNextReply()
		if o, err := r.client("T1").CardSale(ctx, crid, sale); err != nil || o.State != api.StateUnknown {
			t.Fatalf("%+v, %v", o, err)
		}
		start = time.Now()
		if again, err := r.client("T1").CardSale(ctx, crid, sale); err != nil || again.State != api.StateUnknown {
			t.Fatalf("replay: %+v, %v", again, err)
		}
		quick(t, "replay of an unknown card sale", time.Since(start))
		if r.ali.Calls(wallet.OpPrecreate) != 1 || r.bank.Calls() != 1 {
			t.Fatalf("%d precreates, %d sales", r.ali.Calls(wallet.OpPrecreate), r.bank.Calls())
		}
	})
}

// quick reports an answer that took about the channel timeout (2 s in the
// rigs that check it): the server waited for a change that never came.
func quick(t *testing.T, what string, took time.Duration) {
	t.Helper()
	quickerThan(t, what, took, time.Second)
}

func quickerThan(t *testing.T, what string, took, limit time.Duration) {
	t.Helper()
	if took > limit {
		t.Errorf("%s took %v (more than %v): the server waited for a change instead of answering",
			what, took.Round(10*time.Millisecond), limit)
	}
}

// A duplicate may read the request record just before the first call's
// answer is recorded, and the transaction just after. It must still get
// the first answer (201, PENDING), not the transaction as it stands later.
func TestReplayOfARequestAnsweredMeanwhile(t *testing.T) {
	onBoth(t, func(o *Options) { o.ChannelTimeout = 2 * time.Second }, func(t *testing.T, r *rig) {
		ctx := context.Background()
		rid := posclient.NewRequestID()
		status, first := r.post("T1", "/v1/orders", rid, api.CreateWalletOrder{Trace: "000001", Channel: api.Alipay, Amount: 500})
		if status != http.StatusCreated {
			t.Fatalf("%d %s", status, first)
		}
		rec, err := r.st.Request(ctx, "T1", rid)
		if err != nil || rec.Status != http.StatusCreated || rec.TxID == "" {
			t.Fatalf("request record %+v, %v", rec, err)
		}
		seen := rec
		seen.Status, seen.Answer = 0, nil // as the duplicate read it, before the answer
		if _, err := r.client("T1").DemoPay(ctx, rec.TxID); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		status, body, err := r.srv.replay(ctx, &seen)
		quick(t, "the replay", time.Since(start))
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		if status != http.StatusCreated || !bytes.Equal(b, bytes.TrimSpace(first)) {
			t.Fatalf("replay: %d %s\nfirst answer: %s", status, b, first)
		}
	})
}
