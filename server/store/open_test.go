package store_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/server/store"
	"github.com/multipos/multipos/server/store/storetest"
)

// rawDB opens the store's database directly, past the store.
func rawDB(t *testing.T, d store.Dialect, dsn string) *sql.DB {
	t.Helper()
	driver := "sqlite"
	if d == store.Postgres {
		driver = "pgx"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

type migration struct {
	version   int
	checksum  string
	appliedAt int64
}

func migrations(t *testing.T, db *sql.DB) []migration {
	t.Helper()
	rows, err := db.Query(`SELECT version, checksum, applied_at FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []migration
	for rows.Next() {
		var m migration
		if err := rows.Scan(&m.version, &m.checksum, &m.appliedAt); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func mustOpen(t *testing.T, dsn string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return st
}

func TestReopen(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		dsn := storetest.DSN(t, d)
		st := mustOpen(t, dsn)
		if err := st.AddTerminal(ctx, terminal("T1", "M1", "S1"), "Merchant One"); err != nil {
			t.Fatal(err)
		}
		o := mustCreate(t, st, walletTx("T1", "000001", 100))
		o = mustMove(t, st, o, api.StatePending)
		if err := st.Ping(ctx); err != nil {
			t.Errorf("ping: %v", err)
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		if err := st.Ping(ctx); err == nil {
			t.Error("ping of a closed store answered")
		}
		db := rawDB(t, d, dsn)
		before := migrations(t, db)
		if len(before) != migrationCount(d) || before[0].version != 1 || len(before[0].checksum) != 64 || before[0].appliedAt == 0 {
			t.Fatalf("schema_migrations %+v, want %d", before, migrationCount(d))
		}

		time.Sleep(2 * time.Millisecond) // a re-run would record a later time
		st = mustOpen(t, dsn)
		defer st.Close()
		if got := mustGet(t, st, o.ID); got != o {
			t.Errorf("after reopening: %+v\nwant %+v", got, o)
		}
		if h, err := st.History(ctx, o.ID); err != nil || len(h) != 2 {
			t.Errorf("history after reopening: %+v, %v", h, err)
		}
		if term := mustTerminal(t, st, "T1"); term.CertSerial != "serial-T1" {
			t.Errorf("terminal after reopening: %+v", term)
		}
		if total := dailyTotal(t, st, "T1", api.Alipay); total != 100 {
			t.Errorf("daily total after reopening: %d", total)
		}
		mustCreate(t, st, walletTx("T1", "000002", 100))
		if after := migrations(t, db); !slices.Equal(after, before) {
			t.Errorf("schema_migrations after reopening %+v, want %+v", after, before)
		}
	})
}

func TestMigrationChecksumMismatch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		dsn := storetest.DSN(t, d)
		st := mustOpen(t, dsn)
		o := mustCreate(t, st, walletTx("T1", "000001", 100))
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		db := rawDB(t, d, dsn)
		orig := migrations(t, db)[0]
		if _, err := db.Exec(`UPDATE schema_migrations SET checksum = '0000' WHERE version = 1`); err != nil {
			t.Fatal(err)
		}
		st, err := store.Open(ctx, dsn)
		if err == nil {
			st.Close()
			t.Fatal("a database with another migration 1 was opened")
		}
		if !strings.Contains(err.Error(), "another") {
			t.Errorf("error %q does not say the database is another build's", err)
		}

		// Nothing was touched: with the checksum back the store opens.
		if _, err := db.Exec(`UPDATE schema_migrations SET checksum = '` + orig.checksum + `' WHERE version = 1`); err != nil {
			t.Fatal(err)
		}
		st = mustOpen(t, dsn)
		defer st.Close()
		if got := mustGet(t, st, o.ID); got != o {
			t.Errorf("after the refused open: %+v", got)
		}
	})
}

// Server instances starting together on one PostgreSQL database take turns
// at the migration: all of them open it. The race is narrow, so it gets
// many chances. A SQLite file serves one instance; there the stores start
// together on an existing file.
func TestOpenConcurrently(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		const n = 12
		rounds := 30
		if d == store.SQLite {
			rounds = 2 // takes turns through the busy timeout, slowly
		}
		for round := range rounds {
			dsn := storetest.DSN(t, d)
			if d == store.SQLite {
				mustOpen(t, dsn).Close()
			}
			stores := make([]*store.Store, n)
			errs := race(n, func(i int) error {
				var err error
				stores[i], err = store.Open(context.Background(), dsn)
				return err
			})
			for i, err := range errs {
				if err != nil {
					t.Errorf("round %d, instance %d: %v", round, i, err)
				}
			}
			if !t.Failed() {
				o := mustCreate(t, stores[0], walletTx("T1", "000001", 100))
				if got := mustGet(t, stores[n-1], o.ID); got != o {
					t.Errorf("another instance reads %+v", got)
				}
				db := rawDB(t, d, dsn)
				if m := migrations(t, db); len(m) != migrationCount(d) {
					t.Errorf("schema_migrations %+v", m)
				}
				db.Close() // many rounds: do not hold their connections
			}
			for _, st := range stores {
				if st != nil {
					st.Close()
				}
			}
			if t.Failed() {
				return
			}
		}
	})
}

func TestOpenRefusesBadNames(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		bad := []string{""}
		if d == store.SQLite {
			dir := t.TempDir()
			bad = append(bad, filepath.Join(dir, "pos.db?mode=memory"), filepath.Join(dir, "pos#1.db"))
		} else {
			bad = append(bad, "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
		}
		for _, dsn := range bad {
			if st, err := store.Open(ctx, dsn); err == nil {
				st.Close()
				t.Errorf("opened %q", dsn)
			}
		}
	})
}

func TestListen(t *testing.T) {
	storetest.Each(t, func(t *testing.T, d store.Dialect) {
		if d == store.SQLite {
			listenSQLite(t)
			return
		}
		dsn := storetest.DSN(t, d)
		listener, writer := storetest.OpenDSN(t, dsn), storetest.OpenDSN(t, dsn)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()

		var (
			mu   sync.Mutex
			got  = map[string]bool{}
			fail []error
		)
		done := make(chan error, 1)
		go func() {
			done <- listener.Listen(ctx, func(id string) {
				mu.Lock()
				got[id] = true
				mu.Unlock()
			}, nil, func(err error) {
				mu.Lock()
				fail = append(fail, err)
				mu.Unlock()
			})
		}()

		// LISTEN starts in the background: change one transaction after
		// another until the listener hears of one.
		heard := func(ids []string) string {
			mu.Lock()
			defer mu.Unlock()
			for _, id := range ids {
				if got[id] {
					return id
				}
			}
			return ""
		}
		var changed []string
		deadline := time.Now().Add(5 * time.Second)
		for i := 0; heard(changed) == ""; i++ {
			if time.Now().After(deadline) {
				t.Fatalf("no notice of %d changed transactions within 5s (listener errors: %v)", len(changed), fail)
			}
			o := mustCreate(t, writer, walletTx("T1", trace(i), 100))
			mustMove(t, writer, o, api.StatePending)
			changed = append(changed, o.ID)
			time.Sleep(100 * time.Millisecond)
		}

		// Once listening, every change is heard but a quiet one. Notices
		// come in commit order: the quiet change's would come first.
		quiet := mustCreate(t, writer, walletTx("T1", "999998", 100))
		c := change(api.StatePending)
		c.Quiet = true
		if _, err := writer.Transition(ctx, quiet.ID, api.StateCreated, 1, c); err != nil {
			t.Fatal(err)
		}
		o := mustCreate(t, writer, walletTx("T1", "999999", 100))
		mustMove(t, writer, o, api.StateClosed)
		for heard([]string{o.ID}) == "" {
			if time.Now().After(deadline.Add(5 * time.Second)) {
				t.Fatalf("change of %s not heard", o.ID)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if heard([]string{quiet.ID}) != "" {
			t.Errorf("quiet change of %s was announced", quiet.ID)
		}

		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("listen ended with %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("listen did not end with its context")
		}
	})
}

func listenSQLite(t *testing.T) {
	st := storetest.Open(t, store.SQLite)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := st.Listen(ctx, func(string) { t.Error("changed called on SQLite") }, nil, nil)
	if err != nil {
		t.Errorf("listen = %v, want nil", err)
	}
	// The context's own verdict, not a stopwatch: the deadline was set
	// before any clock this test could read.
	if ctx.Err() == nil {
		t.Error("listen returned before its context ended")
	}
}

// migrationCount counts the embedded migrations a dialect applies: every
// file but those of the other dialect (*.postgres.sql only on PostgreSQL).
func migrationCount(d store.Dialect) int {
	entries, err := os.ReadDir("migrations")
	if err != nil {
		panic(err)
	}
	n := 0
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".postgres.sql") && d != store.Postgres ||
			strings.HasSuffix(e.Name(), ".sqlite.sql") && d != store.SQLite {
			continue
		}
		n++
	}
	return n
}
