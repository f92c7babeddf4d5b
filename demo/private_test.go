package demo

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Everything a demo run keeps (its database and journal, log, receipts and
// print queue) is private to the user, even under a umask that takes
// nothing away.
func TestFilesPrivate(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "run")
	env, err := Start(context.Background(), Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	var checked []string
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if m := fi.Mode().Perm(); m != want {
			t.Errorf("%s: mode %04o, want %04o", path, m, want)
		}
		checked = append(checked, d.Name())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Checked while the demo runs, so that the database's WAL and
	// shared-memory files are there too.
	for _, name := range []string{"pos.log", "posserver.db", "posserver.db-wal", "posserver.db-shm", "receipts", "printqueue"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("demo run has no %s: %v", name, err)
		}
	}
	t.Logf("checked %v", checked)
}
