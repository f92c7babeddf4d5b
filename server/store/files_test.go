package store_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/multipos/multipos/internal/privfile/privfiletest"
	"github.com/multipos/multipos/server/store"
)

// captureDefaultLog sends slog.Default() to a buffer for the test (the
// store reports tightened files there); not for parallel tests.
func captureDefaultLog(t *testing.T) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })
	return &buf
}

// TestSQLiteFilesPrivate: under a umask that takes nothing away, the
// database, its WAL and its shared-memory file are still 0600, because
// the store creates the database 0600 and SQLite gives its companions the
// database's mode.
func TestSQLiteFilesPrivate(t *testing.T) {
	privfiletest.Permissive(t)
	logs := captureDefaultLog(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "posserver.db")
	st, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.AddTerminal(ctx, store.Terminal{ID: "T1", MerchantID: "M1", StoreID: "S1", CertSerial: "01", MasterKey: "v1:x",
		Enabled: true, CreatedAt: time.Now()}, ""); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		privfiletest.Want(t, name, 0o600)
	}
	if logs.Len() != 0 {
		t.Errorf("a new database reported tightened files:\n%s", logs)
	}
}

// TestSQLiteFilesTightened: a database an older version left 0644 is made
// 0600 when the store opens it, with a log line naming it.
func TestSQLiteFilesTightened(t *testing.T) {
	privfiletest.Permissive(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "posserver.db")
	st, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+"-journal", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	logs := captureDefaultLog(t)
	st, err = store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, name := range []string{path, path + "-journal"} {
		privfiletest.Want(t, name, 0o600)
		if !strings.Contains(logs.String(), "file="+name) {
			t.Errorf("log does not name %s:\n%s", name, logs)
		}
	}
}
