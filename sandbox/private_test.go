package sandbox

import (
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// The keys `posserver sandbox` writes are 0600 in a 0700 folder, even under
// a umask that takes nothing away, and files and a folder an older run left
// open to others are tightened when written again.
func TestClientFilesPrivate(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	w, err := StartWallets(context.Background(), WalletOptions{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	fresh, loose := filepath.Join(t.TempDir(), "keys"), filepath.Join(t.TempDir(), "old-keys")
	if err := os.Mkdir(loose, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(loose, "alipay_app_private.pem"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{fresh, loose} {
		if _, err := w.WriteClientFiles(dir); err != nil {
			t.Fatal(err)
		}
		n := 0
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
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
			n++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if n < 7 {
			t.Errorf("%s: %d entries, want the folder and 6 files", dir, n)
		}
	}
}
