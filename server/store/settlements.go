package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/server/connector"
)

// Card batch settlement (批结算). A terminal's batch is settled by one
// claimant at a time: the row of (terminal, batch) in settlements, taken
// under a lease. Closing the batch marks the row SETTLED and moves the
// terminal to its next batch in one database transaction, so that a batch
// is never settled twice nor left open once settled.

// States of a settlement.
const (
	SettlementSettling = "SETTLING"
	SettlementSettled  = "SETTLED"
)

// TraceSettle is the trace kind of a settlement's 0500 and upload end.
const TraceSettle = "settle"

// Errors of settlement claims.
var (
	ErrBatchMoved = errors.New("batch is not the terminal's open batch")
	ErrSettling   = errors.New("batch is being settled")
)

// Settlement is a row of settlements.
type Settlement struct {
	TerminalID, Batch string
	State             string
	LeaseOwner        string
	LeaseUntil        time.Time
	By                string // the operator who asked, or api.SettledByCutoff
	SettleTrace       string // the 0500's trace once claimed ("" before)
	EndTrace          string // the upload end's trace once claimed
	Tries             int
	LastError         string
	CreatedAt         time.Time
	// Result is the settlement as answered, once SETTLED.
	Result *api.Settlement
	// OpenBatch is the terminal's open batch when a claim found it moved.
	OpenBatch string
}

const settlementColumns = `terminal_id, batch, state, lease_owner, lease_until, settled_by, settle_trace, end_trace,
	tries, last_error, answer, created_at`

func scanSettlement(row scanner) (Settlement, error) {
	var (
		x              Settlement
		until, created int64
		answer         string
	)
	err := row.Scan(&x.TerminalID, &x.Batch, &x.State, &x.LeaseOwner, &until, &x.By, &x.SettleTrace, &x.EndTrace,
		&x.Tries, &x.LastError, &answer, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Settlement{}, ErrNotFound
	}
	if err != nil {
		return Settlement{}, err
	}
	x.LeaseUntil, x.CreatedAt = fromMicros(until), fromMicros(created)
	if answer != "" {
		var r api.Settlement
		if err := json.Unmarshal([]byte(answer), &r); err != nil {
			return Settlement{}, fmt.Errorf("settlement answer: %w", err)
		}
		x.Result = &r
	}
	return x, nil
}

// Settlement returns the settlement of a terminal's batch.
func (s *Store) Settlement(ctx context.Context, terminalID, batch string) (Settlement, error) {
	x, err := scanSettlement(s.w.QueryRowContext(ctx, s.q(`SELECT `+settlementColumns+` FROM settlements
		WHERE terminal_id = ? AND batch = ?`), terminalID, batch))
	if err != nil {
		return Settlement{}, fmt.Errorf("store: settlement of %s batch %s: %w", terminalID, batch, err)
	}
	return x, nil
}

// ClaimSettlement takes the settlement of the terminal's batch for owner
// until `until`: a new row, or a SETTLING one whose lease has run out or
// was given back. The batch must be the terminal's open batch, else
// ErrBatchMoved (with the row, SETTLED, when there is one, and OpenBatch
// set); a lease held by another claimant is ErrSettling. The check and the
// claim are one database transaction, so of claimants racing on several
// instances exactly one gets the batch.
func (s *Store) ClaimSettlement(ctx context.Context, terminalID, batch, owner, by string, now, until time.Time) (Settlement, error) {
	if owner == "" || !until.After(now) {
		return Settlement{}, errors.New("store: claim settlement: an owner and a lease in the future are required")
	}
	tx, err := s.begin(ctx)
	if err != nil {
		return Settlement{}, fmt.Errorf("store: claim settlement: %w", err)
	}
	defer tx.Rollback()
	lock := ""
	if s.dialect == Postgres {
		lock = ` FOR UPDATE` // claimants of one terminal queue here
	}
	var open string
	err = tx.QueryRowContext(ctx, s.q(`SELECT batch FROM terminals WHERE id = ?`+lock), terminalID).Scan(&open)
	if errors.Is(err, sql.ErrNoRows) {
		return Settlement{}, fmt.Errorf("store: terminal %s: %w", terminalID, ErrNotFound)
	}
	if err != nil {
		return Settlement{}, fmt.Errorf("store: claim settlement of %s: %w", terminalID, err)
	}
	get := func() (Settlement, error) {
		return scanSettlement(tx.QueryRowContext(ctx, s.q(`SELECT `+settlementColumns+` FROM settlements
			WHERE terminal_id = ? AND batch = ?`), terminalID, batch))
	}
	if open != batch {
		x, err := get()
		if err != nil && !errors.Is(err, ErrNotFound) {
			return Settlement{}, fmt.Errorf("store: claim settlement of %s: %w", terminalID, err)
		}
		x.OpenBatch = open
		return x, fmt.Errorf("store: %s batch %s (open: %s): %w", terminalID, batch, open, ErrBatchMoved)
	}
	n := micros(now)
	res, err := tx.ExecContext(ctx, s.q(`INSERT INTO settlements (terminal_id, batch, state, lease_owner, lease_until,
		settled_by, tries, created_at, updated_at) VALUES (?, ?, 'SETTLING', ?, ?, ?, 1, ?, ?) ON CONFLICT DO NOTHING`),
		terminalID, batch, owner, micros(until), by, n, n)
	if err == nil && affected(res) == 0 {
		res, err = tx.ExecContext(ctx, s.q(`UPDATE settlements SET lease_owner = ?, lease_until = ?, settled_by = ?,
			tries = tries + 1, updated_at = ?
			WHERE terminal_id = ? AND batch = ? AND state = 'SETTLING' AND (lease_until <= ? OR lease_owner = '')`),
			owner, micros(until), by, n, terminalID, batch, n)
		if err == nil && affected(res) == 0 {
			return Settlement{}, fmt.Errorf("store: %s batch %s: %w", terminalID, batch, ErrSettling)
		}
	}
	if err != nil {
		return Settlement{}, fmt.Errorf("store: claim settlement of %s batch %s: %w", terminalID, batch, err)
	}
	x, err := get()
	if err != nil {
		return Settlement{}, fmt.Errorf("store: claim settlement of %s batch %s: %w", terminalID, batch, err)
	}
	if err := tx.Commit(); err != nil {
		return Settlement{}, fmt.Errorf("store: claim settlement: %w", err)
	}
	return x, nil
}

// affected is RowsAffected, -1 when the driver cannot tell.
func affected(res sql.Result) int64 {
	n, err := res.RowsAffected()
	if err != nil {
		return -1
	}
	return n
}

// ExtendSettlement moves the lease of a settlement owner holds to until;
// ErrStale when owner no longer holds it.
func (s *Store) ExtendSettlement(ctx context.Context, terminalID, batch, owner string, until time.Time) error {
	return s.ownSettlement(ctx, terminalID, batch, owner, `lease_until = ?`, micros(until))
}

// SetSettlementTraces records the traces a settlement's 0500 and upload
// end go under, so that a retry sends them under the same ones.
func (s *Store) SetSettlementTraces(ctx context.Context, terminalID, batch, owner, settleTrace, endTrace string) error {
	return s.ownSettlement(ctx, terminalID, batch, owner, `settle_trace = ?, end_trace = ?`, settleTrace, endTrace)
}

// ReleaseSettlement gives back a settlement that failed: it stays SETTLING
// with the error, free for a station's retry at once and for the
// settlement loop from retryAt.
func (s *Store) ReleaseSettlement(ctx context.Context, terminalID, batch, owner, why string, retryAt time.Time) error {
	return s.ownSettlement(ctx, terminalID, batch, owner, `lease_owner = '', lease_until = ?, last_error = ?`,
		micros(retryAt), why)
}

func (s *Store) ownSettlement(ctx context.Context, terminalID, batch, owner, set string, args ...any) error {
	args = append(args, terminalID, batch, owner)
	res, err := s.w.ExecContext(ctx, s.q(`UPDATE settlements SET `+set+`
		WHERE terminal_id = ? AND batch = ? AND state = 'SETTLING' AND lease_owner = ?`), args...)
	if err != nil {
		return fmt.Errorf("store: settlement of %s batch %s: %w", terminalID, batch, err)
	}
	if affected(res) == 0 {
		return fmt.Errorf("store: settlement of %s batch %s: lease lost: %w", terminalID, batch, ErrStale)
	}
	return nil
}

// CloseSettlement marks the settlement owner holds SETTLED with its result
// and moves the terminal to r.NextBatch, in one database transaction.
// ErrStale when owner no longer holds it.
func (s *Store) CloseSettlement(ctx context.Context, owner string, r api.Settlement, at time.Time) error {
	answer, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("store: settlement answer: %w", err)
	}
	tx, err := s.begin(ctx)
	if err != nil {
		return fmt.Errorf("store: close settlement: %w", err)
	}
	defer tx.Rollback()
	// The terminal's row first, as ClaimSettlement locks it: in the other
	// order a claimant of the same terminal deadlocks with the close.
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE terminals SET batch = ?, updated_at = ? WHERE id = ? AND batch = ?`),
		r.NextBatch, micros(at), r.TerminalID, r.Batch); err != nil {
		return fmt.Errorf("store: %s next batch: %w", r.TerminalID, err)
	}
	res, err := tx.ExecContext(ctx, s.q(`UPDATE settlements SET state = 'SETTLED', lease_owner = '', lease_until = 0,
		debit_count = ?, debit_amount = ?, credit_count = ?, credit_amount = ?, balanced = ?, uploaded = ?, reversals = ?,
		from_at = ?, to_at = ?, settled_at = ?, next_batch = ?, settled_by = ?, answer = ?, last_error = '', updated_at = ?
		WHERE terminal_id = ? AND batch = ? AND state = 'SETTLING' AND lease_owner = ?`),
		r.DebitCount, r.DebitAmount, r.CreditCount, r.CreditAmount, boolInt(r.Balanced), r.Uploaded, r.Reversals,
		micros(r.From), micros(r.To), micros(at), r.NextBatch, r.By, string(answer), micros(at),
		r.TerminalID, r.Batch, owner)
	if err != nil {
		return fmt.Errorf("store: close settlement of %s batch %s: %w", r.TerminalID, r.Batch, err)
	}
	if affected(res) == 0 {
		return fmt.Errorf("store: close settlement of %s batch %s: lease lost: %w", r.TerminalID, r.Batch, ErrStale)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: close settlement: %w", err)
	}
	return nil
}

// LapsedSettlements lists settlements still SETTLING whose lease ran out
// by now (a crashed or failed claimant): the settlement loop finishes them.
func (s *Store) LapsedSettlements(ctx context.Context, now time.Time, limit int) ([]Settlement, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT `+settlementColumns+` FROM settlements
		WHERE state = 'SETTLING' AND lease_until <= ? ORDER BY lease_until LIMIT ?`), micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("store: lapsed settlements: %w", err)
	}
	defer rows.Close()
	var out []Settlement
	for rows.Next() {
		x, err := scanSettlement(rows)
		if err != nil {
			return nil, fmt.Errorf("store: lapsed settlements: %w", err)
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// OpenBatch is a terminal's open batch.
type OpenBatch struct {
	TerminalID, MerchantID, Batch string
}

// BatchesToSettle lists the terminals whose open batch holds a card
// transaction created before `before` that counts or may count (approved,
// or its outcome still open): what a cut-off settles. An empty batch, or
// one of declined transactions only, is left alone.
func (s *Store) BatchesToSettle(ctx context.Context, before time.Time) ([]OpenBatch, error) {
	b := micros(before)
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT t.id, t.merchant_id, t.batch FROM terminals t
		WHERE EXISTS (SELECT 1 FROM transactions x WHERE x.terminal_id = t.id AND x.batch = t.batch
		                AND x.channel = 'card' AND x.state IN ('SUCCESS', 'UNKNOWN', 'CREATED') AND x.created_at < ?)
		   OR EXISTS (SELECT 1 FROM card_adjustments a WHERE a.terminal_id = t.id AND a.batch = t.batch
		                AND a.state IN ('SUCCESS', 'UNKNOWN', 'CREATED') AND a.created_at < ?)
		ORDER BY t.id`), b, b)
	if err != nil {
		return nil, fmt.Errorf("store: batches to settle: %w", err)
	}
	defer rows.Close()
	var out []OpenBatch
	for rows.Next() {
		var o OpenBatch
		if err := rows.Scan(&o.TerminalID, &o.MerchantID, &o.Batch); err != nil {
			return nil, fmt.Errorf("store: batches to settle: %w", err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// BatchEntry is a transaction of a batch as the 0500 counts it and the
// 0320 uploads it. OrigTradeNo and OrigAt are its sale's trade number and
// last change (a refund's original date is the acquirer's date of the
// sale: see the server's acquirerDate).
type BatchEntry struct {
	connector.BatchTxn
	At          time.Time
	OrigTradeNo string
	OrigAt      time.Time
}

// BatchTxns lists a terminal's batch as its settlement counts it, by
// trace: the approved sales (voided or not: a void is a credit of its
// own), and the approved voids and refunds. Reversed, declined and open
// ones are not part of it. No card number.
func (s *Store) BatchTxns(ctx context.Context, terminalID, batch string) ([]BatchEntry, error) {
	rows, err := s.w.QueryContext(ctx, s.q(`SELECT 'sale', trace, amount, rrn, auth_code, entry, card_seq, created_at,
		'', '', '', 0 FROM transactions
		WHERE terminal_id = ? AND batch = ? AND channel = 'card' AND kind = 'card_sale' AND state = 'SUCCESS'
		UNION ALL
		SELECT CASE a.kind WHEN 'card_void' THEN 'void' ELSE 'refund' END, a.trace, a.amount, a.rrn, a.auth_code,
			a.entry, a.card_seq, a.created_at, o.batch, o.trace, o.trade_no, o.updated_at
		FROM card_adjustments a JOIN transactions o ON o.id = a.original_id
		WHERE a.terminal_id = ? AND a.batch = ? AND a.state = 'SUCCESS'
		ORDER BY 2`), terminalID, batch, terminalID, batch)
	if err != nil {
		return nil, fmt.Errorf("store: batch %s of %s: %w", batch, terminalID, err)
	}
	defer rows.Close()
	var out []BatchEntry
	for rows.Next() {
		var (
			e           BatchEntry
			at, origAt  int64
			origTradeNo string
		)
		if err := rows.Scan(&e.Kind, &e.Trace, &e.Amount, &e.RRN, &e.AuthCode, &e.Entry, &e.CardSeq, &at,
			&e.OrigBatch, &e.OrigTrace, &origTradeNo, &origAt); err != nil {
			return nil, fmt.Errorf("store: batch %s of %s: %w", batch, terminalID, err)
		}
		e.PIN = e.Kind == "sale" // a sale always asks for the PIN (as its reversal says)
		e.At, e.OrigTradeNo = fromMicros(at), origTradeNo
		if origAt != 0 {
			e.OrigAt = fromMicros(origAt)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// OpenInBatch lists a terminal's card sales, voids and refunds of a batch
// whose outcome is still open (CREATED: at the acquirer or left by a
// crash; UNKNOWN: the answer was lost, a reversal is owed).
func (s *Store) OpenInBatch(ctx context.Context, terminalID, batch string) (sales, adjustments []api.Order, err error) {
	sales, err = s.listOrders(ctx, s.w, `terminal_id = ? AND batch = ? AND channel = 'card' AND state IN ('CREATED', 'UNKNOWN')
		ORDER BY created_at`, terminalID, batch)
	if err != nil {
		return nil, nil, err
	}
	rows, err := s.w.QueryContext(ctx, s.q(`SELECT `+adjColumns+` FROM card_adjustments
		WHERE terminal_id = ? AND batch = ? AND state IN ('CREATED', 'UNKNOWN') ORDER BY created_at`), terminalID, batch)
	if err != nil {
		return nil, nil, fmt.Errorf("store: open adjustments of %s batch %s: %w", terminalID, batch, err)
	}
	defer rows.Close()
	for rows.Next() {
		o, err := scanAdjustment(rows)
		if err != nil {
			return nil, nil, fmt.Errorf("store: open adjustments of %s batch %s: %w", terminalID, batch, err)
		}
		adjustments = append(adjustments, o)
	}
	return sales, adjustments, rows.Err()
}

// BatchOpenedAt is when a terminal's batch was opened as far as the
// journal tells: its first trace (zero when it has none).
func (s *Store) BatchOpenedAt(ctx context.Context, terminalID, batch string) (time.Time, error) {
	var at sql.NullInt64
	if err := s.w.QueryRowContext(ctx, s.q(`SELECT MIN(at) FROM traces WHERE terminal_id = ? AND batch = ?`),
		terminalID, batch).Scan(&at); err != nil {
		return time.Time{}, fmt.Errorf("store: batch %s of %s: %w", batch, terminalID, err)
	}
	if !at.Valid {
		return time.Time{}, nil
	}
	return fromMicros(at.Int64), nil
}
