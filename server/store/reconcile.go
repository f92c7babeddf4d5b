package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/multipos/multipos/server/reconcile"
)

// Reconciliation runs' statuses.
const (
	RunRunning = "running"
	RunWaiting = "waiting" // the bill is not ready yet: tried again at RetryAt, until Deadline
	RunDone    = "done"
	RunFailed  = "failed" // the deadline passed, or the bill could not be read
)

// Exception states.
const (
	ExceptionOpen     = "open"
	ExceptionResolved = "resolved"
)

// ErrRunBusy is returned when another instance (or command) is running
// the day's reconciliation of that channel now.
var ErrRunBusy = errors.New("reconciliation of that day and channel is running elsewhere")

// ReconRun is one business day's reconciliation of one channel. There is
// one per day and channel: a rerun replaces its lines.
type ReconRun struct {
	ID, Day, Channel, Status string
	Source                   string // "fetched" or "imported"
	BillPath, BillSHA256     string // the bill as received, kept for disputes
	Owner                    string // the instance running it
	LeaseUntil               time.Time
	RetryAt, Deadline        time.Time // while waiting for the bill
	Attempts                 int
	Error                    string
	StartedAt, FinishedAt    time.Time
	Lines, Matched           int
	Differences, Settled     int // exceptions raised; lines settled automatically
	Totals                   reconcile.Totals
}

const runColumns = `id, day, channel, status, source, bill_path, bill_sha256, owner, lease_until, retry_at, deadline,
	attempts, error, started_at, finished_at, lines, matched, differences, settled,
	payments, refunds, gross, settle, refunded, fee_milli, fees, net`

func scanRun(row scanner) (ReconRun, error) {
	var (
		r                                         ReconRun
		lease, retry, deadline, started, finished int64
		t                                         = &r.Totals
	)
	err := row.Scan(&r.ID, &r.Day, &r.Channel, &r.Status, &r.Source, &r.BillPath, &r.BillSHA256, &r.Owner, &lease, &retry, &deadline,
		&r.Attempts, &r.Error, &started, &finished, &r.Lines, &r.Matched, &r.Differences, &r.Settled,
		&t.Payments, &t.Refunds, &t.Gross, &t.Settled, &t.Refunded, &t.FeeMilli, &t.Fees, &t.Net)
	if errors.Is(err, sql.ErrNoRows) {
		return ReconRun{}, ErrNotFound
	}
	if err != nil {
		return ReconRun{}, err
	}
	t.Channel = reconcile.Channel(r.Channel)
	r.LeaseUntil, r.RetryAt, r.Deadline = fromMicros(lease), fromMicros(retry), fromMicros(deadline)
	r.StartedAt, r.FinishedAt = fromMicros(started), fromMicros(finished)
	return r, nil
}

// Claim says who may take a day's run of a channel.
type Claim struct {
	Day, Channel string
	Owner        string        // the instance (or command) taking it
	Lease        time.Duration // how long it may hold it without finishing
	Deadline     time.Time     // for a new run: when waiting for the bill gives up
	// Force takes a run whatever its status (a command run by hand), unless
	// someone holds it now. Without it (the daily run) only a new run, a
	// waiting one due again or one whose holder's lease ran out is taken.
	Force bool
	At    time.Time
}

// ClaimReconRun takes the day's run of a channel for c.Owner, creating it
// if need be, and returns it as taken (Status running). ok is false when
// the run is not to be taken now (done, failed, or waiting and not due);
// ErrRunBusy when someone holds it. One instance among many wins.
func (s *Store) ClaimReconRun(ctx context.Context, c Claim) (run ReconRun, ok bool, err error) {
	now := micros(c.At)
	tx, err := s.begin(ctx)
	if err != nil {
		return ReconRun{}, false, fmt.Errorf("store: claim reconciliation %s %s: %w", c.Day, c.Channel, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO reconcile_runs (id, day, channel, status, deadline, started_at)
		VALUES (?, ?, ?, 'waiting', ?, ?) ON CONFLICT (day, channel) DO NOTHING`),
		newID("rr"), c.Day, c.Channel, micros(c.Deadline), now); err != nil {
		return ReconRun{}, false, fmt.Errorf("store: claim reconciliation %s %s: %w", c.Day, c.Channel, err)
	}
	cond := `(status = 'waiting' AND retry_at <= ?) OR (status = 'running' AND lease_until < ?)`
	if c.Force {
		cond = `status <> 'running' OR lease_until < ? OR owner = ?`
	}
	args := []any{c.Owner, micros(c.At.Add(c.Lease)), now, c.Day, c.Channel, now}
	if c.Force {
		args = append(args, c.Owner)
	} else {
		args = append(args, now)
	}
	run, err = scanRun(tx.QueryRowContext(ctx, s.q(`UPDATE reconcile_runs SET status = 'running', owner = ?, lease_until = ?,
		attempts = attempts + 1, error = '', started_at = ? WHERE day = ? AND channel = ? AND (`+cond+`) RETURNING `+runColumns), args...))
	if errors.Is(err, ErrNotFound) {
		cur, gerr := s.reconRun(ctx, tx, c.Day, c.Channel)
		if gerr != nil {
			return ReconRun{}, false, fmt.Errorf("store: claim reconciliation %s %s: %w", c.Day, c.Channel, gerr)
		}
		if cur.Status == RunRunning {
			return cur, false, fmt.Errorf("store: %s %s held by %s: %w", c.Day, c.Channel, cur.Owner, ErrRunBusy)
		}
		return cur, false, nil
	}
	if err != nil {
		return ReconRun{}, false, fmt.Errorf("store: claim reconciliation %s %s: %w", c.Day, c.Channel, err)
	}
	if err := tx.Commit(); err != nil {
		return ReconRun{}, false, fmt.Errorf("store: claim reconciliation %s %s: %w", c.Day, c.Channel, err)
	}
	return run, true, nil
}

func (s *Store) reconRun(ctx context.Context, q queryer, day, channel string) (ReconRun, error) {
	return scanRun(q.QueryRowContext(ctx, s.q(`SELECT `+runColumns+` FROM reconcile_runs WHERE day = ? AND channel = ?`), day, channel))
}

// ReconRun returns the day's run of a channel, ErrNotFound if none.
func (s *Store) ReconRun(ctx context.Context, day, channel string) (ReconRun, error) {
	r, err := s.reconRun(ctx, s.r, day, channel)
	if err != nil {
		return ReconRun{}, fmt.Errorf("store: reconciliation %s %s: %w", day, channel, err)
	}
	return r, nil
}

// ReconRuns returns the runs, newest day first; all days when day is "".
func (s *Store) ReconRuns(ctx context.Context, day string) ([]ReconRun, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT `+runColumns+` FROM reconcile_runs WHERE ? = '' OR day = ? ORDER BY day DESC, channel`), day, day)
	if err != nil {
		return nil, fmt.Errorf("store: reconciliation runs: %w", err)
	}
	defer rows.Close()
	var out []ReconRun
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("store: reconciliation runs: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// WaitReconRun releases a run whose bill is not ready: it is taken again
// from retryAt on. Past its deadline it fails instead.
func (s *Store) WaitReconRun(ctx context.Context, id, owner string, retryAt time.Time, why string) (ReconRun, error) {
	r, err := scanRun(s.w.QueryRowContext(ctx, s.q(`UPDATE reconcile_runs SET
		status = CASE WHEN deadline > 0 AND deadline < ? THEN 'failed' ELSE 'waiting' END,
		retry_at = ?, error = ?, lease_until = 0, finished_at = CASE WHEN deadline > 0 AND deadline < ? THEN CAST(? AS BIGINT) ELSE 0 END
		WHERE id = ? AND owner = ? AND status = 'running' RETURNING `+runColumns),
		micros(retryAt), micros(retryAt), why, micros(retryAt), micros(time.Now()), id, owner))
	if err != nil {
		return ReconRun{}, fmt.Errorf("store: reconciliation %s waits: %w", id, err)
	}
	return r, nil
}

// FailReconRun records that a run could not be done (a bill that cannot
// be read, say): it stays failed until run again by hand.
func (s *Store) FailReconRun(ctx context.Context, id, owner, why string, at time.Time) error {
	if _, err := s.w.ExecContext(ctx, s.q(`UPDATE reconcile_runs SET status = 'failed', error = ?, lease_until = 0, finished_at = ?
		WHERE id = ? AND owner = ? AND status = 'running'`), why, micros(at), id, owner); err != nil {
		return fmt.Errorf("store: reconciliation %s failed: %w", id, err)
	}
	return nil
}

// AuditEntry is one row of the reconciliation audit.
type AuditEntry struct {
	At                       time.Time
	Actor, Action            string // "reconcile", an operator; "settled", "resolved"
	RunID, ExceptionID, TxID string
	Day, Channel, OutTradeNo string
	Detail                   string
}

// ReconAudit appends an entry to the audit.
func (s *Store) ReconAudit(ctx context.Context, e AuditEntry) error {
	return s.audit(ctx, s.w, e)
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func (s *Store) audit(ctx context.Context, q execer, e AuditEntry) error {
	if _, err := q.ExecContext(ctx, s.q(`INSERT INTO reconcile_audit (id, at, actor, action, run_id, exception_id, tx_id, day, channel, out_trade_no, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`), newID("au"), micros(e.At), e.Actor, e.Action, e.RunID, e.ExceptionID, e.TxID,
		e.Day, e.Channel, e.OutTradeNo, e.Detail); err != nil {
		return fmt.Errorf("store: audit %s: %w", e.Action, err)
	}
	return nil
}

// ReconAuditLog returns the audit of a day ("" for all), oldest first.
func (s *Store) ReconAuditLog(ctx context.Context, day string) ([]AuditEntry, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT at, actor, action, run_id, exception_id, tx_id, day, channel, out_trade_no, detail
		FROM reconcile_audit WHERE ? = '' OR day = ? ORDER BY at, id`), day, day)
	if err != nil {
		return nil, fmt.Errorf("store: audit: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&at, &e.Actor, &e.Action, &e.RunID, &e.ExceptionID, &e.TxID, &e.Day, &e.Channel, &e.OutTradeNo, &e.Detail); err != nil {
			return nil, fmt.Errorf("store: audit: %w", err)
		}
		e.At = fromMicros(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// placeholders returns "(?, ?, …), (…)" for rows rows of cols columns.
func placeholders(rows, cols int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	return strings.TrimSuffix(strings.Repeat(one+", ", rows), ", ")
}
