package tui

import (
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/multipos/multipos/devices/magstripe"
	"github.com/multipos/multipos/devices/wedge"
)

// keyFilter turns the raw keys of the one keyboard into the cashier's
// events. A terminal hands over a burst of typed characters as one
// message; a keyboard-wedge magstripe reader types its tracks; a barcode
// scanner types a payment code and Enter. The filter splits bursts, picks
// swipes out first (devices/magstripe), then tells scans from typing
// (devices/wedge), and returns, in the order they happened: typed keys
// (tea.KeyMsg), scans (scanMsg) and swipes (swipeMsg). It never calls back
// into the app, so nothing is re-entered.
type keyFilter struct {
	stripe magstripe.Detector[tea.KeyMsg]
	wedge  wedge.Detector[tea.KeyMsg]
	// now is the real clock: this is about how fast keys come, not
	// business time.
	now func() time.Time
}

func newKeyFilter() *keyFilter { return &keyFilter{now: time.Now} }

// Update takes a raw key, or one of the filter's own timers, and returns
// the events it lets go; ok is false for any other message.
func (f *keyFilter) Update(msg tea.Msg) (events []tea.Msg, cmd tea.Cmd, ok bool) {
	switch msg := msg.(type) {
	case tea.KeyMsg:
		var cmds []tea.Cmd
		for _, k := range splitRunes(msg) {
			evs, cmd := f.key(k)
			events, cmds = append(events, evs...), append(cmds, cmd)
		}
		return events, tea.Batch(cmds...), true
	case stripeMsg:
		events, cmd = f.stripeOut(f.stripe.Expire(msg.gen))
		return events, cmd, true
	case wedgeMsg:
		return keyEvents(f.wedge.Expire(msg.gen)), nil, true
	}
	return nil, nil, false
}

// key sorts one key: a swipe under way holds it, anything else goes on
// to the scanner check, barcode timing kept.
func (f *keyFilter) key(k tea.KeyMsg) ([]tea.Msg, tea.Cmd) {
	var r rune
	switch {
	case k.Type == tea.KeyRunes && len(k.Runes) == 1 && !k.Alt && !k.Paste:
		r = k.Runes[0]
	case k.Type == tea.KeyEnter:
		r = '\r'
	}
	if !f.stripe.Holding() && r != '%' && r != ';' {
		return f.scanKey(k)
	}
	events, cmd := f.stripeOut(f.stripe.Key(k, r, f.now()))
	if f.stripe.Holding() {
		gen := f.stripe.Gen()
		cmd = tea.Batch(cmd, after(magstripe.DefaultMaxGap+5*time.Millisecond, stripeMsg{gen: gen}))
	}
	return events, cmd
}

// stripeOut is what the stripe detector let go: the swipe first, then the
// keys that were typed, through the scanner check.
func (f *keyFilter) stripeOut(swipe string, typed []tea.KeyMsg) ([]tea.Msg, tea.Cmd) {
	var events []tea.Msg
	var cmds []tea.Cmd
	if swipe != "" {
		events = append(events, swipeMsg{raw: swipe})
	}
	for _, k := range typed {
		evs, cmd := f.scanKey(k)
		events, cmds = append(events, evs...), append(cmds, cmd)
	}
	return events, tea.Batch(cmds...)
}

// scanKey tells the barcode scanner from typing: digits are held for a
// moment; a fast run of them ended by Enter is a scan, and anything else
// goes through as typed, in the order it came.
func (f *keyFilter) scanKey(k tea.KeyMsg) ([]tea.Msg, tea.Cmd) {
	now := f.now()
	switch {
	case digitOf(k) >= 0 && !k.Paste:
		held := f.wedge.Digit(k, k.Runes[0], now)
		gen := f.wedge.Gen()
		return keyEvents(held), after(wedge.DefaultMaxGap+5*time.Millisecond, wedgeMsg{gen: gen})
	case k.Type == tea.KeyEnter:
		scan, typed := f.wedge.Enter(now)
		if scan != "" {
			return []tea.Msg{scanMsg{code: scan}}, nil
		}
		return append(keyEvents(typed), k), nil
	}
	return append(keyEvents(f.wedge.Other()), k), nil
}

func keyEvents(keys []tea.KeyMsg) []tea.Msg {
	out := make([]tea.Msg, len(keys))
	for i, k := range keys {
		out[i] = k
	}
	return out
}

// splitRunes turns a burst of typed characters (a terminal delivers "12" typed
// quickly as one message) into one message per character, so a burst behaves
// exactly like the same keys pressed one by one; a carriage return in it is
// the Enter key (a scanner's or a wedge reader's, typed with the rest).
func splitRunes(msg tea.KeyMsg) []tea.KeyMsg {
	if msg.Type != tea.KeyRunes || len(msg.Runes) < 2 || msg.Paste {
		return []tea.KeyMsg{msg}
	}
	out := make([]tea.KeyMsg, len(msg.Runes))
	for i, r := range msg.Runes {
		out[i] = tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: msg.Alt}
		if r == '\r' {
			out[i] = tea.KeyMsg{Type: tea.KeyEnter, Alt: msg.Alt}
		}
	}
	return out
}

// digitOf returns the digit a key press typed, or -1. Alt+digit is a
// chord, never a digit: it must not pick a channel or type an amount.
func digitOf(msg tea.KeyMsg) int {
	if msg.Type == tea.KeyRunes && len(msg.Runes) == 1 && !msg.Alt && msg.Runes[0] >= '0' && msg.Runes[0] <= '9' {
		return int(msg.Runes[0] - '0')
	}
	return -1
}

// isText reports whether the key typed printable characters (a letter, say)
// that no binding claimed.
func isText(msg tea.KeyMsg) bool {
	return (msg.Type == tea.KeyRunes || msg.Type == tea.KeySpace) && !msg.Alt
}
