package server

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/posclient"
	"github.com/multipos/multipos/sandbox/acquirer"
)

// adjustOf builds a void or refund of sale o with test card id (read
// again, no PIN).
func adjustOf(t *testing.T, o api.Order, id, trace string, amount int64) api.CardAdjust {
	t.Helper()
	for _, c := range acquirer.TestCards() {
		if c.ID == id {
			return api.CardAdjust{Original: o.ID, Trace: trace, Amount: amount, PAN: c.PAN, Expiry: c.Expiry,
				Track2: c.Track2, Entry: "swipe"}
		}
	}
	t.Fatalf("no test card %s", id)
	return api.CardAdjust{}
}

func TestCardVoid(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		ctx := context.Background()
		c := r.client("T1")
		sale, err := r.sell(r.cardSale("approved", "123456", "T1", "000001", 8800))
		if err != nil || sale.State != api.StateSuccess {
			t.Fatalf("%+v, %v", sale, err)
		}
		// Another card than the sale's is refused before the bank.
		if _, err := c.CardVoid(ctx, posclient.NewRequestID(), adjustOf(t, sale, "insufficient", "000002", 0)); apiErr(t, err).Code != api.CodeNotAdjustable {
			t.Fatalf("other card: %v", err)
		}
		rid := posclient.NewRequestID()
		v, err := c.CardVoid(ctx, rid, adjustOf(t, sale, "approved", "000003", 0))
		if err != nil || v.State != api.StateSuccess || v.Kind != api.KindCardVoid || v.Amount != 8800 || v.Original != sale.ID ||
			v.ResponseCode != "00" || v.MaskedPAN != sale.MaskedPAN || v.MAC == "" {
			t.Fatalf("void: %+v, %v", v, err)
		}
		again, err := c.CardVoid(ctx, rid, adjustOf(t, sale, "approved", "000003", 0))
		if err != nil || again.ID != v.ID || again.RRN != v.RRN {
			t.Fatalf("replay: %+v, %v", again, err)
		}
		l := r.bank.Ledger()
		if len(l) != 2 || !l[0].Voided || l[1].Type != acquirer.Void || l[1].Original != "T1|"+m1+"|000001|000001" {
			t.Fatalf("bank ledger %+v", l)
		}
		// Voided once is all: a second void and a refund are refused here.
		if _, err := c.CardVoid(ctx, posclient.NewRequestID(), adjustOf(t, sale, "approved", "000004", 0)); apiErr(t, err).Code != api.CodeNotAdjustable {
			t.Fatalf("second void: %v", err)
		}
		if _, err := c.CardRefund(ctx, posclient.NewRequestID(), adjustOf(t, sale, "approved", "000005", 100)); apiErr(t, err).Code != api.CodeNotAdjustable {
			t.Fatalf("refund of a voided sale: %v", err)
		}
		// Yesterday's sale cannot be voided: it is refunded.
		old, err := r.sell(r.cardSale("approved", "123456", "T1", "000006", 500))
		if err != nil || old.State != api.StateSuccess {
			t.Fatal(old, err)
		}
		r.clock.Advance(24 * time.Hour)
		if _, err := c.CardVoid(ctx, posclient.NewRequestID(), adjustOf(t, old, "approved", "000007", 0)); apiErr(t, err).Code != api.CodeNotAdjustable {
			t.Fatalf("void of yesterday's sale: %v", err)
		}
	})
}

func TestCardRefunds(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		ctx := context.Background()
		c := r.client("T1")
		sale, err := r.sell(r.cardSale("approved", "123456", "T1", "000001", 1000))
		if err != nil || sale.State != api.StateSuccess {
			t.Fatalf("%+v, %v", sale, err)
		}
		r.clock.Advance(26 * time.Hour) // a refund is a later day's business
		first, err := c.CardRefund(ctx, posclient.NewRequestID(), adjustOf(t, sale, "approved", "000002", 300))
		if err != nil || first.State != api.StateSuccess || first.Kind != api.KindCardRefund || first.Amount != 300 {
			t.Fatalf("refund: %+v, %v", first, err)
		}
		if _, err := c.CardRefund(ctx, posclient.NewRequestID(), adjustOf(t, sale, "approved", "000003", 701)); apiErr(t, err).Code != api.CodeNotAdjustable {
			t.Fatalf("over-refund: %v", err)
		}
		rest, err := c.CardRefund(ctx, posclient.NewRequestID(), adjustOf(t, sale, "approved", "000004", 700))
		if err != nil || rest.State != api.StateSuccess {
			t.Fatalf("the rest: %+v, %v", rest, err)
		}
		if l := r.bank.Ledger(); l[0].Refunded != 1000 {
			t.Fatalf("bank ledger %+v", l)
		}
		// A refund whose answer is lost is reversed at once: nothing given back.
		sale2, _ := r.sell(r.cardSale("approved", "123456", "T1", "000005", 400))
		r.bank.LoseNextReply()
		lost, err := c.CardRefund(ctx, posclient.NewRequestID(), adjustOf(t, sale2, "approved", "000006", 400))
		if err != nil || lost.State != api.StateClosed || lost.Reason != api.ReasonReversed {
			t.Fatalf("lost refund: %+v, %v", lost, err)
		}
		var e acquirer.Entry
		for _, x := range r.bank.Ledger() {
			if x.Trace == "000006" {
				e = x
			}
		}
		if !e.Reversed {
			t.Fatalf("the bank did not reverse the refund: %+v", e)
		}
		// When the reversal is lost too, the sweeper reverses it later.
		r.bank.LoseNextReply()
		r.bank.DropNextReversals(1)
		stuck, err := c.CardRefund(ctx, posclient.NewRequestID(), adjustOf(t, sale2, "approved", "000007", 100))
		if err != nil || stuck.State != api.StateUnknown {
			t.Fatalf("lost refund and reversal: %+v, %v", stuck, err)
		}
		r.clock.Advance(unknownRetry + time.Second)
		r.sweep()
		got, err := r.srv.st.Adjustment(ctx, stuck.ID)
		if err != nil || got.State != api.StateClosed || got.Reason != api.ReasonReversed {
			t.Fatalf("after the sweep: %+v, %v", got, err)
		}
	})
}

func TestCardBalance(t *testing.T) {
	onSQLite(t, nil, func(t *testing.T, r *rig) {
		ctx := context.Background()
		c := r.client("T1")
		s := r.cardSale("approved", "123456", "T1", "000001", 1)
		b, err := c.CardBalance(ctx, api.CardBalance{Trace: "000001", PAN: s.PAN, Expiry: s.Expiry, Track2: s.Track2,
			Entry: "chip", PINBlock: s.PINBlock})
		if err != nil || b.ResponseCode != "00" || b.Balance != acquirer.InitialBalance || b.MaskedPAN != "621234******0002" {
			t.Fatalf("balance: %+v, %v", b, err)
		}
		w := r.cardSale("approved", "000000", "T1", "000002", 1)
		b, err = c.CardBalance(ctx, api.CardBalance{Trace: "000002", PAN: w.PAN, Expiry: w.Expiry, Entry: "chip", PINBlock: w.PINBlock})
		if err != nil || b.ResponseCode != "55" || b.Balance != 0 {
			t.Fatalf("wrong PIN: %+v, %v", b, err)
		}
		// Without its MAC the server refuses it.
		status, body := r.post("T1", "/v1/card/balance", "", struct {
			api.CardBalance
			MAC string `json:"mac"`
		}{CardBalance: api.CardBalance{Trace: "000003", PAN: s.PAN, Expiry: s.Expiry, Entry: "chip", PINBlock: s.PINBlock}, MAC: "00"})
		if status != http.StatusUnauthorized {
			t.Fatalf("no MAC: %d %s", status, body)
		}
	})
}

// A refund names its sale by the acquirer's date of it (field 13), which
// may be the day after the server journaled it.
func TestAcquirerDate(t *testing.T) {
	late := time.Date(2026, 12, 31, 15, 59, 59, 0, time.UTC) // 23:59:59 CST
	o := api.Order{UpdatedAt: late, TradeNo: cardTradeNo("0101", "270101000001")}
	s := &Server{opts: Options{Zone: DefaultZone()}}
	if got := s.acquirerDate(o); got != "0101" {
		t.Fatalf("with the acquirer's date: %s", got)
	}
	if got := s.acquirerDate(api.Order{UpdatedAt: late}); got != "1231" {
		t.Fatalf("without it, the business day the answer came on (CST): %s", got)
	}
	// In a chain whose day is UTC's, 15:59:59 UTC is still the 31st, and
	// 16:00 too: only the configured zone says where the day ends.
	s.opts.Zone = time.UTC
	if got := s.acquirerDate(api.Order{UpdatedAt: late.Add(time.Second)}); got != "1231" {
		t.Fatalf("in UTC: %s", got)
	}
	if cardTradeNo("", "x") != "" || cardTradeNo("0101", "") != "" {
		t.Fatal("a trade number needs both the date and the RRN")
	}
}

// Repeats of one refund request sent at once all get the one refund, and
// refunds racing for one sale never give back more than it took.
func TestConcurrentRefunds(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		ctx := context.Background()
		c := r.client("T1")
		sale, err := r.sell(r.cardSale("approved", "123456", "T1", "000001", 1000))
		if err != nil || sale.State != api.StateSuccess {
			t.Fatalf("%+v, %v", sale, err)
		}
		rid := posclient.NewRequestID()
		same := make(chan api.Order, 4)
		for i := range 4 {
			go func() {
				o, err := c.CardRefund(ctx, rid, adjustOf(t, sale, "approved", "000002", 600))
				if err != nil {
					t.Errorf("repeat %d: %v", i, err)
				}
				same <- o
			}()
		}
		first := <-same
		for range 3 {
			if o := <-same; o.ID != first.ID || first.State != api.StateSuccess {
				t.Fatalf("repeats of one request: %+v and %+v", first, o)
			}
		}
		// 400 fen are left: of three refunds of 300 at once, one fits.
		ok := make(chan bool, 3)
		for i := range 3 {
			go func() {
				o, err := c.CardRefund(ctx, posclient.NewRequestID(), adjustOf(t, sale, "approved", "00001"+string(rune('0'+i)), 300))
				ok <- err == nil && o.State == api.StateSuccess
			}()
		}
		n := 0
		for range 3 {
			if <-ok {
				n++
			}
		}
		if n != 1 || r.bank.Ledger()[0].Refunded != 900 {
			t.Fatalf("%d of the racing refunds went through; the bank refunded %d fen", n, r.bank.Ledger()[0].Refunded)
		}
	})
}

// A refused void or refund says why (Error.Reason), and how much is left
// to refund; a card sale looked up says what was refunded and voided of it.
func TestAdjustRefusalsSayWhy(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		ctx := context.Background()
		c := r.client("T1")
		refused := func(what string, err error, reason string, left int64) {
			t.Helper()
			e := apiErr(t, err)
			if e.Code != api.CodeNotAdjustable || e.Reason != reason || e.Limit != left {
				t.Fatalf("%s: %+v, want reason %s and %d fen left", what, e, reason, left)
			}
		}
		undone := func(what string, o api.Order, refunded int64, voided bool) {
			t.Helper()
			for _, got := range []api.Order{r.lookUp(c, o.Trace), r.getOrder("T1", o.ID)} {
				if got.ID != o.ID || got.Refunded != refunded || got.Voided != voided {
					t.Fatalf("%s: %+v, want %d fen refunded, voided %v", what, got, refunded, voided)
				}
			}
		}
		sale, err := r.sell(r.cardSale("approved", "123456", "T1", "000001", 1000))
		if err != nil || sale.State != api.StateSuccess {
			t.Fatalf("%+v, %v", sale, err)
		}
		undone("a fresh sale", sale, 0, false)
		_, err = c.CardVoid(ctx, posclient.NewRequestID(), adjustOf(t, sale, "insufficient", "000002", 0))
		refused("another card", err, api.AdjustOtherCard, 0)
		_, err = c.CardVoid(ctx, posclient.NewRequestID(), adjustOf(t, sale, "approved", "000003", 999))
		refused("a void of another amount", err, api.AdjustVoidAmount, 0)
		if _, err := c.CardRefund(ctx, posclient.NewRequestID(), adjustOf(t, sale, "approved", "000004", 300)); err != nil {
			t.Fatal(err)
		}
		undone("after a partial refund", sale, 300, false)
		_, err = c.CardRefund(ctx, posclient.NewRequestID(), adjustOf(t, sale, "approved", "000005", 701))
		refused("a refund of more than is left", err, api.AdjustOverRefund, 700)
		_, err = c.CardVoid(ctx, posclient.NewRequestID(), adjustOf(t, sale, "approved", "000006", 0))
		refused("a void of a sale partly refunded", err, api.AdjustHasRefunds, 700)
		if _, err := c.CardRefund(ctx, posclient.NewRequestID(), adjustOf(t, sale, "approved", "000007", 700)); err != nil {
			t.Fatal(err)
		}
		undone("refunded in full", sale, 1000, false)
		_, err = c.CardRefund(ctx, posclient.NewRequestID(), adjustOf(t, sale, "approved", "000008", 1))
		refused("a refund of a sale refunded in full", err, api.AdjustOverRefund, 0)

		other, err := r.sell(r.cardSale("approved", "123456", "T1", "000009", 500))
		if err != nil || other.State != api.StateSuccess {
			t.Fatalf("%+v, %v", other, err)
		}
		if _, err := c.CardVoid(ctx, posclient.NewRequestID(), adjustOf(t, other, "approved", "000010", 0)); err != nil {
			t.Fatal(err)
		}
		undone("voided", other, 0, true)
		_, err = c.CardVoid(ctx, posclient.NewRequestID(), adjustOf(t, other, "approved", "000011", 0))
		refused("a void of a voided sale", err, api.AdjustVoided, 0)
		_, err = c.CardRefund(ctx, posclient.NewRequestID(), adjustOf(t, other, "approved", "000012", 100))
		refused("a refund of a voided sale", err, api.AdjustVoided, 0)

		declined, err := r.sell(r.cardSale("insufficient", "123456", "T1", "000013", 500))
		if err != nil || declined.State != api.StateFailed {
			t.Fatalf("%+v, %v", declined, err)
		}
		_, err = c.CardRefund(ctx, posclient.NewRequestID(), adjustOf(t, declined, "insufficient", "000014", 100))
		refused("a refund of a declined sale", err, api.AdjustNotApproved, 0)
		r.clock.Advance(24 * time.Hour)
		_, err = c.CardVoid(ctx, posclient.NewRequestID(), adjustOf(t, sale, "approved", "000015", 0))
		refused("a void of yesterday's sale", err, api.AdjustNotToday, 0)
	})
}

// lookUp is the terminal's look-up of its order with trace.
func (r *rig) lookUp(c *posclient.Client, trace string) api.Order {
	r.t.Helper()
	o, err := c.OrderByTrace(context.Background(), trace)
	if err != nil {
		r.t.Fatalf("look-up of trace %s: %v", trace, err)
	}
	return o
}

// getOrder is GET /v1/orders/{id} as terminal tid.
func (r *rig) getOrder(tid, id string) api.Order {
	r.t.Helper()
	resp, err := r.httpClient(tid).Get(r.url + "/v1/orders/" + id)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	var o api.Order
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&o) != nil {
		r.t.Fatalf("GET order %s: %s", id, resp.Status)
	}
	return o
}
