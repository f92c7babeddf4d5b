package campaign

import (
	"reflect"
	"testing"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/paycode"
)

var testSizes = Sizes{Terminals: 4, Sales: 3, Window: 3 * time.Second, MaxFaults: 3, KillChance: 0.3, WipeChance: 0.15,
	Instances: 2, ChannelTimeout: 2 * time.Second, ConfirmWindow: 1500 * time.Millisecond}

// A seed decides everything: the same seed gives the same plan, another
// seed another plan; run 0 of a campaign is the campaign's seed itself,
// so that a failing run's seed replays it as a campaign of one run.
func TestSeedDecidesThePlan(t *testing.T) {
	if RunSeed(12345, 0) != 12345 {
		t.Fatal("run 0's seed is not the campaign's")
	}
	seen := map[uint64]bool{}
	for n := range 1000 {
		s := RunSeed(12345, n)
		if seen[s] {
			t.Fatalf("run %d repeats a seed", n)
		}
		seen[s] = true
		if RunSeed(12345, n) != s {
			t.Fatal("RunSeed is not a function")
		}
	}
	a, b := NewPlan(99, testSizes), NewPlan(99, testSizes)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same seed gave two plans")
	}
	if reflect.DeepEqual(a, NewPlan(100, testSizes)) {
		t.Fatal("two seeds gave the same plan")
	}
	if len(a.Terminals) != 4 || len(a.Terminals[0].Sales) != 3 {
		t.Fatalf("sizes not kept: %d terminals, %d sales", len(a.Terminals), len(a.Terminals[0].Sales))
	}
}

// Over many runs the mix has every kind of sale, customer and fault, and
// every payment code is one its wallet takes.
func TestPlanMix(t *testing.T) {
	kinds, customers, cards, faults := map[SaleKind]int{}, map[string]int{}, map[string]int{}, map[FaultKind]int{}
	adjust, again, replay, lookup := 0, 0, 0, 0
	for n := range 400 {
		p := NewPlan(RunSeed(7, n), testSizes)
		for _, f := range p.Faults {
			faults[f.Kind]++
			if f.At < 0 || f.At >= testSizes.Window {
				t.Fatalf("fault %s at %v, outside the window", f, f.At)
			}
			if (f.Kind == FaultBankLate || f.Kind == FaultAlipayLate || f.Kind == FaultWeChatLate) && f.Delay <= testSizes.ChannelTimeout {
				t.Fatalf("a late answer within the channel timeout: %+v", f)
			}
		}
		for _, tp := range p.Terminals {
			for _, s := range tp.Sales {
				kinds[s.Kind]++
				customers[s.Customer]++
				cards[s.Card]++
				if s.Amount <= 0 || s.Refund < 0 || s.Refund > s.Amount {
					t.Fatalf("amounts: %+v", s)
				}
				if s.Kind == KindCode {
					if ch, err := paycode.Classify(s.Code); err != nil || ch != s.Channel {
						t.Fatalf("code %s for %s: %s %v", s.Code, s.Channel, ch, err)
					}
				}
				if s.Kind != KindCard && !s.Channel.Wallet() || s.Kind == KindCard && s.Channel != api.Card {
					t.Fatalf("channel %s for a %s sale", s.Channel, s.Kind)
				}
				adjust += b2i(s.Adjust != "")
				again += b2i(s.Again != nil)
				replay += b2i(s.Replay)
				lookup += b2i(s.Lookup)
			}
		}
	}
	for _, k := range []SaleKind{KindCard, KindQR, KindCode} {
		if kinds[k] == 0 {
			t.Errorf("no %s sale", k)
		}
	}
	for _, c := range []string{CustomerPays, CustomerPaysLate, CustomerDeclines, CustomerWalksAway, CustomerPaysAsCancels,
		CodePaid, CodeConfirms, CodeDeclinesOnPhone, CodeNeverConfirms, CodeRefused, CodeConfirmsAsCancel} {
		if customers[c] == 0 {
			t.Errorf("no customer who %s", c)
		}
	}
	for _, c := range []string{"approved", "stripe-only", "insufficient", "wrong-pin", "expired", "issuer-unavailable", "no-answer"} {
		if cards[c] == 0 {
			t.Errorf("no %s card", c)
		}
	}
	for _, f := range append([]FaultKind{FaultKill, FaultWipe}, faultKinds...) {
		if faults[f] == 0 {
			t.Errorf("no %s fault", f)
		}
	}
	if adjust == 0 || again == 0 || replay == 0 || lookup == 0 {
		t.Errorf("voids and refunds %d, second attempts %d, replays %d, look-ups %d", adjust, again, replay, lookup)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
