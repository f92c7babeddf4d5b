package store

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/multipos/multipos/api"
)

// OpenReadOnly opens the database named by dsn (as Open names it) to read
// the journal of servers that are running on it, for a checker such as the
// fault campaign: no migration, no writes (SQLite refuses them on this
// connection), a small pool.
func OpenReadOnly(ctx context.Context, dsn string) (*Store, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		pg, db, err := openPostgresDB(dsn)
		if err != nil {
			return nil, err
		}
		db.SetMaxOpenConns(4)
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("store: connect to PostgreSQL %s: %w", redact(dsn), err)
		}
		return &Store{dialect: Postgres, dsn: dsn, pg: pg, w: db, r: db, rebound: map[string]string{}}, nil
	}
	if strings.ContainsAny(dsn, "?#") {
		return nil, fmt.Errorf("store: database path %q must not contain '?' or '#'", dsn)
	}
	db, err := openSQLiteDB(dsn, url.Values{"_pragma": {"busy_timeout(10000)", "query_only(1)"}})
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(4)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s for reading: %w", dsn, err)
	}
	return &Store{dialect: SQLite, w: db, r: db, rebound: map[string]string{}}, nil
}

// JournalTx is a transaction as the journal holds it, with what the
// sweeper keeps about it.
type JournalTx struct {
	api.Order
	MerchantID string
	Day        string
	CheckAfter time.Time // zero once final
	Sweeps     int
	LeaseOwner string
	RequestID  string // voids and refunds: the request id that made it (for sales see Snapshot.Requests)
}

// JournalRequest is a terminal's request id and the transaction it made.
type JournalRequest struct {
	TerminalID, RequestID, Op, TxID string
	Status                          int // HTTP status of the first answer; 0 while unanswered
}

// DailyTotal is a row of the daily totals.
type DailyTotal struct {
	Scope, ScopeID, Channel, Day string
	Amount                       int64
}

// Snapshot is the journal of some terminals as it stands.
type Snapshot struct {
	Transactions []JournalTx
	Adjustments  []JournalTx // voids and refunds: Original names the sale
	Requests     []JournalRequest
	Totals       []DailyTotal // the terminals' own (scope terminal)
}

// Snapshot reads everything the journal holds about the terminals: their
// transactions, voids and refunds, request ids and daily totals. Each table
// is read on its own, so a server writing meanwhile may leave them a moment
// apart; a checker reads once the servers have settled.
func (s *Store) Snapshot(ctx context.Context, terminals []string) (Snapshot, error) {
	var snap Snapshot
	if len(terminals) == 0 {
		return snap, nil
	}
	in := strings.TrimSuffix(strings.Repeat("?, ", len(terminals)), ", ")
	args := make([]any, len(terminals))
	for i, t := range terminals {
		args[i] = t
	}
	var err error
	if snap.Transactions, err = s.snapshotTxs(ctx, in, args); err != nil {
		return snap, err
	}
	if snap.Adjustments, err = s.snapshotAdjustments(ctx, in, args); err != nil {
		return snap, err
	}
	if snap.Requests, err = s.snapshotRequests(ctx, in, args); err != nil {
		return snap, err
	}
	if snap.Totals, err = s.snapshotTotals(ctx, in, args); err != nil {
		return snap, err
	}
	return snap, nil
}

func (s *Store) snapshotTxs(ctx context.Context, in string, args []any) ([]JournalTx, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT `+orderColumns+`, merchant_id, day, check_after, sweeps, lease_owner
		FROM transactions WHERE terminal_id IN (`+in+`) ORDER BY created_at, trace, id`), args...)
	if err != nil {
		return nil, fmt.Errorf("store: snapshot of transactions: %w", err)
	}
	defer rows.Close()
	var out []JournalTx
	for rows.Next() {
		var (
			t     JournalTx
			check int64
		)
		t.Order, err = scanOrder(rows, &t.MerchantID, &t.Day, &check, &t.Sweeps, &t.LeaseOwner)
		if err != nil {
			return nil, fmt.Errorf("store: snapshot of transactions: %w", err)
		}
		if check > 0 {
			t.CheckAfter = fromMicros(check)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: snapshot of transactions: %w", err)
	}
	return out, nil
}

func (s *Store) snapshotAdjustments(ctx context.Context, in string, args []any) ([]JournalTx, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT `+adjColumns+`, day, check_after, request_id
		FROM card_adjustments WHERE terminal_id IN (`+in+`) ORDER BY created_at, trace, id`), args...)
	if err != nil {
		return nil, fmt.Errorf("store: snapshot of adjustments: %w", err)
	}
	defer rows.Close()
	var out []JournalTx
	for rows.Next() {
		var (
			t     JournalTx
			check int64
		)
		var kind, state string
		var created, updated int64
		o := &t.Order
		if err := rows.Scan(&o.ID, &o.TerminalID, &kind, &o.Trace, &o.Original, &o.Amount, &state, &o.Reason, &o.Version,
			&o.MaskedPAN, &o.Entry, &o.ResponseCode, &o.AuthCode, &o.RRN, &o.Batch, &o.CardSeq, &created, &updated, &t.Day, &check, &t.RequestID); err != nil {
			return nil, fmt.Errorf("store: snapshot of adjustments: %w", err)
		}
		o.Channel, o.Kind, o.State = api.Card, api.Kind(kind), api.State(state)
		o.CreatedAt, o.UpdatedAt = fromMicros(created), fromMicros(updated)
		if check > 0 {
			t.CheckAfter = fromMicros(check)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: snapshot of adjustments: %w", err)
	}
	return out, nil
}

func (s *Store) snapshotRequests(ctx context.Context, in string, args []any) ([]JournalRequest, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT terminal_id, request_id, op, tx_id, status
		FROM requests WHERE terminal_id IN (`+in+`)`), args...)
	if err != nil {
		return nil, fmt.Errorf("store: snapshot of requests: %w", err)
	}
	defer rows.Close()
	var out []JournalRequest
	for rows.Next() {
		var r JournalRequest
		if err := rows.Scan(&r.TerminalID, &r.RequestID, &r.Op, &r.TxID, &r.Status); err != nil {
			return nil, fmt.Errorf("store: snapshot of requests: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: snapshot of requests: %w", err)
	}
	return out, nil
}

func (s *Store) snapshotTotals(ctx context.Context, in string, args []any) ([]DailyTotal, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT scope, scope_id, channel, day, amount
		FROM daily_totals WHERE scope = 'terminal' AND scope_id IN (`+in+`)`), args...)
	if err != nil {
		return nil, fmt.Errorf("store: snapshot of daily totals: %w", err)
	}
	defer rows.Close()
	var out []DailyTotal
	for rows.Next() {
		var d DailyTotal
		if err := rows.Scan(&d.Scope, &d.ScopeID, &d.Channel, &d.Day, &d.Amount); err != nil {
			return nil, fmt.Errorf("store: snapshot of daily totals: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: snapshot of daily totals: %w", err)
	}
	return out, nil
}
