package sim

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/multipos/multipos/devices"
	"github.com/multipos/multipos/internal/privfile"
	"github.com/multipos/multipos/receipts"
)

// Printer is the demo printer: each receipt becomes a UTF-8 text file in a
// directory, named after its time, trace number and copy, e.g.
// 20261125-165407-000123-merchant.txt; a settlement slip after its batch,
// 20261125-235001-settlement-000001.txt. It is safe for concurrent use.
type Printer struct {
	dir   string
	width int

	mu      sync.Mutex
	state   devices.PrinterState
	printed []string
	now     func() time.Time // when a receipt has no time of its own
}

var _ devices.Printer = (*Printer)(nil)

// NewPrinter returns a ready printer saving into dir (created when first
// needed) at width characters per line (receipts.Width58 when 0).
func NewPrinter(dir string, width int) *Printer {
	if width <= 0 {
		width = receipts.Width58
	}
	return &Printer{dir: dir, width: width, state: devices.PrinterReady, now: time.Now}
}

// Name is ASCII so that it lines up in any status bar.
func (p *Printer) Name() string { return "demo printer" }

// SetState simulates the printer's condition for trainers and tests: while
// it is not PrinterReady, Print fails and writes nothing.
func (p *Printer) SetState(s devices.PrinterState) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.state = s
}

// Status reports the simulated state, with the matching devices.Err* value
// when it is not ready.
func (p *Printer) Status(ctx context.Context) (devices.PrinterState, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state, stateErr(p.state)
}

// Printed lists the files printed so far, oldest first.
func (p *Printer) Printed() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.printed...)
}

// Print saves the receipt. The file is created exclusively, so a second
// print of the same receipt (a reprint, or two in one second) gets a name of
// its own ("…-merchant-2.txt") instead of overwriting the first.
func (p *Printer) Print(ctx context.Context, r receipts.Receipt) (devices.Printed, error) {
	if err := ctx.Err(); err != nil {
		return devices.Printed{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := stateErr(p.state); err != nil {
		return devices.Printed{}, fmt.Errorf("demo printer: %w", err)
	}
	if err := privfile.MkdirAll(p.dir, nil); err != nil {
		return devices.Printed{}, fmt.Errorf("demo printer: %w", err)
	}
	text := receipts.Text(r, p.width)
	base := p.fileName(r)
	for n := 1; ; n++ {
		name := base + ".txt"
		if n > 1 {
			name = fmt.Sprintf("%s-%d.txt", base, n)
		}
		path := filepath.Join(p.dir, name)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, privfile.FileMode)
		if errors.Is(err, fs.ErrExist) && n < 10000 {
			continue
		}
		if err != nil {
			return devices.Printed{}, fmt.Errorf("demo printer: %w", err)
		}
		_, err = f.WriteString(text)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path) // a half receipt would mislead whoever reads the folder
			return devices.Printed{}, fmt.Errorf("demo printer: %w", err)
		}
		p.printed = append(p.printed, path)
		return devices.Printed{Location: path}, nil
	}
}

func (p *Printer) fileName(r receipts.Receipt) string {
	t := r.Time
	if t.IsZero() {
		t = p.now()
	}
	trace := safeName(r.Trace)
	if trace == "" {
		trace = "000000"
	}
	name := t.Format("20060102-150405") + "-" + trace + "-" + copyName(r.Copy)
	if r.Settlement != nil { // a settlement slip: named by its batch
		name = t.Format("20060102-150405") + "-settlement-" + safeName(r.Settlement.Batch)
	}
	if r.Reprint {
		name += "-reprint"
	}
	return name
}

func copyName(c receipts.Copy) string {
	switch c {
	case receipts.MerchantCopy:
		return "merchant"
	case receipts.CustomerCopy:
		return "customer"
	}
	return "receipt"
}

// safeName keeps letters and digits only, so that a trace number can never
// reach outside the directory or make a name the file system refuses.
func safeName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' {
			return r
		}
		return -1
	}, s)
	return s[:min(len(s), 32)]
}

// stateErr is the error a printer in state s gives for a print.
func stateErr(s devices.PrinterState) error {
	switch s {
	case devices.PrinterReady:
		return nil
	case devices.PrinterPaperOut:
		return devices.ErrPaperOut
	case devices.PrinterCoverOpen:
		return devices.ErrCoverOpen
	}
	return devices.ErrOffline
}
