// Package storetest opens posserver stores for tests, on both engines:
// SQLite in a temporary directory, and PostgreSQL in a fresh schema of the
// database named by MULTIPOS_TEST_PG (`make test` starts one with
// scripts/need-postgres and sets it).
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/multipos/multipos/server/store"
	_ "github.com/multipos/multipos/server/store/postgres" // PostgreSQL stores, and the "pgx" driver
)

// EnvPG names the environment variable holding the test PostgreSQL URL.
const EnvPG = "MULTIPOS_TEST_PG"

// Dialects are the engines every store test runs on.
var Dialects = []store.Dialect{store.SQLite, store.Postgres}

// DSN returns the name of a fresh, empty database of the dialect for this
// test, removed when the test ends. Opening it twice gives two stores on
// one database, as two server instances have.
func DSN(t testing.TB, d store.Dialect) string {
	t.Helper()
	if d == store.SQLite {
		return filepath.Join(t.TempDir(), "posserver.db")
	}
	base := os.Getenv(EnvPG)
	if base == "" {
		t.Fatalf("PostgreSQL tests need %s (a postgres:// URL); `make test` starts a private cluster and sets it (scripts/need-postgres)", EnvPG)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	defer admin.Close()
	schema := "t_" + strings.ToLower(rand.Text())
	if _, err := admin.ExecContext(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("storetest: create schema on %s: %v", EnvPG, err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			t.Errorf("storetest: %v", err)
			return
		}
		defer db.Close()
		if _, err := db.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("storetest: drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("storetest: %s: %v", EnvPG, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Open returns a fresh store of the dialect, closed when the test ends.
func Open(t testing.TB, d store.Dialect) *store.Store {
	t.Helper()
	return OpenDSN(t, DSN(t, d))
}

// OpenDSN opens a store on dsn, closed when the test ends.
func OpenDSN(t testing.TB, dsn string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("storetest: open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Each runs f as a subtest on every dialect.
func Each(t *testing.T, f func(t *testing.T, d store.Dialect)) {
	for _, d := range Dialects {
		t.Run(string(d), func(t *testing.T) { f(t, d) })
	}
}
