package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/multipos/multipos/config"
	"github.com/multipos/multipos/internal/privfile/privfiletest"
)

// The station's state folder is 0700 and pos.log 0600, even under a umask
// that takes nothing away; ones an older version left open are tightened,
// and pos.log says so. (No bundle: station stops right after the log.)
func TestStationStatePrivate(t *testing.T) {
	privfiletest.Permissive(t)
	defer slog.SetDefault(slog.Default()) // station points it at pos.log
	base := t.TempDir()
	fresh, loose := filepath.Join(base, "fresh", "state"), filepath.Join(base, "loose")
	if err := os.Mkdir(loose, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(loose, "pos.log"), []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{fresh, loose} {
		cfg := config.DefaultTerminal()
		cfg.StateDir = dir
		if _, _, err := station(cfg); err == nil || !strings.Contains(err.Error(), "no terminal bundle") {
			t.Fatalf("station without a bundle: %v", err)
		}
		privfiletest.Want(t, dir, 0o700)
		privfiletest.Want(t, filepath.Join(dir, "pos.log"), 0o600)
	}
	logged, err := os.ReadFile(filepath.Join(loose, "pos.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"permissions tightened", `"file":"` + loose + `"`, `"file":"` + filepath.Join(loose, "pos.log") + `"`} {
		if !strings.Contains(string(logged), want) {
			t.Errorf("pos.log lacks %s:\n%s", want, logged)
		}
	}
}
