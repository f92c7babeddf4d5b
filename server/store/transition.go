package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/multipos/multipos/server/api"
)

// Change is a state change and the channel's answer that came with it. Empty
// fields leave the stored value as it is; Reason is always replaced.
type Change struct {
	To     api.State
	Reason string
	At     time.Time

	TradeNo   string    // wallet: the channel's transaction number
	QRContent string    // wallet: the code the customer scans
	ExpiresAt time.Time // wallet: when the QR code stops being payable

	ResponseCode string // card: ISO 8583 field 39
	AuthCode     string
	RRN          string
	Batch        string
}

// allowed lists the states each non-final state may move to. UNKNOWN may go
// back to PENDING: a query can find that a precreate did reach the wallet.
var allowed = map[api.State][]api.State{
	api.StateCreated: {api.StatePending, api.StateUnknown, api.StateSuccess, api.StateFailed, api.StateClosed},
	api.StatePending: {api.StateUnknown, api.StateSuccess, api.StateFailed, api.StateClosed},
	api.StateUnknown: {api.StatePending, api.StateSuccess, api.StateFailed, api.StateClosed},
}

// Allowed reports whether a transaction may move from one state to another.
func Allowed(from, to api.State) bool {
	for _, s := range allowed[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Transition moves the transaction from state `from` at `version` to c.To,
// raising the version by one and appending the history row in the same
// database transaction. It is a compare-and-set: if the stored state or
// version is no longer (from, version) nothing is written and the current
// order comes back with ErrStale, or ErrFinal when it is final by now.
func (s *Store) Transition(ctx context.Context, id string, from api.State, version int, c Change) (api.Order, error) {
	if from.Final() {
		return api.Order{}, fmt.Errorf("store: %s: %s → %s: %w", id, from, c.To, ErrFinal)
	}
	if !Allowed(from, c.To) {
		return api.Order{}, fmt.Errorf("store: %s: %s → %s: %w", id, from, c.To, ErrBadTransition)
	}
	if c.At.IsZero() {
		return api.Order{}, fmt.Errorf("store: %s: transition without a time", id)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return api.Order{}, fmt.Errorf("store: %s: begin: %w", id, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE transactions SET
		state = ?, reason = ?, version = version + 1, updated_at = ?,
		trade_no      = CASE WHEN ? = '' THEN trade_no ELSE ? END,
		qr_content    = CASE WHEN ? = '' THEN qr_content ELSE ? END,
		expires_at    = CASE WHEN ? = 0 THEN expires_at ELSE ? END,
		response_code = CASE WHEN ? = '' THEN response_code ELSE ? END,
		auth_code     = CASE WHEN ? = '' THEN auth_code ELSE ? END,
		rrn           = CASE WHEN ? = '' THEN rrn ELSE ? END,
		batch         = CASE WHEN ? = '' THEN batch ELSE ? END
		WHERE id = ? AND state = ? AND version = ?`,
		string(c.To), c.Reason, micros(c.At),
		c.TradeNo, c.TradeNo, c.QRContent, c.QRContent, micros(c.ExpiresAt), micros(c.ExpiresAt),
		c.ResponseCode, c.ResponseCode, c.AuthCode, c.AuthCode, c.RRN, c.RRN, c.Batch, c.Batch,
		id, string(from), version)
	if err != nil {
		return api.Order{}, fmt.Errorf("store: %s: %s → %s: %w", id, from, c.To, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return api.Order{}, fmt.Errorf("store: %s: %s → %s: %w", id, from, c.To, err)
	}
	if n == 0 {
		cur, _, err := getOrder(ctx, tx, `id = ?`, id)
		switch {
		case errors.Is(err, ErrNotFound):
			return api.Order{}, fmt.Errorf("store: %s: %w", id, ErrNotFound)
		case err != nil:
			return api.Order{}, fmt.Errorf("store: %s: %w", id, err)
		case cur.State.Final():
			return cur, fmt.Errorf("store: %s is %s: %w", id, cur.State, ErrFinal)
		default:
			return cur, fmt.Errorf("store: %s is %s v%d, not %s v%d: %w", id, cur.State, cur.Version, from, version, ErrStale)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO transaction_history (tx_id, seq, from_state, to_state, reason, at)
		VALUES (?, ?, ?, ?, ?, ?)`, id, version+1, string(from), string(c.To), c.Reason, micros(c.At)); err != nil {
		return api.Order{}, fmt.Errorf("store: %s: history: %w", id, err)
	}
	o, _, err := getOrder(ctx, tx, `id = ?`, id)
	if err != nil {
		return api.Order{}, fmt.Errorf("store: %s: read back: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return api.Order{}, fmt.Errorf("store: %s: commit: %w", id, err)
	}
	return o, nil
}
