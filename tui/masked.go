package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// maskedDigits is a secret typed digit by digit: the cardholder's PIN,
// the supervisor password. It is shown as stars and held in a buffer
// that never grows, so no copy of the digits is left behind, and wiped
// once used. PIN entry and supervisor entry embed it.
type maskedDigits struct{ buf []byte }

func newMasked(n int) maskedDigits { return maskedDigits{buf: make([]byte, 0, n)} }

// typed is what a key did to the digits.
type typed int

const (
	typedNone     typed = iota // a key the entry does not take
	typedDigit                 // a digit went in
	typedDeleted               // the last digit went out
	typedFull                  // a digit, but no more fit
	typedNotDigit              // text that is not a digit
)

// key applies k: a digit, or the Delete key del.
func (m *maskedDigits) key(k tea.KeyMsg, del key.Binding) typed {
	switch d := digitOf(k); {
	case key.Matches(k, del):
		if n := len(m.buf); n > 0 {
			m.buf[n-1] = 0
			m.buf = m.buf[:n-1]
		}
		return typedDeleted
	case d >= 0 && len(m.buf) == cap(m.buf):
		return typedFull
	case d >= 0:
		m.buf = append(m.buf, byte('0'+d))
		return typedDigit
	case isText(k):
		return typedNotDigit
	}
	return typedNone
}

func (m *maskedDigits) digits() []byte { return m.buf }

func (m *maskedDigits) wipe() {
	clear(m.buf[:cap(m.buf)])
	m.buf = m.buf[:0]
}

// view is the masked box.
func (m *maskedDigits) view(st Styles) string {
	return indent(st.Box.Width(18).Render(st.PINMask.Render(strings.Repeat("*", len(m.buf)))), 2)
}
