package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/multipos/multipos/server/api"
)

// The PostgreSQL hot paths. A payment's journal entry and its state
// changes are a handful of statements each; sent one by one they cost a
// network round trip and a server wake-up apiece, which is most of what a
// sale costs the database. Here a state change is one statement (its
// follow-ups are data-modifying CTEs on the updated row), and a journal
// entry is one pipelined batch inside an explicit transaction, committed
// or rolled back in a second round trip once its results are read. The SQL
// does what the portable path does.

// withPgx runs f on a pooled connection's native pgx connection. A
// connection f leaves inside a transaction (its COMMIT or ROLLBACK never
// got through) is closed, never handed to the next caller.
func (s *Store) withPgx(ctx context.Context, f func(*pgx.Conn) error) error {
	c, err := s.w.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		err := f(pc)
		if st := pc.PgConn().TxStatus(); st != 'I' && !pc.IsClosed() {
			return errors.Join(fmt.Errorf("%w: connection left in transaction state %q", driver.ErrBadConn, st), err)
		}
		return err
	})
}

// createPipelined is Create for a new sale without a merchant limit, the
// common case, on PostgreSQL: one pipelined batch that begins a
// transaction and, in one statement, records the request id and journals
// the transaction only if that record is new; then, once its results are
// read, COMMIT or ROLLBACK (a limit refused it, or the trace was used). When the request id was used before, nothing is written and
// errFallback leaves the replay to the portable path.
func (s *Store) createPipelined(ctx context.Context, n NewTx, o *api.Order, now int64) error {
	o.SaleID = newID("sa")
	var outTradeNo any
	if o.OutTradeNo != "" {
		outTradeNo = o.OutTradeNo
	}
	return s.withPgx(ctx, func(c *pgx.Conn) error {
		b := &pgx.Batch{}
		b.Queue("BEGIN")
		b.Queue(`WITH r AS (
				INSERT INTO requests (terminal_id, request_id, op, request_hash, tx_id, created_at)
				VALUES ($1, $5, $19, $20, $6, $11) ON CONFLICT DO NOTHING
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
			x AS (
				INSERT INTO transactions (id, sale_id, terminal_id, merchant_id, store_id, trace, channel, kind, amount,
					state, version, out_trade_no, masked_pan, entry, day, merchant_counted, check_after, created_at, updated_at)
				SELECT $6, $8, $1, $9, $10, $12, $2, $13, $4, 'CREATED', 1, $14, $15, $16, $3, (SELECT count(*) FROM m), $17, $11, $11
				WHERE EXISTS (SELECT 1 FROM d)
				ON CONFLICT DO NOTHING
				RETURNING id),
			h AS (
				INSERT INTO transaction_history (tx_id, seq, from_state, to_state, reason, actor, at)
				SELECT id, 1, '', 'CREATED', '', $18, $11 FROM x)
			SELECT (SELECT count(*) FROM r), (SELECT count(*) FROM d), (SELECT count(*) FROM x)`,
			o.TerminalID, string(o.Channel), n.Day, o.Amount, n.Request.RequestID, o.ID, n.TerminalDaily,
			o.SaleID, n.MerchantID, n.StoreID, now, o.Trace, string(o.Kind), outTradeNo, o.MaskedPAN, o.Entry,
			micros(n.CheckAfter), n.Actor, n.Request.Op, n.Request.Hash)
		br := c.SendBatch(ctx, b)
		var fresh, counted, inserted int64
		_, err := br.Exec()
		if err == nil {
			err = br.QueryRow().Scan(&fresh, &counted, &inserted)
		}
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		ok := err == nil && fresh == 1 && counted == 1 && inserted == 1
		if ferr := finish(ctx, c, ok); err == nil {
			err = ferr
		}
		switch {
		case err != nil:
			return fmt.Errorf("store: create %s/%s: %w", o.TerminalID, o.Trace, err)
		case fresh == 0: // the request id was used before
			return errFallback
		case counted == 0:
			used, err := s.total(ctx, s.r, ScopeTerminal, o.TerminalID, o.Channel, n.Day)
			if err != nil {
				return err
			}
			return &OverLimit{Scope: ScopeTerminal, Limit: n.TerminalDaily, Used: used}
		case inserted == 0:
			return fmt.Errorf("store: terminal %s trace %s: %w", o.TerminalID, o.Trace, ErrTraceUsed)
		}
		return nil
	})
}

// finish ends the transaction a batch began: COMMIT when ok, else ROLLBACK
// (which PostgreSQL also does for a transaction an error has aborted).
func finish(ctx context.Context, c *pgx.Conn, ok bool) error {
	stmt := "ROLLBACK"
	if ok {
		stmt = "COMMIT"
	}
	if _, err := c.Exec(ctx, stmt); err != nil {
		return fmt.Errorf("%s: %w", stmt, err)
	}
	return nil
}

// errFallback sends a call back to the portable path.
var errFallback = errors.New("store: take the portable path")

// transitionPipelined is Transition on PostgreSQL when the answer to
// record (if any) was worked out by the caller: one statement, so one
// round trip and its own transaction. Everything after the compare-and-set
// reads the row it returned (u), so nothing happens unless this very update
// did. It returns errFallback when the compare-and-set lost, for the
// portable path to say why. A second successful attempt of a sale breaks
// the partial unique index and aborts the statement: ErrSalePaid.
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
	if !c.Quiet {
		follow = append(follow, `n AS (SELECT pg_notify('`+changeChannel+`', u.id) FROM u)`)
		counts += " + (SELECT count(*) FROM n)"
	}
	query := `WITH u AS (UPDATE transactions SET
			state = $1, reason = $2, version = version + 1, updated_at = $3, check_after = $4,
			lease_owner = '', lease_until = 0,
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
	var n int64
	o, err := scanOrder(s.w.QueryRowContext(ctx, query, args...), &n)
	var pe *pgconn.PgError
	switch {
	case errors.Is(err, ErrNotFound):
		return api.Order{}, errFallback
	case errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == "transactions_one_success":
		return api.Order{}, fmt.Errorf("store: %s: another attempt of its sale succeeded: %w", id, ErrSalePaid)
	case err != nil:
		return api.Order{}, fmt.Errorf("store: %s: %s → %s: %w", id, from, c.To, err)
	}
	return o, nil
}
