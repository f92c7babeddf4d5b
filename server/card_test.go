package server

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/multipos/multipos/sandbox/acquirer"
	"github.com/multipos/multipos/server/api"
	"github.com/multipos/multipos/server/connector"
)

func TestCardSales(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	c := r.client("T1")
	for i, tc := range []struct {
		name, card, pin, keyOf string
		state                  api.State
		code                   string
	}{
		{"approved", "approved", "123456", "T1", api.StateSuccess, "00"},
		{"insufficient funds", "insufficient", "123456", "T1", api.StateFailed, "51"},
		{"issuer refuses the PIN", "wrong-pin", "123456", "T1", api.StateFailed, "55"},
		{"wrong PIN typed", "approved", "111111", "T1", api.StateFailed, "55"},
		{"PIN under another terminal's key", "approved", "123456", "T2", api.StateFailed, "55"},
		{"expired", "expired", "123456", "T1", api.StateFailed, "54"},
		{"unknown card", "6212345678900093", "123456", "T1", api.StateFailed, "14"},
	} {
		trace := "00000" + string(rune('1'+i))
		o, err := c.CardSale(ctx, cardSale(t, tc.card, tc.pin, tc.keyOf, trace, 8800))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if o.State != tc.state || o.ResponseCode != tc.code || o.Channel != api.Card || o.Kind != api.KindCardSale ||
			o.Amount != 8800 || o.Entry != "chip" || !regexp.MustCompile(`^62\d{4}\*{6}\d{4}$`).MatchString(o.MaskedPAN) {
			t.Errorf("%s: %+v", tc.name, o)
			continue
		}
		if tc.state == api.StateSuccess {
			if !regexp.MustCompile(`^\d{6}$`).MatchString(o.AuthCode) || len(o.RRN) != 12 || o.Batch != acquirer.Batch {
				t.Errorf("%s: approval data %+v", tc.name, o)
			}
		} else if o.Reason != api.ReasonDeclined || o.AuthCode != "" {
			t.Errorf("%s: decline %+v", tc.name, o)
		}
	}
	ledger := r.bank.Ledger()
	if len(ledger) != 1 || ledger[0].Trace != "000001" || ledger[0].MerchantID != "898310048160001" {
		t.Fatalf("bank ledger %+v", ledger)
	}
	info, _ := c.Terminal(ctx)
	if info.Channels[2].Channel != api.Card || info.Channels[2].DailyUsed != 8800 {
		t.Fatalf("card used today: %+v", info.Channels[2])
	}
}

func TestCardSaleReplayAndUnknown(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	c := r.client("T1")
	sale := cardSale(t, "approved", "123456", "T1", "000001", 500)
	first, err := c.CardSale(ctx, sale)
	if err != nil || first.State != api.StateSuccess {
		t.Fatalf("%+v, %v", first, err)
	}
	again, err := c.CardSale(ctx, sale)
	if err != nil || again.ID != first.ID || again.AuthCode != first.AuthCode {
		t.Fatalf("replay: %+v, %v", again, err)
	}
	if r.bank.Calls() != 1 || len(r.bank.Ledger()) != 1 {
		t.Fatalf("bank saw %d sales", r.bank.Calls())
	}
	sale.Amount = 600
	_, err = c.CardSale(ctx, sale)
	if e := apiErr(t, err); e.Code != api.CodeIdempotencyConflict {
		t.Fatalf("conflict: %+v", e)
	}
	r.bank.LoseNextReply()
	o, err := c.CardSale(ctx, cardSale(t, "approved", "123456", "T1", "000002", 700))
	if err != nil || o.State != api.StateUnknown {
		t.Fatalf("lost reply: %+v, %v", o, err)
	}
	r.bank.FailNext(connector.ErrUnknownOutcome)
	if o, _ := c.CardSale(ctx, cardSale(t, "approved", "123456", "T1", "000003", 700)); o.State != api.StateUnknown {
		t.Fatalf("lost request: %+v", o)
	}
}

func TestCardSaleValidation(t *testing.T) {
	r := newRig(t, nil)
	c := r.client("T1")
	good := cardSale(t, "approved", "123456", "T1", "000001", 100)
	for name, mod := range map[string]func(*api.CardSale){
		"Luhn":         func(s *api.CardSale) { s.PAN = s.PAN[:15] + "9"; s.Track2 = "" },
		"short trace":  func(s *api.CardSale) { s.Trace = "12345" },
		"zero amount":  func(s *api.CardSale) { s.Amount = 0 },
		"expiry month": func(s *api.CardSale) { s.Expiry = "3013" },
		"pin block":    func(s *api.CardSale) { s.PINBlock = "12345" },
		"entry":        func(s *api.CardSale) { s.Entry = "manual" },
		"track 2":      func(s *api.CardSale) { s.Track2 = "6212345678900010=30122200000000000" },
	} {
		s := good
		mod(&s)
		_, err := c.CardSale(context.Background(), s)
		if e := apiErr(t, err); e.Code != api.CodeBadRequest || e.Status != http.StatusBadRequest {
			t.Errorf("%s: %+v", name, e)
		}
	}
	if r.bank.Calls() != 0 {
		t.Fatal("an invalid sale reached the bank")
	}
}

// The full card number must appear nowhere: not in the database files, not
// in the logs, not in an answer.
func TestNoFullCardNumberStoredOrLogged(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	c := r.client("T1")
	var pans []string
	for i, id := range []string{"approved", "insufficient", "wrong-pin", "expired"} {
		s := cardSale(t, id, "123456", "T1", "00010"+string(rune('0'+i)), 1000+int64(i))
		pans = append(pans, s.PAN)
		if _, err := c.CardSale(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	bad := cardSale(t, "approved", "123456", "T1", "000200", 100)
	bad.Expiry = "3099"
	c.CardSale(ctx, bad) // refused: the message must not quote the number
	var files []byte
	for _, f := range []string{r.dbPath, r.dbPath + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		files = append(files, b...)
	}
	logs := r.logs.String()
	for _, pan := range pans {
		if bytes.Contains(files, []byte(pan)) {
			t.Errorf("database holds %s", pan)
		}
		if strings.Contains(logs, pan) {
			t.Errorf("logs hold %s", pan)
		}
	}
	// The checks above can fail: the masked numbers are there.
	if !bytes.Contains(files, []byte("621234******0002")) || !strings.Contains(logs, "621234******0002") {
		t.Fatal("masked number missing from the database or the logs")
	}
}
