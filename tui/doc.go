// Package tui is the cashier app: a full-screen Bubble Tea program that walks
// the cashier through the patent's flows (channel list → welcome → main menu →
// amount → QR code or card + PIN → result → receipt) on one keyboard.
//
// The structure follows soft-serve and gh-dash: every screen implements one
// small interface and shares a Common (styles, keys, size, language); the root
// model routes a message to the active screen only. Screens change
// synchronously inside Update, never through a tea.Cmd, so a burst of keys can
// never race a screen change. All I/O runs in tea.Cmds whose results carry the
// id of the payment that asked; results for any other payment are dropped.
package tui
