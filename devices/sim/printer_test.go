package sim

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/multipos/multipos/devices"
	"github.com/multipos/multipos/i18n"
	"github.com/multipos/multipos/receipts"
)

func receipt() receipts.Receipt {
	return receipts.Receipt{
		Lang: i18n.ZH, Copy: receipts.MerchantCopy, MerchantName: "多通道示范商户", MerchantID: "898310048160001",
		TerminalID: "T0000001", Channel: "card", Type: receipts.Sale, Amount: 1234,
		MaskedPAN: "621234******0001", Trace: "000123", Time: time.Date(2026, 11, 25, 16, 54, 7, 0, time.Local),
	}
}

func TestPrinterSaves(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "receipts") // created on first print
	p := NewPrinter(dir, receipts.Width58)
	ctx := context.Background()
	if st, err := p.Status(ctx); st != devices.PrinterReady || err != nil || p.Name() != "demo printer" {
		t.Fatalf("status %v %v, name %q", st, err, p.Name())
	}
	r := receipt()
	first, err := p.Print(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(first.Location) != "20261125-165407-000123-merchant.txt" {
		t.Errorf("file name %s", first.Location)
	}
	b, err := os.ReadFile(first.Location)
	if err != nil || string(b) != receipts.Text(r, receipts.Width58) {
		t.Errorf("file holds %q, %v", b, err)
	}
	second, err := p.Print(ctx, r) // same second, same trace, same copy
	if err != nil || second.Location == first.Location || filepath.Base(second.Location) != "20261125-165407-000123-merchant-2.txt" {
		t.Errorf("second print %q, %v", second.Location, err)
	}
	r.Copy, r.Reprint, r.Trace = receipts.CustomerCopy, true, "../../etc"
	third, err := p.Print(ctx, r)
	if err != nil || filepath.Base(third.Location) != "20261125-165407-etc-customer-reprint.txt" || filepath.Dir(third.Location) != dir {
		t.Errorf("third print %q, %v", third.Location, err)
	}
	if got := p.Printed(); len(got) != 3 || got[0] != first.Location || got[2] != third.Location {
		t.Errorf("Printed() = %v", got)
	}
}

func TestPrinterNoTime(t *testing.T) {
	p := NewPrinter(t.TempDir(), 0)
	p.now = func() time.Time { return time.Date(2027, 1, 2, 3, 4, 5, 0, time.Local) }
	r := receipt()
	r.Time, r.Trace, r.Copy = time.Time{}, "", 0
	got, err := p.Print(context.Background(), r)
	if err != nil || filepath.Base(got.Location) != "20270102-030405-000000-receipt.txt" {
		t.Errorf("%q, %v", got.Location, err)
	}
	b, _ := os.ReadFile(got.Location)
	for _, l := range strings.Split(string(b), "\n") {
		if len([]rune(l)) > 32 {
			t.Errorf("width 0 should mean 32 columns: %q", l)
		}
	}
}

func TestPrinterFaults(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p := NewPrinter(dir, receipts.Width80)
	for _, c := range []struct {
		state devices.PrinterState
		err   error
	}{
		{devices.PrinterPaperOut, devices.ErrPaperOut},
		{devices.PrinterCoverOpen, devices.ErrCoverOpen},
		{devices.PrinterOffline, devices.ErrOffline},
		{devices.PrinterNone, devices.ErrOffline},
	} {
		p.SetState(c.state)
		if st, err := p.Status(ctx); st != c.state || !errors.Is(err, c.err) {
			t.Errorf("status %v, %v; want %v, %v", st, err, c.state, c.err)
		}
		if _, err := p.Print(ctx, receipt()); !errors.Is(err, c.err) {
			t.Errorf("print in state %v: %v, want %v", c.state, err, c.err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 || len(p.Printed()) != 0 {
		t.Errorf("a failed print wrote %d files", len(entries))
	}
	p.SetState(devices.PrinterReady)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := p.Print(cancelled, receipt()); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled print: %v", err)
	}
	if _, err := p.Print(ctx, receipt()); err != nil {
		t.Errorf("print after the fault is cleared: %v", err)
	}
}

func TestPrinterUnwritableDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-dir")
	os.WriteFile(file, nil, 0o644)
	p := NewPrinter(file, 32)
	if _, err := p.Print(context.Background(), receipt()); err == nil {
		t.Error("printing into a file as directory succeeded")
	}
}

func TestPrintedNamesNoFullPAN(t *testing.T) {
	p := NewPrinter(t.TempDir(), 32)
	r := receipt()
	r.MaskedPAN = "6212345678900001" // a caller's mistake: the printer still masks it
	got, err := p.Print(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(got.Location)
	if regexp.MustCompile(`\d{16,}`).Match(b) {
		t.Errorf("full card number saved:\n%s", b)
	}
}
