// Package tui is the cashier app: a full-screen Bubble Tea program that walks
// the cashier through the patent's flows (channel list → welcome → main menu →
// amount → QR code, payment code or card + PIN → result → receipt) on one
// keyboard.
//
// Where things are (the structure follows soft-serve's ssh/ui.go and
// ui/common, and crush's rules: no I/O in Update, no state change in a Cmd,
// shared behaviour by embedding):
//
//   - app.go: the root Model. It owns Common and only routes: raw keys to
//     the key filter, background news to the station, the cashier's events
//     to the router. Global keys (language, quit, the trainer's paper key,
//     and on the channel list the trainer's end of the day when the
//     Trainer is a DayEnder) live here too. Quitting cancels the app's one
//     context.
//   - common.go: Common, what every screen reads and none writes (context,
//     size, styles, keys, language); facts, the read-only view screens have
//     of what the station knows; base, embedded by every screen; Screen.
//   - keyfilter.go: the key filter, turning raw keys into cashier events:
//     bursts split, magstripe swipes (devices/magstripe) and barcode scans
//     (devices/wedge) told from typing. Alt+digit is never a digit.
//   - station.go, statusbar.go: the background components, each with its
//     own Update: the server link (terminal info, heartbeat, acknowledged
//     and unseen results), the card sign-on (it owns the working keys), the
//     print log, and the status bar (devices, power, clock, and the link).
//   - router.go: which screen follows which. Screens return a typed next
//     (toMenu, toPay, goBack, goHome, …); the router builds the next screen
//     and keeps the stack of those before it, resumed with a resumeMsg and
//     a hint. Payment ids and the supervisor lockout live here.
//   - follow.go: the wallet-order follower the QR and payment-code screens
//     embed (long-poll, retries, close, what can go wrong); masked.go: the
//     masked digit entry the PIN and supervisor screens embed.
//   - screen_settle.go: 结算 on the bank-card menu: the open batch and a
//     warning, the supervisor password (the void's screen and lockout),
//     the settlement (a batch settled already, at the cut-off or by
//     another station, is shown as it was settled), then its slip printed
//     through the receipt screen, one copy; the router keeps the last
//     slip for printing again.
//   - say.go: what a screen says is kept as a text key and its arguments
//     (text) and rendered when drawn, so F1 switches hints with the rest;
//     help.go: the help lines, wrapped between keys; quit.go: why Ctrl+C
//     waits, per screen; adjust.go: what a void or refund would be refused
//     for, said at the lookup.
//   - screen_*.go: one file per screen or family; payment.go: a payment
//     attempt and the typed menu actions; commands.go: every tea.Cmd, the
//     only place with I/O, each under the app's context and never sleeping
//     (a delay is a tea.Tick whose message asks for the next command).
//
// Screens change synchronously inside Update, never through a tea.Cmd, so a
// burst of keys can never race a screen change. All I/O runs in tea.Cmds
// whose results carry the id of the payment that asked; results for any
// other payment are dropped. Every screen declares the smallest window it
// can be drawn in; below it the app says "window too small" instead.
//
// Tests: per-screen View goldens (testdata/TestScreenGoldens, rewritten with
// -update), component tests that feed the root model the messages commands
// would bring, and end-to-end flows against the demo's real server.
package tui
