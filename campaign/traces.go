package campaign

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/multipos/multipos/channels"
	"github.com/multipos/multipos/server/api"
)

// traceSource is a simulated station's trace numbers, the one place the
// campaign knows how a terminal gets them: today the station's counter
// file (channels.Traces) in its state folder, and a refusal of a trace the
// server has seen makes the station take the next one. When the server
// becomes the source of truth for a terminal's batch and next trace (409
// trace_used, the next trace in the answer's headers), only this type
// changes. Safe for concurrent use.
type traceSource struct {
	dir, file string

	mu sync.Mutex
	t  *channels.Traces
}

// openTraces opens the counter in the state folder dir, in the file the
// station (cmd/pos) keeps it in.
func openTraces(dir, terminalID string) (*traceSource, error) {
	s := &traceSource{dir: dir, file: "trace-" + terminalID}
	if err := s.open(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *traceSource) open() error {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("terminal state folder: %w", err)
	}
	t, err := channels.OpenTraces(filepath.Join(s.dir, s.file))
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.t = t
	s.mu.Unlock()
	return nil
}

// Next returns the next trace number.
func (s *traceSource) Next() (string, error) {
	s.mu.Lock()
	t := s.t
	s.mu.Unlock()
	return t.Next()
}

// Wipe loses the state folder, as a station whose disk was replaced or
// wiped does, and starts again from an empty one.
func (s *traceSource) Wipe() error {
	if err := os.RemoveAll(s.dir); err != nil {
		return fmt.Errorf("wiping %s: %w", s.dir, err)
	}
	return s.open()
}

// Taken reports whether the server refused a request because its trace
// was used already; the caller then takes Next and sends the request again
// as a new one (new request id).
func (s *traceSource) Taken(err error) bool {
	var e *api.Error
	return errors.As(err, &e) && e.Code == api.CodeIdempotencyConflict && strings.Contains(e.Message, "trace")
}
