// Package config reads the two configuration files: pos.toml for the cashier
// station and posserver.toml for the server.
//
// Both start from built-in defaults that work on one machine out of the box,
// and a file only overrides what it names. Identities are not in the files:
// a station's comes in the bundle its pos.toml names, issued by the server,
// and the server's merchants and terminals live in its database, where they
// change without a restart. Settings that moved out of the files are
// reported with where they went, because an upgrade keeps the old files.
//
// Files are written by hand, often by someone installing a counter PC under
// time pressure, so every problem is reported as file:line with the key at
// fault and all problems are reported at once: an operator fixes the file in
// one pass instead of one error per restart. Key bindings are checked
// against the key names Bubble Tea actually reports, because a binding to a
// name the TUI never receives would silently leave the cashier without a
// Confirm or Cancel key.
//
// Config holds settings only: the printer's model is a PrinterProfile of
// plain values, which the station's printer code turns into a
// receipts.Profile, so posserver, which reads this package too, links no
// receipt rendering.
package config
