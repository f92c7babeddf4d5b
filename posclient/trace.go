package posclient

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// MaxTrace is the last trace number before the counter wraps to 000001.
const MaxTrace = 999999

// Traces is the terminal's trace counter (ISO 8583 field 11): each message
// gets the next 6-digit number. posserver is the source of truth for the
// terminal's batch and the traces used in it; this counter is a cache of
// it, kept in step by every answer (Sync, from the client's SyncTraces),
// so that a lost state folder, a second PC with the same bundle or a
// wrapped counter land on a free number at the first answer. The number is
// on disk before it is handed out, so that after a crash this station does
// not offer it twice. Safe for concurrent use within one process.
type Traces struct {
	path  string
	mu    sync.Mutex
	last  int
	batch string // the server's batch the counter is in; "" before the first answer
}

// OpenTraces opens the counter kept in the file at path, creating the
// directory if needed. A missing file starts at 000001.
func OpenTraces(path string) (*Traces, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("trace counter: %w", err)
	}
	t := &Traces{path: path}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return t, nil
	case err != nil:
		return nil, fmt.Errorf("trace counter: %w", err)
	}
	// "TRACE" (as written before batches) or "TRACE BATCH".
	f := strings.Fields(string(b))
	if len(f) == 0 || len(f) > 2 {
		return nil, fmt.Errorf("trace counter %s: %q is not a 6-digit trace and a batch", path, strings.TrimSpace(string(b)))
	}
	n, ok := sixDigits(f[0])
	if !ok {
		return nil, fmt.Errorf("trace counter %s: %q is not a 6-digit trace", path, f[0])
	}
	t.last = n
	if len(f) == 2 {
		if _, ok := sixDigits(f[1]); !ok {
			return nil, fmt.Errorf("trace counter %s: batch %q is not 6 digits", path, f[1])
		}
		t.batch = f[1]
	}
	return t, nil
}

func sixDigits(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	return n, err == nil && len(s) == 6 && n >= 0 && n <= MaxTrace && s[0] != '+' && s[0] != '-'
}

// Next returns the next trace number, 000001 to 999999 and round again
// (the server opens a new batch after 999999).
func (t *Traces) Next() (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.last + 1
	if n > MaxTrace {
		n = 1
	}
	if err := t.save(n, t.batch); err != nil {
		return "", err
	}
	t.last = n
	return fmt.Sprintf("%06d", n), nil
}

// Sync brings the counter in step with the server's batch and the next
// trace free in it. A new batch restarts the counter there; within the
// same batch it only moves forward (an answer can be older than another
// one: numbers this station took and never sent just stay unused).
func (t *Traces) Sync(batch, next string) error {
	n, ok := sixDigits(next)
	if _, bok := sixDigits(batch); !ok || !bok || n == 0 {
		return fmt.Errorf("trace counter: batch %q and next trace %q from the server are not 6 digits", batch, next)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	last := n - 1
	if batch == t.batch && last <= t.last {
		return nil
	}
	if err := t.save(last, batch); err != nil {
		return err
	}
	t.last, t.batch = last, batch
	return nil
}

// Batch returns the server's batch as last heard ("" before any answer).
func (t *Traces) Batch() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.batch
}

func (t *Traces) save(last int, batch string) error {
	line := fmt.Sprintf("%06d", last)
	if batch != "" {
		line += " " + batch
	}
	if err := writeAtomic(t.path, []byte(line+"\n")); err != nil {
		return fmt.Errorf("trace counter: %w", err)
	}
	return nil
}

// writeAtomic replaces the file so that a crash leaves either the old or the
// new content: temporary file, fsync, rename, fsync of the directory.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// TraceSource hands out trace numbers; *Traces is one.
type TraceSource interface {
	Next() (string, error)
}

// traceTries bounds how often a request goes again under a new trace.
const traceTries = 8

// WithTrace sends a request under a trace: the one given (a resend of the
// same request, with its request id), or else the next of src under a new
// request id. When the server answers that the trace is used in the batch
// (IsTraceUsed: nothing was done, and the answer has brought the counter
// in step), it goes again under the next trace and a new request id. It
// returns the trace and request id the last send went under.
func WithTrace(src TraceSource, trace, reqID string, send func(trace, reqID string) error) (string, string, error) {
	for i := 0; ; i++ {
		if trace == "" {
			// After a second collision, skip a few numbers at random: two
			// PCs sharing a bundle, told the same next trace, would
			// otherwise collide again and again.
			for range rand.IntN(max(i-1, 0)*2 + 1) {
				if _, err := src.Next(); err != nil {
					return "", "", fmt.Errorf("next trace number: %w", err)
				}
			}
			t, err := src.Next()
			if err != nil {
				return "", "", fmt.Errorf("next trace number: %w", err)
			}
			trace, reqID = t, NewRequestID()
		}
		err := send(trace, reqID)
		if !IsTraceUsed(err) || i+1 == traceTries {
			return trace, reqID, err
		}
		trace = ""
	}
}
