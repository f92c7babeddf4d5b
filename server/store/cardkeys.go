package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// CardKeys are a terminal's working keys from its last sign-on, sealed
// (pki.Authority.Seal with the terminal id as associated data).
type CardKeys struct {
	TerminalID string
	PINKey     string
	MACKey     string
	SignedOnAt time.Time
}

// SaveCardKeys records the keys of a sign-on, replacing the previous ones.
func (s *Store) SaveCardKeys(ctx context.Context, k CardKeys) error {
	if _, err := s.w.ExecContext(ctx, s.q(`INSERT INTO card_keys (terminal_id, pin_key, mac_key, signed_on_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (terminal_id) DO UPDATE SET pin_key = excluded.pin_key, mac_key = excluded.mac_key, signed_on_at = excluded.signed_on_at`),
		k.TerminalID, k.PINKey, k.MACKey, micros(k.SignedOnAt)); err != nil {
		return fmt.Errorf("store: card keys of terminal %s: %w", k.TerminalID, err)
	}
	return nil
}

// DropCardKeys forgets a terminal's card working keys: the bank no longer
// takes them, and the next sign-on must ask it for new ones.
func (s *Store) DropCardKeys(ctx context.Context, terminalID string) error {
	if _, err := s.w.ExecContext(ctx, s.q(`DELETE FROM card_keys WHERE terminal_id = ?`), terminalID); err != nil {
		return fmt.Errorf("store: card keys of terminal %s: %w", terminalID, err)
	}
	return nil
}

// LoadCardKeys returns a terminal's keys; ErrNotFound before its first
// sign-on.
func (s *Store) LoadCardKeys(ctx context.Context, terminalID string) (CardKeys, error) {
	k := CardKeys{TerminalID: terminalID}
	var at int64
	err := s.r.QueryRowContext(ctx, s.q(`SELECT pin_key, mac_key, signed_on_at FROM card_keys WHERE terminal_id = ?`), terminalID).
		Scan(&k.PINKey, &k.MACKey, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return CardKeys{}, fmt.Errorf("store: card keys of terminal %s: %w", terminalID, ErrNotFound)
	}
	if err != nil {
		return CardKeys{}, fmt.Errorf("store: card keys of terminal %s: %w", terminalID, err)
	}
	k.SignedOnAt = fromMicros(at)
	return k, nil
}
