package sim

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/multipos/multipos/receipts"
)

// The demo printer's folder is 0700 and each saved receipt 0600, even
// under a umask that takes nothing away.
func TestPrinterFilesPrivate(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "receipts")
	got, err := NewPrinter(dir, receipts.Width58).Print(context.Background(), receipt())
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, got.Location: 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if m := fi.Mode().Perm(); m != want {
			t.Errorf("%s: mode %04o, want %04o", path, m, want)
		}
	}
}
