package printer

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// A plain file receipts are appended to is private (0600) even under a
// umask that takes nothing away, and one left open to others is tightened.
func TestFilePlainFilePrivate(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := t.TempDir()
	fresh, loose := filepath.Join(dir, "new.bin"), filepath.Join(dir, "old.bin")
	if err := os.WriteFile(loose, []byte("earlier\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{fresh, loose} {
		l := fileOpen(t, path)
		if err := l.Write(t.Context(), []byte("receipt\n")); err != nil {
			t.Fatal(err)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if m := permOf(t, path); m != 0o600 {
			t.Errorf("%s: mode %04o, want 0600", filepath.Base(path), m)
		}
	}
}

func permOf(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}
