package printer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/multipos/multipos/devices"
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

// deadlineReader is what a socket and a pollable file have in common.
type deadlineReader interface {
	Read(p []byte) (int, error)
	SetReadDeadline(t time.Time) error
}

// readCtx reads once, until ctx's deadline or its cancellation.
func readCtx(ctx context.Context, r deadlineReader, p []byte) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	// The zero deadline clears one left over from an earlier Read.
	deadline, _ := ctx.Deadline()
	if err := r.SetReadDeadline(deadline); err != nil {
		return 0, err
	}
	stop := interruptOnCancel(ctx, r.SetReadDeadline)
	defer stop()
	return r.Read(p)
}

// linkErr wraps err with ErrOffline and, when the deadline that cut the
// I/O short was ctx's, with ctx.Err() too, so callers can tell "the
// printer did not answer in time" from "the link broke".
func linkErr(name, op string, ctx context.Context, err error) error {
	if err == nil {
		err = errors.New("no data")
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		ctxErr := ctx.Err()
		// The poller's timer can fire a moment before ctx's own.
		if d, ok := ctx.Deadline(); ctxErr == nil && ok && !time.Now().Before(d) {
			ctxErr = context.DeadlineExceeded
		}
		if ctxErr != nil {
			err = fmt.Errorf("%w: %w", ctxErr, err)
		}
	}
	return fmt.Errorf("printer %s: %s: %w: %w", name, op, devices.ErrOffline, err)
}

// interruptOnCancel makes a ctx cancellation (not only its deadline)
// unblock pending I/O by moving the deadline into the past. The returned
// stop waits for a callback already running, so it cannot clobber the
// deadline of the next call.
func interruptOnCancel(ctx context.Context, setDeadline func(time.Time) error) (stop func()) {
	if ctx.Done() == nil {
		return func() {}
	}
	done := make(chan struct{})
	unregister := context.AfterFunc(ctx, func() {
		defer close(done)
		_ = setDeadline(time.Unix(1, 0))
	})
	return func() {
		if !unregister() {
			<-done
		}
	}
}
