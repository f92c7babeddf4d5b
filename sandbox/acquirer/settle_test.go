package acquirer

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/multipos/multipos/cardkeys"
	"github.com/multipos/multipos/server/connector"
	"github.com/multipos/multipos/server/connector/bank"
)

// journal is the terminal's side of a batch: its approved, unreversed
// transactions, as the server's journal would list them.
type journal struct {
	t    *testing.T
	c    *bank.Client
	txns []connector.BatchTxn
}

func (j *journal) sale(tc TestCard, trace string, amount int64) connector.SaleResult {
	j.t.Helper()
	res := sale(j.t, j.c, tc, tc.PIN, trace, amount)
	if res.Approved() {
		j.txns = append(j.txns, connector.BatchTxn{Kind: "sale", Trace: trace, Amount: amount, RRN: res.RRN,
			AuthCode: res.AuthCode, Entry: "021", PIN: true})
	}
	return res
}

// adjust sends a void (date "") or refund of the sale at trace orig.
func (j *journal) adjust(tc TestCard, trace string, amount int64, orig connector.SaleResult, origTrace, date string) {
	j.t.Helper()
	cd := bank.Card{PAN: tc.PAN, Expiry: tc.Expiry}
	o := bank.Original{Batch: term.Batch, Trace: origTrace, RRN: orig.RRN, Date: date}
	kind, m, err := "refund", (*bank.Message)(nil), error(nil)
	if date == "" {
		kind = "void"
		m, err = term.NewVoid(trace, amount, cd, o)
	} else {
		m, err = term.NewRefund(trace, amount, cd, o)
	}
	resp := exchange(j.t, j.c, m, err)
	if resp.ResponseCode != CodeApproved {
		j.t.Fatalf("%s %s: %s", kind, trace, resp.ResponseCode)
	}
	j.txns = append(j.txns, connector.BatchTxn{Kind: kind, Trace: trace, Amount: amount, RRN: resp.RRN,
		AuthCode: resp.AuthCode, Entry: m.EntryMode, OrigBatch: term.Batch, OrigTrace: origTrace, OrigDate: date})
}

func (j *journal) settle(trace string) connector.SettleResult {
	j.t.Helper()
	res, err := j.c.Settle(context.Background(), connector.BatchSettlement{TerminalID: term.TerminalID,
		MerchantID: term.MerchantID, Batch: term.Batch, Trace: trace, Operator: "01", Totals: connector.TotalsOf(j.txns)})
	if err != nil {
		j.t.Fatalf("settle %s: %v", trace, err)
	}
	return res
}

func (j *journal) upload(txns []connector.BatchTxn) error {
	return j.c.UploadBatch(context.Background(), connector.BatchUpload{TerminalID: term.TerminalID,
		MerchantID: term.MerchantID, Batch: term.Batch, Txns: txns})
}

func (j *journal) end(trace string, count int, balanced bool) (bool, error) {
	return j.c.EndUpload(context.Background(), connector.UploadEnd{TerminalID: term.TerminalID,
		MerchantID: term.MerchantID, Batch: term.Batch, Trace: trace, Count: count, Balanced: balanced})
}

// The host counts its books as the terminal counts its batch: sales
// (voided or not) as debits, voids and refunds as credits; declined and
// reversed messages in neither. Then the batch closes, and what names it
// afterwards is refused.
func TestSettleInBalance(t *testing.T) {
	f := start(t)
	c := f.client(t, 300*time.Millisecond)
	j := &journal{t: t, c: c}
	good, nsf, na := card(t, "approved"), card(t, "insufficient"), card(t, "no-answer")
	s1 := j.sale(good, "000002", 1000)
	s2 := j.sale(good, "000003", 2000)
	j.adjust(good, "000004", 2000, s2, "000003", "")     // void
	j.adjust(good, "000005", 300, s1, "000002", s1.Date) // refund
	if res := j.sale(nsf, "000006", 500); res.Approved() {
		t.Fatal("insufficient card approved")
	}
	if _, err := c.Sale(context.Background(), saleOf(t, c, na, na.PIN, "000007", 800)); !errors.Is(err, connector.ErrUnknownOutcome) {
		t.Fatalf("no-answer: %v", err)
	}
	if err := c.Reverse(context.Background(), reversalOf("000007", 800)); err != nil {
		t.Fatal(err)
	}
	want := connector.BatchTotals{DebitCount: 2, DebitAmount: 3000, CreditCount: 2, CreditAmount: 2300}
	if got := connector.TotalsOf(j.txns); got != want {
		t.Fatalf("the terminal's totals: %+v, want %+v", got, want)
	}

	if res := j.settle("000008"); !res.Balanced || res.Flag != "1" {
		t.Fatalf("settlement: %+v", res)
	}
	b := f.h.Batches()
	if len(b) != 1 || b[0].State != "settling" || b[0].Books != controlTotals(want) || b[0].Claimed != b[0].Books {
		t.Fatalf("batches: %+v", b)
	}
	for range 2 { // the end's answer lost: its repeat closes nothing twice
		if ok, err := j.end("000009", 0, true); !ok || err != nil {
			t.Fatalf("end after a balanced settlement: %v %v", ok, err)
		}
	}
	if b := f.h.Batches(term.TerminalID); len(b) != 1 || b[0].State != "closed" || b[0].Settled != controlTotals(want) {
		t.Fatalf("batches: %+v", b)
	}

	// The batch is closed: a sale, a void or a reversal naming it is
	// refused and books nothing; the next batch takes the same trace.
	n := len(f.h.Ledger())
	if got := sale(t, c, good, good.PIN, "000010", 100).ResponseCode; got != CodeBatchClosed {
		t.Fatalf("sale in a closed batch: %s", got)
	}
	if err := c.Reverse(context.Background(), reversalOf("000002", 1000)); err == nil {
		t.Fatal("a reversal in a closed batch undid a settled sale")
	}
	next := term
	next.Batch = "000002"
	m, err := next.NewVoid("000001", 1000, bank.Card{PAN: good.PAN, Expiry: good.Expiry},
		bank.Original{Batch: term.Batch, Trace: "000002", RRN: s1.RRN})
	if got := exchange(t, c, m, err).ResponseCode; got != CodeInvalidTxn {
		t.Fatalf("void of a settled sale: %s", got)
	}
	s := saleOf(t, c, good, good.PIN, "000010", 100)
	s.Batch = next.Batch
	if res, err := c.Sale(context.Background(), s); err != nil || !res.Approved() || res.Batch != next.Batch {
		t.Fatalf("the trace in the next batch: %+v %v", res, err)
	}
	// Booked: the refused void (as every decided void is) and the sale of
	// the next batch; nothing in the closed batch, nothing undone.
	if l := f.h.Ledger(); len(l) != n+2 || l[0].Reversed || l[0].Charged() != 700 || l[n].Approved ||
		l[n].Batch != next.Batch || !l[n+1].Approved || l[n+1].Batch != next.Batch {
		t.Fatalf("a closed batch's messages were booked: %+v", l)
	}
	// Settling the closed batch again compares with what it was settled on.
	if res := j.settle("000011"); !res.Balanced {
		t.Fatalf("settling a closed batch again: %+v", res)
	}
}

// The host lost one sale and booked one the terminal never sent: out of
// balance; the terminal uploads its batch, ends the upload, and the batch
// is settled on the terminal's detail; settled again, it is balanced.
func TestSettleOutOfBalanceUploadAndSettleAgain(t *testing.T) {
	f := start(t)
	j := &journal{t: t, c: f.client(t, 2*time.Second)}
	good := card(t, "approved")
	s1 := j.sale(good, "000002", 1000)
	j.sale(good, "000003", 2500)
	j.adjust(good, "000004", 400, s1, "000002", s1.Date)
	if err := f.h.DropEntry(term.TerminalID, term.MerchantID, term.Batch, "000003"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.h.AddEntry(Planted{TerminalID: term.TerminalID, MerchantID: term.MerchantID, Batch: term.Batch,
		Trace: "000090", Type: Sale, Amount: 777}); err != nil {
		t.Fatal(err)
	}

	// The settlement file follows the batches: none is settled yet.
	if file := settlementFile(t, f); strings.Count(file, "\n") != 1 {
		t.Fatalf("settlement file before the batch is settled:\n%s", file)
	}
	// An upload before any settlement is refused.
	var d *bank.DeclinedError
	if err := j.upload(j.txns); !errors.As(err, &d) || d.Code != CodeInvalidTxn {
		t.Fatalf("upload before settling: %v", err)
	}
	if res := j.settle("000005"); res.Balanced || res.Flag != "2" {
		t.Fatalf("settlement of books that differ: %+v", res)
	}
	// Out of balance: ending as if balanced (207) is refused.
	if _, err := j.end("000006", 0, true); !errors.As(err, &d) || d.Code != CodeInvalidTxn {
		t.Fatalf("207 after out of balance: %v", err)
	}
	// Part of the batch: the detail does not add up, the batch stays open.
	if err := j.upload(j.txns[:2]); err != nil {
		t.Fatal(err)
	}
	if ok, err := j.end("000006", 2, false); ok || err != nil {
		t.Fatalf("end of a partial upload: %v %v", ok, err)
	}
	// Another transaction under an uploaded trace is refused.
	other := j.txns[0]
	other.Amount++
	if err := j.upload([]connector.BatchTxn{other}); !errors.As(err, &d) || d.Code != CodeDuplicate {
		t.Fatalf("another upload under a trace: %v", err)
	}
	// The whole batch (the first two again: repeats).
	if err := j.upload(j.txns); err != nil {
		t.Fatal(err)
	}
	if ok, err := j.end("000007", len(j.txns), false); !ok || err != nil {
		t.Fatalf("end of the upload: %v %v", ok, err)
	}
	b := f.h.Batches()
	want := controlTotals(connector.TotalsOf(j.txns))
	if len(b) != 1 || b[0].State != "closed" || b[0].Flag != "2" || b[0].Settled != want || b[0].Books != want ||
		b[0].Uploaded != 3 || !reflect.DeepEqual(b[0].NotUploaded, []string{"000090"}) || b[0].NotBooked != nil {
		t.Fatalf("batches: %+v", b)
	}
	for _, e := range f.h.Ledger() {
		if e.Lost || e.Excluded != (e.Trace == "000090") {
			t.Fatalf("after the upload: %+v", e)
		}
	}
	if res := j.settle("000008"); !res.Balanced || res.Flag != "1" {
		t.Fatalf("settling again after the upload: %+v", res)
	}
	file := settlementFile(t, f)
	// Settled on the upload: the lost sale is back, the one the terminal
	// never sent is not in the settled batch.
	if !regexp.MustCompile(`,000003,`+j.txns[1].RRN+`,\w+,sale,[^,]+,25\.00,0\.15,24\.85,[^,]+,approved,uploaded\n`).MatchString(file) ||
		strings.Contains(file, ",000090,") {
		t.Fatalf("settlement file after the upload:\n%s", file)
	}
}

func settlementFile(t *testing.T, f *fixture) string {
	t.Helper()
	path, err := f.h.WriteSettlement(f.clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// rawSend sends m on a connection of its own, MACed with macKey (nil: no
// field 64), and returns the answer.
func rawSend(t *testing.T, addr string, m *bank.Message, macKey []byte) *bank.Message {
	t.Helper()
	msg, err := m.ToISO()
	if err != nil {
		t.Fatal(err)
	}
	if macKey != nil {
		mk, _ := cardkeys.NewMACKey(macKey)
		if err := bank.SignMessage(mk, msg); err != nil {
			t.Fatal(err)
		}
	}
	b, err := msg.Pack()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := bank.WriteLength(conn, len(b)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(b); err != nil {
		t.Fatal(err)
	}
	n, err := bank.ReadLength(conn)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, n)
	if _, err := io.ReadFull(conn, out); err != nil {
		t.Fatal(err)
	}
	resp, err := bank.Unpack(out)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// A settlement without the terminal's MAC is refused (A0) and starts
// nothing; so are an upload and an upload end.
func TestSettleBadMAC(t *testing.T) {
	f := start(t)
	j := &journal{t: t, c: f.client(t, 2*time.Second)}
	good := card(t, "approved")
	j.sale(good, "000002", 1000)
	f.h.mu.Lock()
	wrong := append([]byte(nil), f.h.keys[term.TerminalID].MAC...)
	f.h.mu.Unlock()
	wrong[3] ^= 0x10 // not 0x01: DES ignores parity bits
	m, err := term.NewSettle("000003", connector.TotalsOf(j.txns), "")
	if err != nil {
		t.Fatal(err)
	}
	up, _ := term.NewUploadTxn(j.txns[0])
	end, _ := term.NewUploadEnd("000004", 1, false)
	for _, key := range [][]byte{wrong, nil} {
		for _, req := range []*bank.Message{m, up, end} {
			if resp := rawSend(t, f.addr, req, key); resp.ResponseCode != CodeBadMAC || resp.MTI[2] != req.MTI[2]+1 {
				t.Fatalf("%s with a bad MAC: %s", req.MTI, resp)
			}
		}
	}
	if b := f.h.Batches(); len(b) != 0 {
		t.Fatalf("a refused settlement started one: %+v", b)
	}
	if res := j.settle("000003"); !res.Balanced {
		t.Fatalf("the genuine settlement: %+v", res)
	}
}

// The control API drops and plants entries and shows the batches.
func TestControlBooks(t *testing.T) {
	f := start(t)
	srv := httptest.NewServer(f.h.ControlHandler())
	defer srv.Close()
	j := &journal{t: t, c: f.client(t, 2*time.Second)}
	good := card(t, "approved")
	j.sale(good, "000002", 1000)

	drop := `{"terminal":"` + term.TerminalID + `","merchant":"` + term.MerchantID + `","batch":"000001","trace":"000002"}`
	if st := controlDo(t, srv, "POST", "/control/books/drop", drop, nil); st != http.StatusOK {
		t.Fatalf("drop: %d", st)
	}
	var planted LedgerEntry
	add := `{"terminal":"` + term.TerminalID + `","merchant":"` + term.MerchantID +
		`","batch":"000001","trace":"000050","type":"refund","amount":250}`
	if st := controlDo(t, srv, "POST", "/control/books/add", add, &planted); st != http.StatusOK ||
		!planted.Planted || !planted.Approved || planted.Index != 1 || planted.Type != "refund" || len(planted.RRN) != 12 {
		t.Fatalf("add: %d %+v", st, planted)
	}
	var ledger []LedgerEntry
	controlDo(t, srv, "GET", "/control/ledger", "", &ledger)
	if len(ledger) != 2 || !ledger[0].Lost || ledger[1].Lost {
		t.Fatalf("ledger: %+v", ledger)
	}
	// A message under the planted trace is another message under a used trace.
	if got := sale(t, j.c, good, good.PIN, "000050", 100).ResponseCode; got != CodeDuplicate {
		t.Fatalf("sale under a planted trace: %s", got)
	}
	if res := j.settle("000003"); res.Balanced {
		t.Fatal("books that differ settled in balance")
	}
	var batches []BatchInfo
	controlDo(t, srv, "GET", "/control/batches?terminal="+term.TerminalID, "", &batches)
	if len(batches) != 1 || batches[0].Flag != "2" || batches[0].Books != (ControlTotals{CreditCount: 1, CreditAmount: 250}) ||
		batches[0].Claimed != (ControlTotals{DebitCount: 1, DebitAmount: 1000}) {
		t.Fatalf("batches: %+v", batches)
	}
	for _, c := range []struct {
		path, body string
		want       int
	}{
		{"drop", drop, http.StatusNotFound}, // lost already
		{"drop", `{"terminal":"T","merchant":"M","batch":"000001","trace":"000009"}`, http.StatusNotFound},
		{"add", add, http.StatusBadRequest}, // the trace is used
		{"add", `{"terminal":"T","merchant":"M","batch":"1","trace":"000009","type":"sale","amount":1}`, http.StatusBadRequest},
		{"add", `{"terminal":"T","merchant":"M","batch":"000001","trace":"000009","type":"balance","amount":1}`, http.StatusBadRequest},
		{"add", `{"nope":1}`, http.StatusBadRequest},
		{"drop", `{"nope":1}`, http.StatusBadRequest},
	} {
		if st := controlDo(t, srv, "POST", "/control/books/"+c.path, c.body, nil); st != c.want {
			t.Errorf("%s %s: %d, want %d", c.path, c.body, st, c.want)
		}
	}
}
