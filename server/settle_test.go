package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/posclient"
	"github.com/multipos/multipos/sandbox/acquirer"
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
