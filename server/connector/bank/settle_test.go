package bank

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/multipos/multipos/server/connector"
)

// A batch of sales, a void and refunds is counted as UnionPay POS count it:
// every sale a debit (voided or not), every void and refund a credit.
func TestTotalsOfSalesVoidsRefunds(t *testing.T) {
	txns := []connector.BatchTxn{
		{Kind: "sale", Trace: "000002", Amount: 1000},
		{Kind: "sale", Trace: "000003", Amount: 2000},
		{Kind: "void", Trace: "000004", Amount: 2000, OrigBatch: "000001", OrigTrace: "000003"},
		{Kind: "refund", Trace: "000005", Amount: 300, OrigBatch: "000001", OrigTrace: "000002", OrigDate: "1125"},
		{Kind: "refund", Trace: "000006", Amount: 200, OrigBatch: "000001", OrigTrace: "000002", OrigDate: "1125"},
		{Kind: "balance", Trace: "000007", Amount: 5},
	}
	got := connector.TotalsOf(txns)
	want := connector.BatchTotals{DebitCount: 2, DebitAmount: 3000, CreditCount: 3, CreditAmount: 2500}
	if got != want || got.Net() != 500 {
		t.Fatalf("totals %+v (net %d), want %+v", got, got.Net(), want)
	}
	f48, err := EncodeTotals(got, connector.BatchTotals{})
	if err != nil {
		t.Fatal(err)
	}
	// [LYPOS tranproc.c PosSettleTran]: "%s%03d%s%03d0" per card group.
	wantF48 := "000000003000" + "002" + "000000002500" + "003" + "0" + strings.Repeat("0", 31)
	if f48 != wantF48 {
		t.Fatalf("field 48 %q\nwant      %q", f48, wantF48)
	}
	d, f, flags, err := DecodeTotals(SetSettleFlags(f48, SettleUnbalanced, SettleBalanced))
	if err != nil || d != got || f != (connector.BatchTotals{}) || flags != [2]byte{'2', '1'} {
		t.Fatalf("decoded %+v %+v %q %v", d, f, flags, err)
	}
}

func TestSettlementBuilders(t *testing.T) {
	must := mustMsg(t)
	s := must(testTerm.NewSettle("000010", connector.BatchTotals{DebitCount: 1, DebitAmount: 100}, "01"))
	if s.MTI != "0500" || s.ProcCode != "" || s.Amount != 0 || s.Field60 != "00000001201" || s.Currency != "156" ||
		s.Field63 != "01" || len(s.Field48) != TotalsLen || s.Field48[30] != '0' {
		t.Fatalf("0500: %s", s)
	}
	up := must(testTerm.NewUploadTxn(connector.BatchTxn{Kind: "refund", Trace: "000005", Amount: 300, RRN: "532915000005",
		AuthCode: "A1B2C3", Entry: "chip", CardSeq: "1", OrigBatch: "000001", OrigTrace: "000002", OrigDate: "1125"}))
	if up.MTI != "0320" || up.ProcCode != ProcRefund || up.Amount != 300 || up.Trace != "000005" || up.Field60 != "25000001201" ||
		up.Original != "0000010000021125" || up.EntryMode != "052" || up.CardSeq != "001" || up.RRN != "532915000005" ||
		up.AuthCode != "A1B2C3" || up.Field63 != CardOrgCUP || up.PAN != "" {
		t.Fatalf("0320 refund: %s", up)
	}
	sale := must(testTerm.NewUploadTxn(connector.BatchTxn{Kind: "sale", Trace: "000002", Amount: 1000, Entry: "swipe", PIN: true}))
	if sale.ProcCode != ProcSale || sale.Field60 != "22000001201" || sale.Original != "" || sale.EntryMode != "021" {
		t.Fatalf("0320 sale: %s", sale)
	}
	end := must(testTerm.NewUploadEnd("000011", 3, false))
	if end.MTI != "0320" || end.Field48 != "0003" || end.Field60 != "00000001202" || end.Amount != 0 {
		t.Fatalf("upload end: %s", end)
	}
	if end := must(testTerm.NewUploadEnd("000011", 0, true)); end.Field60 != "00000001207" || end.Field48 != "0000" {
		t.Fatalf("balanced end: %s", end)
	}
	// Every one of them survives the wire.
	for _, m := range []*Message{s, up, sale, end} {
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		got, err := Unpack(b)
		if err != nil || !reflect.DeepEqual(got, m) {
			t.Fatalf("round trip of %s: %s, %v", m, got, err)
		}
	}
}

func TestSettlementBuilderErrors(t *testing.T) {
	if _, err := testTerm.NewSettle("000010", connector.BatchTotals{DebitCount: 1000}, ""); err == nil {
		t.Error("1000 debits fit n3")
	}
	if _, err := testTerm.NewSettle("000010", connector.BatchTotals{CreditAmount: -1}, ""); err == nil {
		t.Error("a negative amount")
	}
	if _, err := (Terminal{TerminalID: "T1", MerchantID: "M1"}).NewSettle("000010", connector.BatchTotals{}, ""); err == nil {
		t.Error("a settlement without its batch")
	}
	for _, x := range []connector.BatchTxn{
		{Kind: "balance", Trace: "000001", Amount: 1},
		{Kind: "sale", Trace: "000001"},
		{Kind: "sale", Trace: "1", Amount: 1},
	} {
		if _, err := testTerm.NewUploadTxn(x); err == nil {
			t.Errorf("upload of %+v accepted", x)
		}
	}
	if _, err := testTerm.NewUploadEnd("000001", 10000, false); err == nil {
		t.Error("10000 uploads fit n4")
	}
	for _, bad := range []string{"", strings.Repeat("0", 61), strings.Repeat("0", 11) + "-" + strings.Repeat("0", 50)} {
		if _, _, _, err := DecodeTotals(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("DecodeTotals(%q): %v", bad, err)
		}
	}
}

// Over the socket to the echo host: the client checks the answer's MAC
// and reads the flags; the echo host sends the request's 48 back, whose
// flags are 0, neither balanced nor out of balance.
func TestClientSettleAgainstEchoHost(t *testing.T) {
	h := startHost(t)
	c := dialHost(t, h, 2*time.Second)
	ctx := context.Background()
	s := connector.BatchSettlement{TerminalID: testTerm.TerminalID, MerchantID: testTerm.MerchantID, Batch: "000001",
		Trace: "000020", Totals: connector.BatchTotals{DebitCount: 1, DebitAmount: 100}}
	if _, err := c.Settle(ctx, s); !errors.Is(err, ErrNotSignedOn) {
		t.Fatalf("settle before sign-on: %v", err)
	}
	if err := c.SetKeys(h.keys); err != nil {
		t.Fatal(err)
	}
	res, err := c.Settle(ctx, s)
	if err != nil || res.Balanced || res.Flag != "0" {
		t.Fatalf("settle: %+v %v", res, err)
	}
	for _, err := range []error{
		func() error { x := s; x.Batch = ""; _, err := c.Settle(ctx, x); return err }(),
		c.UploadBatch(ctx, connector.BatchUpload{TerminalID: testTerm.TerminalID, MerchantID: testTerm.MerchantID}),
		func() error {
			_, err := c.EndUpload(ctx, connector.UploadEnd{TerminalID: testTerm.TerminalID})
			return err
		}(),
	} {
		if err == nil || errors.Is(err, connector.ErrUnknownOutcome) {
			t.Fatalf("a settlement message without its batch: %v", err)
		}
	}
	s.Trace = traceBadMAC
	if _, err := c.Settle(ctx, s); !errors.Is(err, connector.ErrUnknownOutcome) {
		t.Fatalf("a 0510 with a bad MAC: %v", err)
	}
}
