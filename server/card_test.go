package server

import (
	"bytes"
	"context"
	"database/sql"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/posclient"
	"github.com/multipos/multipos/sandbox/acquirer"
	"github.com/multipos/multipos/server/store"
)

func TestCardSales(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		ctx := context.Background()
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
			o, err := r.sell(r.cardSale(tc.card, tc.pin, tc.keyOf, trace, 8800))
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
		ledger := approvals(r.bank.Ledger())
		if len(ledger) != 1 || ledger[0].Trace != "000001" || ledger[0].MerchantID != m1 || ledger[0].TerminalID != "T1" {
			t.Fatalf("bank ledger %+v", ledger)
		}
		info, _ := r.client("T1").Terminal(ctx)
		if info.Channels[2].Channel != api.Card || info.Channels[2].DailyUsed != 8800 {
			t.Fatalf("card used today: %+v", info.Channels[2])
		}
		// Another merchant's terminal sells with its own key, for its merchant.
		o, err := r.client("T3").CardSale(ctx, posclient.NewRequestID(), r.cardSale("approved", "123456", "T3", "000001", 300))
		if err != nil || o.State != api.StateSuccess {
			t.Fatalf("T3: %+v, %v", o, err)
		}
		if l := approvals(r.bank.Ledger()); len(l) != 2 || l[1].MerchantID != m2 || l[1].TerminalID != "T3" {
			t.Fatalf("bank ledger %+v", l)
		}
	})
}

// approvals keeps the bank's approved entries.
func approvals(l []acquirer.Entry) []acquirer.Entry {
	var out []acquirer.Entry
	for _, e := range l {
		if e.Approved {
			out = append(out, e)
		}
	}
	return out
}

func TestCardSaleReplayAndUnknown(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		ctx := context.Background()
		c := r.client("T1")
		rid := posclient.NewRequestID()
		sale := r.cardSale("approved", "123456", "T1", "000001", 500)
		first, err := c.CardSale(ctx, rid, sale)
		if err != nil || first.State != api.StateSuccess {
			t.Fatalf("%+v, %v", first, err)
		}
		again, err := c.CardSale(ctx, rid, sale)
		if err != nil || again.ID != first.ID || again.AuthCode != first.AuthCode || again.RRN != first.RRN {
			t.Fatalf("replay: %+v, %v", again, err)
		}
		if r.bank.Calls() != 1 || len(r.bank.Ledger()) != 1 {
			t.Fatalf("bank saw %d sales", r.bank.Calls())
		}
		// The same request id with another amount, and the same trace
		// under another request id, are refused without reaching the bank.
		other := sale
		other.Amount = 600
		_, err = c.CardSale(ctx, rid, other)
		if e := apiErr(t, err); e.Code != api.CodeIdempotencyConflict || e.Status != http.StatusConflict {
			t.Fatalf("conflict: %+v", e)
		}
		_, err = c.CardSale(ctx, posclient.NewRequestID(), sale)
		if e := apiErr(t, err); e.Code != api.CodeTraceUsed || e.Status != http.StatusConflict {
			t.Fatalf("trace reused: %+v", e)
		}
		if r.bank.Calls() != 1 {
			t.Fatalf("bank saw %d sales", r.bank.Calls())
		}
		r.bank.LoseNextReply()
		o, err := r.sell(r.cardSale("approved", "123456", "T1", "000002", 700))
		if err != nil || o.State != api.StateUnknown {
			t.Fatalf("lost reply: %+v, %v", o, err)
		}
		r.bank.DelayNext(5 * time.Second) // longer than the link waits
		if o, _ := r.sell(r.cardSale("approved", "123456", "T1", "000003", 700)); o.State != api.StateUnknown {
			t.Fatalf("late answer: %+v", o)
		}
		// The bank goes away: the link cannot be dialled again, nothing
		// was sent, so the sale failed for sure.
		sale = r.cardSale("approved", "123456", "T1", "000004", 700)
		r.bank.Close()
		for deadline := time.Now().Add(10 * time.Second); r.link.Online(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the link never noticed the bank went away")
			}
		}
		if o, _ := r.sell(sale); o.State != api.StateFailed || o.Reason != api.ReasonChannelError {
			t.Fatalf("refused by the link: %+v", o)
		}
	})
}

func TestCardSaleValidation(t *testing.T) {
	onSQLite(t, nil, func(t *testing.T, r *rig) {
		good := r.cardSale("approved", "123456", "T1", "000001", 100)
		for name, mod := range map[string]func(*api.CardSale){
			"Luhn":         func(s *api.CardSale) { s.PAN = s.PAN[:15] + "9"; s.Track2 = "" },
			"short trace":  func(s *api.CardSale) { s.Trace = "12345" },
			"zero amount":  func(s *api.CardSale) { s.Amount = 0 },
			"expiry month": func(s *api.CardSale) { s.Expiry = "3013" },
			"pin block":    func(s *api.CardSale) { s.PINBlock = "12345" },
			"entry":        func(s *api.CardSale) { s.Entry = "manual" },
			"track 2":      func(s *api.CardSale) { s.Track2 = "6212345678900010=30122200000000000" },
			"sale id":      func(s *api.CardSale) { s.SaleID = "nope" },
		} {
			s := good
			mod(&s)
			_, err := r.sell(s)
			if e := apiErr(t, err); e.Code != api.CodeBadRequest || e.Status != http.StatusBadRequest {
				t.Errorf("%s: %+v", name, e)
			}
		}
		if r.bank.Calls() != 0 {
			t.Fatal("an invalid sale reached the bank")
		}
	})
}

// The full card number must appear nowhere: not in the database, not in the
// logs, not in an answer.
func TestNoFullCardNumberStoredOrLogged(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		var pans []string
		var answers []byte
		for i, id := range []string{"approved", "insufficient", "wrong-pin", "expired"} {
			s := r.cardSale(id, "123456", "T1", "00010"+string(rune('0'+i)), 1000+int64(i))
			pans = append(pans, s.PAN)
			status, body := r.post("T1", "/v1/card/sales", posclient.NewRequestID(), s)
			if status != http.StatusCreated {
				t.Fatalf("%s: %d %s", id, status, body)
			}
			answers = append(answers, body...)
		}
		r.bank.LoseNextReply() // the unknown outcome is logged as a warning
		unknown := r.cardSale("approved", "123456", "T1", "000199", 100)
		if o, err := r.sell(unknown); err != nil || o.State != api.StateUnknown {
			t.Fatalf("%+v, %v", o, err)
		}
		bad := r.cardSale("approved", "123456", "T1", "000200", 100)
		bad.Expiry = "3099"
		status, body := r.post("T1", "/v1/card/sales", posclient.NewRequestID(), bad) // refused: the message must not quote the number
		if status != http.StatusBadRequest {
			t.Fatalf("bad expiry: %d %s", status, body)
		}
		answers = append(answers, body...)
		bad.PAN, bad.Track2 = bad.PAN[:15]+"9", ""
		status, body = r.post("T1", "/v1/card/sales", posclient.NewRequestID(), bad)
		if status != http.StatusBadRequest {
			t.Fatalf("bad number: %d %s", status, body)
		}
		answers = append(answers, body...)
		pans = append(pans, bad.PAN)
		r.clock.Advance(ttl)
		r.sweep() // the reversal is logged too
		db := databaseText(t, r)
		logs := r.logs.String()
		for _, pan := range pans {
			if bytes.Contains(db, []byte(pan)) {
				t.Errorf("database holds %s", pan)
			}
			if strings.Contains(logs, pan) {
				t.Errorf("logs hold %s", pan)
			}
			if bytes.Contains(answers, []byte(pan)) {
				t.Errorf("an answer holds %s", pan)
			}
		}
		// The checks above can fail: the masked numbers are there.
		if !bytes.Contains(db, []byte("621234******0002")) || !strings.Contains(logs, "621234******0002") {
			t.Fatal("masked number missing from the database or the logs")
		}
	})
}

// databaseText is everything the rig's database holds: the SQLite files as
// they are on disk, or every row of every PostgreSQL table as text.
func databaseText(t *testing.T, r *rig) []byte {
	t.Helper()
	var out []byte
	if r.d == store.SQLite {
		for _, f := range []string{r.dsn, r.dsn + "-wal"} {
			b, err := os.ReadFile(f)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			out = append(out, b...)
		}
		return out
	}
	db, err := sql.Open("pgx", r.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	rows, err := db.QueryContext(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if len(tables) < 5 {
		t.Fatalf("tables %v", tables)
	}
	for _, name := range tables {
		rows, err := db.QueryContext(ctx, `SELECT x::text FROM "`+name+`" x`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			out = append(out, line...)
			out = append(out, '\n')
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	return out
}
