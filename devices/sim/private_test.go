package sim

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/multipos/multipos/internal/privfile/privfiletest"
	"github.com/multipos/multipos/receipts"
)

// The demo printer's folder is 0700 and each saved receipt 0600, even
// under a umask that takes nothing away.
func TestPrinterFilesPrivate(t *testing.T) {
	privfiletest.Permissive(t)
	dir := filepath.Join(t.TempDir(), "receipts")
	got, err := NewPrinter(dir, receipts.Width58).Print(context.Background(), receipt())
	if err != nil {
		t.Fatal(err)
	}
	privfiletest.Want(t, dir, 0o700)
	privfiletest.Want(t, got.Location, 0o600)
}
