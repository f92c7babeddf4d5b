package demo

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/multipos/multipos/internal/privfile/privfiletest"
)

// Everything a demo run keeps (its database and journal, log, receipts and
// print queue) is private to the user, even under a umask that takes
// nothing away.
func TestFilesPrivate(t *testing.T) {
	privfiletest.Permissive(t)
	dir := filepath.Join(t.TempDir(), "run")
	env, err := Start(context.Background(), Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	n := privfiletest.Private(t, dir)
	// Checked while the demo runs, so that the database's WAL and
	// shared-memory files are there too.
	for _, name := range []string{"pos.log", "posserver.db", "posserver.db-wal", "posserver.db-shm", "receipts", "printqueue"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("demo run has no %s: %v", name, err)
		}
	}
	t.Logf("checked %d files and folders", n)
}
