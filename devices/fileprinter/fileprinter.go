package fileprinter

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/multipos/multipos/devices"
	"github.com/multipos/multipos/internal/privfile"
	"github.com/multipos/multipos/receipts"
)

// Printer appends receipts to a file or device. It is safe for concurrent
// use; prints never interleave.
type Printer struct {
	path  string
	width int
	mu    sync.Mutex
}

var _ devices.Printer = (*Printer)(nil)

// New returns a printer writing to path at width characters per line
// (receipts.Width58 when 0). Nothing is opened until Status or Print.
func New(path string, width int) *Printer {
	if width <= 0 {
		width = receipts.Width58
	}
	return &Printer{path: path, width: width}
}

// Name says where the receipts go.
func (p *Printer) Name() string { return "file printer " + p.path }

// Status is PrinterReady when the path can be written now: an existing file
// or device opens for writing, or a new file's directory exists. Otherwise
// it is PrinterOffline with an error wrapping devices.ErrOffline and the
// cause. A file cannot report paper out or an open cover.
func (p *Printer) Status(ctx context.Context) (devices.PrinterState, error) {
	if err := ctx.Err(); err != nil {
		return devices.PrinterOffline, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.probe(); err != nil {
		return devices.PrinterOffline, p.offline(err)
	}
	return devices.PrinterReady, nil
}

func (p *Printer) probe() error {
	if p.path == "" {
		return fmt.Errorf("no path configured")
	}
	fi, err := os.Stat(p.path)
	if os.IsNotExist(err) {
		dir, derr := os.Stat(filepath.Dir(p.path))
		if derr != nil {
			return derr
		}
		if !dir.IsDir() {
			return fmt.Errorf("%s is not a directory", filepath.Dir(p.path))
		}
		return nil
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("%s is a directory", p.path)
	}
	// O_NONBLOCK: opening a printer device must not hang the status bar.
	f, err := os.OpenFile(p.path, os.O_WRONLY|os.O_APPEND|syscall.O_NONBLOCK, 0)
	if err != nil {
		return err
	}
	return f.Close()
}

// Print appends the receipt's text and a cut line in a single write, so a
// failure leaves at most one partial receipt, never a mix of two.
func (p *Printer) Print(ctx context.Context, r receipts.Receipt) (devices.Printed, error) {
	if err := ctx.Err(); err != nil {
		return devices.Printed{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.path == "" {
		return devices.Printed{}, p.offline(fmt.Errorf("no path configured"))
	}
	// Saved receipts are private (0600); a device keeps the system's mode.
	f, err := privfile.OpenAppend(p.path, nil)
	if err != nil {
		return devices.Printed{}, p.offline(err)
	}
	_, err = f.WriteString(receipts.Text(r, p.width) + CutLine(p.width))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return devices.Printed{}, p.offline(err)
	}
	return devices.Printed{Location: p.path}, nil
}

// CutLine is what follows each receipt: paper to tear off at, and a
// scissors line showing where one receipt ends in a file.
func CutLine(width int) string {
	if width <= 0 {
		width = receipts.Width58
	}
	line := "8<" + strings.Repeat(" -", (width-2)/2)
	return "\n\n" + line + "\n\n"
}

func (p *Printer) offline(cause error) error {
	return fmt.Errorf("file printer %s: %w: %w", p.path, devices.ErrOffline, cause)
}
