package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/multipos/multipos/api"
)

// Why a void or refund is refused before it reaches the bank.
var (
	ErrNotAdjustable = errors.New("the original is not an approved card sale of this terminal")
	ErrVoided        = errors.New("the sale is already voided, or a void of it is in progress")
	ErrNotToday      = errors.New("only a sale of today can be voided; refund it instead")
	ErrRefunded      = errors.New("the sale has refunds: it can no longer be voided")
	ErrOverRefund    = errors.New("the refunds would exceed the sale's amount")
)

// Refused is a void or refund its sale does not allow: Err is ErrVoided,
// ErrRefunded or ErrOverRefund, and Left what is left to refund of the
// sale once the refunds approved or in progress are taken off.
type Refused struct {
	Err  error
	Left int64 // fen
}

func (e *Refused) Error() string {
	if errors.Is(e.Err, ErrVoided) {
		return e.Err.Error() // nothing is left of a voided sale
	}
	return fmt.Sprintf("%v (%d fen left to refund)", e.Err, e.Left)
}

func (e *Refused) Unwrap() error { return e.Err }

// NewAdjustment is a void or refund to journal.
type NewAdjustment struct {
	ID          string
	TerminalID  string
	RequestID   string
	RequestHash string
	Kind        api.Kind // api.KindCardVoid or api.KindCardRefund
	Trace       string
	OriginalID  string
	Amount      int64 // fen; a void's is the sale's whole amount
	MaskedPAN   string
	Entry       string
	CardSeq     string // PAN sequence number (field 23), kept for a reversal
	Day         string // the server's business day, as transactions.day
	At          time.Time
	CheckAfter  time.Time // when the sweeper looks at it if it is never answered
}

const adjColumns = `id, terminal_id, kind, trace, original_id, amount, state, reason, version, masked_pan, entry,
	response_code, auth_code, rrn, batch, card_seq, created_at, updated_at`

func scanAdjustment(row scanner) (api.Order, error) {
	var (
		o                api.Order
		kind, state      string
		created, updated int64
	)
	err := row.Scan(&o.ID, &o.TerminalID, &kind, &o.Trace, &o.Original, &o.Amount, &state, &o.Reason, &o.Version,
		&o.MaskedPAN, &o.Entry, &o.ResponseCode, &o.AuthCode, &o.RRN, &o.Batch, &o.CardSeq, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return api.Order{}, ErrNotFound
	}
	if err != nil {
		return api.Order{}, err
	}
	o.Channel, o.Kind, o.State = api.Card, api.Kind(kind), api.State(state)
	o.CreatedAt, o.UpdatedAt = fromMicros(created), fromMicros(updated)
	return o, nil
}

// CreateAdjustment journals a void or refund after checking it against its
// original sale and the adjustments already made or in flight, in one
// database transaction (the original's row is locked on PostgreSQL, so two
// refunds racing cannot both pass). A repeat of the same request id returns
// the adjustment as it stands with replay set; the same id with other
// parameters is ErrRequestMismatch.
func (s *Store) CreateAdjustment(ctx context.Context, n NewAdjustment) (o api.Order, replay bool, err error) {
	tx, err := s.begin(ctx)
	if err != nil {
		return api.Order{}, false, fmt.Errorf("store: adjustment: %w", err)
	}
	defer tx.Rollback()
	lock := ""
	if s.dialect == Postgres {
		lock = " FOR UPDATE"
	}
	var (
		term, kind, state string
		amount            int64
	)
	err = tx.QueryRowContext(ctx, s.q(`SELECT terminal_id, kind, state, amount FROM transactions WHERE id = ?`+lock), n.OriginalID).
		Scan(&term, &kind, &state, &amount)
	if errors.Is(err, sql.ErrNoRows) {
		return api.Order{}, false, ErrNotAdjustable
	}
	if err != nil {
		return api.Order{}, false, fmt.Errorf("store: adjustment: %w", err)
	}
	if term != n.TerminalID || api.Kind(kind) != api.KindCardSale || api.State(state) != api.StateSuccess {
		return api.Order{}, false, ErrNotAdjustable
	}
	// The request is looked for after the sale's row is locked: a repeat
	// sent while the first was being written then finds it.
	if o, replay, err := s.adjustmentReplay(ctx, tx, n); replay || err != nil {
		return o, replay, err
	}
	if n.Amount, err = s.adjustable(ctx, tx, n, amount); err != nil {
		return api.Order{}, false, err
	}
	at := micros(n.At)
	batch, err := s.claimTrace(ctx, tx, n.TerminalID, n.Trace, string(n.Kind), n.ID, at)
	if err != nil {
		return api.Order{}, false, err
	}
	res, err := tx.ExecContext(ctx, s.q(`INSERT INTO card_adjustments (id, terminal_id, request_id, request_hash, kind, trace,
		original_id, amount, state, version, masked_pan, entry, batch, card_seq, day, check_after, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'CREATED', 1, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`),
		n.ID, n.TerminalID, n.RequestID, n.RequestHash, string(n.Kind), n.Trace, n.OriginalID, n.Amount,
		n.MaskedPAN, n.Entry, batch, n.CardSeq, n.Day, micros(n.CheckAfter), at, at)
	if err != nil {
		return api.Order{}, false, fmt.Errorf("store: adjustment: %w", err)
	}
	if rows, err := res.RowsAffected(); err != nil {
		return api.Order{}, false, fmt.Errorf("store: adjustment: %w", err)
	} else if rows == 0 {
		// Only the request id can conflict here, and the replay check
		// above ran under the sale's lock: a concurrent duplicate.
		if o, replay, err := s.adjustmentReplay(ctx, tx, n); replay || err != nil {
			return o, replay, err
		}
		return api.Order{}, false, fmt.Errorf("store: adjustment %s of terminal %s: %w", n.RequestID, n.TerminalID, ErrExists)
	}
	o, err = scanAdjustment(tx.QueryRowContext(ctx, s.q(`SELECT `+adjColumns+` FROM card_adjustments WHERE id = ?`), n.ID))
	if err != nil {
		return api.Order{}, false, fmt.Errorf("store: adjustment: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return api.Order{}, false, fmt.Errorf("store: adjustment: %w", err)
	}
	return o, false, nil
}

// adjustable checks a void or refund against what was voided or refunded
// of its sale already (or is in progress) and returns its amount: a
// void's is the sale's.
func (s *Store) adjustable(ctx context.Context, tx *sql.Tx, n NewAdjustment, saleAmount int64) (int64, error) {
	var voids, refunds int
	var refunded int64
	err := tx.QueryRowContext(ctx, s.q(`SELECT
			COALESCE(SUM(CASE WHEN kind = 'card_void' THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN kind = 'card_refund' THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN kind = 'card_refund' THEN amount ELSE 0 END), 0)
		FROM card_adjustments WHERE original_id = ? AND state IN ('CREATED', 'UNKNOWN', 'SUCCESS')`), n.OriginalID).
		Scan(&voids, &refunds, &refunded)
	if err != nil {
		return 0, fmt.Errorf("store: adjustment: %w", err)
	}
	left := max(saleAmount-refunded, 0)
	switch {
	case voids > 0:
		return 0, &Refused{Err: ErrVoided}
	case n.Kind == api.KindCardVoid && refunds > 0:
		return 0, &Refused{Err: ErrRefunded, Left: left}
	case n.Kind == api.KindCardVoid:
		return saleAmount, nil
	case n.Kind == api.KindCardRefund && refunded+n.Amount > saleAmount:
		return 0, &Refused{Err: fmt.Errorf("%w: %d fen refunded or in progress of %d fen", ErrOverRefund, refunded, saleAmount), Left: left}
	case n.Kind != api.KindCardRefund:
		return 0, fmt.Errorf("store: adjustment of kind %q", n.Kind)
	}
	return n.Amount, nil
}

// Undone is what was undone of a card sale at the bank: the sum of its
// approved refunds and whether an approved void of it exists.
func (s *Store) Undone(ctx context.Context, saleID string) (refunded int64, voided bool, err error) {
	var voids int
	err = s.r.QueryRowContext(ctx, s.q(`SELECT
			COALESCE(SUM(CASE WHEN kind = 'card_refund' THEN amount ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN kind = 'card_void' THEN 1 ELSE 0 END), 0)
		FROM card_adjustments WHERE original_id = ? AND state = 'SUCCESS'`), saleID).Scan(&refunded, &voids)
	if err != nil {
		return 0, false, fmt.Errorf("store: what was undone of %s: %w", saleID, err)
	}
	return refunded, voids > 0, nil
}

// adjustmentReplay finds an adjustment already made under n's request id:
// replay when it is there with the same parameters, ErrRequestMismatch
// when with others.
func (s *Store) adjustmentReplay(ctx context.Context, tx *sql.Tx, n NewAdjustment) (api.Order, bool, error) {
	var prevHash string
	prev, err := scanAdjustmentWithHash(tx.QueryRowContext(ctx, s.q(`SELECT `+adjColumns+`, request_hash FROM card_adjustments
		WHERE terminal_id = ? AND request_id = ?`), n.TerminalID, n.RequestID), &prevHash)
	switch {
	case errors.Is(err, ErrNotFound):
		return api.Order{}, false, nil
	case err != nil:
		return api.Order{}, false, fmt.Errorf("store: adjustment: %w", err)
	case prevHash != n.RequestHash:
		return api.Order{}, false, ErrRequestMismatch
	}
	return prev, true, nil
}

func scanAdjustmentWithHash(row *sql.Row, hash *string) (api.Order, error) {
	return scanAdjustment(hashScanner{row, hash})
}

// hashScanner reads the request hash after the adjustment's columns.
type hashScanner struct {
	row  *sql.Row
	hash *string
}

func (h hashScanner) Scan(dest ...any) error { return h.row.Scan(append(dest, h.hash)...) }

// AdjustmentChange is the bank's answer to a void or refund, or the
// sweeper's reversal of one.
type AdjustmentChange struct {
	To           api.State
	Reason       string
	ResponseCode string
	AuthCode     string
	RRN          string
	Batch        string // "" keeps the batch the adjustment was journaled in
	At           time.Time
	CheckAfter   time.Time // UNKNOWN only: when to try the reversal (again)
}

// SettleAdjustment moves a void or refund on from the state it had at
// version; ErrStale when another change came first.
func (s *Store) SettleAdjustment(ctx context.Context, id string, version int, c AdjustmentChange) (api.Order, error) {
	check := int64(0)
	if c.To == api.StateUnknown || c.To == api.StateCreated {
		check = micros(c.CheckAfter)
	}
	// The batch is the one its trace was claimed in: an answer without one
	// (a decline, a lost answer, a reversal) leaves it, or the reversal
	// would name another transaction.
	res, err := s.w.ExecContext(ctx, s.q(`UPDATE card_adjustments SET state = ?, reason = ?, response_code = ?, auth_code = ?,
		rrn = ?, batch = CASE WHEN ? = '' THEN batch ELSE ? END, check_after = ?, version = version + 1, updated_at = ?
		WHERE id = ? AND version = ? AND state IN ('CREATED', 'UNKNOWN')`),
		string(c.To), c.Reason, c.ResponseCode, c.AuthCode, c.RRN, c.Batch, c.Batch, check, micros(c.At), id, version)
	if err != nil {
		return api.Order{}, fmt.Errorf("store: adjustment %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return api.Order{}, fmt.Errorf("store: adjustment %s: %w", id, err)
	}
	o, gerr := s.Adjustment(ctx, id)
	if gerr != nil {
		return api.Order{}, gerr
	}
	if n == 0 {
		return o, ErrStale
	}
	return o, nil
}

// Adjustment returns a void or refund.
func (s *Store) Adjustment(ctx context.Context, id string) (api.Order, error) {
	o, err := scanAdjustment(s.w.QueryRowContext(ctx, s.q(`SELECT `+adjColumns+` FROM card_adjustments WHERE id = ?`), id))
	if err != nil {
		return api.Order{}, fmt.Errorf("store: adjustment %s: %w", id, err)
	}
	return o, nil
}

// DueAdjustments lists voids and refunds whose answer never came and whose
// check time has passed: the sweeper reverses them.
func (s *Store) DueAdjustments(ctx context.Context, now time.Time, limit int) ([]api.Order, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT `+adjColumns+` FROM card_adjustments
		WHERE check_after > 0 AND check_after <= ? AND state IN ('CREATED', 'UNKNOWN') ORDER BY check_after LIMIT ?`), micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("store: due adjustments: %w", err)
	}
	defer rows.Close()
	var out []api.Order
	for rows.Next() {
		o, err := scanAdjustment(rows)
		if err != nil {
			return nil, fmt.Errorf("store: due adjustments: %w", err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// AdjustmentByTrace returns the terminal's void or refund with trace: in
// batch when it is given, else as ByTrace chooses.
func (s *Store) AdjustmentByTrace(ctx context.Context, terminalID, batch, trace string) (api.Order, error) {
	q := `SELECT ` + adjColumns + ` FROM card_adjustments WHERE terminal_id = ? AND trace = ?`
	args := []any{terminalID, trace}
	if batch != "" {
		q += ` AND batch = ?`
		args = append(args, batch)
	}
	o, err := scanAdjustment(s.r.QueryRowContext(ctx, s.q(q+` `+openBatchFirst+` LIMIT 1`), append(args, terminalID)...))
	if err != nil {
		return api.Order{}, fmt.Errorf("store: terminal %s adjustment with trace %s: %w", terminalID, trace, err)
	}
	return o, nil
}
