package server

import (
	"context"
	"testing"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/posclient"
)

// A terminal's stations share its card working keys: a second PC with the
// same bundle (or a station starting up) signs on for the keys of today,
// and both sell. A renewed sign-on (the cashier's 签到) gets fresh keys
// from the bank; the other station is told its keys are old, signs on
// again for today's and sells.
func TestStationsShareTheTerminalsKeys(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		ctx := context.Background()
		calls := r.bank.Calls()
		pc1 := r.client("T1") // signed on at the rig's start
		pc2, err := posclient.FromBundle(r.bundles["T1"], r.url)
		if err != nil {
			t.Fatal(err)
		}
		k2 := signOnWith(t, pc2, r.bundles["T1"].MasterKey, "000001", false)
		sell := func(c *posclient.Client, k *posclient.CardKeys, trace string) (api.Order, error) {
			return c.CardSale(ctx, posclient.NewRequestID(), cardSaleWith(t, k, "approved", "123456", trace, 100))
		}
		if o, err := sell(pc2, k2, "000002"); err != nil || o.State != api.StateSuccess {
			t.Fatalf("second PC: %+v, %v", o, err)
		}
		if o, err := r.sell(r.cardSale("approved", "123456", "T1", "000003", 100)); err != nil || o.State != api.StateSuccess {
			t.Fatalf("first PC after the second signed on: %+v, %v", o, err)
		}
		// The cashier's 签到 on the second PC: fresh keys from the bank.
		k2 = signOnWith(t, pc2, r.bundles["T1"].MasterKey, "000004", true)
		if o, err := sell(pc2, k2, "000005"); err != nil || o.State != api.StateSuccess {
			t.Fatalf("second PC with fresh keys: %+v, %v", o, err)
		}
		_, err = r.sell(r.cardSale("approved", "123456", "T1", "000006", 100))
		if e := apiErr(t, err); e.Code != api.CodeBadMAC {
			t.Fatalf("first PC with the old keys: %+v", e)
		}
		k1 := signOnWith(t, pc1, r.bundles["T1"].MasterKey, "000007", false)
		if o, err := sell(pc1, k1, "000008"); err != nil || o.State != api.StateSuccess {
			t.Fatalf("first PC signed on again: %+v, %v", o, err)
		}
		if n := r.bank.Calls() - calls; n != 4 {
			t.Fatalf("the bank saw %d sales, want 4", n)
		}
	})
}

// signOnWith signs a client on (renewing the keys or not) and makes it
// sign and check card requests with the keys.
func signOnWith(t *testing.T, c *posclient.Client, tmk []byte, trace string, renew bool) *posclient.CardKeys {
	t.Helper()
	k := posclient.NewCardKeys(tmk)
	res, err := c.CardSignOn(context.Background(), trace, renew)
	if err != nil {
		t.Fatalf("sign-on: %v", err)
	}
	if err := k.Install(res); err != nil {
		t.Fatal(err)
	}
	c.UseCardKeys(k)
	return k
}

// A sign-on whose answer is lost leaves the bank with keys the server
// never got. A reversal owed meanwhile is not left waiting for a cashier:
// the server signs the terminal on itself and sends it; the station signs
// on for the new keys at its next card request.
func TestServerSignsOnToReverse(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		r.bank.LoseNextReply()
		o, err := r.sell(r.cardSale("approved", "123456", "T1", "000001", 500))
		if err != nil || o.State != api.StateUnknown {
			t.Fatalf("lost answer: %+v, %v", o, err)
		}
		r.bank.DropNext(1) // the sign-on is made, its answer lost
		if _, err := r.client("T1").CardSignOn(context.Background(), "000002", true); err == nil {
			t.Fatal("a sign-on without an answer succeeded")
		}
		r.clock.Advance(unknownRetry)
		r.sweep()
		if got := r.final(o.ID); got.State != api.StateClosed || got.Reason != api.ReasonReversed {
			t.Fatalf("after the sweep: %+v", got)
		}
		if l := r.bank.Ledger(); len(l) != 1 || !l[0].Reversed {
			t.Fatalf("bank ledger %+v", l)
		}
		k := signOnWith(t, r.client("T1"), r.bundles["T1"].MasterKey, "000004", false)
		if s, err := r.client("T1").CardSale(context.Background(), posclient.NewRequestID(),
			cardSaleWith(t, k, "approved", "123456", "000005", 100)); err != nil || s.State != api.StateSuccess {
			t.Fatalf("a sale after the station signed on again: %+v, %v", s, err)
		}
	})
}
