package printer

import (
	"context"
	"errors"
)

// Link is a byte pipe to one printer: a USB bulk endpoint pair, a TCP 9100
// socket or a device file. ESC/POS encoding and status parsing live above
// it, so every transport prints the same bytes and reads status the same way.
type Link interface {
	// Write sends all of p, or fails: when ctx ends, the link breaks or the
	// printer stops taking data. A failure wraps devices.ErrOffline.
	Write(ctx context.Context, p []byte) error
	// Read reads bytes the printer sends back (DLE EOT status answers),
	// waiting until at least one arrives or ctx ends. A write-only link
	// returns ErrNoReadBack.
	Read(ctx context.Context, p []byte) (int, error)
	// Close releases the link; a closed link is not used again.
	Close() error
	// String names the link for the cashier and the logs, e.g.
	// "tcp 192.168.1.80:9100", "usb 0416:5011", "/dev/usb/lp0".
	String() string
}

// ErrNoReadBack is what Read returns on a link that cannot read the
// printer's answers (a plain file, a unidirectional device): its status is
// unknown rather than bad.
var ErrNoReadBack = errors.New("printer link cannot read status")
