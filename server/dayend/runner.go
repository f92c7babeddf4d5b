package dayend

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/multipos/multipos/internal/ids"
	"github.com/multipos/multipos/server/reconcile"
	"github.com/multipos/multipos/server/store"
)

// Options configure a Runner.
type Options struct {
	Store   *store.Store
	Sources []BillSource
	// Dir is where bills are kept as received (Dir/<channel>/), files
	// 0600 in folders 0700.
	Dir  string
	Zone *time.Location // the business day's zone (server.Options.Zone)
	// Owner names who runs: the server instance, or the command.
	Owner string
	// Lease is how long a run may take before another instance may take
	// it over (default 10 minutes).
	Lease time.Duration
	// RetryEvery is how soon a run whose bill was not ready is tried
	// again (default 15 minutes).
	RetryEvery time.Duration
	// Wait is how long after its first try a run keeps waiting for the
	// bill before it fails (default 24 hours).
	Wait   time.Duration
	Logger *slog.Logger
	Now    func() time.Time
}

// Runner reconciles a business day of a channel: see the package doc.
type Runner struct {
	o   Options
	src map[reconcile.Channel]BillSource
}

// New returns a runner.
func New(o Options) (*Runner, error) {
	if o.Store == nil || o.Dir == "" {
		return nil, errors.New("dayend: a store and a folder for the bills are needed")
	}
	if o.Zone == nil {
		o.Zone = time.Local
	}
	if o.Owner == "" {
		o.Owner = ids.Prefixed("recon")
	}
	if o.Lease <= 0 {
		o.Lease = 10 * time.Minute
	}
	if o.RetryEvery <= 0 {
		o.RetryEvery = 15 * time.Minute
	}
	if o.Wait <= 0 {
		o.Wait = 24 * time.Hour
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("dayend: bills folder: %w", err)
	}
	o.Dir = dir
	r := &Runner{o: o, src: map[reconcile.Channel]BillSource{}}
	for _, s := range o.Sources {
		r.src[s.Channel()] = s
	}
	return r, nil
}

// Channels returns the channels the runner has bills of.
func (r *Runner) Channels() []reconcile.Channel {
	out := make([]reconcile.Channel, 0, len(r.o.Sources))
	for _, s := range r.o.Sources {
		out = append(out, s.Channel())
	}
	return out
}

// Recognise returns the channel whose bill raw looks like.
func (r *Runner) Recognise(raw []byte) (reconcile.Channel, error) {
	var found []reconcile.Channel
	for _, s := range r.o.Sources {
		if s.Recognise(raw) {
			found = append(found, s.Channel())
		}
	}
	if len(found) != 1 {
		return "", fmt.Errorf("dayend: cannot tell which channel's bill this is (%d channels recognise it); name the channel", len(found))
	}
	return found[0], nil
}

// Request is one run asked for.
type Request struct {
	Day     string // business day, 2006-01-02
	Channel reconcile.Channel
	Bill    []byte // a bill downloaded by hand, imported instead of fetched; nil fetches
	// Force reruns a day already done (a command); the daily run never
	// does.
	Force bool
}

// Result is what a run did.
type Result struct {
	Run    store.ReconRun
	Report reconcile.Report // empty unless the run is done now
	Taken  bool             // false: not due (done, failed, or waiting for later)
}

// Run reconciles a day of a channel: claim, fetch or import, keep the bill,
// match, settle what is safe, store. A bill not ready leaves the run
// waiting (Result.Run.Status), to be tried again; asked by hand (Force), it
// is an error instead, and the day's run is left as it was.
func (r *Runner) Run(ctx context.Context, q Request) (Result, error) {
	src := r.src[q.Channel]
	if src == nil {
		return Result{}, fmt.Errorf("dayend: no bills of channel %q here", q.Channel)
	}
	dayStart, err := time.ParseInLocation("2006-01-02", q.Day, r.o.Zone)
	if err != nil {
		return Result{}, fmt.Errorf("dayend: day %q: want YYYY-MM-DD: %w", q.Day, err)
	}
	raw, source := q.Bill, "imported"
	if raw == nil && q.Force {
		// By hand: a bill that cannot be had now is said at once, and
		// leaves the day's run as it was.
		source = "fetched"
		if raw, err = src.Fetch(ctx, dayStart); err != nil {
			return Result{}, fmt.Errorf("dayend: %s bill of %s: %w", q.Channel, q.Day, err)
		}
	}
	now := r.o.Now()
	run, ok, err := r.o.Store.ClaimReconRun(ctx, store.Claim{Day: q.Day, Channel: string(q.Channel), Owner: r.o.Owner,
		Lease: r.o.Lease, Deadline: now.Add(r.o.Wait), Force: q.Force, At: now})
	if err != nil || !ok {
		return Result{Run: run}, err
	}
	if raw == nil {
		source = "fetched"
		if raw, err = src.Fetch(ctx, dayStart); err != nil {
			return r.wait(ctx, run, err)
		}
	}
	run.Source = source
	res, err := r.reconcile(ctx, run, src, raw, dayStart)
	if err != nil {
		if ferr := r.o.Store.FailReconRun(context.WithoutCancel(ctx), run.ID, r.o.Owner, err.Error(), r.o.Now()); ferr != nil {
			err = errors.Join(err, ferr)
		}
		run.Status, run.Error = store.RunFailed, err.Error()
		return Result{Run: run, Taken: true}, err
	}
	return res, nil
}

// wait records a bill that could not be fetched: not cut yet, or the
// channel out of reach; tried again later, until the deadline.
func (r *Runner) wait(ctx context.Context, run store.ReconRun, ferr error) (Result, error) {
	retry := r.o.Now().Add(r.o.RetryEvery)
	r.o.Logger.Warn("reconciliation: the bill could not be fetched; trying again later", "day", run.Day, "channel", run.Channel,
		"retry_at", retry, "err", ferr)
	w, err := r.o.Store.WaitReconRun(context.WithoutCancel(ctx), run.ID, r.o.Owner, retry, ferr.Error())
	if err != nil {
		return Result{Run: run, Taken: true}, errors.Join(ferr, err)
	}
	if w.Status == store.RunFailed {
		r.o.Logger.Error("reconciliation: gave up waiting for the bill", "day", run.Day, "channel", run.Channel, "err", ferr)
		return Result{Run: w, Taken: true}, fmt.Errorf("dayend: %s %s: gave up waiting for the bill: %w", run.Day, run.Channel, ferr)
	}
	return Result{Run: w, Taken: true}, nil
}

func (r *Runner) reconcile(ctx context.Context, run store.ReconRun, src BillSource, raw []byte, dayStart time.Time) (Result, error) {
	path, sum, err := r.keep(run, src, raw)
	if err != nil {
		return Result{}, err
	}
	run.BillPath, run.BillSHA256 = path, sum
	began := time.Now()
	lines, j, err := r.parseAndLoad(ctx, run, src, raw, dayStart)
	if err != nil {
		return Result{}, err
	}
	loaded := time.Now()
	rep := reconcile.Match(run.Day, lines, j.Journal)
	if err := r.billedTwice(ctx, run, j, rep.Results); err != nil {
		return Result{}, err
	}
	out, matched := r.settle(ctx, run, lines, j, rep.Results)
	for _, t := range rep.Totals {
		if string(t.Channel) == run.Channel {
			run.Totals = t
		}
	}
	run.Lines, run.Matched, run.Settled, run.Differences = len(out)+len(matched), len(matched), 0, 0
	for i := range out {
		switch {
		case out[i].Class == reconcile.Matched.String():
			run.Matched++
		case out[i].Outcome == store.OutcomeSettled:
			run.Settled++
		case out[i].Outcome == store.OutcomeException:
			run.Differences++
		}
	}
	stored := time.Now()
	if err := r.o.Store.FinishReconRun(ctx, run, out, matched, r.o.Now()); err != nil {
		return Result{}, err
	}
	run.Status = store.RunDone
	r.o.Logger.Info("reconciled", "day", run.Day, "channel", run.Channel, "lines", run.Lines, "matched", run.Matched,
		"settled", run.Settled, "exceptions", run.Differences, "net", run.Totals.Net,
		"read", loaded.Sub(began), "matching", stored.Sub(loaded), "storing", time.Since(stored))
	return Result{Run: run, Report: rep, Taken: true}, nil
}

// parseAndLoad parses the bill while the day's journal is loaded: the
// one is CPU in this process, the other mostly the database's.
func (r *Runner) parseAndLoad(ctx context.Context, run store.ReconRun, src BillSource, raw []byte,
	dayStart time.Time) ([]reconcile.Line, *journal, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type parsed struct {
		lines []reconcile.Line
		err   error
	}
	done := make(chan parsed, 1)
	began := time.Now()
	var parsing time.Duration
	go func() {
		lines, err := src.Parse(raw)
		parsing = time.Since(began)
		if err != nil {
			cancel() // no use loading a journal for a bill that cannot be read
			err = fmt.Errorf("dayend: %s bill of %s (kept at %s): %w", run.Channel, run.Day, run.BillPath, err)
		}
		done <- parsed{lines, err}
	}()
	prev, next := dayStart.AddDate(0, 0, -1).Format("2006-01-02"), dayStart.AddDate(0, 0, 1).Format("2006-01-02")
	j := &journal{}
	var err error
	if run.Channel == string(reconcile.Card) {
		j.Cards, j.cardRefs, err = r.o.Store.ReconCards(ctx, run.Day, prev, next)
	} else {
		j.Journal, j.refs, err = r.o.Store.ReconJournal(ctx, run.Channel, run.Day, prev, next)
		if err == nil {
			j.Prepare() // while the bill is still being parsed, as it often is
		}
	}
	loading := time.Since(began)
	p := <-done
	if p.err != nil {
		return nil, nil, p.err // the bill's error first: the load's is then only its cancellation
	}
	r.o.Logger.Debug("reconciliation: bill and journal read", "day", run.Day, "channel", run.Channel, "bill_lines", len(p.lines),
		"parsing", parsing, "journal_entries", len(j.Orders)+len(j.Refunds)+len(j.Cards), "loading", loading)
	if err != nil {
		return nil, nil, fmt.Errorf("dayend: %s %s: %w", run.Day, run.Channel, err)
	}
	return p.lines, j, nil
}

// keep writes the bill as received under Dir/<channel>/, named by day,
// source and content, so a dispute can replay it.
func (r *Runner) keep(run store.ReconRun, src BillSource, raw []byte) (string, string, error) {
	h := sha256.Sum256(raw)
	sum := hex.EncodeToString(h[:])
	dir := filepath.Join(r.o.Dir, run.Channel)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", fmt.Errorf("dayend: keep bill: %w", err)
	}
	for _, d := range []string{r.o.Dir, dir} {
		if err := os.Chmod(d, 0o700); err != nil {
			return "", "", fmt.Errorf("dayend: keep bill: %w", err)
		}
	}
	path := filepath.Join(dir, run.Day+"_"+run.Source+"_"+sum[:16]+src.Ext(raw))
	if _, err := os.Stat(path); err == nil {
		return path, sum, nil // the same bill again
	}
	tmp, err := os.CreateTemp(dir, ".bill-*")
	if err != nil {
		return "", "", fmt.Errorf("dayend: keep bill: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(raw); err != nil {
		tmp.Close()
		return "", "", fmt.Errorf("dayend: keep bill: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", "", fmt.Errorf("dayend: keep bill: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", "", fmt.Errorf("dayend: keep bill: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", "", fmt.Errorf("dayend: keep bill: %w", err)
	}
	return path, sum, nil
}

// billedTwice turns a line matched with a neighbouring day's entry that
// its own day's bill matched already into a line at the channel only: the
// channel billed the payment twice, and the entry is reported once.
func (r *Runner) billedTwice(ctx context.Context, run store.ReconRun, j *journal, results []reconcile.Result) error {
	byDay := map[string][]int{} // entry day → results
	for i := range results {
		res := &results[i]
		if res.Class != reconcile.Matched || res.Line < 0 || res.Neighbour {
			continue
		}
		switch {
		case res.Order >= 0 && j.Orders[res.Order].Day != run.Day:
			byDay[j.Orders[res.Order].Day] = append(byDay[j.Orders[res.Order].Day], i)
		case res.Card >= 0 && j.Cards[res.Card].Day != run.Day:
			byDay[j.Cards[res.Card].Day] = append(byDay[j.Cards[res.Card].Day], i)
		}
	}
	for day, idx := range byDay {
		ids := make([]string, len(idx))
		for k, i := range idx {
			ids[k] = j.txID(&results[i])
		}
		seen, err := r.o.Store.OwnDayMatched(ctx, run.Channel, day, ids)
		if err != nil {
			return err
		}
		for k, i := range idx {
			if seen[ids[k]] {
				results[i].Class, results[i].Note = reconcile.ChannelOnly, "a second line of a payment on the bill of "+day
				results[i].Order, results[i].Card, results[i].JournalAmount = -1, -1, 0
			}
		}
	}
	return nil
}
