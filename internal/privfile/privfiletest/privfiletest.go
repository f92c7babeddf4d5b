// Package privfiletest checks that files holding payments, logs, receipts
// or keys come out private to their owner (0600 files, 0700 folders).
package privfiletest

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Permissive sets the process's umask to 0 for the test, so that a file
// comes out private only because it was created so. Tests using it must
// not run in parallel: the umask is the process's.
func Permissive(t testing.TB) {
	t.Helper()
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })
}

// Mode returns the permission bits of path.
func Mode(t testing.TB, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// Want reports path's permission bits when they are not want.
func Want(t testing.TB, path string, want fs.FileMode) {
	t.Helper()
	if got := Mode(t, path); got != want {
		t.Errorf("%s: mode %04o, want %04o", path, got, want)
	}
}

// Private reports every file below dir (and dir) that is not 0600 (a
// folder: 0700), and returns how many entries it checked.
func Private(t testing.TB, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		Want(t, path, want)
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
