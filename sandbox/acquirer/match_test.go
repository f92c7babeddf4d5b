package acquirer

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/multipos/multipos/cards"
	"github.com/multipos/multipos/server/connector"
	"github.com/multipos/multipos/server/connector/bank"
)

// A trace names one message in a batch: a void, a refund or a balance
// inquiry that reuses a sale's trace is refused (94) and books nothing,
// and the sale stays as it was.
func TestTraceUsedAgainInTheBatch(t *testing.T) {
	f := start(t)
	c := f.client(t, time.Second)
	good := card(t, "approved")
	s := sale(t, c, good, good.PIN, "000101", 1200)
	if !s.Approved() {
		t.Fatalf("sale: %+v", s)
	}
	pb, _ := cards.EncryptPIN(c.PINKey(), []byte(good.PIN), good.PAN)
	gc := bank.Card{PAN: good.PAN, Expiry: good.Expiry, EntryMode: "021"}
	orig := bank.Original{Batch: term.Batch, Trace: "000101", RRN: s.RRN, Date: s.Date}
	for name, build := range map[string]func() (*bank.Message, error){
		"void":   func() (*bank.Message, error) { return term.NewVoid("000101", 1200, gc, orig) },
		"refund": func() (*bank.Message, error) { return term.NewRefund("000101", 100, gc, orig) },
		"balance": func() (*bank.Message, error) {
			return term.NewBalance("000101", bank.Card{PAN: good.PAN, Expiry: good.Expiry, PINBlock: pb[:]})
		},
		"another sale": func() (*bank.Message, error) {
			return term.NewSale("000101", 999, bank.Card{PAN: good.PAN, Expiry: good.Expiry, EntryMode: "021", PINBlock: pb[:]})
		},
	} {
		m, err := build()
		if got := exchange(t, c, m, err).ResponseCode; got != CodeDuplicate {
			t.Errorf("%s under the sale's trace: %s, want %s", name, got, CodeDuplicate)
		}
	}
	l := f.h.Ledger()
	if len(l) != 1 || l[0].Voided || l[0].Refunded != 0 || l[0].Charged() != 1200 {
		t.Fatalf("ledger after the refused reuses: %+v", l)
	}
	// The same sale sent again is a repeat: the same answer, booked once.
	if again := sale(t, c, good, good.PIN, "000101", 1200); again.RRN != s.RRN {
		t.Fatalf("repeat answered %+v, first %+v", again, s)
	}
	if l := f.h.Ledger(); len(l) != 1 {
		t.Fatalf("a repeat was booked again: %+v", l)
	}
}

// A reversal must copy its original: one that disagrees (another amount,
// another entry mode, another batch) undoes nothing; the right one does.
func TestReversalMustMatchItsOriginal(t *testing.T) {
	f := start(t)
	c := f.client(t, time.Second)
	good := card(t, "approved")
	before := balanceOf(t, c, good, "000200")
	if !sale(t, c, good, good.PIN, "000201", 3000).Approved() {
		t.Fatal("sale declined")
	}
	for name, mod := range map[string]func(*connector.Reversal){
		"other amount":     func(r *connector.Reversal) { r.Amount = 2999 },
		"other entry mode": func(r *connector.Reversal) { r.Entry = "051" },
		"card sequence":    func(r *connector.Reversal) { r.CardSeq = "01" },
		"a void's":         func(r *connector.Reversal) { r.Kind, r.OrigBatch, r.OrigTrace = "void", term.Batch, "000100" },
	} {
		r := reversalOf("000201", 3000)
		mod(&r)
		err := c.Reverse(context.Background(), r)
		if err == nil || errors.Is(err, connector.ErrNothingToReverse) || !errors.Is(err, connector.ErrUnknownOutcome) {
			t.Errorf("%s: %v, want a refusal that leaves the outcome open", name, err)
		}
	}
	// In another batch the same trace names nothing.
	r := reversalOf("000201", 3000)
	r.Batch = "000002"
	if err := c.Reverse(context.Background(), r); !errors.Is(err, connector.ErrNothingToReverse) {
		t.Errorf("reversal in another batch: %v, want ErrNothingToReverse", err)
	}
	if l := f.h.Ledger(); len(l) != 1 || l[0].Reversed {
		t.Fatalf("a wrong reversal undid the sale: %+v", l)
	}
	if err := c.Reverse(context.Background(), reversalOf("000201", 3000)); err != nil {
		t.Fatalf("the right reversal: %v", err)
	}
	if l := f.h.Ledger(); !l[0].Reversed || l[0].Charged() != 0 {
		t.Fatalf("ledger: %+v", l)
	}
	if after := balanceOf(t, c, good, "000202"); after != before {
		t.Fatalf("balance %d after the reversal, %d before the sale", after, before)
	}
}

// A void's reversal names the same original in field 61: it brings the
// sale back, and only it.
func TestVoidReversal(t *testing.T) {
	f := start(t)
	c := f.client(t, time.Second)
	good := card(t, "approved")
	s := sale(t, c, good, good.PIN, "000301", 800)
	a := connector.CardAdjustment{TerminalID: term.TerminalID, MerchantID: term.MerchantID, Trace: "000302", Batch: term.Batch,
		Amount: 800, PAN: good.PAN, Expiry: good.Expiry, Entry: "chip", OrigBatch: term.Batch, OrigTrace: "000301", OrigRRN: s.RRN}
	if v, err := c.Void(context.Background(), a); err != nil || !v.Approved() {
		t.Fatalf("void: %+v, %v", v, err)
	}
	rev := connector.Reversal{TerminalID: term.TerminalID, MerchantID: term.MerchantID, Kind: "void", Trace: "000302",
		Batch: term.Batch, Amount: 800, Entry: "chip", OrigBatch: term.Batch, OrigTrace: "000301", OrigRRN: s.RRN}
	wrong := rev
	wrong.OrigTrace = "000300"
	if err := c.Reverse(context.Background(), wrong); err == nil || errors.Is(err, connector.ErrNothingToReverse) {
		t.Fatalf("reversal naming another original: %v", err)
	}
	if err := c.Reverse(context.Background(), rev); err != nil {
		t.Fatal(err)
	}
	l := f.h.Ledger()
	if len(l) != 2 || l[0].Voided || l[0].Charged() != 800 || !l[1].Reversed {
		t.Fatalf("ledger: %+v", l)
	}
}
