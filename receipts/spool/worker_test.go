package spool_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/multipos/multipos/devices"
	"github.com/multipos/multipos/devices/printer"
	"github.com/multipos/multipos/i18n"
	"github.com/multipos/multipos/money"
	"github.com/multipos/multipos/receipts"
	"github.com/multipos/multipos/receipts/escpos"
	"github.com/multipos/multipos/receipts/spool"
	"github.com/multipos/multipos/sandbox/netprinter"
)

func copyOf(trace string, c receipts.Copy) receipts.Receipt {
	return receipts.Receipt{
		Lang: i18n.ZH, Copy: c, MerchantName: "多通道示范商户", TerminalID: "T0000001",
		Channel: "wechat", Type: receipts.Sale, Amount: money.Fen(8800), Trace: trace,
		OrderNo: "T0000001202611251654070" + trace, Time: time.Date(2026, 11, 25, 16, 54, 7, 0, time.UTC),
	}
}

type rig struct {
	np  *netprinter.Printer
	p   *printer.Printer
	dir string
}

func newRig(t *testing.T) *rig {
	np, err := netprinter.Start(netprinter.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { np.Close() })
	addr := np.Addr()
	p := printer.New("peer", func(ctx context.Context) (printer.Link, error) { return printer.DialTCP(ctx, addr) },
		receipts.Profile{Width: receipts.Width58, Chinese: escpos.ChineseFS, Cut: escpos.CutPartial})
	t.Cleanup(func() { p.Close() })
	return &rig{np: np, p: p, dir: t.TempDir()}
}

// start opens the spool and runs a worker until the returned stop.
func (r *rig) start(t *testing.T) (*spool.Spool, *spool.Worker, func()) {
	t.Helper()
	s, err := spool.Open(r.dir, spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := spool.NewWorker(s, r.p)
	w.Retry = 20 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	return s, w, func() { cancel(); <-done; s.Close() }
}

func next(t *testing.T, w *spool.Worker, kind spool.EventKind) spool.Event {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case e := <-w.Events():
			if e.Kind == kind {
				return e
			}
		case <-timeout:
			t.Fatalf("no event %d within 5s", kind)
		}
	}
}

func waitSheets(t *testing.T, np *netprinter.Printer, n int) []netprinter.Sheet {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := np.WaitSheets(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Receipts queued while the printer is off survive a restart of the app
// and print, in order, when the printer comes back.
func TestQueueSurvivesRestart(t *testing.T) {
	r := newRig(t)
	r.np.GoAway()
	s, err := spool.Open(r.dir, spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []receipts.Copy{receipts.MerchantCopy, receipts.CustomerCopy} {
		if _, err := s.Add(copyOf("000201", c)); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	_, w, stop := r.start(t)
	if e := next(t, w, spool.Failed); !errors.Is(e.Err, devices.ErrOffline) || e.Queued != 2 {
		t.Fatalf("with the printer off: %+v", e)
	}
	stop() // the app quits with two receipts waiting

	// Counted before the worker starts: once the printer is back it does
	// not wait for the test.
	s, err = spool.Open(r.dir, spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 2 {
		t.Fatalf("%d jobs after restart, want 2", s.Len())
	}
	s.Close()
	if err := r.np.ComeBack(); err != nil {
		t.Fatal(err)
	}
	_, w, stop = r.start(t)
	defer stop()
	next(t, w, spool.Printed)
	if e := next(t, w, spool.Printed); e.Queued != 0 || e.Job.Receipt.Copy != receipts.CustomerCopy {
		t.Fatalf("second printed: %+v", e)
	}
	sheets := waitSheets(t, r.np, 2)
	if !strings.Contains(sheets[0].Text(), "商户存根") || !strings.Contains(sheets[1].Text(), "顾客联") {
		t.Errorf("printed out of order:\n%s\n%s", sheets[0].Text(), sheets[1].Text())
	}
}

// The roll ends in the middle of the merchant copy: the cashier is told,
// and once paper is in, that copy prints again, whole, before the next.
func TestPaperOutMidCopy(t *testing.T) {
	r := newRig(t)
	r.np.PaperOutAfter(6)
	s, err := spool.Open(r.dir, spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Add(copyOf("000202", receipts.MerchantCopy))
	s.Add(copyOf("000202", receipts.CustomerCopy))
	s.Close()
	s, w, stop := r.start(t)
	defer stop()
	e := next(t, w, spool.Failed)
	if !errors.Is(e.Err, devices.ErrPaperOut) || e.Job.Receipt.Copy != receipts.MerchantCopy || e.Job.Attempts != 1 || e.Queued != 2 {
		t.Fatalf("paper out: %+v", e)
	}
	if got, err := s.Pending()[0].LastError, e.Err.Error(); got != err {
		t.Errorf("last error kept as %q", got)
	}
	r.np.Refill()
	if e := next(t, w, spool.Printed); e.Job.Receipt.Copy != receipts.MerchantCopy {
		t.Fatalf("after refill: %+v", e)
	}
	next(t, w, spool.Printed)
	sheets := waitSheets(t, r.np, 3)
	if !sheets[0].Torn || sheets[1].Torn || sheets[2].Torn {
		t.Fatalf("sheets: torn %v %v %v", sheets[0].Torn, sheets[1].Torn, sheets[2].Torn)
	}
	if !strings.Contains(sheets[1].Text(), "商户存根") || !strings.Contains(sheets[2].Text(), "顾客联") {
		t.Errorf("after refill:\n%s\n%s", sheets[1].Text(), sheets[2].Text())
	}
	if last, ok := s.LastOriginal(); !ok || last.Copy != receipts.CustomerCopy {
		t.Errorf("last receipt %+v", last)
	}
}

func TestKickRetriesAtOnce(t *testing.T) {
	r := newRig(t)
	s, err := spool.Open(r.dir, spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w := spool.NewWorker(s, r.p)
	w.Retry = time.Hour // only a kick can bring it back
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go w.Run(ctx)
	r.np.PaperOut()
	s.Add(copyOf("000203", receipts.MerchantCopy))
	next(t, w, spool.Failed)
	r.np.Refill()
	w.Kick()
	next(t, w, spool.Printed)
}

// A card number that reaches the queue unmasked is masked before it is
// written: the queue's files never hold one.
func TestQueueFilesHoldNoCardNumber(t *testing.T) {
	dir := t.TempDir()
	s, err := spool.Open(dir, spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const pan = "6212345678901234569" // Luhn-valid, 19 digits
	r := copyOf("000204", receipts.MerchantCopy)
	r.Channel, r.MaskedPAN, r.Operator = "card", pan, "typed "+pan
	job, err := s.Add(r)
	if err != nil {
		t.Fatal(err)
	}
	if job.Receipt.MaskedPAN != "621234*********4569" {
		t.Errorf("queued with card number %q", job.Receipt.MaskedPAN)
	}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if strings.Contains(string(b), pan) {
			t.Errorf("%s holds the card number", path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
