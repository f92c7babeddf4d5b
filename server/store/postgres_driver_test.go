package store

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// A program built without server/store/postgres (the cashier app) is told
// so for a postgres:// URL, without the URL's password; it never links pgx.
func TestPostgresNeedsItsDriver(t *testing.T) {
	pgMu.Lock()
	saved := pgDriver
	pgDriver = nil
	pgMu.Unlock()
	defer RegisterPostgres(saved)

	const dsn = "postgres://pos:s3cret@127.0.0.1:1/pos"
	_, err := Open(context.Background(), dsn)
	if !errors.Is(err, errNoPostgres) || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Open without the driver: %v", err)
	}
	_, err = OpenReadOnly(context.Background(), dsn)
	if !errors.Is(err, errNoPostgres) || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("OpenReadOnly without the driver: %v", err)
	}
}
