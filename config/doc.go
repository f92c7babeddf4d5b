// Package config reads the two configuration files: pos.toml for the cashier
// station and posserver.toml for the server.
//
// Both start from built-in defaults that run the demo out of the box, and a
// file only overrides what it names. Files are written by hand, often by
// someone installing a counter PC under time pressure, so every problem is
// reported as file:line with the key at fault and all problems are reported
// at once: an operator fixes the file in one pass instead of one error per
// restart. Keys are checked against the key names Bubble Tea actually
// reports, because a binding to a name the TUI never receives would silently
// leave the cashier without a Confirm or Cancel key.
package config
