package campaign

import (
	"context"
	"encoding/hex"
	"errors"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/posclient"
	"github.com/multipos/multipos/sandbox/acquirer"
)

// cardSettleBudget is how long a station keeps asking about a card payment
// whose outcome is unknown (the sweeper reverses it within seconds).
const cardSettleBudget = 15 * time.Second

func testCard(id string) acquirer.TestCard {
	for _, c := range acquirer.TestCards() {
		if c.ID == id {
			return c
		}
	}
	return acquirer.TestCards()[0]
}

// cardRequest is a sale of the card as the station reads it: chip with
// the PIN, or a stripe-only card swiped.
func cardRequest(c acquirer.TestCard, amount int64, saleID string) api.CardSale {
	req := api.CardSale{SaleID: saleID, Amount: amount, PAN: c.PAN, Expiry: c.Expiry, Entry: "chip"}
	if c.ID == "stripe-only" {
		req.Entry, req.Track2 = "swipe", c.Track2
	}
	return req
}

// cardSale pays the sale by card, as the station does: a trace and request
// id taken once, resent after a lost answer, then looked up by trace.
func (t *terminal) cardSale(ctx context.Context, s *Sale, p SalePlan, saleID string) {
	c := testCard(p.Card)
	a := s.newAttempt(api.KindCardSale, api.Card)
	a.Card = c.ID
	req := cardRequest(c, s.Amount, saleID)
	call := func(cl *posclient.Client, trace, rid string) (api.Order, error) {
		r := req
		r.Trace = trace
		pb, err := t.keys.EncryptPIN([]byte(c.PIN), c.PAN)
		if err != nil {
			return api.Order{}, err
		}
		r.PINBlock = hex.EncodeToString(pb[:])
		return cl.CardSale(ctx, rid, r)
	}
	o, err := t.send(ctx, s, a, call)
	if err != nil {
		s.note("card sale trace %s: %v", a.Trace, err)
		if !unknown(err) {
			return
		}
	} else {
		s.see(a, o, "card sale trace "+a.Trace)
	}
	rid := a.RequestIDs[len(a.RequestIDs)-1]
	resend := func() (api.Order, error) {
		var o api.Order
		err := t.do(ctx, offlineBudget, func(cl *posclient.Client) error {
			var err error
			o, err = call(cl, a.Trace, rid)
			return err
		})
		return o, err
	}
	if err == nil && p.Replay && o.State.Final() {
		if r, err := resend(); err == nil {
			s.see(a, r, "replay of request "+rid)
		}
	}
	if err != nil || !o.State.Final() {
		o = t.settleCard(ctx, s, a, resend)
	}
	if o.ResponseCode == acquirer.CodeBadMAC {
		s.note("the bank refused our MACs (A0): signing on again")
		if err := t.signOn(ctx); err != nil {
			s.note("sign-on: %v", err)
		}
	}
	if p.Lookup {
		_, _, _ = t.lookup(ctx, s, a)
	}
}

// unknown reports whether an error leaves a request's outcome open: the
// server may have it (no answer, an answer whose MAC did not check).
func unknown(err error) bool {
	return errors.Is(err, posclient.ErrOffline) || errors.Is(err, posclient.ErrBadMAC) ||
		errors.Is(err, context.DeadlineExceeded)
}

// settleCard finds out what became of a card request whose outcome is
// unknown: Enter (the same request again) then Esc (look the trace up),
// until it is final or the station gives up.
func (t *terminal) settleCard(ctx context.Context, s *Sale, a *Attempt, resend func() (api.Order, error)) api.Order {
	var last api.Order
	deadline := time.Now().Add(cardSettleBudget)
	for i := 0; time.Now().Before(deadline) && ctx.Err() == nil; i++ {
		sleep(ctx, 400*time.Millisecond)
		if i < 2 {
			o, err := resend()
			if err != nil {
				s.note("resend of trace %s: %v", a.Trace, err)
				continue
			}
			s.see(a, o, "resend of trace "+a.Trace)
			if last = o; o.State.Final() {
				return o
			}
			continue
		}
		o, found, err := t.lookup(ctx, s, a)
		switch {
		case err != nil:
			continue
		case !found:
			return last // it never arrived: nothing was charged
		case o.State.Final():
			return o
		}
		last = o
	}
	s.note("outcome of trace %s still unknown; the station gives up", a.Trace)
	return last
}

// adjust voids or refunds the sale the terminal saw paid by card.
func (t *terminal) adjust(ctx context.Context, s *Sale, p SalePlan) {
	a := s.Attempts[len(s.Attempts)-1]
	c := testCard(a.Card)
	adj := &Adjustment{Kind: p.Adjust, Original: s.PaidBy, Amount: s.Amount}
	if p.Adjust == api.KindCardRefund {
		adj.Amount = p.Refund
	}
	s.mu.Lock()
	s.Adjust = adj
	s.mu.Unlock()
	req := api.CardAdjust{Original: s.PaidBy, Amount: adj.Amount, PAN: c.PAN, Expiry: c.Expiry, Entry: "chip"}
	if c.ID == "stripe-only" {
		req.Entry, req.Track2 = "swipe", c.Track2
	}
	call := func(cl *posclient.Client, trace, rid string) (api.Order, error) {
		r := req
		r.Trace = trace
		if p.Adjust == api.KindCardVoid {
			return cl.CardVoid(ctx, rid, r)
		}
		return cl.CardRefund(ctx, rid, r)
	}
	// The attempt carries the adjustment's trace and request ids while it
	// is sent; the adjustment keeps them.
	tmp := &Attempt{Kind: p.Adjust, Channel: api.Card}
	o, err := t.send(ctx, s, tmp, call)
	adj.Trace, adj.RequestIDs = tmp.Trace, tmp.RequestIDs
	see := func(o api.Order, how string) {
		s.mu.Lock()
		if adj.OrderID == "" {
			adj.OrderID = o.ID
		}
		adj.Saw = o.State
		s.mu.Unlock()
		s.note("%s %s trace %s → %s %s %s", how, p.Adjust, adj.Trace, o.ID, o.State, o.ResponseCode)
	}
	if err != nil {
		s.note("%s trace %s: %v", p.Adjust, adj.Trace, err)
		if !unknown(err) {
			return
		}
	} else {
		see(o, "answer to")
	}
	for i := 0; (err != nil || !o.State.Final()) && i < 20 && ctx.Err() == nil; i++ {
		sleep(ctx, 500*time.Millisecond)
		var n api.Order
		err = t.do(ctx, offlineBudget, func(cl *posclient.Client) error {
			var err error
			n, err = cl.OrderByTrace(ctx, adj.Trace)
			return err
		})
		var e *api.Error
		switch {
		case err == nil:
			o = n
			see(o, "lookup of")
		case errors.As(err, &e) && e.Code == api.CodeNotFound:
			s.note("lookup of %s trace %s: not found (never arrived)", p.Adjust, adj.Trace)
			return
		}
	}
}
