package standins

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/multipos/multipos/bundle"
)

// BundleKeys gives the stand-in acquirer host the terminals' master keys
// the way a bank gets them, out of band: from the terminal bundles
// (`posserver terminal add … -out FILE`) in a directory. A terminal it does
// not know yet makes it read the directory again, so terminals added while
// it runs sign on without a restart. Safe for concurrent use.
type BundleKeys struct {
	dir string
	log *slog.Logger

	mu      sync.Mutex
	keys    map[string][]byte
	scanned time.Time
	dirTime time.Time // the directory's modification time at the last scan
}

// rescanEvery bounds how often an unknown terminal rereads a directory
// that has not changed.
const rescanEvery = 100 * time.Millisecond

// NewBundleKeys reads the bundles in dir (files ending .pem).
func NewBundleKeys(dir string, log *slog.Logger) *BundleKeys {
	if log == nil {
		log = slog.Default()
	}
	k := &BundleKeys{dir: dir, log: log, keys: map[string][]byte{}}
	k.mu.Lock()
	k.scanLocked()
	k.mu.Unlock()
	return k
}

// MasterKey returns the master key of the terminal's bundle.
func (k *BundleKeys) MasterKey(terminalID string) ([]byte, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if key, ok := k.keys[terminalID]; ok {
		return key, true
	}
	st, err := os.Stat(k.dir)
	changed := err == nil && !st.ModTime().Equal(k.dirTime)
	if !changed && time.Since(k.scanned) < rescanEvery {
		return nil, false
	}
	k.scanLocked()
	key, ok := k.keys[terminalID]
	return key, ok
}

// Len is how many terminals' keys are known.
func (k *BundleKeys) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.keys)
}

// scanLocked reads every bundle in the directory. A file that is not a
// bundle is skipped (logged by name only: a bundle holds secrets).
func (k *BundleKeys) scanLocked() {
	k.scanned = time.Now()
	if st, err := os.Stat(k.dir); err == nil {
		k.dirTime = st.ModTime()
	}
	ents, err := os.ReadDir(k.dir)
	if err != nil {
		k.log.Warn("terminal bundles unreadable", "dir", k.dir, "err", err)
		return
	}
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".pem") {
			continue
		}
		b, err := bundle.Load(filepath.Join(k.dir, e.Name()))
		if err != nil {
			k.log.Warn("not a terminal bundle; skipped", "file", e.Name())
			continue
		}
		if _, known := k.keys[b.TerminalID]; !known {
			k.log.Info("terminal master key loaded from its bundle", "terminal", b.TerminalID, "kcv", b.KCV)
		}
		k.keys[b.TerminalID] = b.MasterKey
	}
}
