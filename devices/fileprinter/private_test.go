package fileprinter

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/multipos/multipos/internal/privfile/privfiletest"
	"github.com/multipos/multipos/receipts"
)

// Saved receipts are private (0600) even under a umask that takes nothing
// away, and a receipts file left open to others is tightened.
func TestReceiptFilePrivate(t *testing.T) {
	privfiletest.Permissive(t)
	dir := t.TempDir()
	fresh, loose := filepath.Join(dir, "new.txt"), filepath.Join(dir, "old.txt")
	if err := os.WriteFile(loose, []byte("earlier\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{fresh, loose} {
		if _, err := New(path, receipts.Width58).Print(context.Background(), receipt("000001")); err != nil {
			t.Fatal(err)
		}
		privfiletest.Want(t, path, 0o600)
	}
}
