package server

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/posclient"
	"github.com/multipos/multipos/sandbox/acquirer"
	"github.com/multipos/multipos/server/connector"
	"github.com/multipos/multipos/server/connector/bank"
	"github.com/multipos/multipos/server/store"
)

// settleOn posts a settlement of batch for terminal tid under rid and
// decodes the answer; status and error code come back for a refusal.
func (r *rig) settleOn(tid, rid, batch, operator string) (api.Settlement, int, string) {
	r.t.Helper()
	status, body := r.post(tid, "/v1/card/settle", rid, api.SettleBatch{Batch: batch, Operator: operator})
	if status != http.StatusOK {
		return api.Settlement{}, status, errCode(r.t, body)
	}
	var s api.Settlement
	if err := json.Unmarshal(body, &s); err != nil {
		r.t.Fatalf("settlement %s: %v", body, err)
	}
	return s, status, ""
}

// settled settles batch of tid and fails the test unless it is answered.
func (r *rig) settled(tid, batch, operator string) api.Settlement {
	r.t.Helper()
	s, status, code := r.settleOn(tid, posclient.NewRequestID(), batch, operator)
	if status != http.StatusOK {
		r.t.Fatalf("settlement of %s batch %s: %d %s", tid, batch, status, code)
	}
	return s
}

// getSettlement is GET /v1/card/settlements/{batch} as terminal tid.
func (r *rig) getSettlement(tid, batch string) (api.Settlement, int) {
	r.t.Helper()
	resp, err := r.httpClient(tid).Get(r.url + "/v1/card/settlements/" + batch)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		r.t.Fatal(err)
	}
	var s api.Settlement
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, &s); err != nil {
			r.t.Fatal(err)
		}
	}
	return s, resp.StatusCode
}

// hostBatch is the acquirer's record of a terminal's batch.
func hostBatch(t *testing.T, h *acquirer.Host, tid, batch string) acquirer.BatchInfo {
	t.Helper()
	for _, b := range h.Batches(tid) {
		if b.Batch == batch {
			return b
		}
	}
	t.Fatalf("the acquirer has no settlement of %s batch %s: %+v", tid, batch, h.Batches())
	return acquirer.BatchInfo{}
}

// sellOK sells on T1 and fails the test unless approved.
func (r *rig) sellOK(trace string, amount int64) api.Order {
	r.t.Helper()
	o, err := r.sell(r.cardSale("approved", "123456", "T1", trace, amount))
	if err != nil || o.State != api.StateSuccess {
		r.t.Fatalf("sale %s: %+v, %v", trace, o, err)
	}
	return o
}

// A balanced batch: the totals count voided sales as debits and voids and
// refunds as credits; the acquirer closes the batch on them; the slip's
// data is right; the terminal goes on in the next batch from trace 000001.
func TestSettleBalanced(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		ctx := context.Background()
		c := r.client("T1")
		s1, s2 := r.sellOK("000001", 8800), r.sellOK("000002", 500)
		if v, err := c.CardVoid(ctx, posclient.NewRequestID(), adjustOf(t, s1, "approved", "000003", 0)); err != nil || v.State != api.StateSuccess {
			t.Fatalf("void: %+v, %v", v, err)
		}
		if f, err := c.CardRefund(ctx, posclient.NewRequestID(), adjustOf(t, s2, "approved", "000004", 200)); err != nil || f.State != api.StateSuccess {
			t.Fatalf("refund: %+v, %v", f, err)
		}
		rid := posclient.NewRequestID()
		got, status, code := r.settleOn("T1", rid, "000001", "01")
		if status != http.StatusOK {
			t.Fatalf("settle: %d %s", status, code)
		}
		want := []api.KindTotal{{Kind: api.KindCardSale, Count: 2, Amount: 9300}, {Kind: api.KindCardVoid, Count: 1, Amount: 8800},
			{Kind: api.KindCardRefund, Count: 1, Amount: 200}}
		if got.TerminalID != "T1" || got.MerchantID != m1 || got.MerchantName != m1Name || got.Batch != "000001" || got.NextBatch != "000002" ||
			len(got.Totals) != 3 || got.Totals[0] != want[0] || got.Totals[1] != want[1] || got.Totals[2] != want[2] ||
			got.DebitCount != 2 || got.DebitAmount != 9300 || got.CreditCount != 2 || got.CreditAmount != 9000 || got.Net != 300 ||
			!got.Balanced || got.Uploaded != 0 || got.Reversals != 0 || got.By != "01" || got.From.After(got.To) || got.To.IsZero() {
			t.Fatalf("settlement %+v", got)
		}
		hb := hostBatch(t, r.bank, "T1", "000001")
		if hb.State != "closed" || hb.Flag != "1" || hb.Settled != (acquirer.ControlTotals{DebitCount: 2, DebitAmount: 9300, CreditCount: 2, CreditAmount: 9000}) {
			t.Fatalf("the acquirer's batch %+v", hb)
		}
		// The same request again hears the same answer; another request
		// for the settled batch hears its settlement; GET reads it.
		again, _, _ := r.settleOn("T1", rid, "000001", "01")
		other := r.settled("T1", "000001", "02")
		read, st := r.getSettlement("T1", "000001")
		for _, s := range []api.Settlement{again, other, read} {
			if s.Batch != got.Batch || s.Net != got.Net || s.By != "01" || !s.To.Equal(got.To) {
				t.Fatalf("%d: %+v, want %+v", st, s, got)
			}
		}
		if _, st := r.getSettlement("T1", "000002"); st != http.StatusNotFound {
			t.Fatalf("open batch's settlement: %d", st)
		}
		if _, status, code := r.settleOn("T1", posclient.NewRequestID(), "000007", ""); status != http.StatusConflict || code != api.CodeBatchMoved {
			t.Fatalf("another batch: %d %s", status, code)
		}
		if len(r.bank.Batches()) != 1 {
			t.Fatalf("the acquirer: %+v", r.bank.Batches())
		}
		// The next sale is in batch 000002, and trace 000001 is free again.
		o := r.sellOK("000001", 300)
		if o.Batch != "000002" {
			t.Fatalf("next sale in batch %s", o.Batch)
		}
		if l := r.bank.Ledger(); l[len(l)-1].Batch != "000002" || !l[len(l)-1].Approved {
			t.Fatalf("the acquirer booked %+v", l[len(l)-1])
		}
		// T2's batch is its own: untouched.
		if r.info("T2").Channels == nil {
			t.Fatal("no info")
		}
	})
}

// booksOf is the acquirer's own totals of a batch: what it counts now.
func booksOf(h *acquirer.Host, tid, batch string) connector.BatchTotals {
	var txns []connector.BatchTxn
	for _, e := range h.Ledger() {
		if e.TerminalID == tid && e.Batch == batch && e.Approved && !e.Reversed && !e.Lost && !e.Excluded {
			txns = append(txns, connector.BatchTxn{Kind: string(e.Type), Amount: e.Amount})
		}
	}
	return connector.TotalsOf(txns)
}

// Out of balance both ways (the acquirer lost one of our sales and booked
// one we never sent): the batch is uploaded, the end settles it on our
// detail, and the acquirer's books then hold what we journaled.
func TestSettleOutOfBalance(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		ctx := context.Background()
		s1 := r.sellOK("000001", 1000)
		r.sellOK("000002", 2000)
		r.sellOK("000003", 3000)
		if f, err := r.client("T1").CardRefund(ctx, posclient.NewRequestID(), adjustOf(t, s1, "approved", "000004", 400)); err != nil || f.State != api.StateSuccess {
			t.Fatalf("refund: %+v, %v", f, err)
		}
		if err := r.bank.DropEntry("T1", m1, "000001", "000002"); err != nil {
			t.Fatal(err)
		}
		if _, err := r.bank.AddEntry(acquirer.Planted{TerminalID: "T1", MerchantID: m1, Batch: "000001", Trace: "000050",
			Type: acquirer.Sale, Amount: 999}); err != nil {
			t.Fatal(err)
		}
		got := r.settled("T1", "000001", "")
		ours := connector.BatchTotals{DebitCount: 3, DebitAmount: 6000, CreditCount: 1, CreditAmount: 400}
		if got.Balanced || got.Uploaded != 4 || got.DebitCount != 3 || got.DebitAmount != 6000 || got.CreditCount != 1 ||
			got.CreditAmount != 400 || got.Net != 5600 || got.NextBatch != "000002" {
			t.Fatalf("settlement %+v", got)
		}
		hb := hostBatch(t, r.bank, "T1", "000001")
		if hb.State != "closed" || hb.Flag != "2" || hb.Uploaded != 4 ||
			hb.Settled != (acquirer.ControlTotals{DebitCount: 3, DebitAmount: 6000, CreditCount: 1, CreditAmount: 400}) ||
			len(hb.NotUploaded) != 1 || hb.NotUploaded[0] != "000050" || len(hb.NotBooked) != 0 {
			t.Fatalf("the acquirer's batch %+v", hb)
		}
		if b := booksOf(r.bank, "T1", "000001"); b != ours {
			t.Fatalf("the acquirer's books %+v, ours %+v", b, ours)
		}
		if o := r.sellOK("000001", 100); o.Batch != "000002" {
			t.Fatalf("next sale in batch %s", o.Batch)
		}
	})
}

// A sale whose answer was lost is reversed before the totals go: the
// acquirer, which had booked it, then agrees with totals that leave it
// out. A sale still at the acquirer holds the settlement back.
func TestSettleSendsReversalsFirst(t *testing.T) {
	onBoth(t, func(o *Options) { o.ChannelTimeout = 2 * time.Second }, func(t *testing.T, r *rig) {
		ctx := context.Background()
		r.sellOK("000001", 1000)
		r.bank.LoseNextReply()
		lost, err := r.sell(r.cardSale("approved", "123456", "T1", "000002", 2000))
		if err != nil || lost.State != api.StateUnknown {
			t.Fatalf("lost reply: %+v, %v", lost, err)
		}
		// A sale journaled and at the bank this moment (as a crash leaves it).
		now := r.clock.Now()
		s := r.cardSale("approved", "123456", "T1", "000003", 3000)
		c, prev, err := r.st.Create(ctx, store.NewTx{Order: api.Order{TerminalID: "T1", Trace: s.Trace, Channel: api.Card,
			Kind: api.KindCardSale, Amount: s.Amount, MaskedPAN: "621234******0002", Entry: "chip", CreatedAt: now},
			MerchantID: m1, StoreID: "S1", Day: r.srv.day(now), CheckAfter: now.Add(r.srv.opts.ChannelTimeout + createdGrace),
			Request: store.Request{RequestID: "inflight-000003", Op: string(api.KindCardSale), Hash: "h"}, Actor: "terminal"})
		if err != nil || prev != nil {
			t.Fatal(err)
		}
		blk, _ := hex.DecodeString(s.PINBlock)
		if res, err := r.link.Sale(ctx, connector.Sale{TerminalID: "T1", MerchantID: m1, Trace: s.Trace, Batch: "000001", Amount: s.Amount,
			PAN: s.PAN, Expiry: s.Expiry, Track2: s.Track2, Entry: s.Entry, PINBlock: [8]byte(blk)}); err != nil || !res.Approved() {
			t.Fatalf("%+v, %v", res, err)
		}
		if _, status, code := r.settleOn("T1", posclient.NewRequestID(), "000001", ""); status != http.StatusConflict || code != api.CodeSettling {
			t.Fatalf("settled with a sale at the bank: %d %s", status, code)
		}
		if len(r.bank.Batches()) != 0 {
			t.Fatal("totals sent with a sale at the bank")
		}
		// Once its call would have timed out, it is owed a reversal too.
		r.clock.Advance(r.srv.opts.ChannelTimeout + createdGrace + time.Second)
		got := r.settled("T1", "000001", "")
		if !got.Balanced || got.Reversals != 2 || got.DebitCount != 1 || got.DebitAmount != 1000 || got.Uploaded != 0 {
			t.Fatalf("settlement %+v", got)
		}
		for _, id := range []string{lost.ID, c.ID} {
			if o := r.get(id); o.State != api.StateClosed || o.Reason != api.ReasonReversed {
				t.Fatalf("owed a reversal: %+v", o)
			}
		}
		if hb := hostBatch(t, r.bank, "T1", "000001"); hb.State != "closed" || hb.Flag != "1" ||
			hb.Settled != (acquirer.ControlTotals{DebitCount: 1, DebitAmount: 1000}) {
			t.Fatalf("the acquirer's batch %+v", hb)
		}
		if r.bank.Reversals() != 2 {
			t.Fatalf("%d reversals at the acquirer", r.bank.Reversals())
		}
	})
}

// miscount is the server's link to the acquirer with the next bad upload
// ends' counts off by one: the acquirer answers them 95 for real.
type miscount struct {
	*bank.Client
	mu        sync.Mutex
	ends, bad int
}

func (m *miscount) EndUpload(ctx context.Context, e connector.UploadEnd) (bool, error) {
	m.mu.Lock()
	m.ends++
	if m.bad > 0 {
		m.bad--
		e.Count++
	}
	m.mu.Unlock()
	return m.Client.EndUpload(ctx, e)
}

// An upload end the acquirer does not take as adding up (95) is settled
// and uploaded once more; a second 95 leaves the batch open and SETTLING,
// given back with its error, for a retry.
func TestSettleEndNotAddingUp(t *testing.T) {
	link := miscount{bad: 1}
	onSQLite(t, func(o *Options) {
		link.Client = o.Acquirer.(*bank.Client)
		o.Acquirer = &link
	}, func(t *testing.T, r *rig) {
		r.sellOK("000001", 1000)
		r.sellOK("000002", 2000)
		if err := r.bank.DropEntry("T1", m1, "000001", "000001"); err != nil {
			t.Fatal(err)
		}
		got := r.settled("T1", "000001", "")
		if got.Balanced || got.Uploaded != 2 || got.DebitAmount != 3000 || link.ends != 2 {
			t.Fatalf("%+v after %d ends", got, link.ends)
		}
		if hb := hostBatch(t, r.bank, "T1", "000001"); hb.State != "closed" || hb.Settled.DebitAmount != 3000 {
			t.Fatalf("the acquirer's batch %+v", hb)
		}
		// Twice 95: refused, still open, taken up again later.
		r.sellOK("000001", 500)
		if err := r.bank.DropEntry("T1", m1, "000002", "000001"); err != nil {
			t.Fatal(err)
		}
		link.bad = 2
		if _, status, code := r.settleOn("T1", posclient.NewRequestID(), "000002", ""); status != http.StatusBadGateway || code != api.CodeChannelError {
			t.Fatalf("two ends not adding up: %d %s", status, code)
		}
		x, err := r.st.Settlement(context.Background(), "T1", "000002")
		if err != nil || x.State != store.SettlementSettling || x.LastError == "" || x.LeaseOwner != "" {
			t.Fatalf("%+v %v", x, err)
		}
		if hb := hostBatch(t, r.bank, "T1", "000002"); hb.State != "settling" {
			t.Fatalf("the acquirer's batch %+v", hb)
		}
		got = r.settled("T1", "000002", "")
		if got.DebitAmount != 500 || got.NextBatch != "000003" {
			t.Fatalf("retry: %+v", got)
		}
	})
}
