package spool

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/multipos/multipos/money"
	"github.com/multipos/multipos/receipts"
)

// formatVersion is written into every job file. Open moves a file with any
// other version to bad/ rather than guess at what its fields mean.
const formatVersion = 1

// DefaultKeep is the history length when Options.Keep is not set: a busy day
// at one counter, so "reprint by trace" still works for this morning's sales.
const DefaultKeep = 200

// Outcomes recorded in history files, for a person reading them later.
const (
	outcomePrinted = "printed"
	outcomeDropped = "dropped"
)

var (
	// ErrNotFound is returned for a job ID that is not in the queue.
	ErrNotFound = errors.New("no such queued job")
	// ErrClosed is returned by changes after Close.
	ErrClosed = errors.New("spool closed")
)

// Job is one receipt copy waiting for (or, in history, done with) the printer.
type Job struct {
	// ID is unique for the life of the spool directory and sorts in queue
	// order; it is also the file name stem.
	ID        string
	Receipt   receipts.Receipt
	Queued    time.Time
	Attempts  int    // failed print attempts so far
	LastError string // why the last attempt failed, shown to the cashier
}

// Options tune a Spool. The zero value is fine.
type Options struct {
	// Keep is how many printed or dropped jobs history keeps; 0 or less
	// means DefaultKeep. At least one is always kept, because the newest
	// history file is what carries the ID sequence across a restart when
	// the queue is empty.
	Keep int
	// Now is the clock, for tests; nil means time.Now.
	Now func() time.Time
	// Logger receives the warnings Open gives for files it sets aside; nil
	// means slog.Default().
	Logger *slog.Logger
}

// Spool is the durable print queue plus its history. It is safe for
// concurrent use. File I/O happens under the lock: a station prints a few
// receipts a minute, so simple ordering beats parallel fsyncs.
type Spool struct {
	queueDir, historyDir, badDir string

	keep    int
	now     func() time.Time
	log     *slog.Logger
	changed chan struct{}

	mu      sync.Mutex
	closed  bool
	seq     uint64  // the last sequence number handed out
	queue   []entry // ascending seq
	history []entry // ascending seq
}

type entry struct {
	seq uint64
	job Job
}

// record is the file format. Attempts and LastError are kept in history too,
// so a receipt that took three tries is visible after the fact.
type record struct {
	Version   int         `json:"version"`
	ID        string      `json:"id"`
	Queued    time.Time   `json:"queued"`
	Attempts  int         `json:"attempts,omitempty"`
	LastError string      `json:"last_error,omitempty"`
	Outcome   string      `json:"outcome,omitempty"`
	Finished  time.Time   `json:"finished,omitzero"`
	Receipt   fileReceipt `json:"receipt"`
}

// fileReceipt stores the amount as an integer of fen. money.Fen writes yuan
// text but its parser refuses a sign and anything above money.Max, so a
// receipt with such an amount would be written fine and then be unreadable
// after a restart; the queue must give back whatever it was given.
type fileReceipt struct {
	receipts.Receipt
	Amount int64 `json:"Amount"` // fen; shadows Receipt.Amount in JSON
}

// Open opens (creating if needed) the spool in dir and loads it. Leftover
// temporary files from a crash are removed and unreadable job files are moved
// to dir/bad/ with a warning: one damaged file must not keep the station from
// printing the rest.
func Open(dir string, opts Options) (*Spool, error) {
	s := &Spool{
		queueDir:   filepath.Join(dir, "queue"),
		historyDir: filepath.Join(dir, "history"),
		badDir:     filepath.Join(dir, "bad"),
		keep:       opts.Keep,
		now:        opts.Now,
		log:        opts.Logger,
		changed:    make(chan struct{}, 1),
	}
	if s.keep <= 0 {
		s.keep = DefaultKeep
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	for _, d := range []string{dir, s.queueDir, s.historyDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("spool: open %s: %w", dir, err)
		}
	}
	var err error
	if s.history, err = s.load(s.historyDir); err != nil {
		return nil, err
	}
	if s.queue, err = s.load(s.queueDir); err != nil {
		return nil, err
	}
	// Bad files still used their IDs; never hand those out again.
	if names, err := os.ReadDir(s.badDir); err == nil {
		for _, n := range names {
			stem, _, _ := strings.Cut(n.Name(), ".")
			if seq, ok := parseID(stem); ok {
				s.seq = max(s.seq, seq)
			}
		}
	}
	s.dropPrinted()
	s.prune()
	if len(s.queue) > 0 {
		s.poke()
	}
	return s, nil
}

// load reads every job file in d, sorted by sequence, and raises s.seq past
// every ID it sees, readable or not.
func (s *Spool) load(d string) ([]entry, error) {
	names, err := os.ReadDir(d)
	if err != nil {
		return nil, fmt.Errorf("spool: open %s: %w", d, err)
	}
	var out []entry
	cleaned := false
	for _, n := range names {
		name := n.Name()
		path := filepath.Join(d, name)
		if n.IsDir() {
			continue
		}
		if strings.HasSuffix(name, ".tmp") {
			// A write that crashed before its rename: the job it was for
			// was never acknowledged (Add) or still has its previous file
			// (Failed, Done), so the fragment holds nothing we need.
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				s.log.Warn("spool: cannot remove temporary file", "file", path, "err", err)
			}
			cleaned = true
			continue
		}
		stem, ok := strings.CutSuffix(name, ".json")
		if !ok {
			continue // not ours; leave it for whoever put it there
		}
		if seq, ok := parseID(stem); ok {
			s.seq = max(s.seq, seq)
		}
		e, err := readJob(path, stem)
		if err != nil {
			s.quarantine(path, name, err)
			cleaned = true
			continue
		}
		out = append(out, e)
	}
	slices.SortFunc(out, cmpEntry)
	if cleaned {
		s.syncDirWarn(d)
	}
	return out, nil
}

func readJob(path, stem string) (entry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return entry{}, err
	}
	var rec record
	if err := json.Unmarshal(data, &rec); err != nil {
		return entry{}, err
	}
	if rec.Version != formatVersion {
		return entry{}, fmt.Errorf("format version %d, this build reads %d", rec.Version, formatVersion)
	}
	if rec.ID != stem {
		return entry{}, fmt.Errorf("id %q does not match the file name", rec.ID)
	}
	seq, ok := parseID(rec.ID)
	if !ok {
		return entry{}, fmt.Errorf("malformed id %q", rec.ID)
	}
	r := rec.Receipt.Receipt
	r.Amount = money.Fen(rec.Receipt.Amount)
	return entry{seq: seq, job: Job{ID: rec.ID, Receipt: r, Queued: rec.Queued,
		Attempts: rec.Attempts, LastError: rec.LastError}}, nil
}

// quarantine moves an unreadable file out of the way but keeps it: it may be
// the only copy of a customer's receipt, for a person to recover by hand.
func (s *Spool) quarantine(path, name string, cause error) {
	if err := os.MkdirAll(s.badDir, 0o700); err != nil {
		s.log.Warn("spool: unreadable job file left in place", "file", path, "err", cause, "move_err", err)
		return
	}
	target := filepath.Join(s.badDir, name)
	if _, err := os.Lstat(target); err == nil {
		target += "." + strconv.FormatInt(s.now().UnixNano(), 10)
	}
	if err := os.Rename(path, target); err != nil {
		s.log.Warn("spool: unreadable job file left in place", "file", path, "err", cause, "move_err", err)
		return
	}
	s.syncDirWarn(s.badDir)
	s.log.Warn("spool: unreadable job file moved aside", "file", path, "to", target, "err", cause)
}

// dropPrinted removes queue files whose job is already in history. Done
// writes the history file before removing the queue file, so a crash in
// between leaves both; the history copy means the printer finished, and
// printing the receipt a second time would be the worse mistake.
func (s *Spool) dropPrinted() {
	done := make(map[string]bool, len(s.history))
	for _, e := range s.history {
		done[e.job.ID] = true
	}
	kept := s.queue[:0]
	removed := false
	for _, e := range s.queue {
		if !done[e.job.ID] {
			kept = append(kept, e)
			continue
		}
		path := s.file(s.queueDir, e.job.ID)
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("spool: cannot remove printed job from queue", "file", path, "err", err)
		}
		removed = true
	}
	s.queue = kept
	if removed {
		s.syncDirWarn(s.queueDir)
	}
}

// prune trims history to the newest s.keep entries. Failures only warn: the
// job the caller finished is already safely recorded, and a leftover old file
// is pruned again at the next Open.
func (s *Spool) prune() {
	n := len(s.history) - s.keep
	if n <= 0 {
		return
	}
	for _, e := range s.history[:n] {
		path := s.file(s.historyDir, e.job.ID)
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("spool: cannot prune history", "file", path, "err", err)
		}
	}
	s.history = slices.Clone(s.history[n:])
	s.syncDirWarn(s.historyDir)
}

// Add stores a receipt copy at the end of the queue. When it returns without
// error the job survives a crash or power cut, so the caller may now send it
// to the printer.
func (s *Spool) Add(r receipts.Receipt) (Job, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return Job{}, fmt.Errorf("spool: add: %w", ErrClosed)
	}
	// The number is used up even if the write fails, so a half-written
	// file from this attempt can never be mistaken for a later job.
	s.seq++
	now := s.now()
	e := entry{seq: s.seq, job: Job{ID: formatID(s.seq, now), Receipt: receipts.Sanitize(r), Queued: now}}
	if err := s.write(s.queueDir, toRecord(e.job), true); err != nil {
		s.mu.Unlock()
		return Job{}, fmt.Errorf("spool: add %s: %w", e.job.ID, err)
	}
	s.queue = append(s.queue, e) // the newest seq, so order holds
	s.mu.Unlock()
	s.poke()
	return e.job, nil
}

// Failed records a failed print attempt, so the count and reason survive a
// restart and the cashier sees why the receipt has not come out.
func (s *Spool) Failed(id string, cause error) (Job, error) {
	msg := "unknown error"
	if cause != nil {
		msg = cause.Error()
	}
	s.mu.Lock()
	i, err := s.find(id)
	if err != nil {
		s.mu.Unlock()
		return Job{}, fmt.Errorf("spool: failed %s: %w", id, err)
	}
	j := s.queue[i].job
	j.Attempts++
	j.LastError = msg
	if err := s.write(s.queueDir, toRecord(j), false); err != nil {
		s.mu.Unlock()
		return Job{}, fmt.Errorf("spool: failed %s: %w", id, err)
	}
	s.queue[i].job = j
	s.mu.Unlock()
	s.poke()
	return j, nil
}

// Done records that the printer printed the job whole: it leaves the queue
// for history, where it can still be reprinted.
func (s *Spool) Done(id string) error {
	if err := s.finish(id, outcomePrinted); err != nil {
		return fmt.Errorf("spool: done %s: %w", id, err)
	}
	return nil
}

// Drop takes a job the cashier gave up on out of the queue. It goes to
// history like a printed one, so it can be reprinted once the printer works.
func (s *Spool) Drop(id string) error {
	if err := s.finish(id, outcomeDropped); err != nil {
		return fmt.Errorf("spool: drop %s: %w", id, err)
	}
	return nil
}

func (s *Spool) finish(id, outcome string) error {
	s.mu.Lock()
	i, err := s.find(id)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	e := s.queue[i]
	rec := toRecord(e.job)
	rec.Outcome = outcome
	rec.Finished = s.now()
	// History first: once it is on disk the job counts as finished even if
	// removing the queue file fails (Open then drops the queue copy).
	if err := s.write(s.historyDir, rec, false); err != nil {
		s.mu.Unlock()
		return err
	}
	path := s.file(s.queueDir, id)
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.Warn("spool: cannot remove finished job from queue", "file", path, "err", err)
	} else {
		s.syncDirWarn(s.queueDir)
	}
	s.queue = slices.Delete(s.queue, i, i+1)
	// A job that failed for a while can be older than jobs already printed.
	at, _ := slices.BinarySearchFunc(s.history, e, cmpEntry)
	s.history = slices.Insert(s.history, at, e)
	s.prune()
	s.mu.Unlock()
	s.poke()
	return nil
}

// find returns the queue index of id. Callers hold s.mu.
func (s *Spool) find(id string) (int, error) {
	if s.closed {
		return 0, ErrClosed
	}
	i := slices.IndexFunc(s.queue, func(e entry) bool { return e.job.ID == id })
	if i < 0 {
		return 0, ErrNotFound
	}
	return i, nil
}

// Pending returns the queued jobs, oldest first.
func (s *Spool) Pending() []Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Job, len(s.queue))
	for i, e := range s.queue {
		out[i] = e.job
	}
	return out
}

// Len returns the number of queued jobs.
func (s *Spool) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

// Next returns the oldest queued job: receipts come out in the order the
// sales happened, and a customer copy never before its merchant copy.
func (s *Spool) Next() (Job, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) == 0 {
		return Job{}, false
	}
	return s.queue[0].job, true
}

// Last returns the newest receipt added, queued or in history, including
// reprints. Most callers want LastOriginal.
func (s *Spool) Last() (receipts.Receipt, bool) {
	return s.newest(func(receipts.Receipt) bool { return true })
}

// LastOriginal returns the newest receipt that is not itself a reprint: what
// "reprint last receipt" should print again, however often it was reprinted.
func (s *Spool) LastOriginal() (receipts.Receipt, bool) {
	return s.newest(func(r receipts.Receipt) bool { return !r.Reprint })
}

// ByTrace returns the newest non-reprint receipt with that trace number
// (凭证号), queued or in history. Each copy of a sale is its own job, so this
// is the copy added last, normally the customer copy.
func (s *Spool) ByTrace(trace string) (receipts.Receipt, bool) {
	if trace == "" {
		return receipts.Receipt{}, false
	}
	return s.newest(func(r receipts.Receipt) bool { return !r.Reprint && r.Trace == trace })
}

func (s *Spool) newest(match func(receipts.Receipt) bool) (receipts.Receipt, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var best *entry
	for _, list := range [][]entry{s.queue, s.history} {
		for i := len(list) - 1; i >= 0; i-- {
			if match(list[i].job.Receipt) {
				if best == nil || list[i].seq > best.seq {
					best = &list[i]
				}
				break // lists are sorted: the rest are older
			}
		}
	}
	if best == nil {
		return receipts.Receipt{}, false
	}
	return best.job.Receipt, true
}

// Changed returns a channel that receives a value after Add, Failed, Done and
// Drop (and after Open if jobs are queued), so the print worker can sleep
// instead of polling. Signals coalesce: one value may stand for many changes,
// so the worker should look at Next each time it wakes. The channel is never
// closed.
func (s *Spool) Changed() <-chan struct{} { return s.changed }

func (s *Spool) poke() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// Close makes later changes fail with ErrClosed. Everything is already on
// disk, so there is nothing to flush; readers keep working on the last state.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

func (s *Spool) file(dir, id string) string { return filepath.Join(dir, id+".json") }

// write stores rec as dir/<id>.json atomically and durably: a reader (or a
// restart) sees the old file or the new one, and once write returns the new
// one survives a power cut. fresh says no file existed before, so a failure
// can be undone by removing it.
func (s *Spool) write(dir string, rec record, fresh bool) error {
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	final := s.file(dir, rec.ID)
	f, err := os.CreateTemp(dir, rec.ID+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, final)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if err := syncDir(dir); err != nil {
		// The rename may or may not survive a crash. The caller reports a
		// failure, so undo a new job rather than leave one that might
		// reappear after a restart and print twice once the caller retries.
		// A rewrite (Failed) loses at most an attempt count; a history copy
		// that survives means the job was printed, which it was.
		if fresh {
			os.Remove(final)
		}
		return err
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

func (s *Spool) syncDirWarn(dir string) {
	if err := syncDir(dir); err != nil {
		s.log.Warn("spool: cannot sync directory", "dir", dir, "err", err)
	}
}

func toRecord(j Job) record {
	return record{Version: formatVersion, ID: j.ID, Queued: j.Queued, Attempts: j.Attempts,
		LastError: j.LastError, Receipt: fileReceipt{Receipt: j.Receipt, Amount: int64(j.Receipt.Amount)}}
}

// formatID puts the sequence first, zero-padded, so IDs and file names sort in
// queue order; the time is for people listing the directory.
func formatID(seq uint64, t time.Time) string {
	return fmt.Sprintf("%012d-%sZ", seq, t.UTC().Format("20060102T150405"))
}

func parseID(id string) (uint64, bool) {
	num, rest, ok := strings.Cut(id, "-")
	if !ok || num == "" || rest == "" {
		return 0, false
	}
	seq, err := strconv.ParseUint(num, 10, 64)
	return seq, err == nil
}

func cmpEntry(a, b entry) int {
	switch {
	case a.seq < b.seq:
		return -1
	case a.seq > b.seq:
		return 1
	}
	return 0
}
