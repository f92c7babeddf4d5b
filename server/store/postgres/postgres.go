// Package postgres is the PostgreSQL driver of posserver's store, on pgx:
// importing it lets store.Open and store.OpenReadOnly take postgres:// URLs
// (and registers pgx's "pgx" driver for database/sql). posserver and the
// tools that read its database import it; the cashier app does not, so its
// demo server runs on SQLite and the app links no PostgreSQL driver.
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/multipos/multipos/server/store"
)

func init() { store.RegisterPostgres(Driver{}) }

// Driver implements store.PostgresDriver.
type Driver struct{}

// OpenDB opens a pool on dsn through pgx's database/sql driver.
func (Driver) OpenDB(dsn string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	return stdlib.OpenDB(*cfg), nil
}

// Batch sends stmts as one pgx batch on conn's native connection. A
// connection the batch leaves inside a transaction is closed, never handed
// to the next caller.
func (Driver) Batch(ctx context.Context, conn *sql.Conn, stmts []store.Statement) ([]error, error) {
	errs := make([]error, len(stmts))
	err := conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		err := sendBatch(ctx, pc, stmts, errs)
		if st := pc.PgConn().TxStatus(); st != 'I' && !pc.IsClosed() {
			return errors.Join(fmt.Errorf("%w: connection left in transaction state %q", driver.ErrBadConn, st), err)
		}
		return err
	})
	return errs, err
}

func sendBatch(ctx context.Context, c *pgx.Conn, stmts []store.Statement, errs []error) error {
	b := &pgx.Batch{}
	for _, st := range stmts {
		b.Queue(st.Query, st.Args...)
	}
	br := c.SendBatch(ctx, b)
	for i, st := range stmts {
		errs[i] = st.Scan(br.QueryRow())
	}
	err := br.Close() // the implicit transaction commits at the batch's end
	// pgx v5.7 returns early from Close when the last row read failed,
	// leaving the rest of the pipeline unread and the connection busy for
	// its next user; a second Close reads it to the end.
	br.Close()
	return err
}

// Listen runs LISTEN channel on a connection of its own.
func (Driver) Listen(ctx context.Context, dsn, channel string, connected func(), notify func(string)) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+channel); err != nil {
		return err
	}
	connected()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		notify(n.Payload)
	}
}

// SQLState is the code of a *pgconn.PgError in err's chain.
func (Driver) SQLState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// CopyFrom runs COPY on conn's native connection. The sql.Tx a caller
// began on conn is open on that connection, so the rows are part of it.
func (Driver) CopyFrom(ctx context.Context, conn *sql.Conn, table string, columns []string, rows store.CopyRows) (int64, error) {
	var n int64
	err := conn.Raw(func(dc any) error {
		var err error
		n, err = dc.(*stdlib.Conn).Conn().CopyFrom(ctx, pgx.Identifier{table}, columns, rows)
		return err
	})
	return n, err
}

// QueryRaw runs query on conn's native connection with every column sent
// in text format and hands row each row's columns as sent.
func (Driver) QueryRaw(ctx context.Context, conn *sql.Conn, query string, args []any, row func(cols [][]byte) error) error {
	return conn.Raw(func(dc any) error {
		rows, err := dc.(*stdlib.Conn).Conn().Query(ctx, query, append([]any{pgx.QueryResultFormats{pgx.TextFormatCode}}, args...)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := row(rows.RawValues()); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}
