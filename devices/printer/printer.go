package printer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/multipos/multipos/devices"
	"github.com/multipos/multipos/receipts"
	"github.com/multipos/multipos/receipts/escpos"
)

// Dialer opens a fresh link to the printer. The printer dials again after
// any failure, so a cable plugged back in or a printer switched on again
// is found without a restart.
type Dialer func(ctx context.Context) (Link, error)

// Printer is an ESC/POS printer behind a link. It is safe for concurrent
// use; prints and status queries never interleave.
type Printer struct {
	name    string
	dial    Dialer
	profile receipts.Profile
	// StatusWait bounds the wait for one DLE EOT answer.
	StatusWait time.Duration

	mu     sync.Mutex
	link   Link
	silent bool // this link never answered a status query: status unknown
	spoke  bool // this link answered at least once
}

var _ devices.Printer = (*Printer)(nil)

// New returns a printer named name (for the status bar and `pos doctor`)
// that dials with dial and prints for profile. Nothing is dialled yet.
func New(name string, dial Dialer, profile receipts.Profile) *Printer {
	return &Printer{name: name, dial: dial, profile: profile, StatusWait: time.Second}
}

// Name says which printer this is.
func (p *Printer) Name() string { return p.name }

// Profile is how the printer prints.
func (p *Printer) Profile() receipts.Profile { return p.profile }

// chunk bounds one write, so that progress moves and a printer that stops
// taking data is noticed at the part that did not go out.
const chunk = 256

// Status asks the printer how it is. A printer that cannot answer (a
// one-way link, a model without DLE EOT) is reported ready: only printing
// can tell.
func (p *Printer) Status(ctx context.Context) (devices.PrinterState, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st, err := p.status(ctx)
	return stateOf(st, err), p.explain(st, err)
}

// Detail is Status with the printer's own flags, for `pos doctor`.
func (p *Printer) Detail(ctx context.Context) (escpos.Status, bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st, err := p.status(ctx)
	return st, !p.silent, err
}

// Print prints one copy.
func (p *Printer) Print(ctx context.Context, r receipts.Receipt) (devices.Printed, error) {
	return p.PrintProgress(ctx, r, nil)
}

// PrintProgress prints one copy, calling progress (if not nil) as bytes
// go out. It checks the printer first and refuses to start when it is not
// ready; it checks again after the last byte, so a copy the paper ran out
// in the middle of is reported as not printed and can be printed again.
func (p *Printer) PrintProgress(ctx context.Context, r receipts.Receipt, progress func(sent, total int)) (devices.Printed, error) {
	return p.PrintBytes(ctx, receipts.ESCPOS(r, p.profile), progress)
}

// PrintBytes sends an ESC/POS job as PrintProgress does.
func (p *Printer) PrintBytes(ctx context.Context, b []byte, progress func(sent, total int)) (devices.Printed, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st, err := p.status(ctx)
	if err := p.explain(st, err); err != nil {
		return devices.Printed{}, err
	}
	for sent := 0; sent < len(b); {
		n := min(chunk, len(b)-sent)
		if err := p.link.Write(ctx, b[sent:sent+n]); err != nil {
			p.drop()
			return devices.Printed{}, fmt.Errorf("%s: %d of %d bytes sent: %w", p.name, sent, len(b), err)
		}
		sent += n
		if progress != nil {
			progress(sent, len(b))
		}
	}
	st, err = p.status(ctx)
	if err := p.explain(st, err); err != nil {
		return devices.Printed{}, fmt.Errorf("the copy may be cut short: %w", err)
	}
	return devices.Printed{}, nil // on paper: nothing saved to point to
}

// status dials when needed and asks DLE EOT 1, 2 and 4. Caller holds mu.
func (p *Printer) status(ctx context.Context) (escpos.Status, error) {
	if p.link == nil {
		l, err := p.dial(ctx)
		if err != nil {
			return escpos.Status{}, fmt.Errorf("%s: %w", p.name, err)
		}
		p.link, p.silent, p.spoke = l, false, false
	}
	var st escpos.Status
	if p.silent {
		return st, nil
	}
	queries := []byte{escpos.StatusPrinter, escpos.StatusOffline, escpos.StatusPaper}
	answers, err := p.ask(ctx, queries)
	switch {
	case errors.Is(err, ErrNoReadBack) || err != nil && !p.spoke && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded):
		// Never answered on this link: a model or link without status.
		// Printing still works; only its result tells.
		p.silent = true
		return escpos.Status{}, nil
	case err != nil:
		// It answered before and not now, or the link broke: whatever it
		// says next could be a late answer to this question.
		p.drop()
		return st, fmt.Errorf("%s: status: %w", p.name, err)
	}
	p.spoke = true
	for i, n := range queries {
		if err := st.Apply(n, answers[i]); err != nil {
			p.drop()
			return st, fmt.Errorf("%s: %w: %w", p.name, devices.ErrOffline, err)
		}
	}
	return st, nil
}

// ask sends the queries in one write, so that the three answers cost one
// round trip, and reads one answer for each, in order, skipping bytes that
// are not a status byte (unsolicited ASB noise).
func (p *Printer) ask(ctx context.Context, queries []byte) ([]byte, error) {
	var q []byte
	for _, n := range queries {
		q = append(q, escpos.Query(n)...)
	}
	if err := p.link.Write(ctx, q); err != nil {
		return nil, err
	}
	wait, cancel := context.WithTimeout(ctx, p.StatusWait)
	defer cancel()
	answers := make([]byte, 0, len(queries))
	buf := make([]byte, 8)
	for len(answers) < len(queries) {
		k, err := p.link.Read(wait, buf[:len(queries)-len(answers)])
		if err != nil {
			if wait.Err() != nil && ctx.Err() == nil {
				return nil, fmt.Errorf("%d of %d answers to DLE EOT within %v: %w: %w", len(answers), len(queries), p.StatusWait, devices.ErrOffline, context.DeadlineExceeded)
			}
			return nil, err
		}
		for _, b := range buf[:k] {
			if escpos.Valid(b) {
				answers = append(answers, b)
			}
		}
	}
	return answers, nil
}

func (p *Printer) drop() {
	if p.link != nil {
		p.link.Close()
		p.link = nil
	}
}

// explain turns a status into the error a print gives, or nil when ready.
func (p *Printer) explain(st escpos.Status, err error) error {
	if err != nil {
		if !errors.Is(err, devices.ErrOffline) {
			err = fmt.Errorf("%w: %w", devices.ErrOffline, err)
		}
		return err
	}
	switch {
	case st.CoverOpen:
		return fmt.Errorf("%s: %w", p.name, devices.ErrCoverOpen)
	case st.PaperOut:
		return fmt.Errorf("%s: %w", p.name, devices.ErrPaperOut)
	case !st.Ready():
		return fmt.Errorf("%s: %w (%s)", p.name, devices.ErrOffline, st)
	}
	return nil
}

func stateOf(st escpos.Status, err error) devices.PrinterState {
	switch {
	case err != nil:
		return devices.PrinterOffline
	case st.CoverOpen:
		return devices.PrinterCoverOpen
	case st.PaperOut:
		return devices.PrinterPaperOut
	case !st.Ready():
		return devices.PrinterOffline
	case st.PaperLow:
		return devices.PrinterPaperLow
	}
	return devices.PrinterReady
}

// Close drops the link.
func (p *Printer) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.drop()
	return nil
}
