package reconbench

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/multipos/multipos/server/store"
	_ "github.com/multipos/multipos/server/store/postgres" // PostgreSQL stores, and the "pgx" driver
)

// database is the benchmark's database: the store the product code runs
// on, and connections of the benchmark's own to the same database for what
// the product has no call for (bulk-loading the journal, the anchor join).
// The anchor runs on a connection set up as the store's writer is (SQLite)
// or on one of the same server (PostgreSQL).
type database struct {
	engine string // "sqlite" or "postgres"
	dsn    string
	st     *store.Store
	db     *sql.DB   // SQLite: set up as the store's writer (the anchor)
	setup  *sql.DB   // SQLite: for the bulk load
	pg     *pgx.Conn // PostgreSQL: its own connection, for COPY
	close  func()
}

// openDatabase opens a new database: a SQLite file in a temporary folder
// when pg is "", else a schema of its own in the PostgreSQL database pg,
// dropped again by close.
func openDatabase(ctx context.Context, pg string) (*database, error) {
	if pg != "" {
		return openSchema(ctx, pg)
	}
	dir, err := os.MkdirTemp("", "multipos-reconbench-")
	if err != nil {
		return nil, fmt.Errorf("reconbench: %w", err)
	}
	path := filepath.Join(dir, "posserver.db")
	st, err := store.Open(ctx, path)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("reconbench: %w", err)
	}
	// The stand-ins and the anchor run on a connection set up as the
	// store's writer is; the bulk load of the journal (setup) on one with
	// a page cache that holds it and no syncs.
	db, err := sql.Open("sqlite", "file:"+path+"?"+url.Values{"_txlock": {"immediate"},
		"_pragma": {"busy_timeout(10000)", "synchronous(FULL)", "foreign_keys(1)"}}.Encode())
	if err != nil {
		st.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("reconbench: %w", err)
	}
	db.SetMaxOpenConns(1)
	setup, err := sql.Open("sqlite", "file:"+path+"?"+url.Values{
		"_pragma": {"busy_timeout(10000)", "synchronous(OFF)", "cache_size(-1048576)"}}.Encode())
	if err != nil {
		db.Close()
		st.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("reconbench: %w", err)
	}
	setup.SetMaxOpenConns(1)
	return &database{engine: "sqlite", dsn: path, st: st, db: db, setup: setup, close: func() {
		setup.Close()
		db.Close()
		st.Close()
		os.RemoveAll(dir)
	}}, nil
}

func openSchema(ctx context.Context, pg string) (*database, error) {
	u, err := url.Parse(pg)
	if err != nil {
		return nil, fmt.Errorf("reconbench: PostgreSQL URL: %w", err)
	}
	admin, err := pgx.Connect(ctx, pg)
	if err != nil {
		return nil, fmt.Errorf("reconbench: connect to PostgreSQL: %w", err)
	}
	defer admin.Close(context.WithoutCancel(ctx))
	schema := "reconbench_" + strings.ToLower(rand.Text()[:12])
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return nil, fmt.Errorf("reconbench: create schema: %w", err)
	}
	drop := func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if c, err := pgx.Connect(dctx, pg); err == nil {
			_, _ = c.Exec(dctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
			c.Close(dctx)
		}
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	dsn := u.String()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		drop()
		return nil, fmt.Errorf("reconbench: %w", err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		st.Close()
		drop()
		return nil, fmt.Errorf("reconbench: connect to PostgreSQL: %w", err)
	}
	return &database{engine: "postgres", dsn: dsn, st: st, pg: conn, close: func() {
		conn.Close(context.WithoutCancel(ctx))
		st.Close()
		drop()
	}}, nil
}

// exec runs a statement on the benchmark's own connection.
func (d *database) exec(ctx context.Context, stmt string) error {
	var err error
	if d.pg != nil {
		_, err = d.pg.Exec(ctx, stmt)
	} else {
		_, err = d.db.ExecContext(ctx, stmt)
	}
	if err != nil {
		return fmt.Errorf("reconbench: %.60s: %w", stmt, err)
	}
	return nil
}

// count returns the first column of a one-row query.
func (d *database) count(ctx context.Context, query string) (int64, error) {
	var n int64
	var err error
	if d.pg != nil {
		err = d.pg.QueryRow(ctx, query).Scan(&n)
	} else {
		err = d.db.QueryRowContext(ctx, query).Scan(&n)
	}
	if err != nil {
		return 0, fmt.Errorf("reconbench: %.60s: %w", query, err)
	}
	return n, nil
}

// bulk writes n rows of cols into table as fast as the engine takes them
// (setup, not measured):
// PostgreSQL's COPY, or SQLite multi-row INSERTs in one transaction. row
// fills the values of row i.
func (d *database) bulk(ctx context.Context, table string, cols []string, n int, row func(i int, vals []any)) error {
	if d.pg != nil {
		i := 0
		vals := make([]any, len(cols))
		_, err := d.pg.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromFunc(func() ([]any, error) {
			if i == n {
				return nil, nil
			}
			row(i, vals)
			i++
			return vals, nil
		}))
		if err != nil {
			return fmt.Errorf("reconbench: copy into %s: %w", table, err)
		}
		return nil
	}
	return insertBulk(ctx, d.setup, table, cols, n, row)
}

// insertBulk writes n rows in multi-row INSERTs in one SQLite transaction.
func insertBulk(ctx context.Context, db *sql.DB, table string, cols []string, n int, row func(i int, vals []any)) error {
	const per = 500 // rows a statement: far below SQLite's 32,766 parameters
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",") + ")"
	stmt := func(rows int) string {
		return "INSERT INTO " + table + " (" + strings.Join(cols, ",") + ") VALUES " +
			strings.TrimSuffix(strings.Repeat(one+",", rows), ",")
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("reconbench: insert into %s: %w", table, err)
	}
	defer tx.Rollback()
	full, err := tx.PrepareContext(ctx, stmt(per))
	if err != nil {
		return fmt.Errorf("reconbench: insert into %s: %w", table, err)
	}
	args := make([]any, 0, per*len(cols))
	vals := make([]any, len(cols))
	for i := 0; i < n; i += per {
		k := min(per, n-i)
		args = args[:0]
		for j := range k {
			row(i+j, vals)
			args = append(args, vals...)
		}
		if k == per {
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, stmt(k), args...)
		}
		if err != nil {
			return fmt.Errorf("reconbench: insert into %s: %w", table, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("reconbench: insert into %s: %w", table, err)
	}
	return nil
}
