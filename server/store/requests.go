package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

func (s *Store) request(ctx context.Context, q queryer, terminalID, requestID string) (Request, error) {
	var (
		r       Request
		answer  string
		created int64
	)
	err := q.QueryRowContext(ctx, s.q(`SELECT terminal_id, request_id, op, request_hash, tx_id, status, answer, created_at
		FROM requests WHERE terminal_id = ? AND request_id = ?`), terminalID, requestID).
		Scan(&r.TerminalID, &r.RequestID, &r.Op, &r.Hash, &r.TxID, &r.Status, &answer, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Request{}, fmt.Errorf("request %s of %s: %w", requestID, terminalID, ErrNotFound)
	}
	if err != nil {
		return Request{}, fmt.Errorf("request %s of %s: %w", requestID, terminalID, err)
	}
	if answer != "" {
		r.Answer = []byte(answer)
	}
	r.CreatedAt = fromMicros(created)
	return r, nil
}

// Request returns a terminal's request record.
func (s *Store) Request(ctx context.Context, terminalID, requestID string) (Request, error) {
	r, err := s.request(ctx, s.r, terminalID, requestID)
	if err != nil {
		return Request{}, fmt.Errorf("store: %w", err)
	}
	return r, nil
}

// Claim records a request that creates no transaction (a cancel, say)
// before it is carried out. When the request id was used before, nothing is
// written and the earlier record comes back: the caller replays its answer,
// or refuses the call if Op or Hash differ (ErrRequestMismatch).
func (s *Store) Claim(ctx context.Context, r Request) (prev *Request, err error) {
	if r.TerminalID == "" || r.RequestID == "" || r.Op == "" || r.Hash == "" || r.CreatedAt.IsZero() {
		return nil, errors.New("store: claim: terminal, request id, operation, hash and time are required")
	}
	res, err := s.w.ExecContext(ctx, s.q(`INSERT INTO requests (terminal_id, request_id, op, request_hash, tx_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`),
		r.TerminalID, r.RequestID, r.Op, r.Hash, r.TxID, micros(r.CreatedAt))
	if err != nil {
		return nil, fmt.Errorf("store: claim request %s of %s: %w", r.RequestID, r.TerminalID, err)
	}
	if rows, err := res.RowsAffected(); err != nil {
		return nil, fmt.Errorf("store: claim request %s of %s: %w", r.RequestID, r.TerminalID, err)
	} else if rows == 1 {
		return nil, nil
	}
	p, err := s.request(ctx, s.w, r.TerminalID, r.RequestID)
	if err != nil {
		return nil, fmt.Errorf("store: claim: %w", err)
	}
	if p.Op != r.Op || p.Hash != r.Hash {
		return &p, fmt.Errorf("store: request %s of %s: %w", r.RequestID, r.TerminalID, ErrRequestMismatch)
	}
	return &p, nil
}

// Answer records the first answer to a claimed request; later answers to
// the same request are ignored.
func (s *Store) Answer(ctx context.Context, terminalID, requestID string, status int, body []byte, at time.Time) error {
	if status == 0 {
		return errors.New("store: answer: status is required")
	}
	if _, err := s.w.ExecContext(ctx, s.q(`UPDATE requests SET status = ?, answer = ?, answered_at = ?
		WHERE terminal_id = ? AND request_id = ? AND status = 0`),
		status, string(body), micros(at), terminalID, requestID); err != nil {
		return fmt.Errorf("store: answer to %s of %s: %w", requestID, terminalID, err)
	}
	return nil
}

// Unclaim drops an unanswered request record, so that the call can be made
// again with the same request id (it failed before doing anything).
func (s *Store) Unclaim(ctx context.Context, terminalID, requestID string) error {
	if _, err := s.w.ExecContext(ctx, s.q(`DELETE FROM requests WHERE terminal_id = ? AND request_id = ? AND status = 0`),
		terminalID, requestID); err != nil {
		return fmt.Errorf("store: unclaim %s of %s: %w", requestID, terminalID, err)
	}
	return nil
}

// ForgetRequests deletes request records created before `before`: past
// that age a replay is no longer recognised (the transactions themselves
// are never deleted). It returns how many went.
func (s *Store) ForgetRequests(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, s.q(`DELETE FROM requests WHERE created_at < ?`), micros(before))
	if err != nil {
		return 0, fmt.Errorf("store: forget requests: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: forget requests: %w", err)
	}
	return n, nil
}
