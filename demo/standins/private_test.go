package standins

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/multipos/multipos/internal/privfile/privfiletest"
)

// The keys `posserver sandbox` writes are 0600 in a 0700 folder, even under
// a umask that takes nothing away, and files and a folder an older run left
// open to others are tightened when written again.
func TestClientFilesPrivate(t *testing.T) {
	privfiletest.Permissive(t)
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
		if n := privfiletest.Private(t, dir); n < 7 {
			t.Errorf("%s: %d entries, want the folder and 6 files", dir, n)
		}
	}
}
