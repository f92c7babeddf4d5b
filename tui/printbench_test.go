package tui

import (
	"context"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/devices/printer"
	"github.com/multipos/multipos/receipts"
	"github.com/multipos/multipos/receipts/escpos"
	"github.com/multipos/multipos/receipts/spool"
	"github.com/multipos/multipos/sandbox/netprinter"
)

// BenchmarkConfirmToMerchantCopy is the cashier's Confirm on the result
// screen up to the last byte of the merchant copy at the printer: the
// receipt screen's Update, the copy rendered and stored durably in the
// print queue (fsync), the worker waking, DLE EOT status before and after
// over TCP, the ESC/POS bytes written, and the printer peer reading them to
// the cut. One card sale's merchant copy per iteration, on 58 mm paper.
func BenchmarkConfirmToMerchantCopy(b *testing.B) {
	np, err := netprinter.Start(netprinter.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer np.Close()
	addr := np.Addr()
	prof := receipts.Profile{Width: receipts.Width58, Chinese: escpos.ChineseFS, Cut: escpos.CutPartial}
	pr := printer.New("bench", func(ctx context.Context) (printer.Link, error) { return printer.DialTCP(ctx, addr) }, prof)
	defer pr.Close()
	q, err := spool.Open(b.TempDir(), spool.Options{Keep: 50})
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	w := spool.NewWorker(q, pr)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go w.Run(ctx)

	c := testCommon(b)
	c.opts.Prints, c.opts.Printer, c.opts.TerminalID = w, pr, "T0000001"
	c.Info.MerchantName, c.Info.MerchantID = "多通道示范商户", "898310048160001"
	enter := tea.KeyMsg{Type: tea.KeyEnter}
	var size int
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		p := c.newPayment(api.Card)
		p.order = api.Order{ID: "o", Channel: api.Card, State: api.StateSuccess, Amount: 8800, Trace: "000123",
			MaskedPAN: "621234******0001", Entry: "chip", AuthCode: "123456", RRN: "633012345678", Batch: "000001",
			OutTradeNo: "T00000012026112516540700002", UpdatedAt: time.Date(2026, 11, 25, 16, 54, 7, 0, time.UTC)}
		res := newResult(c, p)
		b.StartTimer()

		s, cmd := res.Update(enter)
		if next, _ := s.Update(cmd()); next != s {
			b.Fatal("Confirm did not open the receipt")
		}
		if _, err := np.WaitSheets(context.Background(), i+1); err != nil {
			b.Fatal(err)
		}

		b.StopTimer()
		// The worker moves the job to the history (two more fsyncs) after
		// the last byte; the next Confirm at a counter comes long after.
		for ev := range w.Events() {
			if ev.Kind == spool.Printed {
				break
			}
		}
		if i == 0 {
			size = len(receipts.ESCPOS(s.(*receiptScreen).receipt(), prof))
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(size), "bytes/copy")
}
