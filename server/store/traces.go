package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Trace kinds besides the transaction kinds (api.Kind), for messages that
// use a trace but create no transaction.
const (
	TraceBalance = "balance" // a balance inquiry (余额查询)
	TraceSignOn  = "signon"  // a card sign-on (签到)
)

// MaxTrace is the last trace of a batch: claiming it opens the next batch,
// so that the terminal's counter wrapping to 000001 lands in a fresh one.
const MaxTrace = "999999"

// FirstBatch is a new terminal's batch.
const FirstBatch = "000001"

// NextBatch is the batch after b (000001 after 999999).
func NextBatch(b string) string {
	n, err := strconv.Atoi(b)
	if err != nil || n >= 999999 || n < 0 {
		return FirstBatch
	}
	return fmt.Sprintf("%06d", n+1)
}

// claimTrace records, in tx, that the terminal used trace for kind (ref:
// the transaction's id, if any) in its open batch, and returns that batch.
// ErrTraceUsed when the trace is taken in the batch, by whatever message.
func (s *Store) claimTrace(ctx context.Context, tx *sql.Tx, terminalID, trace, kind, ref string, at int64) (string, error) {
	// A terminal with no record (the store's own tests journal for
	// terminals they never registered) is in the first batch.
	// One query with the batch's settlement, as the pipelined sale's.
	var batch string
	var settling bool
	err := tx.QueryRowContext(ctx, s.q(`SELECT b.batch, EXISTS (SELECT 1 FROM settlements s
		WHERE s.terminal_id = ? AND s.batch = b.batch AND s.state = 'SETTLING')
		FROM (SELECT COALESCE((SELECT batch FROM terminals WHERE id = ?), '`+FirstBatch+`') AS batch) b`),
		terminalID, terminalID).Scan(&batch, &settling)
	if err != nil {
		return "", fmt.Errorf("store: terminal %s batch: %w", terminalID, err)
	}
	if settling && settledKinds[kind] {
		return "", fmt.Errorf("store: terminal %s batch %s: %w", terminalID, batch, ErrSettling)
	}
	res, err := tx.ExecContext(ctx, s.q(`INSERT INTO traces (terminal_id, batch, trace, kind, ref, at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`), terminalID, batch, trace, kind, ref, at)
	if err != nil {
		return "", fmt.Errorf("store: terminal %s trace %s: %w", terminalID, trace, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return "", fmt.Errorf("store: terminal %s trace %s: %w", terminalID, trace, err)
	} else if n == 0 {
		return "", fmt.Errorf("store: terminal %s trace %s in batch %s: %w", terminalID, trace, batch, ErrTraceUsed)
	}
	if trace == MaxTrace {
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE terminals SET batch = ? WHERE id = ? AND batch = ?`),
			NextBatch(batch), terminalID, batch); err != nil {
			return "", fmt.Errorf("store: terminal %s next batch: %w", terminalID, err)
		}
	}
	return batch, nil
}

// ClaimTrace records a trace used by a message that creates no
// transaction (a balance inquiry, a sign-on) and returns the batch it
// belongs to; ErrTraceUsed when the batch has it already.
func (s *Store) ClaimTrace(ctx context.Context, terminalID, trace, kind string, at time.Time) (string, error) {
	tx, err := s.begin(ctx)
	if err != nil {
		return "", fmt.Errorf("store: claim trace: %w", err)
	}
	defer tx.Rollback()
	batch, err := s.claimTrace(ctx, tx, terminalID, trace, kind, "", micros(at))
	if err != nil {
		return "", err
	}
	if err := tx.Commit(); err != nil {
		return "", fmt.Errorf("store: claim trace: %w", err)
	}
	return batch, nil
}

// NextTrace returns the terminal's open batch and the next trace free in
// it: one past the highest used (000001 in a fresh batch).
func (s *Store) NextTrace(ctx context.Context, terminalID string) (batch, next string, err error) {
	var top sql.NullString
	err = s.w.QueryRowContext(ctx, s.q(`SELECT t.batch, (SELECT MAX(trace) FROM traces
		WHERE traces.terminal_id = t.id AND traces.batch = t.batch) FROM terminals t WHERE t.id = ?`), terminalID).
		Scan(&batch, &top)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", fmt.Errorf("store: terminal %s: %w", terminalID, ErrNotFound)
	}
	if err != nil {
		return "", "", fmt.Errorf("store: terminal %s next trace: %w", terminalID, err)
	}
	n := 0
	if top.Valid {
		if n, err = strconv.Atoi(top.String); err != nil {
			return "", "", fmt.Errorf("store: terminal %s: trace %q in batch %s: %w", terminalID, top.String, batch, err)
		}
	}
	if n >= 999999 {
		// Full, yet open: its last trace came in before batches rolled
		// (a database from before migration 005). Open the next one.
		if _, err := s.w.ExecContext(ctx, s.q(`UPDATE terminals SET batch = ? WHERE id = ? AND batch = ?`),
			NextBatch(batch), terminalID, batch); err != nil {
			return "", "", fmt.Errorf("store: terminal %s next batch: %w", terminalID, err)
		}
		return s.NextTrace(ctx, terminalID)
	}
	return batch, fmt.Sprintf("%06d", n+1), nil
}

// settledKinds are the transactions a batch's settlement counts: none may
// join a batch while it is being settled.
var settledKinds = map[string]bool{"card_sale": true, "card_void": true, "card_refund": true}
