package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// Group commit, PostgreSQL only. Each journal entry and state change on the
// hot path is one statement, but a statement in its own transaction still
// costs a round trip and a commit; under load those, not the writing, are
// most of what PostgreSQL spends on a sale. So the hot-path statements of
// concurrent calls are queued here and a few workers run whatever has
// queued as one pipelined batch: one round trip, one implicit transaction,
// one commit. Nothing waits for company: a worker takes the queue as it
// finds it, so a lone call runs alone at once, and batches grow only when
// calls arrive faster than the workers finish.
//
// A caller hears of its statement only once the batch has committed, so
// "journaled before sent" holds as it did. A statement that fails aborts
// its batch's transaction; the server said so (an SQLSTATE), nothing
// of the batch stayed, and each statement of it is run again on its own,
// so one call's refusal (a limit, a replay, a deadlock) is never another's.
// A batch whose outcome is unknown (the connection broke) fails each of its
// calls, as a lone statement's would.

const (
	groupWorkers = 4  // connections writing batches at once: few, so that batches fill
	groupMax     = 64 // statements in one batch at most
)

// groupJob is one statement of a batch; scan reads its result row.
type groupJob struct {
	ctx   context.Context
	query string
	args  []any
	scan  func(Row) error
	done  chan error
}

// errStoreClosed answers calls queued when the store closes.
var errStoreClosed = errors.New("store: closed")

// group is the queue and its workers.
type group struct {
	jobs    chan *groupJob
	closing chan struct{}
	stopped chan struct{}
	wg      sync.WaitGroup
	stop    sync.Once

	hold  sync.RWMutex // tests: held, workers wait with one job each while more queue
	stats groupStats
}

// groupStats counts what the workers did.
type groupStats struct {
	batches, statements, alone atomic.Int64 // alone: run again on their own after a refusal
}

func (s *Store) startGroup() {
	g := &group{jobs: make(chan *groupJob, 4*groupMax), closing: make(chan struct{}), stopped: make(chan struct{})}
	for range groupWorkers {
		g.wg.Go(func() { s.groupWorker(g) })
	}
	go func() {
		g.wg.Wait()
		close(g.stopped)
	}()
	s.group = g
}

// stopGroup answers what is queued with errStoreClosed and stops the
// workers once their batches are done.
func (s *Store) stopGroup() {
	if s.group == nil {
		return
	}
	s.group.stop.Do(func() { close(s.group.closing) })
	<-s.group.stopped
}

// grouped runs one hot-path statement in the next batch and reads its row
// with scan once the batch has committed.
func (s *Store) grouped(ctx context.Context, query string, args []any, scan func(Row) error) error {
	g := s.group
	j := &groupJob{ctx: ctx, query: query, args: args, scan: scan, done: make(chan error, 1)}
	select {
	case g.jobs <- j:
	case <-g.closing:
		return errStoreClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-j.done:
		return err
	case <-g.stopped: // queued as the workers left: nobody ran it
		select {
		case err := <-j.done:
			return err
		default:
			return errStoreClosed
		}
	}
}

func (s *Store) groupWorker(g *group) {
	for {
		var batch []*groupJob
		select {
		case j := <-g.jobs:
			batch = append(batch, j)
			g.hold.RLock()
			g.hold.RUnlock()
		case <-g.closing:
			for {
				select {
				case j := <-g.jobs:
					j.done <- errStoreClosed
				default:
					return
				}
			}
		}
	more:
		for len(batch) < groupMax {
			select {
			case j := <-g.jobs:
				batch = append(batch, j)
			default:
				break more
			}
		}
		live := batch[:0]
		for _, j := range batch {
			if err := j.ctx.Err(); err != nil {
				j.done <- err // given up on before it was sent
				continue
			}
			live = append(live, j)
		}
		if len(live) == 0 {
			continue
		}
		errs, rolledBack := s.runBatch(live)
		g.stats.batches.Add(1)
		g.stats.statements.Add(int64(len(live)))
		if rolledBack && len(live) > 1 {
			g.stats.alone.Add(int64(len(live)))
			for _, j := range live {
				errs, _ := s.runBatch([]*groupJob{j})
				j.done <- errs[0]
			}
			continue
		}
		for i, j := range live {
			j.done <- errs[i]
		}
	}
}

// runBatch sends the statements as one pipelined batch and reads their
// rows. rolledBack says that the server refused one of them, so that none
// of the batch stayed. The batch runs detached from its callers' contexts:
// once sent, it is seen through.
func (s *Store) runBatch(jobs []*groupJob) (errs []error, rolledBack bool) {
	ctx := context.WithoutCancel(jobs[0].ctx)
	stmts := make([]Statement, len(jobs))
	for i, j := range jobs {
		stmts[i] = Statement{Query: j.query, Args: j.args, Scan: j.scan}
	}
	c, err := s.w.Conn(ctx)
	if err == nil {
		errs, err = s.pg.Batch(ctx, c, stmts)
		c.Close()
	}
	if errs == nil {
		errs = make([]error, len(jobs))
	}
	for _, e := range append(errs, err) {
		if s.pg.SQLState(e) != "" {
			rolledBack = true
		}
	}
	if err != nil && !rolledBack {
		for i := range errs {
			errs[i] = fmt.Errorf("store: batch of %d statements: %w", len(jobs), err)
		}
	}
	return errs, rolledBack
}
