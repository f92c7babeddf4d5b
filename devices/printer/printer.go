package printer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	// PrintWait bounds the wait, after the last byte of a copy, for the
	// printer to say it has got through it (GS r, answered in sequence).
	PrintWait time.Duration

	mu      sync.Mutex
	link    Link
	silent  bool      // this link never answered a status query: status unknown
	probeAt time.Time // when to ask a silent link again (it may have been booting)
	spoke   bool      // this link answered at least once
	inSeq   int       // GS r on this link: 0 not asked yet, 1 answered, -1 not
	paper   int       // the answer to the last GS r, -1 while none came
	// What Status said last, for when a print holds the printer: under
	// lastMu, since Status reads it while a print holds mu.
	lastMu    sync.Mutex
	lastState devices.PrinterState
	lastErr   error
}

var _ devices.Printer = (*Printer)(nil)

// New returns a printer named name (for the status bar and `pos doctor`)
// that dials with dial and prints for profile. Nothing is dialled yet.
func New(name string, dial Dialer, profile receipts.Profile) *Printer {
	return &Printer{name: name, dial: dial, profile: profile, StatusWait: time.Second, PrintWait: 20 * time.Second}
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
	if !p.mu.TryLock() {
		// A print holds the printer (up to PrintWait and more): the status
		// bar gets what was last known rather than waiting for it.
		return p.last()
	}
	defer p.mu.Unlock()
	st, err := p.status(ctx)
	state, _ := p.last()
	return state, p.explain(st, err)
}

// last is what the printer said last.
func (p *Printer) last() (devices.PrinterState, error) {
	p.lastMu.Lock()
	defer p.lastMu.Unlock()
	return p.lastState, p.lastErr
}

// Answers says whether the printer answered the last status query, for
// `pos doctor`: a printer that does not has its status unknown.
func (p *Printer) Answers() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.link != nil && !p.silent
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
	if err := p.finished(ctx); err != nil {
		return devices.Printed{}, fmt.Errorf("the copy may be cut short: %w", err)
	}
	return devices.Printed{}, nil // on paper: nothing saved to point to
}

// finished tells whether the copy just sent came out whole. DLE EOT is
// answered the moment it arrives, while the printer may still be printing
// from its buffer, so it cannot say that the roll held out to the end. GS r
// (transmit paper sensor status) is answered only once the data before it
// has been processed, and a printer that ran out of paper holds it until
// it is refilled: its answer means the copy came out whole. While waiting
// for it, DLE EOT every StatusWait notices a roll that ran out at once.
// Printers without GS r get the DLE EOT check only, which catches a printer
// that stopped before the end of the data.
func (p *Printer) finished(ctx context.Context) error {
	if p.inSeq != 1 {
		st, err := p.status(ctx)
		return p.explain(st, err)
	}
	p.paper = -1
	if err := p.link.Write(ctx, escpos.TransmitPaper()); err != nil {
		p.drop()
		return fmt.Errorf("%s: %w", p.name, err)
	}
	deadline := time.Now().Add(p.PrintWait)
	for {
		if p.paper < 0 {
			if err := p.readPaper(ctx, min(time.Until(deadline), p.StatusWait)); err != nil && !errors.Is(err, context.DeadlineExceeded) {
				p.drop()
				return fmt.Errorf("%s: %w", p.name, err)
			}
		}
		if p.paper >= 0 {
			if p.paper&0x0C != 0 {
				return fmt.Errorf("%s: %w", p.name, devices.ErrPaperOut)
			}
			return nil
		}
		// Not through yet: still printing, or stopped. Ask in real time.
		st, err := p.status(ctx)
		if err := p.explain(st, err); err != nil {
			return err
		}
		if time.Now().After(deadline) && p.paper < 0 {
			slog.Warn("printer: no answer to GS r after a copy, but its status is ready", "printer", p.name, "waited", p.PrintWait)
			p.drop() // its answer may still come, and must not answer the next copy's
			return nil
		}
	}
}

// readPaper reads until the answer to GS r (a byte with bit 4 clear; DLE
// EOT answers have it set) or until wait passes.
func (p *Printer) readPaper(ctx context.Context, wait time.Duration) error {
	wctx, cancel := context.WithTimeout(ctx, max(wait, time.Millisecond))
	defer cancel()
	var buf [1]byte
	for p.paper < 0 {
		k, err := p.link.Read(wctx, buf[:])
		if err != nil {
			if wctx.Err() != nil && ctx.Err() == nil {
				return fmt.Errorf("no answer to GS r within %v: %w", wait, context.DeadlineExceeded)
			}
			return err
		}
		if k == 1 && escpos.ValidPaper(buf[0]) {
			p.paper = int(buf[0])
		}
	}
	return nil
}

// status dials when needed and asks DLE EOT 1, 2 and 4, and remembers
// the answer for Status. Caller holds mu.
func (p *Printer) status(ctx context.Context) (escpos.Status, error) {
	st, err := p.query(ctx)
	state, explained := stateOf(st, err), p.explain(st, err)
	p.lastMu.Lock()
	p.lastState, p.lastErr = state, explained
	p.lastMu.Unlock()
	return st, err
}

func (p *Printer) query(ctx context.Context) (escpos.Status, error) {
	if p.link == nil {
		l, err := p.dial(ctx)
		if err != nil {
			return escpos.Status{}, fmt.Errorf("%s: %w", p.name, err)
		}
		p.link, p.silent, p.spoke, p.inSeq = l, false, false, 0
	}
	var st escpos.Status
	if p.silent && time.Now().Before(p.probeAt) {
		return st, nil
	}
	queries := []byte{escpos.StatusPrinter, escpos.StatusOffline, escpos.StatusPaper}
	answers, err := p.ask(ctx, queries)
	switch {
	case errors.Is(err, ErrNoReadBack) || err != nil && !p.spoke && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded):
		// Never answered on this link: a model or link without status.
		// Printing still works; only its result tells. It is asked again
		// now and then: it may only have been starting up.
		p.silent, p.probeAt = true, time.Now().Add(5*time.Minute)
		return escpos.Status{}, nil
	case err != nil:
		// It answered before and not now, or the link broke: whatever it
		// says next could be a late answer to this question.
		p.drop()
		return st, fmt.Errorf("%s: status: %w", p.name, err)
	}
	p.spoke, p.silent = true, false
	for i, n := range queries {
		if err := st.Apply(n, answers[i]); err != nil {
			p.drop()
			return st, fmt.Errorf("%s: %w: %w", p.name, devices.ErrOffline, err)
		}
	}
	if p.inSeq == 0 && st.Ready() {
		// Idle and ready: if it takes GS r, the answer comes at once.
		p.inSeq, p.paper = -1, -1
		if err := p.link.Write(ctx, escpos.TransmitPaper()); err == nil {
			err = p.readPaper(ctx, p.StatusWait)
			if err != nil && !errors.Is(err, context.DeadlineExceeded) {
				p.drop()
				return st, fmt.Errorf("%s: %w: %w", p.name, devices.ErrOffline, err)
			}
		}
		if p.paper >= 0 {
			p.inSeq = 1
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
			switch {
			case escpos.Valid(b):
				answers = append(answers, b)
			case escpos.ValidPaper(b) && p.paper < 0:
				p.paper = int(b) // GS r's answer, arrived in the middle
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
