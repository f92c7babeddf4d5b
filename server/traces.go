package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/server/store"
)

// Trace numbers. The server is the source of truth for a terminal's open
// batch and the traces used in it (store: the traces table, one row per
// trace whatever the message); the terminal proposes the next number from
// its own counter, a cache that every answer keeps in step (the batch and
// next-trace headers). A trace taken already in the batch is refused with
// CodeTraceUsed and the right next number, and the terminal sends again:
// a lost state folder, a second PC with the same bundle and a wrapped
// counter all land on a free number at the first answer.

// traceBook is what this instance last knew of each terminal's batch and
// next trace: from its own claims, or read from the database when older
// than the terminal cache's lifetime (another instance may have claimed).
type traceBook struct {
	mu sync.Mutex
	m  map[string]traceMark
}

type traceMark struct {
	batch, next string
	at          time.Time
}

// nextTrace returns the terminal's open batch and next free trace.
func (s *Server) nextTrace(ctx context.Context, tid string) (string, string, error) {
	s.traceBook.mu.Lock()
	m, ok := s.traceBook.m[tid]
	s.traceBook.mu.Unlock()
	if ok && time.Since(m.at) < s.opts.CacheTTL {
		return m.batch, m.next, nil
	}
	batch, next, err := s.st.NextTrace(ctx, tid)
	if err != nil {
		return "", "", err
	}
	s.traceBook.mu.Lock()
	if s.traceBook.m == nil {
		s.traceBook.m = map[string]traceMark{}
	}
	s.traceBook.m[tid] = traceMark{batch: batch, next: next, at: time.Now()}
	s.traceBook.mu.Unlock()
	return batch, next, nil
}

// usedTrace notes a trace this instance just claimed in batch.
func (s *Server) usedTrace(tid, batch, trace string) {
	n, err := strconv.Atoi(trace)
	if err != nil || batch == "" {
		return
	}
	next := fmt.Sprintf("%06d", n+1)
	if trace == store.MaxTrace {
		batch, next = store.NextBatch(batch), "000001"
	}
	s.traceBook.mu.Lock()
	defer s.traceBook.mu.Unlock()
	if s.traceBook.m == nil {
		s.traceBook.m = map[string]traceMark{}
	}
	if m, ok := s.traceBook.m[tid]; ok && m.batch == batch && m.next > next {
		next = m.next // another request of the terminal got further
	}
	s.traceBook.m[tid] = traceMark{batch: batch, next: next, at: time.Now()}
}

// forgetTrace drops what this instance knows of a terminal's traces: the
// next answer reads them from the database.
func (s *Server) forgetTrace(tid string) {
	s.traceBook.mu.Lock()
	defer s.traceBook.mu.Unlock()
	delete(s.traceBook.m, tid)
}

// setTraceHeaders puts the terminal's batch and next trace on an answer.
// Failing to read them only leaves them out: the terminal keeps counting.
func (s *Server) setTraceHeaders(ctx context.Context, h http.Header, tid string) {
	batch, next, err := s.nextTrace(ctx, tid)
	if err != nil {
		s.log.Warn("batch and next trace not known", "terminal", tid, "err", err)
		return
	}
	h.Set(api.BatchHeader, batch)
	h.Set(api.NextTraceHeader, next)
}

// traceUsed is the answer to a trace already taken in the batch.
func (s *Server) traceUsed(tid, trace string) error {
	s.forgetTrace(tid)
	return &api.Error{Status: http.StatusConflict, Code: api.CodeTraceUsed,
		Message: fmt.Sprintf("trace %s is already used in terminal %s's batch; send again with the next trace", trace, tid)}
}

// claimTrace records a trace used by a message that journals nothing (a
// balance inquiry, a sign-on) and returns its batch.
func (s *Server) claimTrace(ctx context.Context, tid, trace, kind string) (string, error) {
	batch, err := s.st.ClaimTrace(ctx, tid, trace, kind, s.now())
	if err != nil {
		if isTraceUsed(err) {
			return "", s.traceUsed(tid, trace)
		}
		return "", err
	}
	s.usedTrace(tid, batch, trace)
	return batch, nil
}

func isTraceUsed(err error) bool { return errors.Is(err, store.ErrTraceUsed) }

// errNoFreeTrace: claimFreeTrace found every trace it tried taken.
var errNoFreeTrace = errors.New("no free trace")

// claimFreeTrace claims the terminal's next trace for one of the server's
// own messages (a sign-on, a settlement), trying the one after when a
// station's message took it, tries times at most.
func (s *Server) claimFreeTrace(ctx context.Context, tid, kind string, tries int) (batch, trace string, err error) {
	for range tries {
		_, next, err := s.st.NextTrace(ctx, tid)
		if err != nil {
			return "", "", err
		}
		b, err := s.st.ClaimTrace(ctx, tid, next, kind, s.now())
		if isTraceUsed(err) {
			continue
		}
		if err != nil {
			return "", "", err
		}
		s.usedTrace(tid, b, next)
		return b, next, nil
	}
	return "", "", errNoFreeTrace
}
