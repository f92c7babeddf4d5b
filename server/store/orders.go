package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/multipos/multipos/server/api"
)

// Transition is one row of a transaction's history.
type Transition struct {
	Seq    int // the order's version after the change; 1 is the creation
	From   api.State
	To     api.State
	Reason string
	At     time.Time
}

const orderColumns = `id, terminal_id, trace, channel, kind, amount, state, reason, version,
	COALESCE(out_trade_no, ''), trade_no, qr_content, expires_at, masked_pan, entry,
	response_code, auth_code, rrn, batch, request_hash, created_at, updated_at`

// queryer is what both *sql.DB and *sql.Tx offer, so reads can run inside
// a write transaction or on the reader pool.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

type scanner interface{ Scan(dest ...any) error }

func scanOrder(row scanner) (api.Order, string, error) {
	var (
		o                         api.Order
		hash                      string
		expires, created, updated int64
		channel, kind, state      string
	)
	err := row.Scan(&o.ID, &o.TerminalID, &o.Trace, &channel, &kind, &o.Amount, &state, &o.Reason, &o.Version,
		&o.OutTradeNo, &o.TradeNo, &o.QRContent, &expires, &o.MaskedPAN, &o.Entry,
		&o.ResponseCode, &o.AuthCode, &o.RRN, &o.Batch, &hash, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return api.Order{}, "", ErrNotFound
	}
	if err != nil {
		return api.Order{}, "", err
	}
	o.Channel, o.Kind, o.State = api.Channel(channel), api.Kind(kind), api.State(state)
	o.ExpiresAt, o.CreatedAt, o.UpdatedAt = fromMicros(expires), fromMicros(created), fromMicros(updated)
	return o, hash, nil
}

func getOrder(ctx context.Context, q queryer, where string, args ...any) (api.Order, string, error) {
	return scanOrder(q.QueryRowContext(ctx, `SELECT `+orderColumns+` FROM transactions WHERE `+where, args...))
}

// Create journals a new transaction in state CREATED (version 1) with its
// first history row, before anything is sent to the channel. The store
// assigns the id; o.CreatedAt is the creation time.
//
// Create is the idempotency point: when the terminal already used o.Trace,
// nothing is written and the existing order comes back with created false if
// requestHash matches the first request's, or ErrRequestMismatch if it does
// not. Of concurrent duplicates exactly one gets created true.
func (s *Store) Create(ctx context.Context, o api.Order, requestHash string) (api.Order, bool, error) {
	if err := checkNew(o, requestHash); err != nil {
		return api.Order{}, false, err
	}
	id := "tx" + strings.ToLower(rand.Text())
	now := micros(o.CreatedAt)
	var outTradeNo any // NULL when none, so that UNIQUE(channel, out_trade_no) ignores it
	if o.OutTradeNo != "" {
		outTradeNo = o.OutTradeNo
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return api.Order{}, false, fmt.Errorf("store: create: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `INSERT INTO transactions
		(id, terminal_id, trace, channel, kind, amount, state, reason, version, out_trade_no,
		 masked_pan, entry, request_hash, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, '', 1, ?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`,
		id, o.TerminalID, o.Trace, string(o.Channel), string(o.Kind), o.Amount, string(api.StateCreated), outTradeNo,
		o.MaskedPAN, o.Entry, requestHash, now, now)
	if err != nil {
		return api.Order{}, false, fmt.Errorf("store: create %s/%s: %w", o.TerminalID, o.Trace, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return api.Order{}, false, fmt.Errorf("store: create %s/%s: %w", o.TerminalID, o.Trace, err)
	} else if n == 0 {
		prev, hash, err := getOrder(ctx, tx, `terminal_id = ? AND trace = ?`, o.TerminalID, o.Trace)
		if errors.Is(err, ErrNotFound) {
			return api.Order{}, false, fmt.Errorf("store: create %s/%s: out_trade_no %s already used on %s",
				o.TerminalID, o.Trace, o.OutTradeNo, o.Channel)
		}
		if err != nil {
			return api.Order{}, false, fmt.Errorf("store: create %s/%s: %w", o.TerminalID, o.Trace, err)
		}
		if hash != requestHash {
			return prev, false, fmt.Errorf("store: create %s/%s: %w", o.TerminalID, o.Trace, ErrRequestMismatch)
		}
		return prev, false, nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO transaction_history (tx_id, seq, from_state, to_state, reason, at)
		VALUES (?, 1, '', ?, '', ?)`, id, string(api.StateCreated), now); err != nil {
		return api.Order{}, false, fmt.Errorf("store: create %s history: %w", id, err)
	}
	created, _, err := getOrder(ctx, tx, `id = ?`, id)
	if err != nil {
		return api.Order{}, false, fmt.Errorf("store: read back %s: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return api.Order{}, false, fmt.Errorf("store: commit %s: %w", id, err)
	}
	return created, true, nil
}

func checkNew(o api.Order, requestHash string) error {
	switch {
	case o.TerminalID == "" || o.Trace == "":
		return errors.New("store: create: terminal id and trace are required")
	case !o.Channel.Valid():
		return fmt.Errorf("store: create: unknown channel %q", o.Channel)
	case o.Amount <= 0:
		return fmt.Errorf("store: create: amount %d is not positive", o.Amount)
	case requestHash == "":
		return errors.New("store: create: request hash is required")
	case o.CreatedAt.IsZero():
		return errors.New("store: create: creation time is required")
	case o.MaskedPAN != "" && !strings.Contains(o.MaskedPAN, "*"):
		// Defence in depth: the caller must mask; a clear number never gets in.
		return errors.New("store: create: card number is not masked")
	}
	return nil
}

// Get returns the transaction with that id.
func (s *Store) Get(ctx context.Context, id string) (api.Order, error) {
	o, _, err := getOrder(ctx, s.r, `id = ?`, id)
	if err != nil {
		return api.Order{}, fmt.Errorf("store: get %s: %w", id, err)
	}
	return o, nil
}

// ByTrace returns the transaction a terminal created with a trace, and the
// hash of the request that created it.
func (s *Store) ByTrace(ctx context.Context, terminalID, trace string) (api.Order, string, error) {
	o, hash, err := getOrder(ctx, s.r, `terminal_id = ? AND trace = ?`, terminalID, trace)
	if err != nil {
		return api.Order{}, "", fmt.Errorf("store: terminal %s trace %s: %w", terminalID, trace, err)
	}
	return o, hash, nil
}

// ByOutTradeNo returns the transaction known to a channel by out_trade_no.
func (s *Store) ByOutTradeNo(ctx context.Context, ch api.Channel, outTradeNo string) (api.Order, error) {
	o, _, err := getOrder(ctx, s.r, `channel = ? AND out_trade_no = ?`, string(ch), outTradeNo)
	if err != nil {
		return api.Order{}, fmt.Errorf("store: %s out_trade_no %s: %w", ch, outTradeNo, err)
	}
	return o, nil
}

// SuccessTotal sums the amounts of a terminal's SUCCESS transactions on a
// channel created in [from, to).
func (s *Store) SuccessTotal(ctx context.Context, terminalID string, ch api.Channel, from, to time.Time) (int64, error) {
	var total int64
	err := s.r.QueryRowContext(ctx, `SELECT COALESCE(SUM(amount), 0) FROM transactions
		WHERE terminal_id = ? AND channel = ? AND state = ? AND created_at >= ? AND created_at < ?`,
		terminalID, string(ch), string(api.StateSuccess), micros(from), micros(to)).Scan(&total)
	if err != nil {
		return 0, fmt.Errorf("store: total of %s on %s: %w", terminalID, ch, err)
	}
	return total, nil
}

// Expired returns up to limit open (PENDING or UNKNOWN) transactions with
// an expiry at or before now, oldest expiry first. Only wallet orders carry
// an expiry.
func (s *Store) Expired(ctx context.Context, now time.Time, limit int) ([]api.Order, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+orderColumns+` FROM transactions
		WHERE state IN (?, ?) AND expires_at > 0 AND expires_at <= ? ORDER BY expires_at LIMIT ?`,
		string(api.StatePending), string(api.StateUnknown), micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("store: expired orders: %w", err)
	}
	defer rows.Close()
	var out []api.Order
	for rows.Next() {
		o, _, err := scanOrder(rows)
		if err != nil {
			return nil, fmt.Errorf("store: expired orders: %w", err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: expired orders: %w", err)
	}
	return out, nil
}

// History returns the state changes of a transaction, oldest first.
func (s *Store) History(ctx context.Context, id string) ([]Transition, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT seq, from_state, to_state, reason, at
		FROM transaction_history WHERE tx_id = ? ORDER BY seq`, id)
	if err != nil {
		return nil, fmt.Errorf("store: history of %s: %w", id, err)
	}
	defer rows.Close()
	var out []Transition
	for rows.Next() {
		var (
			t        Transition
			from, to string
			at       int64
		)
		if err := rows.Scan(&t.Seq, &from, &to, &t.Reason, &at); err != nil {
			return nil, fmt.Errorf("store: history of %s: %w", id, err)
		}
		t.From, t.To, t.At = api.State(from), api.State(to), fromMicros(at)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: history of %s: %w", id, err)
	}
	return out, nil
}
