package campaign

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/multipos/multipos/posclient"
)

// traceSource is a simulated station's trace numbers, kept as the station
// keeps them: the counter file (posclient.Traces) in its state folder, a
// cache of the server's batch and next trace that every answer keeps in
// step (posclient.Client.SyncTraces). Safe for concurrent use.
type traceSource struct {
	dir, file string

	mu      sync.Mutex
	t       *posclient.Traces
	clients []*posclient.Client
}

// openTraces opens the counter in the state folder dir, in the file the
// station (cmd/pos) keeps it in, kept in step by the clients' answers.
func openTraces(dir, terminalID string, clients []*posclient.Client) (*traceSource, error) {
	s := &traceSource{dir: dir, file: "trace-" + terminalID, clients: clients}
	if err := s.open(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *traceSource) open() error {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("terminal state folder: %w", err)
	}
	t, err := posclient.OpenTraces(filepath.Join(s.dir, s.file))
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.t = t
	for _, c := range s.clients {
		c.SyncTraces(t)
	}
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
