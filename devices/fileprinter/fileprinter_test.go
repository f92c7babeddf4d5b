package fileprinter

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
	"github.com/multipos/multipos/i18n"
	"github.com/multipos/multipos/receipts"
)

func receipt(trace string) receipts.Receipt {
	return receipts.Receipt{
		Lang: i18n.EN, Copy: receipts.CustomerCopy, MerchantName: "Demo", MerchantID: "898310048160001",
		TerminalID: "T0000001", Channel: "alipay", Type: receipts.Sale, Amount: 8800, Trace: trace,
		Time: time.Date(2026, 11, 25, 16, 54, 7, 0, time.UTC),
	}
}

func TestAppends(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "printer.txt")
	p := New(path, receipts.Width80)
	if st, err := p.Status(ctx); st != devices.PrinterReady || err != nil {
		t.Fatalf("status of a new file in an existing dir: %v %v", st, err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Error("Status created the file")
	}
	for _, trace := range []string{"000001", "000002"} {
		got, err := p.Print(ctx, receipt(trace))
		if err != nil || got.Location != path {
			t.Fatalf("print: %+v %v", got, err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := receipts.Text(receipt("000001"), 48) + CutLine(48) + receipts.Text(receipt("000002"), 48) + CutLine(48)
	if string(b) != want {
		t.Errorf("file:\n%s\nwant:\n%s", b, want)
	}
	if strings.Count(string(b), "8< - -") != 2 {
		t.Error("each receipt should end in a cut line")
	}
	if st, err := p.Status(ctx); st != devices.PrinterReady || err != nil {
		t.Errorf("status of the existing file: %v %v", st, err)
	}
}

func TestCutLineWidth(t *testing.T) {
	for _, w := range []int{32, 48, 0, 33} {
		for _, l := range strings.Split(CutLine(w), "\n") {
			if max := max(w, 32); len(l) > max {
				t.Errorf("width %d: %q", w, l)
			}
		}
	}
}

func TestOffline(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ro := filepath.Join(dir, "ro.txt")
	os.WriteFile(ro, nil, 0o444)
	for name, path := range map[string]string{
		"missing dir": filepath.Join(dir, "nope", "printer.txt"),
		"directory":   dir,
		"no path":     "",
		"read-only":   ro,
	} {
		if name == "read-only" && os.Geteuid() == 0 {
			continue // root writes anyway
		}
		p := New(path, 32)
		st, err := p.Status(ctx)
		if st != devices.PrinterOffline || !errors.Is(err, devices.ErrOffline) {
			t.Errorf("%s: status %v %v", name, st, err)
		}
		if _, err := p.Print(ctx, receipt("1")); !errors.Is(err, devices.ErrOffline) {
			t.Errorf("%s: print %v", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "nope")); !errors.Is(err, fs.ErrNotExist) {
		t.Error("a failed print created the directory")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := New(filepath.Join(dir, "x"), 32).Print(cancelled, receipt("1")); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestOfflineWrapsCause(t *testing.T) {
	_, err := New(filepath.Join(t.TempDir(), "nope", "p"), 32).Print(context.Background(), receipt("1"))
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "printer offline") {
		t.Errorf("error %v should say offline and keep the cause", err)
	}
}

// A device that refuses the write (Linux's /dev/full answers ENOSPC) makes
// the print fail as offline, though the device opens.
func TestWriteFails(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Fatalf("this test needs Linux's /dev/full: %v", err)
	}
	p := New("/dev/full", 32)
	if st, err := p.Status(context.Background()); st != devices.PrinterReady || err != nil {
		t.Errorf("status %v %v", st, err)
	}
	if _, err := p.Print(context.Background(), receipt("1")); !errors.Is(err, devices.ErrOffline) {
		t.Errorf("print to /dev/full: %v", err)
	}
}
