package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/multipos/multipos/internal/ids"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Errors of the store. Callers test them with errors.Is.
var (
	ErrNotFound        = errors.New("not found")
	ErrStale           = errors.New("transaction changed meanwhile") // the compare-and-set lost
	ErrFinal           = errors.New("transaction is final")
	ErrBadTransition   = errors.New("transition not allowed")
	ErrRequestMismatch = errors.New("request id already used with other parameters")
	ErrTraceUsed       = errors.New("trace already used by another request")
	ErrSalePaid        = errors.New("sale already paid")
	ErrSaleBusy        = errors.New("sale has an attempt still open")
	ErrSaleMismatch    = errors.New("sale belongs to another terminal or amount")
	ErrOverLimit       = errors.New("daily limit reached")
	ErrExists          = errors.New("already exists")
)

// Dialect is the database engine behind a store.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Store is posserver's database: the chain's terminals and limits, and the
// journal of sales and their transactions. It is safe for concurrent use,
// also by several server instances sharing one PostgreSQL database.
//
// SQLite allows one writer at a time. Writes go through a single connection
// whose transactions start IMMEDIATE (taking the write lock up front, so two
// read-then-write transactions cannot deadlock into SQLITE_BUSY); reads use
// a separate pool, which WAL mode lets run alongside the writer. PostgreSQL
// uses one pool for both; row locks and compare-and-set keep writers apart.
type Store struct {
	dialect Dialect
	dsn     string         // PostgreSQL: for the LISTEN connection
	pg      PostgresDriver // PostgreSQL: its driver (postgres_driver.go)
	w       *sql.DB        // writes
	r       *sql.DB        // reads

	mu      sync.Mutex
	rebound map[string]string // query with ? → query with $n (PostgreSQL)

	group *group // PostgreSQL: group commit of the hot path (group.go)
}

// Open opens the database named by dsn, creating it if needed (SQLite), and
// brings its schema up to date. A dsn starting with postgres:// or
// postgresql:// is PostgreSQL; anything else is a SQLite file path.
func Open(ctx context.Context, dsn string) (*Store, error) {
	if dsn == "" {
		return nil, errors.New("store: empty database name")
	}
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return openPostgres(ctx, dsn)
	}
	return openSQLite(ctx, dsn)
}

func openSQLite(ctx context.Context, path string) (*Store, error) {
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("store: database path %q must not contain '?' or '#'", path)
	}
	if err := prepareSQLiteFile(path); err != nil {
		return nil, err
	}
	w, err := openSQLiteDB(path, url.Values{
		"_pragma": {"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)"},
		"_txlock": {"immediate"},
	})
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	s := &Store{dialect: SQLite, w: w, r: w, rebound: map[string]string{}}
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	r, err := openSQLiteDB(path, url.Values{"_pragma": {"busy_timeout(10000)", "query_only(1)"}})
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(8)
	if err := r.PingContext(ctx); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("store: open %s for reading: %w", path, err)
	}
	s.r = r
	return s, nil
}

func openSQLiteDB(path string, q url.Values) (*sql.DB, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	return db, nil
}

// PostgresPool bounds the connections one store opens to PostgreSQL.
const PostgresPool = 32

func openPostgres(ctx context.Context, dsn string) (*Store, error) {
	pg, db, err := openPostgresDB(dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(PostgresPool)
	db.SetMaxIdleConns(PostgresPool)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connect to PostgreSQL %s: %w", redact(dsn), err)
	}
	s := &Store{dialect: Postgres, dsn: dsn, pg: pg, w: db, r: db, rebound: map[string]string{}}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	s.startGroup()
	return s, nil
}

// openPostgresDB opens a pool on dsn with the registered driver.
func openPostgresDB(dsn string) (PostgresDriver, *sql.DB, error) {
	pg, err := postgres()
	if err != nil {
		return nil, nil, fmt.Errorf("store: %s: %w", redact(dsn), err)
	}
	db, err := pg.OpenDB(dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("store: PostgreSQL URL %s: %w", redact(dsn), err)
	}
	return pg, db, nil
}

// redact drops the password from a PostgreSQL URL for messages.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// Dialect returns the database engine.
func (s *Store) Dialect() Dialect { return s.dialect }

// Close closes the database.
func (s *Store) Close() error {
	s.stopGroup()
	if s.r == s.w {
		return s.w.Close()
	}
	return errors.Join(s.r.Close(), s.w.Close())
}

// q returns the query in the store's dialect: PostgreSQL numbers its
// parameters ($1, $2…) where SQLite takes ?. Queries are written with ? and
// never contain a literal question mark.
func (s *Store) q(query string) string {
	if s.dialect != Postgres {
		return query
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if out, ok := s.rebound[query]; ok {
		return out
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	out := b.String()
	s.rebound[query] = out
	return out
}

// begin starts a write transaction.
func (s *Store) begin(ctx context.Context) (*sql.Tx, error) {
	return s.w.BeginTx(ctx, nil)
}

// migrate applies the embedded migrations not applied yet, each in its own
// transaction, in file-name order (001_…, 002_…). An applied migration
// whose text has changed since is an error: the database was made by
// another build and must not be guessed at.
func (s *Store) migrate(ctx context.Context) error {
	if err := s.createMigrationsTable(ctx); err != nil {
		return err
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("store: list migrations: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		// NNN_name.postgres.sql holds what only PostgreSQL has (functions,
		// storage parameters); SQLite has no use for it. NNN_name.sqlite.sql
		// is SQLite's way to the same schema (a table rebuilt where
		// PostgreSQL alters a constraint); the two share their number.
		if strings.HasSuffix(base, ".postgres.sql") && s.dialect != Postgres ||
			strings.HasSuffix(base, ".sqlite.sql") && s.dialect != SQLite {
			continue
		}
		num, _, _ := strings.Cut(base, "_")
		version, err := strconv.Atoi(num)
		if err != nil {
			return fmt.Errorf("store: migration %s: name must start with a number: %w", base, err)
		}
		if err := s.applyMigration(ctx, name, version); err != nil {
			return err
		}
	}
	return nil
}

// createMigrationsTable creates the table of applied migrations. On
// PostgreSQL, CREATE TABLE IF NOT EXISTS is not safe against another
// instance doing the same at the same moment, so it runs under the
// migration lock.
func (s *Store) createMigrationsTable(ctx context.Context) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return fmt.Errorf("store: create schema_migrations: %w", err)
	}
	defer tx.Rollback()
	if s.dialect == Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(`+migrationLock+`)`); err != nil {
			return fmt.Errorf("store: migration lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		checksum   TEXT    NOT NULL DEFAULT '',
		applied_at BIGINT  NOT NULL)`); err != nil {
		return fmt.Errorf("store: create schema_migrations: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: create schema_migrations: %w", err)
	}
	return nil
}

// migrationLock is the PostgreSQL advisory lock instances take turns on
// while migrating.
const migrationLock = "7365470"

// fkOff, as the first line of a SQLite migration, runs it with foreign
// keys off (a table rebuild: SQLite's documented procedure), checking them
// all before the commit.
const fkOff = "-- multipos: foreign keys off"

func (s *Store) applyMigration(ctx context.Context, name string, version int) error {
	script, err := migrations.ReadFile(name)
	if err != nil {
		return fmt.Errorf("store: read %s: %w", name, err)
	}
	sum := sha256.Sum256(script)
	checksum := hex.EncodeToString(sum[:])
	// One connection for the whole migration: a PRAGMA applies to the
	// connection it runs on.
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	defer conn.Close()
	noFK := s.dialect == SQLite && strings.HasPrefix(string(script), fkOff)
	if noFK {
		// Outside a transaction: SQLite ignores it inside one.
		if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
			return fmt.Errorf("store: migrate %s: %w", name, err)
		}
		defer func() {
			// Back on for the writer's next statements; should this fail,
			// the connection is closed so that a fresh one (foreign keys
			// on, as the DSN says) replaces it.
			if _, err := conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA foreign_keys = ON`); err != nil {
				_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			}
		}()
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	defer tx.Rollback()
	if s.dialect == Postgres {
		// Instances starting together take turns; the second finds the
		// migration applied.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(`+migrationLock+`)`); err != nil {
			return fmt.Errorf("store: migration lock: %w", err)
		}
	}
	var applied string
	err = tx.QueryRowContext(ctx, s.q(`SELECT checksum FROM schema_migrations WHERE version = ?`), version).Scan(&applied)
	switch {
	case err == nil:
		if applied != checksum {
			return fmt.Errorf("store: migration %d in the database differs from this build's %s: the database was made by another (pre-release) build; use a new database", version, name)
		}
		return nil
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("store: migration %d: %w", version, err)
	}
	if _, err := tx.ExecContext(ctx, string(script)); err != nil {
		return fmt.Errorf("store: apply %s: %w", name, err)
	}
	if noFK {
		if err := foreignKeysHold(ctx, tx); err != nil {
			return fmt.Errorf("store: apply %s: %w", name, err)
		}
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO schema_migrations (version, checksum, applied_at) VALUES (?, ?, ?)`),
		version, checksum, micros(time.Now())); err != nil {
		return fmt.Errorf("store: record migration %d: %w", version, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit migration %d: %w", version, err)
	}
	return nil
}

// foreignKeysHold fails when any foreign key points nowhere.
func foreignKeysHold(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return err
	}
	defer rows.Close()
	if rows.Next() {
		var table string
		var rowid sql.NullInt64
		var parent string
		var fk int
		if err := rows.Scan(&table, &rowid, &parent, &fk); err != nil {
			return err
		}
		return fmt.Errorf("a row of %s (rowid %d) refers to a missing row of %s", table, rowid.Int64, parent)
	}
	return rows.Err()
}

// micros is how times are stored: microseconds since the epoch (the
// precision PostgreSQL keeps too), 0 for the zero time.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

func newID(prefix string) string {
	return ids.Prefixed(prefix)
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}
