package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/multipos/multipos/api"
)

// Change is a state change and the channel's answer that came with it. Empty
// fields leave the stored value as it is; Reason is always replaced.
type Change struct {
	To     api.State
	Reason string
	At     time.Time
	Actor  string // recorded in the history: "terminal", "notification", "sweeper", …

	// CheckAfter is when the sweeper looks at the transaction next, ignored
	// (cleared) for a final state. Zero keeps the time set before: on
	// PostgreSQL a change that leaves it (and so every indexed column) as it
	// was is a HOT update, which writes no index entries.
	CheckAfter time.Time

	TradeNo   string    // wallet: the channel's transaction number
	QRContent string    // wallet: the code the customer scans
	ExpiresAt time.Time // wallet: when the QR code stops being payable

	ResponseCode string // card: ISO 8583 field 39
	AuthCode     string
	RRN          string
	Batch        string

	// Quiet leaves the other server instances unnotified: for a change
	// only the caller itself is waiting for (the answer to its own call).
	Quiet bool

	// Answer, when set, records the transaction as it is after this change
	// as the first answer to that request (if it has none yet), in the same
	// database transaction.
	Answer *AnswerTo
}

// AnswerTo names the request a change answers and the HTTP status it gets.
// Body is the answer, which must be the transaction after the change (see
// Apply); nil lets the store write that itself, at the cost of a round trip
// on PostgreSQL.
type AnswerTo struct {
	TerminalID, RequestID string
	Status                int
	Body                  []byte
}

// Apply returns the transaction as it is after a change, as the store will
// have it: what a caller records as the answer to a request before the
// change is written.
func Apply(o api.Order, c Change) api.Order {
	o.State, o.Reason, o.Version = c.To, c.Reason, o.Version+1
	o.UpdatedAt = fromMicros(micros(c.At))
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&o.TradeNo, c.TradeNo)
	set(&o.QRContent, c.QRContent)
	set(&o.ResponseCode, c.ResponseCode)
	set(&o.AuthCode, c.AuthCode)
	set(&o.RRN, c.RRN)
	set(&o.Batch, c.Batch)
	if !c.ExpiresAt.IsZero() {
		o.ExpiresAt = fromMicros(micros(c.ExpiresAt))
	}
	return o
}

// allowed lists the states each non-final state may move to. UNKNOWN may go
// back to PENDING: a query can find that a precreate did reach the wallet.
// CANCELLING never goes back: once the order is being closed at its
// wallet, a payment that arrives is given back, not taken; it ends CLOSED,
// or SUCCESS only when the wallet kept the money after all (a refund it
// refused), or FAILED when the customer's payment had failed.
var allowed = map[api.State][]api.State{
	api.StateCreated:    {api.StatePending, api.StateUnknown, api.StateCancelling, api.StateSuccess, api.StateFailed, api.StateClosed},
	api.StatePending:    {api.StateUnknown, api.StateCancelling, api.StateSuccess, api.StateFailed, api.StateClosed},
	api.StateUnknown:    {api.StatePending, api.StateCancelling, api.StateSuccess, api.StateFailed, api.StateClosed},
	api.StateCancelling: {api.StateSuccess, api.StateFailed, api.StateClosed},
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
// transaction comes back with ErrStale, or ErrFinal when it is final by now.
//
// Moving to SUCCESS marks the sale paid; if another attempt paid it first
// nothing is written and the error is ErrSalePaid. Moving to FAILED or
// CLOSED gives the amount back to the daily totals.
func (s *Store) Transition(ctx context.Context, id string, from api.State, version int, c Change) (api.Order, error) {
	checkAfter, err := checkTransition(id, from, c)
	if err != nil {
		return api.Order{}, err
	}
	if s.dialect == Postgres && (c.Answer == nil || c.Answer.Body != nil) {
		o, err := s.transitionPipelined(ctx, id, from, version, c, checkAfter)
		if !errors.Is(err, errFallback) {
			return o, err
		}
	}
	tx, err := s.begin(ctx)
	if err != nil {
		return api.Order{}, fmt.Errorf("store: %s: begin: %w", id, err)
	}
	defer tx.Rollback()
	var (
		merchantID, day string
		merchantCounted int
	)
	o, err := scanOrder(tx.QueryRowContext(ctx, s.q(`UPDATE transactions SET
		state = ?, reason = ?, version = version + 1, updated_at = ?,
		check_after = CASE WHEN CAST(? AS BIGINT) = -1 THEN check_after ELSE ? END,
		lease_owner = '', lease_until = 0, sweeps = 0,
		trade_no      = CASE WHEN ? = '' THEN trade_no ELSE ? END,
		qr_content    = CASE WHEN ? = '' THEN qr_content ELSE ? END,
		expires_at    = CASE WHEN CAST(? AS BIGINT) = 0 THEN expires_at ELSE ? END,
		response_code = CASE WHEN ? = '' THEN response_code ELSE ? END,
		auth_code     = CASE WHEN ? = '' THEN auth_code ELSE ? END,
		rrn           = CASE WHEN ? = '' THEN rrn ELSE ? END,
		batch         = CASE WHEN ? = '' THEN batch ELSE ? END
		WHERE id = ? AND state = ? AND version = ?
		RETURNING `+orderColumns+`, merchant_id, day, merchant_counted`),
		string(c.To), c.Reason, micros(c.At), checkAfter, checkAfter,
		c.TradeNo, c.TradeNo, c.QRContent, c.QRContent, micros(c.ExpiresAt), micros(c.ExpiresAt),
		c.ResponseCode, c.ResponseCode, c.AuthCode, c.AuthCode, c.RRN, c.RRN, c.Batch, c.Batch,
		id, string(from), version), &merchantID, &day, &merchantCounted)
	if errors.Is(err, ErrNotFound) {
		return s.lostTransition(ctx, tx, id, from, version)
	}
	if err != nil {
		return api.Order{}, fmt.Errorf("store: %s: %s → %s: %w", id, from, c.To, err)
	}
	switch c.To {
	case api.StateSuccess:
		err = s.markPaid(ctx, tx, o, micros(c.At))
	case api.StateFailed, api.StateClosed:
		err = s.releaseTotals(ctx, tx, o, merchantID, day, merchantCounted == 1)
	}
	if err != nil {
		return api.Order{}, err
	}
	if err := s.recordTransition(ctx, tx, o, from, version, c); err != nil {
		return api.Order{}, err
	}
	if err := tx.Commit(); err != nil {
		return api.Order{}, fmt.Errorf("store: %s: commit: %w", id, err)
	}
	return o, nil
}

// checkTransition refuses a change no transaction may make, and returns
// the check time to write (keepCheck: leave it).
func checkTransition(id string, from api.State, c Change) (int64, error) {
	if from.Final() {
		return 0, fmt.Errorf("store: %s: %s → %s: %w", id, from, c.To, ErrFinal)
	}
	if !Allowed(from, c.To) {
		return 0, fmt.Errorf("store: %s: %s → %s: %w", id, from, c.To, ErrBadTransition)
	}
	if c.At.IsZero() {
		return 0, fmt.Errorf("store: %s: transition without a time", id)
	}
	checkAfter := micros(c.CheckAfter) // 0 for a final state
	if !c.To.Final() && checkAfter == 0 {
		checkAfter = keepCheck
	}
	return checkAfter, nil
}

// lostTransition is a compare-and-set that found the transaction moved on
// (or gone): the current one with ErrFinal or ErrStale.
func (s *Store) lostTransition(ctx context.Context, tx *sql.Tx, id string, from api.State, version int) (api.Order, error) {
	cur, err := s.getOrder(ctx, tx, `id = ?`, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return api.Order{}, fmt.Errorf("store: %s: %w", id, ErrNotFound)
	case err != nil:
		return api.Order{}, fmt.Errorf("store: %s: %w", id, err)
	case cur.State.Final():
		return cur, fmt.Errorf("store: %s is %s: %w", id, cur.State, ErrFinal)
	}
	return cur, fmt.Errorf("store: %s is %s v%d, not %s v%d: %w", id, cur.State, cur.Version, from, version, ErrStale)
}

// recordTransition writes what comes with a change in its database
// transaction: the history row, the request's answer and the notice to
// the other instances.
func (s *Store) recordTransition(ctx context.Context, tx *sql.Tx, o api.Order, from api.State, version int, c Change) error {
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO transaction_history (tx_id, seq, from_state, to_state, reason, actor, at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`), o.ID, version+1, string(from), string(c.To), c.Reason, c.Actor, micros(c.At)); err != nil {
		return fmt.Errorf("store: %s: history: %w", o.ID, err)
	}
	if c.Answer != nil {
		if err := s.answer(ctx, tx, c.Answer, o, c.At); err != nil {
			return err
		}
	}
	if !c.Quiet {
		return s.notifyChange(ctx, tx, o.ID)
	}
	return nil
}

// markPaid records the sale as paid by o, or refuses (ErrSalePaid, and the
// caller's transaction is rolled back) when another attempt paid it: two
// attempts of one sale can never both be SUCCESS.
func (s *Store) markPaid(ctx context.Context, tx *sql.Tx, o api.Order, at int64) error {
	res, err := tx.ExecContext(ctx, s.q(`UPDATE sales SET state = 'PAID', paid_by = ?, updated_at = ? WHERE id = ? AND state = 'OPEN'`),
		o.ID, at, o.SaleID)
	if err != nil {
		return fmt.Errorf("store: %s: mark sale %s paid: %w", o.ID, o.SaleID, err)
	}
	if rows, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: %s: mark sale %s paid: %w", o.ID, o.SaleID, err)
	} else if rows == 0 {
		return fmt.Errorf("store: %s: sale %s: %w", o.ID, o.SaleID, ErrSalePaid)
	}
	return nil
}

// answer stores the first answer to a request.
func (s *Store) answer(ctx context.Context, tx *sql.Tx, a *AnswerTo, o api.Order, at time.Time) error {
	terminalID, requestID, status, body := a.TerminalID, a.RequestID, a.Status, a.Body
	if body == nil {
		var err error
		if body, err = json.Marshal(o); err != nil {
			return fmt.Errorf("store: answer to %s: %w", requestID, err)
		}
	}
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE requests SET status = ?, answer = ?, answered_at = ?
		WHERE terminal_id = ? AND request_id = ? AND status = 0`),
		status, string(body), micros(at), terminalID, requestID); err != nil {
		return fmt.Errorf("store: answer to %s of %s: %w", requestID, terminalID, err)
	}
	return nil
}

// notifyChange tells the other server instances (PostgreSQL LISTEN) that a
// transaction changed, so their long-polls wake. The notice goes out when
// the transaction commits, never before.
func (s *Store) notifyChange(ctx context.Context, tx *sql.Tx, id string) error {
	if s.dialect != Postgres {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_notify('`+changeChannel+`', $1)`, id); err != nil {
		return fmt.Errorf("store: %s: notify: %w", id, err)
	}
	return nil
}

// keepCheck, as a change's check time, leaves the stored one as it is.
const keepCheck = -1

// changeChannel is the PostgreSQL notification channel for changes.
const changeChannel = "multipos_tx"
