package reconcile_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/multipos/multipos/cards"
	"github.com/multipos/multipos/sandbox/acquirer"
	"github.com/multipos/multipos/server/connector"
	"github.com/multipos/multipos/server/connector/bank"
	"github.com/multipos/multipos/server/reconcile"
)

type cardClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *cardClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *cardClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// cardRig is a terminal on the sandbox acquirer over its real socket,
// through bank.Client; the journal is built from what the client sent and
// what came back, as posserver's would be.
type cardRig struct {
	t    *testing.T
	h    *acquirer.Host
	clk  *cardClock
	c    *bank.Client
	ctl  *httptest.Server
	j    reconcile.Journal
	good acquirer.TestCard
}

var (
	rigTMK, _ = hex.DecodeString("0123456789ABCDEFFEDCBA9876543210")
	rigTerm   = bank.Terminal{TerminalID: "T0000001", MerchantID: "898110000000001", Batch: "000001"}
)

func newCardRig(t *testing.T, start time.Time) *cardRig {
	t.Helper()
	r := &cardRig{t: t, clk: &cardClock{t: start}}
	r.h = acquirer.New(acquirer.Options{Now: r.clk.Now, Logger: quiet, SettlementDir: t.TempDir(),
		MasterKey: func(tid string) ([]byte, bool) { return rigTMK, tid == rigTerm.TerminalID }})
	addr, err := r.h.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.h.Close)
	r.ctl = httptest.NewServer(r.h.ControlHandler())
	t.Cleanup(r.ctl.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	r.c, err = bank.Dial(ctx, bank.Config{Addr: addr, Terminal: rigTerm, MasterKey: rigTMK, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.c.Close() })
	if _, err := r.c.SignOn(ctx, "000001"); err != nil {
		t.Fatal(err)
	}
	for _, c := range acquirer.TestCards() {
		if c.ID == "approved" {
			r.good = c
		}
	}
	return r
}

// sale sends a sale of card tc and journals it on day: paid when
// approved, pending when the answer was lost.
func (r *cardRig) sale(tc acquirer.TestCard, batch, trace string, amount int64, day string) connector.SaleResult {
	r.t.Helper()
	pb, err := cards.EncryptPIN(r.c.PINKey(), []byte(tc.PIN), tc.PAN)
	if err != nil {
		r.t.Fatal(err)
	}
	res, err := r.c.Sale(context.Background(), connector.Sale{TerminalID: rigTerm.TerminalID, MerchantID: rigTerm.MerchantID,
		Trace: trace, Batch: batch, Amount: amount, PAN: tc.PAN, Expiry: tc.Expiry, Track2: tc.Track2, Entry: "021", PINBlock: pb})
	e := reconcile.CardEntry{Kind: reconcile.CardSale, Terminal: rigTerm.TerminalID, Merchant: rigTerm.MerchantID, Batch: batch,
		Trace: trace, RRN: res.RRN, AuthCode: res.AuthCode, Amount: amount, State: reconcile.OrderPaid, Day: day}
	switch {
	case err != nil:
		e.State = reconcile.OrderPending
	case !res.Approved():
		e.State = reconcile.OrderFailed
	}
	r.j.Cards = append(r.j.Cards, e)
	return res
}

// adjust sends a void (date "") or refund of the sale at origTrace.
func (r *cardRig) adjust(batch, trace string, amount int64, orig connector.SaleResult, origTrace, date, day string) {
	r.t.Helper()
	a := connector.CardAdjustment{TerminalID: rigTerm.TerminalID, MerchantID: rigTerm.MerchantID, Trace: trace, Batch: batch,
		Amount: amount, PAN: r.good.PAN, Expiry: r.good.Expiry, Entry: "021", OrigBatch: batch, OrigTrace: origTrace,
		OrigRRN: orig.RRN, OrigDate: date}
	kind, send := reconcile.CardVoid, r.c.Void
	if date != "" {
		kind, send = reconcile.CardRefund, r.c.Refund
	}
	res, err := send(context.Background(), a)
	if err != nil || !res.Approved() {
		r.t.Fatalf("%s %s: %+v %v", kind, trace, res, err)
	}
	r.j.Cards = append(r.j.Cards, reconcile.CardEntry{Kind: kind, Terminal: rigTerm.TerminalID, Merchant: rigTerm.MerchantID,
		Batch: batch, Trace: trace, RRN: res.RRN, AuthCode: res.AuthCode, Amount: amount, State: reconcile.OrderPaid,
		OrigBatch: batch, OrigTrace: origTrace, Day: day})
}

// settle settles batch as the journal counts it; it must balance.
func (r *cardRig) settle(batch string, txns []connector.BatchTxn, trace string) {
	r.t.Helper()
	ctx := context.Background()
	res, err := r.c.Settle(ctx, connector.BatchSettlement{TerminalID: rigTerm.TerminalID, MerchantID: rigTerm.MerchantID,
		Batch: batch, Trace: trace, Totals: connector.TotalsOf(txns)})
	if err != nil || !res.Balanced {
		r.t.Fatalf("settle %s: %+v %v", batch, res, err)
	}
	next := []byte(trace)
	next[5]++
	if ok, err := r.c.EndUpload(ctx, connector.UploadEnd{TerminalID: rigTerm.TerminalID, MerchantID: rigTerm.MerchantID,
		Batch: batch, Trace: string(next), Balanced: true}); !ok || err != nil {
		r.t.Fatalf("end %s: %v %v", batch, ok, err)
	}
}

// post sends a control request over HTTP.
func (r *cardRig) post(path string, body any) {
	r.t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(r.ctl.URL+path, "application/json", bytes.NewReader(b))
	if err != nil {
		r.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		r.t.Fatalf("POST %s: %s", path, resp.Status)
	}
}

// file fetches and parses day's settlement file from the control API.
func (r *cardRig) file(day time.Time) []bank.SettleRow {
	r.t.Helper()
	raw, err := bank.FetchSettlementFile(context.Background(), r.ctl.Client(), r.ctl.URL+"/files/settlement-{date}.csv", day)
	if err != nil {
		r.t.Fatal(err)
	}
	rows, err := bank.ParseSettlementFile(raw)
	if err != nil {
		r.t.Fatal(err)
	}
	return rows
}

type cardKey struct{ batch, trace string }

// Every planted difference comes out of Match with its class, against a
// journal of what the client sent; a batch the terminal settled and one
// the host's day cut settled; a sale either side of midnight is matched.
func TestMatchCardsSandboxFile(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	d0 := time.Date(2026, 12, 6, 10, 0, 0, 0, cst)
	const day, next = "2026-12-06", "2026-12-07"
	r := newCardRig(t, d0)
	want := map[cardKey]reconcile.Class{}
	var b1 []connector.BatchTxn
	paid := func(kind, trace string, amount int64, res connector.SaleResult) {
		b1 = append(b1, connector.BatchTxn{Kind: kind, Trace: trace, Amount: amount, RRN: res.RRN})
	}

	// Batch 1, settled balanced by the terminal.
	s1 := r.sale(r.good, "000001", "000001", 1000, day)
	paid("sale", "000001", 1000, s1)
	s2 := r.sale(r.good, "000001", "000002", 2000, day)
	paid("sale", "000002", 2000, s2)
	r.adjust("000001", "000003", 2000, s2, "000002", "", day)
	paid("void", "000003", 2000, s2)
	s3 := r.sale(r.good, "000001", "000004", 3000, day)
	paid("sale", "000004", 3000, s3)
	r.adjust("000001", "000005", 500, s3, "000004", s3.Date, day)
	paid("refund", "000005", 500, s3)
	s4 := r.sale(r.good, "000001", "000006", 4000, day)
	paid("sale", "000006", 4000, s4)
	s6 := r.sale(r.good, "000001", "000007", 600, day)
	paid("sale", "000007", 600, s6)
	for _, tr := range []string{"000001", "000002", "000003", "000004", "000005", "000007"} {
		want[cardKey{"000001", tr}] = reconcile.Matched
	}
	// Another amount in the file than the books (and the journal) have.
	r.post("/control/file/line", map[string]any{"terminal": rigTerm.TerminalID, "merchant": rigTerm.MerchantID,
		"batch": "000001", "trace": "000006", "amount": 4100})
	want[cardKey{"000001", "000006"}] = reconcile.AmountDiffers
	// Another fee: matched, but in the totals.
	fee := int64(50)
	if err := r.h.EditFileLine(acquirer.FileEdit{TerminalID: rigTerm.TerminalID, MerchantID: rigTerm.MerchantID,
		Batch: "000001", Trace: "000007", Fee: &fee}); err != nil {
		t.Fatal(err)
	}
	r.clk.Set(d0.Add(2 * time.Hour))
	r.settle("000001", b1, "000008")

	// Batch 2, left open: the host's day cut settles it.
	na := acquirer.TestCard{}
	for _, c := range acquirer.TestCards() {
		if c.ID == "no-answer" {
			na = c
		}
	}
	// The answer is lost and the reversal refused: the journal has it in
	// flight, the acquirer settles it.
	r.h.FailNextReversals(1, "96")
	r.sale(na, "000002", "000001", 500, day)
	if err := r.c.Reverse(context.Background(), connector.Reversal{TerminalID: rigTerm.TerminalID, MerchantID: rigTerm.MerchantID,
		Trace: "000001", Batch: "000002", Amount: 500, Entry: "021", PIN: true}); err == nil {
		t.Fatal("a dropped reversal succeeded")
	}
	want[cardKey{"000002", "000001"}] = reconcile.StateDiffers
	// A sale properly reversed: in neither.
	r.sale(na, "000002", "000002", 400, day)
	r.j.Cards[len(r.j.Cards)-1].State = reconcile.OrderReversed
	if err := r.c.Reverse(context.Background(), connector.Reversal{TerminalID: rigTerm.TerminalID, MerchantID: rigTerm.MerchantID,
		Trace: "000002", Batch: "000002", Amount: 400, Entry: "021", PIN: true}); err != nil {
		t.Fatal(err)
	}
	// The acquirer loses one: the journal's, not in the file.
	r.sale(r.good, "000002", "000003", 700, day)
	r.post("/control/books/drop", map[string]any{"terminal": rigTerm.TerminalID, "merchant": rigTerm.MerchantID,
		"batch": "000002", "trace": "000003"})
	want[cardKey{"000002", "000003"}] = reconcile.JournalOnly
	// A sale and a refund the terminal never sent.
	r.post("/control/books/add", map[string]any{"terminal": rigTerm.TerminalID, "merchant": rigTerm.MerchantID,
		"batch": "000002", "trace": "000090", "type": "sale", "amount": 888})
	want[cardKey{"000002", "000090"}] = reconcile.ChannelOnly
	if _, err := r.h.AddEntry(acquirer.Planted{TerminalID: rigTerm.TerminalID, MerchantID: rigTerm.MerchantID,
		Batch: "000002", Trace: "000091", Type: acquirer.Refund, Amount: 300}); err != nil {
		t.Fatal(err)
	}
	want[cardKey{"000002", "000091"}] = reconcile.RefundDiffers
	// Midnight: one the host booked at 23:59:59 that the journal put on
	// the next day, and one the terminal started at 23:59:59 (the
	// journal's day) that the host booked at 00:00:01.
	r.clk.Set(time.Date(2026, 12, 6, 23, 59, 59, 0, cst))
	r.sale(r.good, "000002", "000004", 800, next)
	want[cardKey{"000002", "000004"}] = reconcile.Matched
	r.clk.Set(time.Date(2026, 12, 7, 0, 0, 1, 0, cst))
	r.sale(r.good, "000002", "000005", 900, day)

	// Not served before the day is closed; then fetched and parsed.
	if _, err := bank.FetchSettlementFile(context.Background(), r.ctl.Client(), r.ctl.URL+"/files/settlement-{date}.csv",
		d0.AddDate(0, 0, 1)); err == nil {
		t.Fatal("the file of a day not closed was served")
	}
	rows := r.file(d0)
	status := map[string]string{}
	for _, row := range rows {
		status[row.Batch+"/"+row.Trace] = row.Status
		if row.SettleDate != day || row.Terminal != rigTerm.TerminalID {
			t.Fatalf("row %+v", row)
		}
	}
	if status["000001/000001"] != acquirer.StatusBalanced || status["000002/000004"] != acquirer.StatusHostCut ||
		status["000002/000003"] != "" || status["000002/000002"] != "" || status["000002/000005"] != "" || len(rows) != 11 {
		t.Fatalf("the day's file: %+v", rows)
	}
	r.clk.Set(time.Date(2026, 12, 8, 0, 0, 5, 0, cst))
	nextRows := r.file(d0.AddDate(0, 0, 1))
	if len(nextRows) != 1 || nextRows[0].Trace != "000005" || nextRows[0].SettleDate != next {
		t.Fatalf("the next day's file: %+v", nextRows)
	}

	lines := append(reconcile.FromSettlementFile(rows), reconcile.FromSettlementFile(nextRows)...)
	rep := reconcile.Match(day, lines, r.j)
	got := map[cardKey]reconcile.Class{}
	for i, res := range rep.Results {
		if res.Neighbour {
			if i != len(rows) || res.Class != reconcile.Matched || res.Trace != "000005" {
				t.Fatalf("the next day's line: %+v", res)
			}
			continue
		}
		k := cardKey{res.Batch, res.Trace}
		if _, dup := got[k]; dup {
			t.Fatalf("two results for %v: %+v", k, rep.Results)
		}
		got[k] = res.Class
	}
	for k, c := range want {
		if got[k] != c {
			t.Errorf("%v: %s, want %s", k, got[k], c)
		}
	}
	if len(got) != len(want) {
		t.Errorf("results %v, want %v", got, want)
	}
	// Totals: the file's own fees and nets, this day's lines only.
	var fees, net int64
	for _, row := range rows {
		fees += row.Fee
		net += row.Net
	}
	if len(rep.Totals) != 1 {
		t.Fatalf("totals: %+v", rep.Totals)
	}
	if tot := rep.Totals[0]; tot.Channel != reconcile.Card || tot.Payments != 8 || tot.Refunds != 3 || tot.Fees != fees ||
		tot.Net != net || fees != 6+12-12+18-3+25+50+3+5+5-2 {
		t.Fatalf("totals %+v; file fees %d net %d", tot, fees, net)
	}

	// The next day's run: the sale booked after midnight matches the
	// journal's entry of the day before, passed as a neighbour; the day
	// before's file, passed too, takes the journal's entry of this day
	// that the host booked before midnight.
	rep = reconcile.Match(next, append(reconcile.FromSettlementFile(nextRows), reconcile.FromSettlementFile(rows)...), r.j)
	if len(rep.Results) != 1+len(rows) || rep.Results[0].Class != reconcile.Matched || rep.Results[0].Neighbour {
		t.Fatalf("next day: %+v", rep.Results)
	}
	for _, res := range rep.Results[1:] {
		if !res.Neighbour {
			t.Fatalf("next day: %+v", res)
		}
	}
	if len(rep.Totals) != 1 || rep.Totals[0].Payments != 1 || rep.Totals[0].Gross != 900 {
		t.Fatalf("next day's totals: %+v", rep.Totals)
	}
}

func cardLine(txn, batch, trace, rrn string, amount int64) reconcile.Line {
	l := reconcile.Line{Channel: reconcile.Card, Kind: reconcile.Payment, Terminal: "T1",
		CardLine: &reconcile.CardLine{Batch: batch, Trace: trace, RRN: rrn, TxnType: txn, SettleDay: day}, Amount: amount, Settle: amount}
	if txn != "sale" {
		l.Kind, l.Settle = reconcile.Refund, 0
	}
	return l
}

func cardEntry(kind reconcile.CardKind, trace, rrn string, amount int64, state reconcile.OrderState) reconcile.CardEntry {
	return reconcile.CardEntry{Kind: kind, Terminal: "T1", Batch: "000001", Trace: trace, RRN: rrn, Amount: amount, State: state, Day: day}
}

func TestMatchCardRules(t *testing.T) {
	j := reconcile.Journal{
		Orders: []reconcile.Order{{Channel: reconcile.Alipay, OutTradeNo: "A1", Amount: 100, State: reconcile.OrderPaid, Day: day}},
		Cards: []reconcile.CardEntry{
			cardEntry(reconcile.CardSale, "000001", "R1", 100, reconcile.OrderPaid),     // by RRN: the file has no trace
			cardEntry(reconcile.CardSale, "000002", "R2", 100, reconcile.OrderPaid),     // another RRN under the trace
			cardEntry(reconcile.CardSale, "000003", "R3", 100, reconcile.OrderReversed), // settled, reversed in the journal
			cardEntry(reconcile.CardSale, "000004", "R4", 100, reconcile.OrderFailed),   // settled, declined in the journal
			cardEntry(reconcile.CardRefund, "000005", "R5", 50, reconcile.OrderPending), // refund in flight
			cardEntry(reconcile.CardRefund, "000006", "R6", 50, reconcile.OrderFailed),  // refund failed
			cardEntry(reconcile.CardVoid, "000007", "R7", 100, reconcile.OrderPaid),     // a void the file calls a refund
			cardEntry(reconcile.CardRefund, "000008", "R8", 50, reconcile.OrderPaid),    // refund amounts differ
			cardEntry(reconcile.CardRefund, "000009", "R9", 50, reconcile.OrderPaid),    // not at the acquirer
			cardEntry(reconcile.CardSale, "000010", "", 100, reconcile.OrderPaid),       // no RRN in the journal: by key
			cardEntry(reconcile.CardSale, "000011", "R11", 100, reconcile.OrderPending), // in flight, not settled: nothing
		},
	}
	lines := []reconcile.Line{
		cardLine("sale", "", "", "R1", 100),
		cardLine("sale", "000001", "000002", "RX", 100),
		cardLine("sale", "000001", "000003", "R3", 100),
		cardLine("sale", "000001", "000004", "R4", 100),
		cardLine("refund", "000001", "000005", "R5", 50),
		cardLine("refund", "000001", "000006", "R6", 50),
		cardLine("refund", "000001", "000007", "R7", 100),
		cardLine("refund", "000001", "000008", "R8", 60),
		cardLine("sale", "000001", "000010", "R10", 100),
		cardLine("sale", "000001", "000010", "R10", 100), // twice
		payLine(reconcile.Alipay, "A1", 100),
	}
	rep := reconcile.Match(day, lines, j)
	var got []string
	for _, r := range rep.Results {
		got = append(got, r.Trace+" "+r.Class.String())
	}
	want := []string{"000001 matched", "000002 channel_only", "000003 state_differs", "000004 state_differs",
		"000005 refund_differs", "000006 refund_differs", "000007 refund_differs", "000008 refund_differs",
		"000010 matched", "000010 channel_only", " matched",
		"000002 journal_only", "000009 refund_differs"}
	if len(got) != len(want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("result %d: %q, want %q\nall %q", i, got[i], want[i], got)
		}
	}
	if r := rep.Results[0]; r.Card != 0 || r.Batch != "000001" || r.Trace != "000001" {
		t.Fatalf("by RRN: %+v", r)
	}
	if r := rep.Results[10]; r.Card != -1 || r.Order != 0 {
		t.Fatalf("the wallet's line: %+v", r)
	}
	if len(rep.Totals) != 2 || rep.Totals[0].Channel != reconcile.Alipay || rep.Totals[1].Channel != reconcile.Card {
		t.Fatalf("totals %+v", rep.Totals)
	}
}

// TestCardLineWithoutKeys: a card line made without its CardLine is
// matched by nothing, not a panic.
func TestCardLineWithoutKeys(t *testing.T) {
	lines := []reconcile.Line{{Channel: reconcile.Card, Kind: reconcile.Payment, Row: 1, Terminal: "T1", Amount: 100}}
	rep := reconcile.Match(day, lines, reconcile.Journal{})
	if len(rep.Results) != 1 || rep.Results[0].Class != reconcile.ChannelOnly {
		t.Fatalf("results: %+v", rep.Results)
	}
}
