package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/multipos/multipos/api"
)

// Terminal is a registered terminal.
type Terminal struct {
	ID, MerchantID, StoreID string
	Enabled                 bool
	CertSerial              string // the one client certificate accepted
	CertNotAfter            time.Time
	MasterKey               string // sealed under the server's key-encryption key
	MasterKCV               string
	CreatedAt, UpdatedAt    time.Time
	LastSeenAt              time.Time
	LastSeenAddr            string
	AppVersion              string
}

// TerminalSummary is a terminal with its latest transaction, for listing.
type TerminalSummary struct {
	Terminal
	LastTx *api.Order // nil when it has none
}

const terminalColumns = `id, merchant_id, store_id, enabled, cert_serial, cert_not_after, master_key, master_kcv,
	created_at, updated_at, last_seen_at, last_seen_addr, app_version`

func scanTerminal(row scanner) (Terminal, error) {
	var (
		t                                    Terminal
		enabled                              int
		notAfter, created, updated, lastSeen int64
	)
	err := row.Scan(&t.ID, &t.MerchantID, &t.StoreID, &enabled, &t.CertSerial, &notAfter, &t.MasterKey, &t.MasterKCV,
		&created, &updated, &lastSeen, &t.LastSeenAddr, &t.AppVersion)
	if errors.Is(err, sql.ErrNoRows) {
		return Terminal{}, ErrNotFound
	}
	if err != nil {
		return Terminal{}, err
	}
	t.Enabled = enabled == 1
	t.CertNotAfter, t.CreatedAt, t.UpdatedAt, t.LastSeenAt = fromMicros(notAfter), fromMicros(created), fromMicros(updated), fromMicros(lastSeen)
	return t, nil
}

// AddTerminal registers a terminal, creating its merchant and store if they
// are new (merchantName, when not empty, names a new merchant). A terminal id
// already registered is ErrExists.
func (s *Store) AddTerminal(ctx context.Context, t Terminal, merchantName string) error {
	if t.ID == "" || t.MerchantID == "" || t.StoreID == "" || t.CertSerial == "" || t.MasterKey == "" || t.CreatedAt.IsZero() {
		return errors.New("store: add terminal: id, merchant, store, certificate, key and time are required")
	}
	now := micros(t.CreatedAt)
	tx, err := s.begin(ctx)
	if err != nil {
		return fmt.Errorf("store: add terminal %s: %w", t.ID, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO merchants (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`),
		t.MerchantID, merchantName, now); err != nil {
		return fmt.Errorf("store: add merchant %s: %w", t.MerchantID, err)
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO stores (merchant_id, id, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`),
		t.MerchantID, t.StoreID, now); err != nil {
		return fmt.Errorf("store: add store %s/%s: %w", t.MerchantID, t.StoreID, err)
	}
	res, err := tx.ExecContext(ctx, s.q(`INSERT INTO terminals (id, merchant_id, store_id, enabled, cert_serial, cert_not_after,
		master_key, master_kcv, created_at, updated_at) VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`),
		t.ID, t.MerchantID, t.StoreID, t.CertSerial, micros(t.CertNotAfter), t.MasterKey, t.MasterKCV, now, now)
	if err != nil {
		return fmt.Errorf("store: add terminal %s: %w", t.ID, err)
	}
	if rows, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: add terminal %s: %w", t.ID, err)
	} else if rows == 0 {
		return fmt.Errorf("store: terminal %s: %w", t.ID, ErrExists)
	}
	if err := s.event(ctx, tx, t.ID, "added", "merchant "+t.MerchantID+", store "+t.StoreID+", certificate "+t.CertSerial, now); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: add terminal %s: %w", t.ID, err)
	}
	return nil
}

func (s *Store) event(ctx context.Context, tx *sql.Tx, terminalID, event, detail string, at int64) error {
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO terminal_events (id, terminal_id, event, detail, at) VALUES (?, ?, ?, ?, ?)`),
		newID("ev"), terminalID, event, detail, at); err != nil {
		return fmt.Errorf("store: terminal %s event %s: %w", terminalID, event, err)
	}
	return nil
}

// SetTerminalEnabled enables or disables a terminal. A disabled terminal's
// requests are refused; its transactions stay.
func (s *Store) SetTerminalEnabled(ctx context.Context, id string, enabled bool, at time.Time) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return fmt.Errorf("store: terminal %s: %w", id, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, s.q(`UPDATE terminals SET enabled = ?, updated_at = ? WHERE id = ?`), boolInt(enabled), micros(at), id)
	if err != nil {
		return fmt.Errorf("store: terminal %s: %w", id, err)
	}
	if rows, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: terminal %s: %w", id, err)
	} else if rows == 0 {
		return fmt.Errorf("store: terminal %s: %w", id, ErrNotFound)
	}
	event := "disabled"
	if enabled {
		event = "enabled"
	}
	if err := s.event(ctx, tx, id, event, "", micros(at)); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: terminal %s: %w", id, err)
	}
	return nil
}

// ReplaceCredentials records a terminal's new certificate and master key;
// the old certificate is refused from then on, and the card working keys
// delivered under the old master key are dropped: the next sign-on asks
// the bank for new ones.
func (s *Store) ReplaceCredentials(ctx context.Context, id, serial string, notAfter time.Time, masterKey, kcv string, at time.Time) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return fmt.Errorf("store: terminal %s: %w", id, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, s.q(`UPDATE terminals SET cert_serial = ?, cert_not_after = ?, master_key = ?, master_kcv = ?, updated_at = ?
		WHERE id = ?`), serial, micros(notAfter), masterKey, kcv, micros(at), id)
	if err != nil {
		return fmt.Errorf("store: terminal %s: %w", id, err)
	}
	if rows, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: terminal %s: %w", id, err)
	} else if rows == 0 {
		return fmt.Errorf("store: terminal %s: %w", id, ErrNotFound)
	}
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM card_keys WHERE terminal_id = ?`), id); err != nil {
		return fmt.Errorf("store: terminal %s card keys: %w", id, err)
	}
	if err := s.event(ctx, tx, id, "reissued", "certificate "+serial, micros(at)); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: terminal %s: %w", id, err)
	}
	return nil
}

// Terminal returns a registered terminal.
func (s *Store) Terminal(ctx context.Context, id string) (Terminal, error) {
	t, err := scanTerminal(s.r.QueryRowContext(ctx, s.q(`SELECT `+terminalColumns+` FROM terminals WHERE id = ?`), id))
	if err != nil {
		return Terminal{}, fmt.Errorf("store: terminal %s: %w", id, err)
	}
	return t, nil
}

// Terminals lists the registered terminals with their latest transaction,
// by merchant, store and id. An empty merchantID lists all.
func (s *Store) Terminals(ctx context.Context, merchantID string) ([]TerminalSummary, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT `+terminalColumns+` FROM terminals
		WHERE ? = '' OR merchant_id = ? ORDER BY merchant_id, store_id, id`), merchantID, merchantID)
	if err != nil {
		return nil, fmt.Errorf("store: list terminals: %w", err)
	}
	var out []TerminalSummary
	for rows.Next() {
		t, err := scanTerminal(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: list terminals: %w", err)
		}
		out = append(out, TerminalSummary{Terminal: t})
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("store: list terminals: %w", err)
	}
	for i := range out {
		o, err := s.getOrder(ctx, s.r, `terminal_id = ? ORDER BY created_at DESC LIMIT 1`, out[i].ID)
		switch {
		case err == nil:
			out[i].LastTx = &o
		case !errors.Is(err, ErrNotFound):
			return nil, fmt.Errorf("store: last transaction of %s: %w", out[i].ID, err)
		}
	}
	return out, nil
}

// Seen records a terminal's heartbeat.
func (s *Store) Seen(ctx context.Context, id, addr, appVersion string, at time.Time) error {
	if _, err := s.w.ExecContext(ctx, s.q(`UPDATE terminals SET last_seen_at = ?, last_seen_addr = ?, app_version = ? WHERE id = ?`),
		micros(at), addr, appVersion, id); err != nil {
		return fmt.Errorf("store: heartbeat of %s: %w", id, err)
	}
	return nil
}

// CountTerminals counts the registered terminals.
func (s *Store) CountTerminals(ctx context.Context) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM terminals`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count terminals: %w", err)
	}
	return n, nil
}

// CountOnline counts the terminals seen since `since`.
func (s *Store) CountOnline(ctx context.Context, since time.Time) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM terminals WHERE enabled = 1 AND last_seen_at >= ?`),
		micros(since)).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count online terminals: %w", err)
	}
	return n, nil
}

// Merchant returns a merchant's name.
func (s *Store) Merchant(ctx context.Context, id string) (string, error) {
	var name string
	err := s.r.QueryRowContext(ctx, s.q(`SELECT name FROM merchants WHERE id = ?`), id).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("store: merchant %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("store: merchant %s: %w", id, err)
	}
	return name, nil
}

// LimitRule is a limit set for one merchant or terminal on one channel.
// Nil fields inherit; a zero amount means no limit.
type LimitRule struct {
	Scope, ScopeID string
	Channel        api.Channel
	Enabled        *bool
	Single, Daily  *int64
	UpdatedAt      time.Time
}

// SetLimit creates or replaces a limit rule.
func (s *Store) SetLimit(ctx context.Context, r LimitRule) error {
	if (r.Scope != ScopeMerchant && r.Scope != ScopeTerminal) || r.ScopeID == "" || !r.Channel.Valid() || r.UpdatedAt.IsZero() {
		return fmt.Errorf("store: set limit: bad rule %s %q on %q", r.Scope, r.ScopeID, r.Channel)
	}
	var enabled any
	if r.Enabled != nil {
		enabled = boolInt(*r.Enabled)
	}
	var single, daily any
	if r.Single != nil {
		single = *r.Single
	}
	if r.Daily != nil {
		daily = *r.Daily
	}
	if _, err := s.w.ExecContext(ctx, s.q(`INSERT INTO limit_rules (scope, scope_id, channel, enabled, single, daily, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (scope, scope_id, channel) DO UPDATE SET enabled = excluded.enabled, single = excluded.single,
		daily = excluded.daily, updated_at = excluded.updated_at`),
		r.Scope, r.ScopeID, string(r.Channel), enabled, single, daily, micros(r.UpdatedAt)); err != nil {
		return fmt.Errorf("store: set limit for %s %s on %s: %w", r.Scope, r.ScopeID, r.Channel, err)
	}
	return nil
}

// DeleteLimit removes a rule, so that the scope inherits again.
func (s *Store) DeleteLimit(ctx context.Context, scope, scopeID string, ch api.Channel) error {
	if _, err := s.w.ExecContext(ctx, s.q(`DELETE FROM limit_rules WHERE scope = ? AND scope_id = ? AND channel = ?`),
		scope, scopeID, string(ch)); err != nil {
		return fmt.Errorf("store: delete limit for %s %s on %s: %w", scope, scopeID, ch, err)
	}
	return nil
}

// Limits returns the rules of a merchant and of one of its terminals.
func (s *Store) Limits(ctx context.Context, merchantID, terminalID string) ([]LimitRule, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT scope, scope_id, channel, enabled, single, daily, updated_at FROM limit_rules
		WHERE (scope = 'merchant' AND scope_id = ?) OR (scope = 'terminal' AND scope_id = ?) ORDER BY scope, scope_id, channel`),
		merchantID, terminalID)
	if err != nil {
		return nil, fmt.Errorf("store: limits: %w", err)
	}
	defer rows.Close()
	var out []LimitRule
	for rows.Next() {
		var (
			r             LimitRule
			ch            string
			enabled       sql.NullInt64
			single, daily sql.NullInt64
			updated       int64
		)
		if err := rows.Scan(&r.Scope, &r.ScopeID, &ch, &enabled, &single, &daily, &updated); err != nil {
			return nil, fmt.Errorf("store: limits: %w", err)
		}
		r.Channel, r.UpdatedAt = api.Channel(ch), fromMicros(updated)
		if enabled.Valid {
			b := enabled.Int64 == 1
			r.Enabled = &b
		}
		if single.Valid {
			r.Single = &single.Int64
		}
		if daily.Valid {
			r.Daily = &daily.Int64
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: limits: %w", err)
	}
	return out, nil
}

// Register records that a server instance is alive and returns how many
// other instances were seen since `since`.
func (s *Store) Register(ctx context.Context, instance string, now, since time.Time) (int, error) {
	if _, err := s.w.ExecContext(ctx, s.q(`INSERT INTO instances (id, started_at, seen_at) VALUES (?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at`), instance, micros(now), micros(now)); err != nil {
		return 0, fmt.Errorf("store: register instance %s: %w", instance, err)
	}
	var n int
	if err := s.r.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM instances WHERE id <> ? AND seen_at >= ?`),
		instance, micros(since)).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count instances: %w", err)
	}
	return n, nil
}

// Deregister removes a stopping instance, and instances not seen since
// `before` (those that died without saying so).
func (s *Store) Deregister(ctx context.Context, instance string, before time.Time) error {
	if _, err := s.w.ExecContext(ctx, s.q(`DELETE FROM instances WHERE id = ? OR seen_at < ?`), instance, micros(before)); err != nil {
		return fmt.Errorf("store: deregister instance %s: %w", instance, err)
	}
	return nil
}
