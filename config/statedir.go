package config

import (
	"fmt"
	"os"
	"path/filepath"
)

// StateDir is where multipos keeps its own files (trace counter, saved
// receipts, logs, demo databases): $XDG_STATE_HOME/multipos, or
// ~/.local/state/multipos.
func StateDir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "multipos"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find the state directory: %w", err)
	}
	return filepath.Join(home, ".local", "state", "multipos"), nil
}
