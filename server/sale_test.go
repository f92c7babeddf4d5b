package server

import (
	"context"
	"net/http"
	"testing"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/posclient"
)

// attempts returns a sale's attempts and how many of them succeeded.
func (r *rig) attempts(saleID string) ([]api.Order, int) {
	r.t.Helper()
	all, err := r.st.BySale(context.Background(), saleID)
	if err != nil {
		r.t.Fatal(err)
	}
	paid := 0
	for _, o := range all {
		if o.SaleID != saleID {
			r.t.Fatalf("attempt %+v listed for sale %s", o, saleID)
		}
		if o.State == api.StateSuccess {
			paid++
		}
	}
	return all, paid
}

func TestSaleAttempts(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		ctx := context.Background()
		c := r.client("T1")
		// The customer declines on the phone; the second attempt, by card,
		// pays the same sale.
		first := r.order(api.Alipay, "000001", 2500)
		if err := r.ali.Decline(ctx, first.OutTradeNo); err != nil {
			t.Fatal(err)
		}
		if got := r.wait("T1", first); got.State != api.StateFailed {
			t.Fatalf("declined: %+v", got)
		}
		s := r.cardSale("approved", "123456", "T1", "000002", 2500)
		s.SaleID = first.SaleID
		second, err := c.CardSale(ctx, posclient.NewRequestID(), s)
		if err != nil || second.State != api.StateSuccess || second.SaleID != first.SaleID || second.ID == first.ID {
			t.Fatalf("second attempt: %+v, %v", second, err)
		}
		if all, paid := r.attempts(first.SaleID); len(all) != 2 || paid != 1 || all[0].ID == all[1].ID {
			t.Fatalf("attempts %+v", all)
		}
		// A paid sale takes no more attempts.
		_, err = c.CreateWalletOrder(ctx, posclient.NewRequestID(),
			api.CreateWalletOrder{SaleID: first.SaleID, Trace: "000003", Channel: api.WeChat, Amount: 2500})
		if e := apiErr(t, err); e.Code != api.CodeSalePaid || e.Status != http.StatusConflict {
			t.Fatalf("attempt on a paid sale: %+v", e)
		}
		if all, _ := r.attempts(first.SaleID); len(all) != 2 {
			t.Fatalf("attempts %+v", all)
		}

		// A sale with an attempt still open takes no other.
		open := r.order(api.WeChat, "000004", 1800)
		busy := r.cardSale("approved", "123456", "T1", "000005", 1800)
		busy.SaleID = open.SaleID
		_, err = c.CardSale(ctx, posclient.NewRequestID(), busy)
		if e := apiErr(t, err); e.Code != api.CodeSaleBusy || e.Status != http.StatusConflict {
			t.Fatalf("attempt while one is open: %+v", e)
		}
		if r.bank.Calls() != 1 {
			t.Fatalf("the bank saw %d sales", r.bank.Calls())
		}
		// Once the open attempt is closed, the next one may go.
		if _, err := c.CancelOrder(ctx, open.ID); err != nil {
			t.Fatal(err)
		}
		retry, err := c.CreateWalletOrder(ctx, posclient.NewRequestID(),
			api.CreateWalletOrder{SaleID: open.SaleID, Trace: "000006", Channel: api.Alipay, Amount: 1800})
		if err != nil || retry.State != api.StatePending || retry.SaleID != open.SaleID {
			t.Fatalf("retry: %+v, %v", retry, err)
		}
		paid, err := c.DemoPay(ctx, retry.ID)
		if err != nil || paid.State != api.StateSuccess {
			t.Fatalf("pay: %+v, %v", paid, err)
		}
		if all, n := r.attempts(open.SaleID); len(all) != 2 || n != 1 || all[0].State != api.StateClosed && all[1].State != api.StateClosed {
			t.Fatalf("attempts %+v", all)
		}

		// Only the terminal's own sale, of the same amount.
		declined, err := r.sell(r.cardSale("insufficient", "123456", "T1", "000007", 900))
		if err != nil || declined.State != api.StateFailed {
			t.Fatalf("%+v, %v", declined, err)
		}
		for name, tc := range map[string]struct {
			tid, sale string
			amount    int64
			code      string
		}{
			"other amount":     {"T1", declined.SaleID, 901, api.CodeBadRequest},
			"other terminal":   {"T2", declined.SaleID, 900, api.CodeNotFound},
			"other merchant":   {"T3", declined.SaleID, 900, api.CodeNotFound},
			"no such sale":     {"T1", "sanosuchsale", 900, api.CodeNotFound},
			"not a sale id":    {"T1", declined.ID, 900, api.CodeBadRequest},
			"same trace again": {"T1", declined.SaleID, 900, api.CodeTraceUsed},
		} {
			trace := "000008"
			if name == "same trace again" {
				trace = "000007"
			}
			_, err := r.client(tc.tid).CreateWalletOrder(ctx, posclient.NewRequestID(),
				api.CreateWalletOrder{SaleID: tc.sale, Trace: trace, Channel: api.Alipay, Amount: tc.amount})
			if e := apiErr(t, err); e.Code != tc.code {
				t.Errorf("%s: %+v", name, e)
			}
		}
		if all, _ := r.attempts(declined.SaleID); len(all) != 1 {
			t.Fatalf("attempts %+v", all)
		}
		// The right attempt still goes.
		ok := r.cardSale("approved", "123456", "T1", "000009", 900)
		ok.SaleID = declined.SaleID
		if o, err := c.CardSale(ctx, posclient.NewRequestID(), ok); err != nil || o.State != api.StateSuccess {
			t.Fatalf("%+v, %v", o, err)
		}
	})
}
