package printer

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/multipos/multipos/devices"
	"github.com/multipos/multipos/i18n"
	"github.com/multipos/multipos/money"
	"github.com/multipos/multipos/receipts"
	"github.com/multipos/multipos/receipts/escpos"
	"github.com/multipos/multipos/sandbox/netprinter"
)

func peer(t *testing.T) (*netprinter.Printer, *Printer) {
	t.Helper()
	return peerWith(t, netprinter.Options{})
}

func peerWith(t *testing.T, o netprinter.Options) (*netprinter.Printer, *Printer) {
	t.Helper()
	np, err := netprinter.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { np.Close() })
	addr := np.Addr()
	p := New("test printer", func(ctx context.Context) (Link, error) { return DialTCP(ctx, addr) },
		receipts.Profile{Width: receipts.Width58, Chinese: escpos.ChineseFS, Cut: escpos.CutPartial})
	p.StatusWait = 300 * time.Millisecond
	t.Cleanup(func() { p.Close() })
	return np, p
}

func sale() receipts.Receipt {
	return receipts.Receipt{
		Lang: i18n.ZH, Copy: receipts.MerchantCopy, MerchantName: "多通道示范商户", MerchantID: "898310048160001",
		TerminalID: "T0000001", Operator: "01", Channel: "alipay", Type: receipts.Sale, Amount: money.Fen(8800),
		OrderNo: "T00000012026112516540700001", TradeNo: "2026112522001412345678901234", Trace: "000124",
		Time: time.Date(2026, 11, 25, 16, 54, 7, 0, time.UTC),
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestPrintOnPeer(t *testing.T) {
	np, p := peer(t)
	if st, err := p.Status(ctx(t)); st != devices.PrinterReady || err != nil {
		t.Fatalf("status %v %v", st, err)
	}
	var last, calls int
	if _, err := p.PrintProgress(ctx(t), sale(), func(sent, total int) {
		if sent <= last || sent > total {
			t.Errorf("progress %d/%d after %d", sent, total, last)
		}
		last, calls = sent, calls+1
	}); err != nil {
		t.Fatal(err)
	}
	want := escpos.Decode(receipts.ESCPOS(sale(), p.Profile()), escpos.ChineseNone).String()
	sheets, err := np.WaitSheets(ctx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := sheets[0].Text(); got != want || !sheets[0].Cut {
		t.Errorf("printed:\n%s\nwant:\n%s", got, want)
	}
	if total := len(receipts.ESCPOS(sale(), p.Profile())); last != total || calls < total/chunk {
		t.Errorf("progress ended at %d of %d after %d calls", last, total, calls)
	}
}

func TestPrinterProblems(t *testing.T) {
	np, p := peer(t)
	np.PaperOut()
	if st, _ := p.Status(ctx(t)); st != devices.PrinterPaperOut {
		t.Errorf("status %v, want paper out", st)
	}
	if _, err := p.Print(ctx(t), sale()); !errors.Is(err, devices.ErrPaperOut) {
		t.Errorf("print without paper: %v", err)
	}
	if n := len(np.Sheets()); n != 0 {
		t.Errorf("%d sheets printed without paper", n)
	}
	np.Refill()
	np.SetStatus(escpos.Status{CoverOpen: true})
	if _, err := p.Print(ctx(t), sale()); !errors.Is(err, devices.ErrCoverOpen) {
		t.Errorf("print with the cover open: %v", err)
	}
	np.SetStatus(escpos.Status{PaperLow: true})
	if st, _ := p.Status(ctx(t)); st != devices.PrinterPaperLow {
		t.Errorf("status %v, want paper low", st)
	}

	// The roll ends in the middle of the copy: the print fails, so the copy
	// is printed again once paper is in.
	np.SetStatus(escpos.Status{})
	np.PaperOutAfter(5)
	_, err := p.Print(ctx(t), sale())
	if !errors.Is(err, devices.ErrPaperOut) || !strings.Contains(err.Error(), "cut short") {
		t.Fatalf("paper out mid-copy: %v", err)
	}
	if s := np.Sheets(); len(s) != 1 || !s[0].Torn {
		t.Fatalf("sheets %+v", s)
	}
	np.Refill()
	if _, err := p.Print(ctx(t), sale()); err != nil {
		t.Fatal(err)
	}
	if s, _ := np.WaitSheets(ctx(t), 2); s[1].Torn || !s[1].Cut {
		t.Errorf("reprint after refill: %+v", s[1])
	}

	// Switched off, then on again: found again without a restart.
	np.GoAway()
	if st, err := p.Status(ctx(t)); st != devices.PrinterOffline || !errors.Is(err, devices.ErrOffline) {
		t.Errorf("printer away: %v %v", st, err)
	}
	if _, err := p.Print(ctx(t), sale()); !errors.Is(err, devices.ErrOffline) {
		t.Errorf("print to a printer away: %v", err)
	}
	if err := np.ComeBack(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Print(ctx(t), sale()); err != nil {
		t.Fatalf("after coming back: %v", err)
	}
}

// A printer that never answers DLE EOT still prints: its status is unknown,
// not bad.
func TestSilentPrinter(t *testing.T) {
	np, p := peer(t)
	np.Silent(true)
	for range 2 {
		if _, err := p.Print(ctx(t), sale()); err != nil {
			t.Fatal(err)
		}
	}
	if s, err := np.WaitSheets(ctx(t), 2); err != nil || s[1].Torn {
		t.Fatalf("%v %+v", err, s)
	}
	// Only one round of queries (DLE EOT 1, 2 and 4 in one write) waited
	// for answers that never came; the link is not asked again.
	if n := np.Queries(); n != 3 {
		t.Errorf("%d status queries to a silent printer, want one round of 3", n)
	}
}

// After the last byte the printer is asked GS r, which it answers only
// once it has got through the copy; a model without GS r still prints, on
// the DLE EOT check alone, and a roll that runs out shows either way.
func TestCopyCompletion(t *testing.T) {
	np, p := peer(t)
	for range 2 {
		if _, err := p.Print(ctx(t), sale()); err != nil {
			t.Fatal(err)
		}
	}
	// One GS r to learn the printer takes it, then one after each copy.
	if n := np.Transmits(); n != 3 {
		t.Errorf("%d GS r sent, want 3", n)
	}

	np2, p2 := peerWith(t, netprinter.Options{NoTransmit: true})
	if _, err := p2.Print(ctx(t), sale()); err != nil {
		t.Fatal(err)
	}
	if _, err := p2.Print(ctx(t), sale()); err != nil {
		t.Fatal(err)
	}
	if n := np2.Transmits(); n != 1 {
		t.Errorf("%d GS r sent to a printer that never answers one, want 1", n)
	}
	np2.PaperOutAfter(4)
	if _, err := p2.Print(ctx(t), sale()); !errors.Is(err, devices.ErrPaperOut) {
		t.Errorf("paper out mid-copy without GS r: %v", err)
	}
}

// The status bar asks while the print queue prints: Status answers what
// was known last without waiting, and without a data race (go test -race).
func TestStatusWhilePrinting(t *testing.T) {
	_, p := peer(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 5 {
			if _, err := p.Print(ctx(t), sale()); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for {
		select {
		case <-done:
			return
		default:
		}
		if st, err := p.Status(ctx(t)); st != devices.PrinterReady || err != nil {
			t.Fatalf("status while printing: %v %v", st, err)
		}
	}
}
