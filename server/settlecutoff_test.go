package server

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/posclient"
	"github.com/multipos/multipos/sandbox/acquirer"
	"github.com/multipos/multipos/server/connector"
	"github.com/multipos/multipos/server/metrics"
	"github.com/multipos/multipos/server/store"
)

// settleCalls is how many 0500s an instance sent (its channel-call
// histogram's count for op settle).
func settleCalls(t *testing.T, m *metrics.Metrics) uint64 {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, f := range families {
		if f.GetName() != "multipos_channel_call_duration_seconds" {
			continue
		}
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName() == "op" && l.GetValue() == "settle" {
					n += s.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	return n
}

func TestLastCutoff(t *testing.T) {
	zone := time.FixedZone("CST", 8*3600)
	for _, c := range []struct {
		cutoff    string
		now, want time.Time
	}{
		{"23:00", time.Date(2026, 3, 1, 23, 0, 0, 0, zone), time.Date(2026, 3, 1, 23, 0, 0, 0, zone)},
		{"23:00", time.Date(2026, 3, 1, 22, 59, 59, 0, zone), time.Date(2026, 2, 28, 23, 0, 0, 0, zone)},
		{"00:30", time.Date(2026, 3, 1, 15, 0, 0, 0, time.UTC), time.Date(2026, 3, 1, 0, 30, 0, 0, zone)},
	} {
		s, err := New(Options{Store: &store.Store{}, Zone: zone, SettleCutoff: c.cutoff})
		if err != nil {
			t.Fatal(err)
		}
		if got, on := s.lastCutoff(c.now); !on || !got.Equal(c.want) {
			t.Errorf("%s at %v: %v, want %v", c.cutoff, c.now, got, c.want)
		}
	}
	s, err := New(Options{Store: &store.Store{}, SettleCutoff: "off"})
	if err != nil {
		t.Fatal(err)
	}
	if _, on := s.lastCutoff(time.Now()); on {
		t.Fatal("off is on")
	}
	if _, err := New(Options{Store: &store.Store{}, SettleCutoff: "25:00"}); err == nil {
		t.Fatal("25:00 taken")
	}
}

// Two instances on one database both reach the cut-off: each terminal
// whose batch holds card transactions is settled once (one 0500 at the
// acquirer, by either instance), one with an empty batch is left alone,
// and a sale after the cut-off is in the next batch and waits for the
// next cut-off.
func TestCutoffSettlesOnceAcrossInstances(t *testing.T) {
	p := newPair(t, func(o *Options) { o.SettleEvery = 10 * time.Millisecond })
	ctx := context.Background()
	sell := func(tid string, i int, trace string, amount int64) api.Order {
		c := p.client(tid, i)
		o, err := c.CardSale(ctx, posclient.NewRequestID(), cardSaleWith(t, p.card[tid], "approved", "123456", trace, amount))
		if err != nil || o.State != api.StateSuccess {
			t.Fatalf("sale %s %s: %+v, %v", tid, trace, o, err)
		}
		return o
	}
	a := sell("T1", 0, "000001", 1500)
	b := sell("T2", 1, "000001", 2500)
	p.client("T3", 0)
	// The cut-off: the next day's 23:00.
	p.clock.Advance(24 * time.Hour)
	eventually(t, "both batches settled", func() bool {
		n := 0
		for _, hb := range p.bank.Batches() {
			if hb.State == "closed" {
				n++
			}
		}
		return n == 2
	})
	// The acquirer closes a batch before our database does: wait for ours.
	eventually(t, "both settlements journaled", func() bool {
		for _, o := range []api.Order{a, b} {
			if x, err := p.st[0].Settlement(ctx, o.TerminalID, o.Batch); err != nil || x.State != store.SettlementSettled {
				return false
			}
		}
		return true
	})
	time.Sleep(100 * time.Millisecond) // more ticks of both loops
	for _, o := range []api.Order{a, b} {
		x, err := p.st[0].Settlement(ctx, o.TerminalID, o.Batch)
		if err != nil || x.State != store.SettlementSettled || x.Result == nil || x.Result.By != api.SettledByCutoff ||
			x.Result.DebitAmount != o.Amount || !x.Result.Balanced {
			t.Fatalf("settlement of %s: %+v, %v", o.TerminalID, x, err)
		}
		hb := hostBatchOf(t, p.bank, o.TerminalID, o.Batch)
		if hb.Settled != (acquirer.ControlTotals{DebitCount: 1, DebitAmount: o.Amount}) {
			t.Fatalf("the acquirer's batch %+v", hb)
		}
	}
	if n := settleCalls(t, p.met[0]) + settleCalls(t, p.met[1]); n != 2 {
		t.Fatalf("%d settlements sent for 2 batches", n)
	}
	if len(p.bank.Batches("T3")) != 0 {
		t.Fatal("an empty batch was settled")
	}
	// After the cut-off: the next batch, left for the next cut-off.
	c := sell("T1", 1, "000001", 700)
	if c.Batch != store.NextBatch(a.Batch) {
		t.Fatalf("after the cut-off: batch %s", c.Batch)
	}
	p.clock.Advance(time.Hour)
	time.Sleep(100 * time.Millisecond)
	if n := settleCalls(t, p.met[0]) + settleCalls(t, p.met[1]); n != 2 {
		t.Fatalf("%d settlements sent before the next cut-off", n)
	}
}

func hostBatchOf(t *testing.T, h *acquirer.Host, tid, batch string) acquirer.BatchInfo {
	t.Helper()
	return hostBatch(t, h, tid, batch)
}

// An instance dies mid-way, after the acquirer closed the batch and
// before its own database did: the batch stays SETTLING under its lease;
// a station asking meanwhile hears "settling"; once the lease runs out the
// settlement loop of another instance finishes it, repeating the end
// under the same trace, which the acquirer takes as the end that closed
// the batch.
func TestSettlementOfDeadInstanceFinished(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		ctx := context.Background()
		o := r.sellOK("000001", 4200)
		now := r.clock.Now()
		lease := r.srv.settleLease(1)
		x, err := r.st.ClaimSettlement(ctx, "T1", o.Batch, "dead/1", "07", now, now.Add(lease))
		if err != nil || x.State != store.SettlementSettling {
			t.Fatalf("claim: %+v, %v", x, err)
		}
		for _, tr := range []string{"000002", "000003"} {
			if _, err := r.st.ClaimTrace(ctx, "T1", tr, store.TraceSettle, now); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.st.SetSettlementTraces(ctx, "T1", o.Batch, "dead/1", "000002", "000003"); err != nil {
			t.Fatal(err)
		}
		totals := connector.BatchTotals{DebitCount: 1, DebitAmount: 4200}
		res, err := r.link.Settle(ctx, connector.BatchSettlement{TerminalID: "T1", MerchantID: m1, Batch: o.Batch, Trace: "000002", Totals: totals})
		if err != nil || !res.Balanced {
			t.Fatalf("%+v, %v", res, err)
		}
		if ok, err := r.link.EndUpload(ctx, connector.UploadEnd{TerminalID: "T1", MerchantID: m1, Batch: o.Batch, Trace: "000003", Balanced: true}); err != nil || !ok {
			t.Fatalf("end: %v, %v", ok, err)
		}
		// Meanwhile no card transaction joins the batch (a wallet order,
		// which its totals do not count, may).
		before := len(r.bank.Ledger())
		if _, err := r.sell(r.cardSale("approved", "123456", "T1", "000004", 100)); apiErr(t, err).Code != api.CodeSettling {
			t.Fatalf("sale during the settlement: %v", err)
		}
		if len(r.bank.Ledger()) != before {
			t.Fatal("a sale reached the bank during the settlement")
		}
		r.order(api.Alipay, "000005", 100)
		// The instance is gone. A station asks: the lease holds.
		if _, status, code := r.settleOn("T1", posclient.NewRequestID(), o.Batch, "07"); status != http.StatusConflict || code != api.CodeSettling {
			t.Fatalf("during the lease: %d %s", status, code)
		}
		if _, status := r.getSettlement("T1", o.Batch); status != http.StatusConflict {
			t.Fatalf("GET during the lease: %d", status)
		}
		if err := r.srv.SettleDue(ctx); err != nil {
			t.Fatal(err)
		}
		if x, _ := r.st.Settlement(ctx, "T1", o.Batch); x.State != store.SettlementSettling {
			t.Fatal("taken over before the lease ran out")
		}
		r.clock.Advance(lease + time.Second)
		if err := r.srv.SettleDue(ctx); err != nil {
			t.Fatal(err)
		}
		got, status := r.getSettlement("T1", o.Batch)
		if status != http.StatusOK || got.By != "07" || got.DebitAmount != 4200 || !got.Balanced || got.NextBatch != store.NextBatch(o.Batch) {
			t.Fatalf("%d %+v", status, got)
		}
		if hb := hostBatch(t, r.bank, "T1", o.Batch); hb.State != "closed" || hb.Settled != (acquirer.ControlTotals{DebitCount: 1, DebitAmount: 4200}) {
			t.Fatalf("the acquirer's batch %+v", hb)
		}
		if n := r.sellOK("000001", 100); n.Batch != store.NextBatch(o.Batch) {
			t.Fatalf("next sale in batch %s", n.Batch)
		}
	})
}
