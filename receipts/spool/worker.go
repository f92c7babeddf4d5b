package spool

import (
	"context"
	"time"

	"github.com/multipos/multipos/devices"
	"github.com/multipos/multipos/receipts"
)

// EventKind says what the print worker did.
type EventKind int

const (
	Printing EventKind = iota + 1 // a job started, or moved on (Sent of Total bytes)
	Printed                       // a job printed whole and left the queue
	Failed                        // a job did not print; it stays queued and prints when the printer is back
)

// Event is one step of the worker, for the screen.
type Event struct {
	Kind        EventKind
	Job         Job
	Sent, Total int    // for Printing, when the printer reports progress
	Where       string // for Printed: where it went (a file in demo mode, the link)
	Err         error  // for Failed
	Queued      int    // jobs waiting, this one included unless it printed
}

// progressPrinter is a printer that says how far a copy has gone.
type progressPrinter interface {
	PrintProgress(ctx context.Context, r receipts.Receipt, progress func(sent, total int)) (devices.Printed, error)
}

// Worker prints the spool's jobs in order, one at a time. A job that fails
// stays first in the queue: the worker asks the printer every Retry until
// it is ready (paper refilled, cover closed, cable back, switched on) or
// until Kick, and prints it again, whole.
type Worker struct {
	Retry   time.Duration // how often a printer that failed is asked again; 0 = 1 s
	Timeout time.Duration // one attempt's limit; 0 = 30 s

	spool   *Spool
	printer devices.Printer
	events  chan Event
	kick    chan struct{}
}

// NewWorker returns a worker printing s's jobs on p. Run starts it.
func NewWorker(s *Spool, p devices.Printer) *Worker {
	return &Worker{spool: s, printer: p, events: make(chan Event, 64), kick: make(chan struct{}, 1)}
}

// Spool is the queue the worker prints.
func (w *Worker) Spool() *Spool { return w.spool }

// Printer is the printer the worker prints on.
func (w *Worker) Printer() devices.Printer { return w.printer }

// Events delivers what the worker does. Printed and Failed events wait
// for a reader; progress is dropped when nobody keeps up.
func (w *Worker) Events() <-chan Event { return w.events }

// Kick makes a waiting worker try again now: the cashier says the paper is in.
func (w *Worker) Kick() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Run prints until ctx ends.
func (w *Worker) Run(ctx context.Context) error {
	retry := w.Retry
	if retry <= 0 {
		retry = time.Second
	}
	for {
		job, ok := w.spool.Next()
		if !ok {
			select {
			case <-w.spool.Changed():
			case <-w.kick:
			case <-ctx.Done():
				return ctx.Err()
			}
			continue
		}
		where, err := w.print(ctx, job)
		if err != nil && ctx.Err() != nil {
			return ctx.Err() // cut off by a stop: it prints again at the next start
		}
		if err == nil { // printed, even if a stop came just after: never twice
			if derr := w.spool.Done(job.ID); derr != nil {
				err = derr
			} else {
				w.send(ctx, Event{Kind: Printed, Job: job, Where: where, Queued: w.spool.Len()})
				continue
			}
		}
		if j, ferr := w.spool.Failed(job.ID, err); ferr == nil {
			job = j
		}
		w.send(ctx, Event{Kind: Failed, Job: job, Err: err, Queued: w.spool.Len()})
		if !w.waitReady(ctx, retry) {
			return ctx.Err()
		}
	}
}

func (w *Worker) print(ctx context.Context, job Job) (string, error) {
	timeout := w.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	queued := w.spool.Len()
	w.offer(Event{Kind: Printing, Job: job, Queued: queued})
	var (
		p   devices.Printed
		err error
	)
	r := job.Receipt
	r.Retry = job.Attempts > 0
	if pp, ok := w.printer.(progressPrinter); ok {
		p, err = pp.PrintProgress(pctx, r, func(sent, total int) {
			w.offer(Event{Kind: Printing, Job: job, Sent: sent, Total: total, Queued: queued})
		})
	} else {
		p, err = w.printer.Print(pctx, r)
	}
	return p.Location, err
}

// waitReady waits until the printer says it is ready, or a kick.
func (w *Worker) waitReady(ctx context.Context, retry time.Duration) bool {
	t := time.NewTicker(retry)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-w.kick:
			return true
		case <-t.C:
			sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			st, err := w.printer.Status(sctx)
			cancel()
			if err == nil && (st == devices.PrinterReady || st == devices.PrinterPaperLow) {
				return true
			}
		}
	}
}

func (w *Worker) send(ctx context.Context, e Event) {
	select {
	case w.events <- e:
	case <-ctx.Done():
	}
}

func (w *Worker) offer(e Event) {
	select {
	case w.events <- e:
	default:
	}
}
