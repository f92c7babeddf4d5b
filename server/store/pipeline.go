package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/multipos/multipos/api"
)

// The PostgreSQL hot paths. A payment's journal entry and its state
// changes are a handful of statements each; sent one by one they cost a
// network round trip, a server wake-up and a commit apiece, which is most of
// what a sale costs the database. Here each is one statement: the
// follow-ups are data-modifying CTEs on the row inserted or updated, so
// nothing happens unless that did. Concurrent calls' statements then share
// round trips and commits (group.go). The SQL does what the portable path
// does.

// createPipelined is Create for a new sale without a merchant limit, the
// common case, on PostgreSQL: one statement, group-committed. Plain
// inserts, not ON CONFLICT: a request id used before, or a trace used in
// the terminal's batch (the traces table), breaks a unique index and
// aborts the statement, and when the day's limit refuses the entry after
// the request record went in, multipos_refuse (migration 002) aborts it.
// Either way nothing of it stays and errFallback leaves the call to the
// portable path, which finds the first answer or says exactly why.
func (s *Store) createPipelined(ctx context.Context, n NewTx, o *api.Order, now int64) error {
	if o.Trace == MaxTrace {
		return errFallback // it also opens the next batch: the portable path does that
	}
	o.SaleID = newID("sa")
	var outTradeNo any
	if o.OutTradeNo != "" {
		outTradeNo = o.OutTradeNo
	}
	query := `WITH r AS (
			INSERT INTO requests (terminal_id, request_id, op, request_hash, tx_id, created_at)
			VALUES ($1, $5, $19, $20, $6, $11)
			RETURNING 1),
		d AS (
			INSERT INTO daily_totals (scope, scope_id, channel, day, amount)
			SELECT 'terminal', $1, $2, $3, $4
			WHERE EXISTS (SELECT 1 FROM r) AND ($7::bigint = 0 OR $4 <= $7::bigint)
			ON CONFLICT (scope, scope_id, channel, day) DO UPDATE SET amount = daily_totals.amount + excluded.amount
			WHERE $7::bigint = 0 OR daily_totals.amount + excluded.amount <= $7::bigint
			RETURNING 1),
		m AS (
			UPDATE daily_totals SET amount = amount + $4
			WHERE scope = 'merchant' AND scope_id = $9 AND channel = $2 AND day = $3 AND EXISTS (SELECT 1 FROM d)
			RETURNING 1),
		sa AS (
			INSERT INTO sales (id, terminal_id, merchant_id, store_id, amount, state, created_at, updated_at)
			SELECT $8, $1, $9, $10, $4, 'OPEN', $11, $11 WHERE EXISTS (SELECT 1 FROM d)),
		t AS (
			INSERT INTO traces (terminal_id, batch, trace, kind, ref, at)
			SELECT $1, b.batch, $12, $13, $6, $11
			FROM (SELECT COALESCE((SELECT batch FROM terminals WHERE id = $1), '` + FirstBatch + `') AS batch) b
			WHERE EXISTS (SELECT 1 FROM d) AND ($2 <> 'card' OR NOT EXISTS (SELECT 1 FROM settlements s
				WHERE s.terminal_id = $1 AND s.batch = b.batch AND s.state = 'SETTLING'))
			RETURNING batch),
		x AS (
			INSERT INTO transactions (id, sale_id, terminal_id, merchant_id, store_id, trace, channel, kind, amount,
				state, version, out_trade_no, masked_pan, entry, batch, card_seq, day, merchant_counted, check_after,
				created_at, updated_at)
			SELECT $6, $8, $1, $9, $10, $12, $2, $13, $4, 'CREATED', 1, $14, $15, $16, t.batch, $21, $3,
				(SELECT count(*) FROM m), $17, $11, $11
			FROM t
			RETURNING id, batch),
		h AS (
			INSERT INTO transaction_history (tx_id, seq, from_state, to_state, reason, actor, at)
			SELECT id, 1, '', 'CREATED', '', $18, $11 FROM x)
		SELECT COALESCE((SELECT batch FROM x), multipos_refuse('daily limit')::text)`
	args := []any{o.TerminalID, string(o.Channel), n.Day, o.Amount, n.Request.RequestID, o.ID, n.TerminalDaily,
		o.SaleID, n.MerchantID, n.StoreID, now, o.Trace, string(o.Kind), outTradeNo, o.MaskedPAN, o.Entry,
		micros(n.CheckAfter), n.Actor, n.Request.Op, n.Request.Hash, o.CardSeq}
	err := s.grouped(ctx, query, args, func(r Row) error { return r.Scan(&o.Batch) })
	switch code := s.pg.SQLState(err); {
	case code == refusedCode || code == uniqueViolation:
		return errFallback
	case err != nil:
		return fmt.Errorf("store: create %s/%s: %w", o.TerminalID, o.Trace, err)
	}
	return nil
}

// SQLSTATEs the hot paths expect: what multipos_refuse raises, and a
// unique index broken.
const (
	refusedCode     = "MPREF"
	uniqueViolation = "23505"
)

// errFallback sends a call back to the portable path.
var errFallback = errors.New("store: take the portable path")

// transitionPipelined is Transition on PostgreSQL when the answer to
// record (if any) was worked out by the caller: one statement,
// group-committed. Everything after the compare-and-set
// reads the row it returned (u), so nothing happens unless this very update
// did. It returns errFallback when the compare-and-set lost, for the
// portable path to say why. A change to SUCCESS whose sale another attempt
// has paid is refused whole (multipos_refuse): ErrSalePaid.
func (s *Store) transitionPipelined(ctx context.Context, id string, from api.State, version int, c Change, checkAfter int64) (api.Order, error) {
	at := micros(c.At)
	args := []any{string(c.To), c.Reason, at, checkAfter, c.TradeNo, c.QRContent, micros(c.ExpiresAt),
		c.ResponseCode, c.AuthCode, c.RRN, c.Batch, id, string(from), version, c.Actor}
	var follow []string
	switch c.To {
	case api.StateSuccess:
		follow = append(follow, `p AS (UPDATE sales SET state = 'PAID', paid_by = u.id, updated_at = u.updated_at
			FROM u WHERE sales.id = u.sale_id AND sales.state = 'OPEN' RETURNING 1)`)
	case api.StateFailed, api.StateClosed:
		follow = append(follow, `g AS (UPDATE daily_totals d SET amount = d.amount - u.amount FROM u
			WHERE d.channel = u.channel AND d.day = u.day
			AND ((d.scope = 'terminal' AND d.scope_id = u.terminal_id)
			  OR (d.scope = 'merchant' AND d.scope_id = u.merchant_id AND u.merchant_counted = 1)) RETURNING 1)`)
	}
	follow = append(follow, `h AS (INSERT INTO transaction_history (tx_id, seq, from_state, to_state, reason, actor, at)
		SELECT u.id, u.version, $13, u.state, u.reason, $15, u.updated_at FROM u RETURNING 1)`)
	if c.Answer != nil {
		args = append(args, c.Answer.Status, string(c.Answer.Body), c.Answer.TerminalID, c.Answer.RequestID)
		follow = append(follow, `r AS (UPDATE requests SET status = $16, answer = $17, answered_at = u.updated_at
			FROM u WHERE requests.terminal_id = $18 AND requests.request_id = $19 AND requests.status = 0 RETURNING 1)`)
	}
	counts := "(SELECT count(*) FROM h)"
	if c.To == api.StateSuccess {
		// Another attempt paid the sale first: nothing of this may stay.
		counts += " + CASE WHEN EXISTS (SELECT 1 FROM p) THEN 0 ELSE multipos_refuse('sale paid') END"
	}
	if !c.Quiet {
		follow = append(follow, `n AS (SELECT pg_notify('`+changeChannel+`', u.id) FROM u)`)
		counts += " + (SELECT count(*) FROM n)"
	}
	query := `WITH u AS (UPDATE transactions SET
			state = $1, reason = $2, version = version + 1, updated_at = $3,
			check_after = CASE WHEN $4::bigint = -1 THEN check_after ELSE $4::bigint END,
			lease_owner = '', lease_until = 0, sweeps = 0,
			trade_no      = CASE WHEN $5 = '' THEN trade_no ELSE $5 END,
			qr_content    = CASE WHEN $6 = '' THEN qr_content ELSE $6 END,
			expires_at    = CASE WHEN $7::bigint = 0 THEN expires_at ELSE $7::bigint END,
			response_code = CASE WHEN $8 = '' THEN response_code ELSE $8 END,
			auth_code     = CASE WHEN $9 = '' THEN auth_code ELSE $9 END,
			rrn           = CASE WHEN $10 = '' THEN rrn ELSE $10 END,
			batch         = CASE WHEN $11 = '' THEN batch ELSE $11 END
			WHERE id = $12 AND state = $13 AND version = $14
			RETURNING *),
		` + strings.Join(follow, ",\n\t\t") + `
		SELECT ` + orderColumns + `, ` + counts + ` FROM u`
	var (
		o api.Order
		n int64
	)
	err := s.grouped(ctx, query, args, func(r Row) (err error) {
		o, err = scanOrder(r, &n)
		return err
	})
	switch {
	case errors.Is(err, ErrNotFound):
		return api.Order{}, errFallback
	case s.pg.SQLState(err) == refusedCode:
		return api.Order{}, fmt.Errorf("store: %s: another attempt of its sale succeeded: %w", id, ErrSalePaid)
	case err != nil:
		return api.Order{}, fmt.Errorf("store: %s: %s → %s: %w", id, from, c.To, err)
	}
	return o, nil
}
