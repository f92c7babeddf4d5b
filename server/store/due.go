package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/multipos/multipos/api"
)

// Due is a transaction the sweeper has leased.
type Due struct {
	api.Order
	Sweeps int // how many times the sweeper has looked at it in its state before
}

// ClaimDue leases up to limit transactions whose check time has come and
// that no other instance holds, until `until`. The lease is what keeps two
// server instances off the same transaction: the UPDATE re-checks the lease
// on each row it takes, so of two instances claiming at once each row goes
// to one. A state change or Defer ends the lease.
func (s *Store) ClaimDue(ctx context.Context, owner string, now, until time.Time, limit int) ([]Due, error) {
	if owner == "" || !until.After(now) || limit <= 0 {
		return nil, fmt.Errorf("store: claim due: bad arguments (owner %q, lease until %v, limit %d)", owner, until, limit)
	}
	rows, err := s.w.QueryContext(ctx, s.q(`UPDATE transactions SET lease_owner = ?, lease_until = ?
		WHERE id IN (SELECT id FROM transactions
		             WHERE check_after > 0 AND check_after <= ? AND lease_until <= ?
		             ORDER BY check_after LIMIT ?)
		  AND check_after > 0 AND check_after <= ? AND lease_until <= ?
		RETURNING `+orderColumns+`, sweeps`),
		owner, micros(until), micros(now), micros(now), limit, micros(now), micros(now))
	if err != nil {
		return nil, fmt.Errorf("store: claim due: %w", err)
	}
	defer rows.Close()
	var out []Due
	for rows.Next() {
		var d Due
		o, err := scanOrder(rows, &d.Sweeps)
		if err != nil {
			return nil, fmt.Errorf("store: claim due: %w", err)
		}
		d.Order = o
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: claim due: %w", err)
	}
	return out, nil
}

// Defer puts off the next look at a transaction the sweeper could not
// resolve (the channel did not answer), counts the try and ends the lease.
// It does nothing if the transaction changed meanwhile.
func (s *Store) Defer(ctx context.Context, id string, version int, next time.Time) error {
	if _, err := s.w.ExecContext(ctx, s.q(`UPDATE transactions SET check_after = ?, sweeps = sweeps + 1, lease_owner = '', lease_until = 0
		WHERE id = ? AND version = ? AND check_after > 0`), micros(next), id, version); err != nil {
		return fmt.Errorf("store: defer %s: %w", id, err)
	}
	return nil
}

// Postpone moves the next look at a transaction to `at` and ends the lease,
// without counting a try: for one that is not due yet after all (a QR code
// still payable). It does nothing if the transaction changed meanwhile.
func (s *Store) Postpone(ctx context.Context, id string, version int, at time.Time) error {
	if _, err := s.w.ExecContext(ctx, s.q(`UPDATE transactions SET check_after = ?, lease_owner = '', lease_until = 0
		WHERE id = ? AND version = ? AND check_after > 0`), micros(at), id, version); err != nil {
		return fmt.Errorf("store: postpone %s: %w", id, err)
	}
	return nil
}

// Undelivered returns up to limit of a terminal's final transactions,
// created since `since` and last changed before `before`, that the terminal
// has not acknowledged: results it may never have seen.
func (s *Store) Undelivered(ctx context.Context, terminalID string, since, before time.Time, limit int) ([]api.Order, error) {
	return s.listOrders(ctx, s.r, `terminal_id = ? AND created_at >= ? AND delivered_at = 0
		AND state IN ('SUCCESS', 'FAILED', 'CLOSED') AND updated_at < ? ORDER BY created_at LIMIT ?`,
		terminalID, micros(since), micros(before), limit)
}

// MarkDelivered records that the terminal has shown these results. Ids of
// other terminals' transactions are ignored.
func (s *Store) MarkDelivered(ctx context.Context, terminalID string, ids []string, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	args := []any{micros(at), terminalID}
	for _, id := range ids {
		args = append(args, id)
	}
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ")
	if _, err := s.w.ExecContext(ctx, s.q(`UPDATE transactions SET delivered_at = ?
		WHERE terminal_id = ? AND delivered_at = 0 AND id IN (`+marks+`)`), args...); err != nil {
		return fmt.Errorf("store: mark delivered for %s: %w", terminalID, err)
	}
	return nil
}
