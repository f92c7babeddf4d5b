package acquirer

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/multipos/multipos/cardkeys"
	"github.com/multipos/multipos/cards"
	"github.com/multipos/multipos/server/connector"
	"github.com/multipos/multipos/server/connector/bank"
)

var (
	tmk, _ = hex.DecodeString("0123456789ABCDEFFEDCBA9876543210")
	term   = bank.Terminal{TerminalID: "T0000001", MerchantID: "898110000000001", Batch: "000001"}
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	h    *Host
	addr string
	clk  *clock
	dir  string
}

func start(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{clk: &clock{t: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}, dir: t.TempDir()}
	f.h = New(Options{
		Now:    f.clk.Now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		MasterKey: func(tid string) ([]byte, bool) {
			return tmk, tid == term.TerminalID
		},
		SettlementDir: f.dir,
	})
	addr, err := f.h.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = addr
	t.Cleanup(f.h.Close)
	return f
}

// client dials and signs on.
func (f *fixture) client(t *testing.T, timeout time.Duration) *bank.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c, err := bank.Dial(ctx, bank.Config{Addr: f.addr, Terminal: term, MasterKey: tmk, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if _, err := c.SignOn(ctx, "000001"); err != nil {
		t.Fatalf("sign-on: %v", err)
	}
	return c
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

func saleOf(t *testing.T, c *bank.Client, tc TestCard, pin, trace string, amount int64) connector.Sale {
	t.Helper()
	pb, err := cards.EncryptPIN(c.PINKey(), []byte(pin), tc.PAN)
	if err != nil {
		t.Fatal(err)
	}
	return connector.Sale{TerminalID: term.TerminalID, MerchantID: term.MerchantID, Trace: trace,
		Amount: amount, PAN: tc.PAN, Expiry: tc.Expiry, Track2: tc.Track2, Entry: "021", PINBlock: pb}
}

func sale(t *testing.T, c *bank.Client, tc TestCard, pin, trace string, amount int64) connector.SaleResult {
	t.Helper()
	res, err := c.Sale(context.Background(), saleOf(t, c, tc, pin, trace, amount))
	if err != nil {
		t.Fatalf("sale %s: %v", trace, err)
	}
	return res
}

func exchange(t *testing.T, c *bank.Client, m *bank.Message, err error) *bank.Message {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Exchange(context.Background(), m)
	if err != nil {
		t.Fatalf("%s %s: %v", m.MTI, m.Trace, err)
	}
	return resp
}

func balanceOf(t *testing.T, c *bank.Client, tc TestCard, trace string) int64 {
	t.Helper()
	pb, _ := cards.EncryptPIN(c.PINKey(), []byte(tc.PIN), tc.PAN)
	m, err := term.NewBalance(trace, bank.Card{PAN: tc.PAN, Expiry: tc.Expiry, PINBlock: pb[:]})
	resp := exchange(t, c, m, err)
	if resp.ResponseCode != CodeApproved {
		t.Fatalf("balance: %s", resp.ResponseCode)
	}
	return resp.Amount
}

func TestSignOnAndApprovedSale(t *testing.T) {
	f := start(t)
	c := f.client(t, 2*time.Second)
	good := card(t, "approved")
	res := sale(t, c, good, good.PIN, "000002", 12345)
	if !res.Approved() || len(res.RRN) != 12 || len(res.AuthCode) != 6 || res.Batch != term.Batch {
		t.Fatalf("sale: %+v", res)
	}
	l := f.h.Ledger()
	if len(l) != 1 || !l[0].Approved || l[0].Charged() != 12345 || l[0].RRN != res.RRN || strings.Contains(l[0].MaskedPAN, good.PAN) {
		t.Fatalf("ledger: %+v", l)
	}
	if got := balanceOf(t, c, good, "000003"); got != InitialBalance-12345 {
		t.Fatalf("balance %d", got)
	}
}

func TestSignOnUnknownTerminal(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	other := term
	other.TerminalID = "T0000009"
	c, err := bank.Dial(ctx, bank.Config{Addr: f.addr, Terminal: other, MasterKey: tmk, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var d *bank.DeclinedError
	if _, err := c.SignOn(ctx, "000001"); !errors.As(err, &d) || d.Code != CodeUnknownTerminal {
		t.Fatalf("sign-on of unknown terminal: %v", err)
	}
}

func TestWrongPINThenLocked(t *testing.T) {
	f := start(t)
	c := f.client(t, 2*time.Second)
	good := card(t, "approved")
	for i, want := range []string{"55", "55", "75"} {
		if got := sale(t, c, good, "654321", "00001"+string(rune('0'+i)), 100).ResponseCode; got != want {
			t.Fatalf("wrong PIN %d: %s, want %s", i+1, got, want)
		}
	}
	if got := sale(t, c, good, good.PIN, "000019", 100).ResponseCode; got != "75" {
		t.Fatalf("right PIN on a locked card: %s", got)
	}
	if got := sale(t, c, card(t, "wrong-pin"), "123456", "000020", 100).ResponseCode; got != "55" {
		t.Fatalf("wrong-pin card: %s", got)
	}
	for _, e := range f.h.Ledger() {
		if e.Charged() != 0 {
			t.Fatalf("charged on a decline: %+v", e)
		}
	}
}

func TestDeclines(t *testing.T) {
	f := start(t)
	c := f.client(t, 2*time.Second)
	for trace, tc := range map[string]struct{ id, want string }{
		"000011": {"insufficient", "51"},
		"000012": {"expired", "54"},
		"000013": {"issuer-unavailable", "91"},
	} {
		cd := card(t, tc.id)
		if got := sale(t, c, cd, cd.PIN, trace, 100).ResponseCode; got != tc.want {
			t.Errorf("%s: %s, want %s", tc.id, got, tc.want)
		}
	}
	good := card(t, "approved")
	if got := sale(t, c, good, good.PIN, "000014", InitialBalance+1).ResponseCode; got != "51" {
		t.Errorf("above balance: %s", got)
	}
}

// rawSale sends one framed 0200 on its own connection, MACed with macKey
// (nil: no field 64), and returns the raw answer.
func rawSale(t *testing.T, addr string, macKey []byte) []byte {
	t.Helper()
	good := card(t, "approved")
	m, err := term.NewSale("000031", 100, bank.Card{PAN: good.PAN, Expiry: good.Expiry})
	if err != nil {
		t.Fatal(err)
	}
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
	return out
}

func TestBadMAC(t *testing.T) {
	f := start(t)
	c := f.client(t, 2*time.Second)
	f.h.mu.Lock()
	keys := f.h.keys[term.TerminalID] // same package: the key the host issued
	f.h.mu.Unlock()
	wrong := append([]byte(nil), keys.MAC...)
	wrong[0] ^= 0x10
	for name, key := range map[string][]byte{"wrong MAC": wrong, "no MAC": nil} {
		raw := rawSale(t, f.addr, key)
		resp, err := bank.Unpack(raw)
		if err != nil {
			t.Fatal(err)
		}
		if resp.ResponseCode != CodeBadMAC || resp.MTI != "0210" {
			t.Errorf("%s: %s %s", name, resp.MTI, resp.ResponseCode)
		}
		mk, _ := cardkeys.NewMACKey(keys.MAC)
		if err := mk.VerifyBytes(raw); err != nil {
			t.Errorf("%s: answer not MACed with the terminal key: %v", name, err)
		}
	}
	if len(f.h.Ledger()) != 0 {
		t.Fatalf("bad MAC booked: %+v", f.h.Ledger())
	}
	// The refused trace is not remembered: the genuine request still works.
	good := card(t, "approved")
	if got := sale(t, c, good, good.PIN, "000031", 100).ResponseCode; got != "00" {
		t.Fatalf("genuine request after bad MAC: %s", got)
	}
}

func TestNoAnswerThenReversal(t *testing.T) {
	f := start(t)
	c := f.client(t, 300*time.Millisecond)
	na := card(t, "no-answer")
	_, err := c.Sale(context.Background(), saleOf(t, c, na, na.PIN, "000041", 5000))
	if !errors.Is(err, connector.ErrUnknownOutcome) {
		t.Fatalf("sale without answer: %v", err)
	}
	// A repeat is not answered either.
	if _, err := c.Sale(context.Background(), saleOf(t, c, na, na.PIN, "000041", 5000)); !errors.Is(err, connector.ErrUnknownOutcome) {
		t.Fatalf("repeat without answer: %v", err)
	}
	rev := reversalOf("000041", 5000)
	for i := 0; i < 2; i++ { // repeatable
		if err := c.Reverse(context.Background(), rev); err != nil {
			t.Fatalf("reversal %d: %v", i+1, err)
		}
	}
	l := f.h.Ledger()
	if len(l) != 1 || !l[0].Reversed || l[0].Charged() != 0 || l[0].Batch != term.Batch {
		t.Fatalf("ledger: %+v", l)
	}
	// A reversal of a sale never booked is refused (25), and the sale,
	// should it come late, is refused too (94) and booked nowhere.
	rev.Trace = "000042"
	if err := c.Reverse(context.Background(), rev); !errors.Is(err, connector.ErrNothingToReverse) {
		t.Fatalf("reversal of nothing: %v, want ErrNothingToReverse", err)
	}
	good := card(t, "approved")
	if got := sale(t, c, good, good.PIN, "000042", 5000).ResponseCode; got != CodeDuplicate {
		t.Fatalf("sale after its reversal: %s, want %s", got, CodeDuplicate)
	}
	if l := f.h.Ledger(); len(l) != 1 {
		t.Fatalf("a late original was booked: %+v", l)
	}
}

// reversalOf is the reversal of the sale saleOf builds.
func reversalOf(trace string, amount int64) connector.Reversal {
	return connector.Reversal{TerminalID: term.TerminalID, MerchantID: term.MerchantID, Kind: "sale", Trace: trace,
		Batch: term.Batch, Amount: amount, Entry: "021", PIN: true}
}

func TestDropAndDelay(t *testing.T) {
	f := start(t)
	c := f.client(t, 300*time.Millisecond)
	good := card(t, "approved")
	f.h.DropNext(1)
	_, err := c.Sale(context.Background(), saleOf(t, c, good, good.PIN, "000051", 700))
	if !errors.Is(err, connector.ErrUnknownOutcome) {
		t.Fatalf("dropped answer: %v", err)
	}
	// The repeat gets the answer the first one would have had.
	first := f.h.Ledger()[0]
	res := sale(t, c, good, good.PIN, "000051", 700)
	if !res.Approved() || res.RRN != first.RRN || len(f.h.Ledger()) != 1 {
		t.Fatalf("repeat: %+v, ledger %+v", res, f.h.Ledger())
	}
	f.h.DelayNext(100 * time.Millisecond)
	start := time.Now()
	if res := sale(t, c, good, good.PIN, "000052", 100); !res.Approved() || time.Since(start) < 100*time.Millisecond {
		t.Fatalf("delayed sale: %+v after %v", res, time.Since(start))
	}
}

func TestIdempotentRepeat(t *testing.T) {
	f := start(t)
	c := f.client(t, 2*time.Second)
	good := card(t, "approved")
	a := sale(t, c, good, good.PIN, "000061", 2500)
	b := sale(t, c, good, good.PIN, "000061", 2500)
	if a != b || !a.Approved() {
		t.Fatalf("repeat answered differently: %+v vs %+v", a, b)
	}
	if n := len(f.h.Ledger()); n != 1 {
		t.Fatalf("%d ledger entries", n)
	}
	if got := balanceOf(t, c, good, "000062"); got != InitialBalance-2500 {
		t.Fatalf("balance %d: booked twice?", got)
	}
}

func TestVoid(t *testing.T) {
	f := start(t)
	c := f.client(t, 2*time.Second)
	good := card(t, "approved")
	res := sale(t, c, good, good.PIN, "000071", 3000)
	orig := bank.Original{Batch: term.Batch, Trace: "000071", RRN: res.RRN}
	cd := bank.Card{PAN: good.PAN, Expiry: good.Expiry}

	m, err := term.NewVoid("000072", 2999, cd, orig)
	if got := exchange(t, c, m, err).ResponseCode; got != CodeInvalidAmount {
		t.Fatalf("partial void: %s", got)
	}
	m, err = term.NewVoid("000073", 3000, cd, orig)
	if got := exchange(t, c, m, err).ResponseCode; got != "00" {
		t.Fatalf("void: %s", got)
	}
	m, err = term.NewVoid("000074", 3000, cd, orig)
	if got := exchange(t, c, m, err).ResponseCode; got != CodeInvalidTxn {
		t.Fatalf("second void: %s", got)
	}
	if got := balanceOf(t, c, good, "000075"); got != InitialBalance {
		t.Fatalf("balance after void %d", got)
	}
	// A reversed void restores the sale.
	m, err = term.NewVoid("000073", 3000, cd, orig)
	if err != nil {
		t.Fatal(err)
	}
	if got := exchange(t, c, bank.NewReversal(m), nil).ResponseCode; got != "00" {
		t.Fatalf("void reversal: %s", got)
	}
	if l := f.h.Ledger(); l[0].Voided || l[0].Charged() != 3000 {
		t.Fatalf("sale after void reversal: %+v", l[0])
	}

	// Next day: no void any more.
	res = sale(t, c, good, good.PIN, "000076", 100)
	f.clk.Add(24 * time.Hour)
	m, err = term.NewVoid("000077", 100, cd, bank.Original{Batch: term.Batch, Trace: "000076", RRN: res.RRN})
	if got := exchange(t, c, m, err).ResponseCode; got != CodeInvalidTxn {
		t.Fatalf("void next day: %s", got)
	}
	m, err = term.NewVoid("000078", 100, cd, bank.Original{Batch: term.Batch, Trace: "009999"})
	if got := exchange(t, c, m, err).ResponseCode; got != CodeNotFound {
		t.Fatalf("void of nothing: %s", got)
	}
}

func TestPartialRefunds(t *testing.T) {
	f := start(t)
	c := f.client(t, 2*time.Second)
	good := card(t, "approved")
	res := sale(t, c, good, good.PIN, "000081", 1000)
	orig := bank.Original{Batch: term.Batch, Trace: "000081", RRN: res.RRN, Date: "1125"}
	cd := bank.Card{PAN: good.PAN, Expiry: good.Expiry}
	f.clk.Add(48 * time.Hour) // refunds work on later days too

	steps := []struct {
		trace  string
		amount int64
		want   string
	}{
		{"000082", 400, "00"},
		{"000083", 700, CodeInvalidAmount}, // 1100 > 1000
		{"000084", 600, "00"},
		{"000085", 1, CodeInvalidAmount},
	}
	for _, s := range steps {
		m, err := term.NewRefund(s.trace, s.amount, cd, orig)
		if got := exchange(t, c, m, err).ResponseCode; got != s.want {
			t.Fatalf("refund %d: %s, want %s", s.amount, got, s.want)
		}
	}
	wrongDate := orig
	wrongDate.Date = "1124"
	m, err := term.NewRefund("000086", 1, cd, wrongDate)
	if got := exchange(t, c, m, err).ResponseCode; got != CodeNotFound {
		t.Fatalf("refund with wrong date: %s", got)
	}
	if l := f.h.Ledger(); l[0].Refunded != 1000 || l[0].Charged() != 0 {
		t.Fatalf("sale after refunds: %+v", l[0])
	}
	if got := balanceOf(t, c, good, "000087"); got != InitialBalance {
		t.Fatalf("balance %d", got)
	}
}

func TestSettlementFile(t *testing.T) {
	f := start(t)
	c := f.client(t, 300*time.Millisecond)
	good, nsf, na := card(t, "approved"), card(t, "insufficient"), card(t, "no-answer")
	r1 := sale(t, c, good, good.PIN, "000091", 1500)
	sale(t, c, nsf, nsf.PIN, "000092", 200)
	if _, err := c.Sale(context.Background(), saleOf(t, c, na, na.PIN, "000093", 300)); !errors.Is(err, connector.ErrUnknownOutcome) {
		t.Fatalf("no-answer: %v", err)
	}
	if err := c.Reverse(context.Background(), reversalOf("000093", 300)); err != nil {
		t.Fatal(err)
	}
	m, err := term.NewVoid("000094", 1500, bank.Card{PAN: good.PAN, Expiry: good.Expiry},
		bank.Original{Batch: term.Batch, Trace: "000091", RRN: r1.RRN})
	v := exchange(t, c, m, err)
	l := f.h.Ledger()

	// The day is not over and the batch is open: the file lists nothing yet.
	header := strings.Join(FileHeader, ",") + "\n"
	path, err := f.h.WriteSettlement(f.clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != header {
		t.Fatalf("the day's file so far: %q", got)
	}
	if _, ok := f.h.SettlementFileData(f.clk.Now()); ok {
		t.Fatal("the file of a day not closed")
	}

	// The host closes the day by itself: the first request of the next day
	// cuts it, settling the open batch on the host's books (no decline, no
	// reversed sale), and writes the day's file.
	want := header +
		"20261125,898110000000001,T0000001,000001,000091," + r1.RRN + "," + l[0].AuthCode + ",sale,2026-11-25 18:00:00,15.00,0.09,14.91," + l[0].MaskedPAN + ",voided,host_cut\n" +
		"20261125,898110000000001,T0000001,000001,000094," + v.RRN + "," + v.AuthCode + ",void,2026-11-25 18:00:00,15.00,-0.09,-14.91," + l[3].MaskedPAN + ",approved,host_cut\n"
	day := f.clk.Now()
	f.clk.Add(24 * time.Hour)
	sale(t, c, good, good.PIN, "000095", 100) // the batch is still the terminal's to settle
	f.h.Close()                               // waits for the file
	got, err := os.ReadFile(filepath.Join(f.dir, SettlementFile(day)))
	if err != nil || string(got) != want {
		t.Fatalf("the day's file written at the next day's first request:\n%s%v\nwant:\n%s", got, err, want)
	}
	if strings.Contains(string(got), good.PAN) {
		t.Fatal("settlement file holds a PAN")
	}
	if fi, _ := os.Stat(filepath.Join(f.dir, SettlementFile(day))); fi.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v", fi.Mode())
	}
	if data, ok := f.h.SettlementFileData(day); !ok || string(data) != want {
		t.Fatalf("the file kept: %q %v", data, ok)
	}
	// A day the host had no traffic: the header only.
	if data, ok := f.h.SettlementFileData(day.Add(-48 * time.Hour)); !ok || string(data) != header {
		t.Fatalf("an idle day's file: %q %v", data, ok)
	}
}

func TestServeAndClose(t *testing.T) {
	h := New(Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- h.Serve(ln) }()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Garbage is dropped without an answer and without harming the host.
	_, _ = bank.WriteLength(conn, 3)
	_, _ = conn.Write([]byte{1, 2, 3})
	time.Sleep(20 * time.Millisecond)
	h.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Serve did not return after Close")
	}
	h.Close() // twice is fine
	if err := h.Serve(ln); !errors.Is(err, ErrClosed) {
		t.Fatalf("Serve after Close: %v", err)
	}
}
