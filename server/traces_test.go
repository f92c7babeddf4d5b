package server

import (
	"context"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/posclient"
	"github.com/multipos/multipos/sandbox/acquirer"
	"github.com/multipos/multipos/server/store"
)

// Issue 11, defect 2: a trace is unique per terminal and batch across
// every message. Before the fix a void could reuse a sale's trace (and the
// bank would then reverse the sale under it), a sale a void's, and balance
// inquiries were not checked at all. Now each is refused before it reaches
// the bank, and the bank's books hold what was sent and nothing else.
func TestTraceUniqueAcrossMessages(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		ctx := context.Background()
		c := r.client("T1")
		sale, err := r.sell(r.cardSale("approved", "123456", "T1", "000001", 4200))
		if err != nil || sale.State != api.StateSuccess || sale.Batch != store.FirstBatch {
			t.Fatalf("sale: %+v, %v", sale, err)
		}
		calls := r.bank.Calls()
		used := func(what string, err error) {
			t.Helper()
			if e := apiErr(t, err); e.Code != api.CodeTraceUsed || e.Status != http.StatusConflict {
				t.Fatalf("%s: %+v, want %s", what, e, api.CodeTraceUsed)
			}
		}
		_, err = c.CardVoid(ctx, posclient.NewRequestID(), adjustOf(t, sale, "approved", "000001", 0))
		used("a void under the sale's trace", err)
		_, err = c.CardRefund(ctx, posclient.NewRequestID(), adjustOf(t, sale, "approved", "000001", 100))
		used("a refund under the sale's trace", err)
		_, err = c.CardBalance(ctx, r.balanceOf("approved", "000001"))
		used("a balance inquiry under the sale's trace", err)
		_, err = c.CreateWalletOrder(ctx, posclient.NewRequestID(), api.CreateWalletOrder{Trace: "000001", Channel: api.Alipay, Amount: 100})
		used("a wallet order under the sale's trace", err)
		_, err = c.CardSignOn(ctx, "000001", false)
		used("a sign-on under the sale's trace", err)
		if n := r.bank.Calls(); n != calls {
			t.Fatalf("the bank saw %d more requests", n-calls)
		}

		// A void under a fresh trace, then a sale under the void's trace.
		v, err := c.CardVoid(ctx, posclient.NewRequestID(), adjustOf(t, sale, "approved", "000002", 0))
		if err != nil || v.State != api.StateSuccess || v.Batch != store.FirstBatch {
			t.Fatalf("void: %+v, %v", v, err)
		}
		_, err = r.sell(r.cardSale("approved", "123456", "T1", "000002", 100))
		used("a sale under the void's trace", err)
		// The bank has the sale, voided, and the void naming it by batch
		// and trace (field 61): nothing else.
		l := r.bank.Ledger()
		if len(l) != 2 || !l[0].Voided || l[0].Reversed || l[1].Type != acquirer.Void ||
			l[1].Original != "T1|"+m1+"|"+store.FirstBatch+"|000001" {
			t.Fatalf("bank ledger %+v", l)
		}
		// Another terminal's traces are its own.
		if _, err := r.client("T2").CreateWalletOrder(ctx, posclient.NewRequestID(),
			api.CreateWalletOrder{Trace: "000001", Channel: api.Alipay, Amount: 100}); err != nil {
			t.Fatalf("T2 under its own 000001: %v", err)
		}
	})
}

// The reversal of a sale whose answer was lost is a copy of the sale: the
// bank matches it to that sale (terminal, merchant, batch, trace and the
// copied fields) and undoes it; a reversal of a sale the bank never
// booked is answered "no such original" and the sale ends not booked.
func TestReversalNamesItsSale(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		r.bank.LoseNextReply()
		o, err := r.sell(r.cardSale("approved", "123456", "T1", "000001", 900))
		if err != nil || o.State != api.StateUnknown {
			t.Fatalf("lost answer: %+v, %v", o, err)
		}
		r.clock.Advance(unknownRetry)
		r.sweep()
		got := r.final(o.ID)
		if got.State != api.StateClosed || got.Reason != api.ReasonReversed {
			t.Fatalf("after the sweep: %+v", got)
		}
		if l := r.bank.Ledger(); len(l) != 1 || !l[0].Reversed || l[0].Charged() != 0 {
			t.Fatalf("bank ledger %+v", l)
		}

		// A sale that never reached the bank (the link dropped before the
		// request left): its reversal finds nothing.
		r.bank.DropNext(0)
		n := r.journalCard(t, "000002", 300) // journaled as a crash would leave it: CREATED, never sent
		r.clock.Advance(DefaultChannelTimeout + createdGrace + unknownRetry)
		r.sweep()
		got = r.final(n.ID)
		if got.State != api.StateClosed || got.Reason != api.ReasonNotBooked {
			t.Fatalf("never sent: %+v", got)
		}
		if l := r.bank.Ledger(); len(l) != 1 {
			t.Fatalf("bank ledger %+v", l)
		}
	})
}

// Issue 11, defect 3: the server is the source of truth for a terminal's
// batch and next trace. A station whose counter was lost starts at 000001
// and takes its next payment at once: the server's answer says the trace
// is used and where the batch is, and the station goes on from there. Two
// stations sharing a bundle never collide. After 999999 the next batch
// opens, and the counter's wrap lands in it.
func TestStationCounterIsACache(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		ctx := context.Background()
		c := r.client("T1")
		for _, trace := range []string{"000001", "000002", "000003"} {
			r.orderOn("T1", api.Alipay, trace, 100)
		}
		// A fresh counter (a wiped state folder, a replacement PC).
		fresh := r.traces(t)
		c.SyncTraces(fresh)
		o := r.payWith(c, fresh)
		if o.Trace != "000004" || o.Batch != store.FirstBatch {
			t.Fatalf("first payment after the counter was lost: trace %s batch %s", o.Trace, o.Batch)
		}
		// The terminal info says the same to a station starting up.
		other := r.traces(t)
		c2, err := posclient.FromBundle(r.bundles["T1"], r.url)
		if err != nil {
			t.Fatal(err)
		}
		c2.SyncTraces(other)
		info, err := c2.Terminal(ctx)
		if err != nil || info.Batch != store.FirstBatch || info.NextTrace != "000005" {
			t.Fatalf("terminal info: %+v, %v", info, err)
		}
		if got, _ := other.Next(); got != "000005" {
			t.Fatalf("the counter after the terminal info: %s", got)
		}

		// Two PCs with the same bundle, both counters stale, selling at once.
		a, b := r.traces(t), r.traces(t)
		ca, _ := posclient.FromBundle(r.bundles["T1"], r.url)
		cb, _ := posclient.FromBundle(r.bundles["T1"], r.url)
		ca.SyncTraces(a)
		cb.SyncTraces(b)
		var wg sync.WaitGroup
		orders := make(chan api.Order, 20)
		for _, pc := range []struct {
			c *posclient.Client
			t *posclient.Traces
		}{{ca, a}, {cb, b}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 10 {
					orders <- r.payWith(pc.c, pc.t)
				}
			}()
		}
		wg.Wait()
		close(orders)
		seen := map[string]bool{}
		for o := range orders {
			if seen[o.Batch+o.Trace] {
				t.Fatalf("trace %s used twice in batch %s", o.Trace, o.Batch)
			}
			seen[o.Batch+o.Trace] = true
		}

		// The end of a batch: 999999 opens the next; the counter wraps into
		// it. (A second later: an order number is made of the terminal, the
		// second and the trace, and the test clock stands still.)
		r.clock.Advance(time.Second)
		if err := fresh.Sync(store.FirstBatch, "999999"); err != nil {
			t.Fatal(err)
		}
		last := r.payWith(c, fresh)
		next := r.payWith(c, fresh)
		if last.Trace != "999999" || last.Batch != store.FirstBatch || next.Trace != "000001" || next.Batch != "000002" {
			t.Fatalf("across the batch end: %s/%s then %s/%s", last.Batch, last.Trace, next.Batch, next.Trace)
		}
		if byTrace, err := c.OrderByTrace(ctx, "000001"); err != nil || byTrace.ID != next.ID {
			t.Fatalf("by trace after the wrap: %+v, %v (want the new batch's)", byTrace, err)
		}
	})
}

// traces is a new, empty station counter.
func (r *rig) traces(t *testing.T) *posclient.Traces {
	t.Helper()
	tr, err := posclient.OpenTraces(filepath.Join(t.TempDir(), "trace"))
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// payWith creates a QR order the way the station does: under its
// counter's next trace, again under the next one if that is used.
func (r *rig) payWith(c *posclient.Client, tr *posclient.Traces) api.Order {
	var o api.Order
	_, _, err := posclient.WithTrace(tr, "", "", func(trace, rid string) error {
		var err error
		o, err = c.CreateWalletOrder(context.Background(), rid, api.CreateWalletOrder{Trace: trace, Channel: api.Alipay, Amount: 100})
		return err
	})
	if err != nil {
		r.t.Errorf("payment: %v", err)
	}
	return o
}

// balanceOf is a balance inquiry with a test card, as T1 sends it.
func (r *rig) balanceOf(id, trace string) api.CardBalance {
	r.t.Helper()
	s := r.cardSale(id, "123456", "T1", trace, 1)
	return api.CardBalance{Trace: trace, PAN: s.PAN, Expiry: s.Expiry, Track2: s.Track2, Entry: s.Entry, PINBlock: s.PINBlock}
}

// journalCard journals a card sale of T1 without sending it: what a
// server that died before the request left leaves behind.
func (r *rig) journalCard(t *testing.T, trace string, amount int64) api.Order {
	t.Helper()
	tm, err := r.srv.terminals.get(context.Background(), "T1")
	if err != nil {
		t.Fatal(err)
	}
	o, rep, err := r.srv.journal(context.Background(), tm, api.Order{Trace: trace, Channel: api.Card, Kind: api.KindCardSale,
		Amount: amount, MaskedPAN: "621234******0002", Entry: "chip"}, posclient.NewRequestID(), string(api.KindCardSale), "h"+trace)
	if err != nil || rep != nil {
		t.Fatalf("journal: %+v, %v", rep, err)
	}
	return o
}

// A void whose answer is lost, in a batch after the first: its reversal
// names it by the batch it was sent in (a reversal that guessed the first
// batch found nothing at the bank, and the journal said "not booked" for
// a void the bank had made).
func TestVoidReversedInItsOwnBatch(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		ctx := context.Background()
		c := r.client("T1")
		if _, err := c.CardBalance(ctx, r.balanceOf("approved", "999999")); err != nil { // the batch's last trace
			t.Fatal(err)
		}
		sale, err := r.sell(r.cardSale("approved", "123456", "T1", "000001", 4200))
		if err != nil || sale.State != api.StateSuccess || sale.Batch != "000002" {
			t.Fatalf("sale: %+v, %v", sale, err)
		}
		r.bank.LoseNextReply()
		v, err := c.CardVoid(ctx, posclient.NewRequestID(), adjustOf(t, sale, "approved", "000005", 0))
		if err != nil || v.State != api.StateClosed || v.Reason != api.ReasonReversed || v.Batch != "000002" {
			t.Fatalf("void with a lost answer: %+v, %v; want CLOSED, reversed, batch 000002", v, err)
		}
		l := r.bank.Ledger()
		if len(l) != 2 || l[0].Voided || l[0].Charged() != 4200 || !l[1].Reversed {
			t.Fatalf("bank ledger %+v", l)
		}
	})
}
