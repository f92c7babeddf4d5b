package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/multipos/multipos/api"
)

// Scopes of limits and daily totals.
const (
	ScopeMerchant = "merchant"
	ScopeTerminal = "terminal"
)

// raiseTotals adds the attempt's amount to the day's totals, refusing it
// when a daily limit would be passed. It reports whether the merchant's
// total counted it (only kept while the merchant has a daily limit: a
// merchant-wide row would make every terminal of a chain queue on one row
// lock for a figure nobody checks).
func (s *Store) raiseTotals(ctx context.Context, tx *sql.Tx, n NewTx) (bool, error) {
	o := n.Order
	if n.TerminalDaily > 0 && o.Amount > n.TerminalDaily {
		used, err := s.total(ctx, tx, ScopeTerminal, o.TerminalID, o.Channel, n.Day)
		if err != nil {
			return false, err
		}
		return false, &OverLimit{Scope: ScopeTerminal, Limit: n.TerminalDaily, Used: used}
	}
	res, err := tx.ExecContext(ctx, s.q(`INSERT INTO daily_totals (scope, scope_id, channel, day, amount)
		VALUES ('terminal', ?, ?, ?, ?)
		ON CONFLICT (scope, scope_id, channel, day) DO UPDATE SET amount = daily_totals.amount + excluded.amount
		WHERE CAST(? AS BIGINT) = 0 OR daily_totals.amount + excluded.amount <= ?`),
		o.TerminalID, string(o.Channel), n.Day, o.Amount, n.TerminalDaily, n.TerminalDaily)
	if err != nil {
		return false, fmt.Errorf("store: daily total of %s: %w", o.TerminalID, err)
	}
	if rows, err := res.RowsAffected(); err != nil {
		return false, fmt.Errorf("store: daily total of %s: %w", o.TerminalID, err)
	} else if rows == 0 {
		used, err := s.total(ctx, tx, ScopeTerminal, o.TerminalID, o.Channel, n.Day)
		if err != nil {
			return false, err
		}
		return false, &OverLimit{Scope: ScopeTerminal, Limit: n.TerminalDaily, Used: used}
	}
	if n.MerchantDaily <= 0 {
		// No limit now, but one earlier today keeps a row: keep it right,
		// in case the limit comes back before the day ends.
		res, err := tx.ExecContext(ctx, s.q(`UPDATE daily_totals SET amount = amount + ?
			WHERE scope = 'merchant' AND scope_id = ? AND channel = ? AND day = ?`),
			o.Amount, n.MerchantID, string(o.Channel), n.Day)
		if err != nil {
			return false, fmt.Errorf("store: daily total of merchant %s: %w", n.MerchantID, err)
		}
		rows, err := res.RowsAffected()
		if err != nil {
			return false, fmt.Errorf("store: daily total of merchant %s: %w", n.MerchantID, err)
		}
		return rows == 1, nil
	}
	// The merchant's row starts from what its terminals have open or taken
	// today, the first time a payment meets the limit; the open ones among
	// them are marked counted, so that they give their amount back to it
	// if they fail.
	res, err = tx.ExecContext(ctx, s.q(`INSERT INTO daily_totals (scope, scope_id, channel, day, amount)
		SELECT 'merchant', ?, ?, ?, COALESCE(SUM(amount), 0) FROM transactions
		WHERE merchant_id = ? AND channel = ? AND day = ? AND state IN ('CREATED', 'PENDING', 'UNKNOWN', 'CANCELLING', 'SUCCESS')
		ON CONFLICT (scope, scope_id, channel, day) DO NOTHING`),
		n.MerchantID, string(o.Channel), n.Day, n.MerchantID, string(o.Channel), n.Day)
	if err != nil {
		return false, fmt.Errorf("store: daily total of merchant %s: %w", n.MerchantID, err)
	}
	if rows, err := res.RowsAffected(); err != nil {
		return false, fmt.Errorf("store: daily total of merchant %s: %w", n.MerchantID, err)
	} else if rows == 1 {
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE transactions SET merchant_counted = 1
			WHERE merchant_id = ? AND channel = ? AND day = ? AND state IN ('CREATED', 'PENDING', 'UNKNOWN', 'CANCELLING') AND merchant_counted = 0`),
			n.MerchantID, string(o.Channel), n.Day); err != nil {
			return false, fmt.Errorf("store: daily total of merchant %s: %w", n.MerchantID, err)
		}
	}
	res, err = tx.ExecContext(ctx, s.q(`UPDATE daily_totals SET amount = amount + ?
		WHERE scope = 'merchant' AND scope_id = ? AND channel = ? AND day = ? AND amount + ? <= ?`),
		o.Amount, n.MerchantID, string(o.Channel), n.Day, o.Amount, n.MerchantDaily)
	if err != nil {
		return false, fmt.Errorf("store: daily total of merchant %s: %w", n.MerchantID, err)
	}
	if rows, err := res.RowsAffected(); err != nil {
		return false, fmt.Errorf("store: daily total of merchant %s: %w", n.MerchantID, err)
	} else if rows == 0 {
		used, err := s.total(ctx, tx, ScopeMerchant, n.MerchantID, o.Channel, n.Day)
		if err != nil {
			return false, err
		}
		return false, &OverLimit{Scope: ScopeMerchant, Limit: n.MerchantDaily, Used: used}
	}
	return true, nil
}

// releaseTotals gives a failed or closed attempt's amount back to the day.
func (s *Store) releaseTotals(ctx context.Context, tx *sql.Tx, o api.Order, merchantID, day string, merchantCounted bool) error {
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE daily_totals SET amount = amount - ?
		WHERE scope = 'terminal' AND scope_id = ? AND channel = ? AND day = ?`),
		o.Amount, o.TerminalID, string(o.Channel), day); err != nil {
		return fmt.Errorf("store: %s: release daily total: %w", o.ID, err)
	}
	if !merchantCounted {
		return nil
	}
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE daily_totals SET amount = amount - ?
		WHERE scope = 'merchant' AND scope_id = ? AND channel = ? AND day = ?`),
		o.Amount, merchantID, string(o.Channel), day); err != nil {
		return fmt.Errorf("store: %s: release merchant daily total: %w", o.ID, err)
	}
	return nil
}

func (s *Store) total(ctx context.Context, q queryer, scope, id string, ch api.Channel, day string) (int64, error) {
	var amount int64
	err := q.QueryRowContext(ctx, s.q(`SELECT amount FROM daily_totals WHERE scope = ? AND scope_id = ? AND channel = ? AND day = ?`),
		scope, id, string(ch), day).Scan(&amount)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: daily total of %s %s: %w", scope, id, err)
	}
	return amount, nil
}

// DailyTotal returns what a terminal has taken or has in flight on a channel
// on a day (fen).
func (s *Store) DailyTotal(ctx context.Context, terminalID string, ch api.Channel, day string) (int64, error) {
	return s.total(ctx, s.r, ScopeTerminal, terminalID, ch, day)
}

// MerchantDailyTotal returns the same for a whole merchant: its own row
// when a limit keeps one (terminals ask for this after every payment, so
// it must not scan the journal), else summed from the journal.
func (s *Store) MerchantDailyTotal(ctx context.Context, merchantID string, ch api.Channel, day string) (int64, error) {
	var amount int64
	err := s.r.QueryRowContext(ctx, s.q(`SELECT amount FROM daily_totals
		WHERE scope = 'merchant' AND scope_id = ? AND channel = ? AND day = ?`), merchantID, string(ch), day).Scan(&amount)
	if err == nil {
		return amount, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("store: daily total of merchant %s: %w", merchantID, err)
	}
	err = s.r.QueryRowContext(ctx, s.q(`SELECT COALESCE(SUM(amount), 0) FROM transactions
		WHERE merchant_id = ? AND channel = ? AND day = ? AND state IN ('CREATED', 'PENDING', 'UNKNOWN', 'CANCELLING', 'SUCCESS')`),
		merchantID, string(ch), day).Scan(&amount)
	if err != nil {
		return 0, fmt.Errorf("store: daily total of merchant %s: %w", merchantID, err)
	}
	return amount, nil
}
