package store

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// PostgresDriver is what the store needs of PostgreSQL beyond database/sql:
// a pool, the pipelined batches of group commit (group.go), LISTEN, and the
// SQLSTATE of a refusal. Package server/store/postgres implements it on pgx
// and registers it when imported. A program that never opens a PostgreSQL
// database (the cashier app, whose demo runs its server on SQLite) does not
// import it, and so links no PostgreSQL driver.
type PostgresDriver interface {
	// OpenDB opens a pool on the PostgreSQL URL dsn without connecting.
	OpenDB(dsn string) (*sql.DB, error)
	// Batch runs stmts as one pipelined batch (one implicit transaction) on
	// conn, a connection of a pool OpenDB made, calling each statement's
	// Scan on its row. It returns each statement's error and the batch's.
	Batch(ctx context.Context, conn *sql.Conn, stmts []Statement) ([]error, error)
	// Listen listens on channel over a connection of its own to dsn, calls
	// connected once listening, then notify with each payload, until ctx
	// ends or the connection fails.
	Listen(ctx context.Context, dsn, channel string, connected func(), notify func(payload string)) error
	// SQLState is the SQLSTATE of an error the server raised, "" for any
	// other error.
	SQLState(err error) string
	// CopyFrom writes rows into table's columns with COPY on conn, inside
	// the transaction a sql.Tx of conn holds open (conn.BeginTx), so that
	// it commits or rolls back with the rest. It returns the rows copied.
	CopyFrom(ctx context.Context, conn *sql.Conn, table string, columns []string, rows CopyRows) (int64, error)
	// QueryRaw runs query on conn and calls row with each result row's
	// columns in PostgreSQL's text format (nil for NULL), valid only during
	// the call: a million rows read with no value made per column.
	QueryRaw(ctx context.Context, conn *sql.Conn, query string, args []any, row func(cols [][]byte) error) error
}

// CopyRows is a source of rows for CopyFrom, read once (the methods of
// pgx's CopyFromSource). Values may return the same slice each time: each
// row is encoded before the next is asked for.
type CopyRows interface {
	Next() bool
	Values() ([]any, error)
	Err() error
}

// Statement is one statement of a pipelined batch.
type Statement struct {
	Query string
	Args  []any
	Scan  func(Row) error // reads the statement's result row
}

// Row is a result row to scan.
type Row interface {
	Scan(dest ...any) error
}

var (
	pgMu     sync.RWMutex
	pgDriver PostgresDriver
)

// RegisterPostgres makes d the driver behind postgres:// URLs. Package
// server/store/postgres calls it when imported.
func RegisterPostgres(d PostgresDriver) {
	pgMu.Lock()
	defer pgMu.Unlock()
	pgDriver = d
}

// errNoPostgres is the answer to a PostgreSQL URL in a program built
// without the driver.
var errNoPostgres = errors.New("this program was built without PostgreSQL support (import server/store/postgres)")

func postgres() (PostgresDriver, error) {
	pgMu.RLock()
	defer pgMu.RUnlock()
	if pgDriver == nil {
		return nil, errNoPostgres
	}
	return pgDriver, nil
}
