// Package termguard keeps Bubble Tea v1 from stalling start-up for up to five
// seconds. bubbletea's package init() asks the terminal for its background
// colour (OSC 11) and waits up to termenv.OSCTimeout for an answer; a terminal
// that never answers (a bare PTY, some serial consoles, `script`) stalls the
// station before its first frame. termenv skips the query when TERM starts
// with "dumb", so this package sets that for the duration of package
// initialisation and main puts the real TERM back with Restore before any
// rendering, so colours are detected from the real terminal.
//
// It must be initialised before bubbletea. Go initialises packages in import
// path order among those whose imports are ready; this package imports only
// "os", and bubbletea imports "os/signal" (which sorts after
// "github.com/multipos/…" and also needs "os"), so this package always runs
// first. cmd/posbench's startup measurement checks it on a PTY that never
// answers.
package termguard

import "os"

var (
	saved   string
	changed bool
)

func init() {
	if os.Getenv("MULTIPOS_NO_TERMGUARD") != "" {
		return // to measure the stall this guards against (posbench startup --control)
	}
	t, ok := os.LookupEnv("TERM")
	if !ok || hasPrefix(t, "dumb") || hasPrefix(t, "screen") || hasPrefix(t, "tmux") {
		return
	}
	saved, changed = t, true
	_ = os.Setenv("TERM", "dumb")
}

// Restore puts the user's TERM back. Call it first thing in main.
func Restore() {
	if changed {
		_ = os.Setenv("TERM", saved)
		changed = false
	}
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }
