package acquirer

import (
	"context"
	"encoding/hex"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/multipos/multipos/cards"
	"github.com/multipos/multipos/server/connector"
)

var (
	key, _   = hex.DecodeString("0123456789ABCDEFFEDCBA9876543210")
	other, _ = hex.DecodeString("FEDCBA98765432100123456789ABCDEF")
	now      = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
)

func bank() *Acquirer {
	return New(Options{
		PINKey: func(tid string) ([]byte, bool) { return key, tid == "T1" },
		Now:    func() time.Time { return now },
		Logger: slog.New(slog.DiscardHandler),
	})
}

func card(t *testing.T, id string) TestCard {
	t.Helper()
	for _, c := range TestCards() {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no test card %q", id)
	return TestCard{}
}

func sale(t *testing.T, c TestCard, pin string, k []byte, trace string) connector.Sale {
	t.Helper()
	blk, err := cards.EncryptPIN(k, []byte(pin), c.PAN)
	if err != nil {
		t.Fatal(err)
	}
	return connector.Sale{TerminalID: "T1", MerchantID: "M1", Trace: trace, Amount: 1000, PAN: c.PAN,
		Expiry: c.Expiry, Track2: c.Track2, Entry: "chip", PINBlock: blk}
}

func TestTestCards(t *testing.T) {
	ids := map[string]bool{}
	for _, c := range TestCards() {
		ids[c.ID] = true
		if len(c.PAN) != 16 || !strings.HasPrefix(c.PAN, "62") || !cards.ValidPAN(c.PAN) {
			t.Errorf("%s: PAN %s is not a valid UnionPay number", c.ID, c.PAN)
		}
		if !strings.HasPrefix(c.Track2, c.PAN+"="+c.Expiry) || len(c.Track2) > 37 {
			t.Errorf("%s: track 2 %q does not match", c.ID, c.Track2)
		}
		if c.LabelZH == "" || c.LabelEN == "" || len(c.PIN) < cards.MinPIN {
			t.Errorf("%s: incomplete %+v", c.ID, c)
		}
	}
	for _, id := range []string{"approved", "insufficient", "wrong-pin", "expired"} {
		if !ids[id] {
			t.Errorf("missing test card %q", id)
		}
	}
}

func TestOutcomes(t *testing.T) {
	unknown := TestCard{PAN: "6212345678900093", Expiry: "3012"}
	if !cards.ValidPAN(unknown.PAN) {
		t.Fatal("the unknown card must pass Luhn, or the test proves nothing")
	}
	for _, tc := range []struct {
		name string
		s    connector.Sale
		want string
	}{
		{"approved", sale(t, card(t, "approved"), "123456", key, "000001"), "00"},
		{"insufficient", sale(t, card(t, "insufficient"), "123456", key, "000002"), "51"},
		{"wrong-pin card", sale(t, card(t, "wrong-pin"), "123456", key, "000003"), "55"},
		{"expired", sale(t, card(t, "expired"), "123456", key, "000004"), "54"},
		{"unknown card", sale(t, unknown, "123456", key, "000005"), "14"},
		{"wrong PIN typed", sale(t, card(t, "approved"), "654321", key, "000006"), "55"},
		{"PIN under another key", sale(t, card(t, "approved"), "123456", other, "000007"), "55"},
	} {
		res, err := bank().Sale(context.Background(), tc.s)
		if err != nil || res.ResponseCode != tc.want {
			t.Errorf("%s: %+v, %v; want %s", tc.name, res, err, tc.want)
		}
	}
	s := sale(t, card(t, "approved"), "123456", key, "000008")
	s.TerminalID = "T9"
	if res, _ := bank().Sale(context.Background(), s); res.ResponseCode != CodeSecurityViolation {
		t.Errorf("terminal without key: %+v", res)
	}
}

func TestApprovalAndLedger(t *testing.T) {
	b := bank()
	c := card(t, "approved")
	res, err := b.Sale(context.Background(), sale(t, c, "123456", key, "000001"))
	if err != nil || !res.Approved() {
		t.Fatalf("%+v, %v", res, err)
	}
	if !regexp.MustCompile(`^\d{6}$`).MatchString(res.AuthCode) || !regexp.MustCompile(`^\d{12}$`).MatchString(res.RRN) || res.Batch != "000001" {
		t.Fatalf("result %+v", res)
	}
	l := b.Ledger()
	if len(l) != 1 || l[0].MaskedPAN != "621234******0002" || l[0].Amount != 1000 || l[0].RRN != res.RRN || l[0].Trace != "000001" {
		t.Fatalf("ledger %+v", l)
	}
	// The same trace again is a duplicate, not a second charge.
	if res, _ := b.Sale(context.Background(), sale(t, c, "123456", key, "000001")); res.ResponseCode != CodeDuplicate {
		t.Fatalf("duplicate: %+v", res)
	}
	if len(b.Ledger()) != 1 || b.Calls() != 2 {
		t.Fatalf("ledger %d entries, %d calls", len(b.Ledger()), b.Calls())
	}
}

func TestFaults(t *testing.T) {
	b := bank()
	c := card(t, "approved")
	b.FailNext(connector.ErrUnknownOutcome)
	if _, err := b.Sale(context.Background(), sale(t, c, "123456", key, "000001")); !errors.Is(err, connector.ErrUnknownOutcome) {
		t.Fatalf("fault: %v", err)
	}
	if len(b.Ledger()) != 0 {
		t.Fatal("a sale lost on the way was booked")
	}
	b.LoseNextReply()
	if _, err := b.Sale(context.Background(), sale(t, c, "123456", key, "000002")); !errors.Is(err, connector.ErrUnknownOutcome) {
		t.Fatalf("lost reply: %v", err)
	}
	if len(b.Ledger()) != 1 {
		t.Fatal("a sale whose reply was lost was not booked")
	}
}

func TestReversal(t *testing.T) {
	a := bank()
	ctx := context.Background()
	c := card(t, "approved")
	if res, err := a.Sale(ctx, sale(t, c, c.PIN, key, "000001")); err != nil || !res.Approved() {
		t.Fatalf("sale: %+v %v", res, err)
	}
	rev := connector.Reversal{TerminalID: "T1", MerchantID: "M1", Trace: "000001", Amount: 1000}
	if err := a.Reverse(ctx, connector.Reversal{TerminalID: "T1", Trace: "000001", Amount: 999}); err == nil {
		t.Fatal("a reversal of another amount was accepted")
	}
	for range 2 { // idempotent
		if err := a.Reverse(ctx, rev); err != nil {
			t.Fatal(err)
		}
	}
	if l := a.Ledger(); len(l) != 1 || !l[0].Reversed {
		t.Fatalf("ledger after reversal: %+v", l)
	}
	// A sale the bank never booked: answered all the same, nothing changes.
	if err := a.Reverse(ctx, connector.Reversal{TerminalID: "T1", Trace: "000002", Amount: 1000}); err != nil {
		t.Fatal(err)
	}
	a.FailNextReversal(connector.ErrUnknownOutcome)
	if err := a.Reverse(ctx, rev); !errors.Is(err, connector.ErrUnknownOutcome) {
		t.Fatalf("injected fault: %v", err)
	}
	if a.Reversals() != 4 {
		t.Fatalf("%d reversals counted, want 4 (the failed one never arrived)", a.Reversals())
	}
	// The same trace again is a duplicate, reversed or not.
	if res, _ := a.Sale(ctx, sale(t, c, c.PIN, key, "000001")); res.ResponseCode != CodeDuplicate {
		t.Fatalf("repeated trace: %+v", res)
	}
}
