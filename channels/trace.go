package channels

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// MaxTrace is the last trace number before the counter wraps to 000001.
const MaxTrace = 999999

// Traces is the terminal's trace counter (ISO 8583 field 11): each payment
// gets the next 6-digit number. The number is on disk before it is handed
// out, so that after a crash no number is given twice (the server treats a
// reused trace as a replay). Safe for concurrent use within one process.
type Traces struct {
	path string
	mu   sync.Mutex
	last int
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
	s := strings.TrimSpace(string(b))
	n, err := strconv.Atoi(s)
	if err != nil || len(s) != 6 || n < 0 || n > MaxTrace {
		return nil, fmt.Errorf("trace counter %s: %q is not a 6-digit trace", path, s)
	}
	t.last = n
	return t, nil
}

// Next returns the next trace number, 000001 to 999999 and round again.
func (t *Traces) Next() (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.last + 1
	if n > MaxTrace {
		n = 1
	}
	s := fmt.Sprintf("%06d", n)
	if err := writeAtomic(t.path, []byte(s+"\n")); err != nil {
		return "", fmt.Errorf("trace counter: %w", err)
	}
	t.last = n
	return s, nil
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
