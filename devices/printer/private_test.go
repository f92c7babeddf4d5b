package printer

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/multipos/multipos/internal/privfile/privfiletest"
)

// A plain file receipts are appended to is private (0600) even under a
// umask that takes nothing away, and one left open to others is tightened.
func TestFilePlainFilePrivate(t *testing.T) {
	privfiletest.Permissive(t)
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
		privfiletest.Want(t, path, 0o600)
	}
}
