package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
)

// padRight pads s with spaces to w terminal cells (CJK characters count 2).
func padRight(s string, w int) string {
	if n := ansi.StringWidth(s); n < w {
		return s + strings.Repeat(" ", w-n)
	}
	return s
}

// field is one "label value" line of a screen, labels aligned at w cells.
func field(label, value string, w int) string {
	return "  " + labelCol(label, w) + value + "\n"
}

// labelCol is label padded to w cells for the value after it, and never
// without two spaces before the value: a label as wide as its column (an
// English one, often) must not run into its value ("Expires in01:58").
func labelCol(label string, w int) string {
	if label == "" {
		return padRight(label, w)
	}
	return padRight(label, max(w, ansi.StringWidth(label)+2))
}

// indent prefixes every line of s with n spaces.
func indent(s string, n int) string {
	pad := strings.Repeat(" ", n)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = pad + l
		}
	}
	return strings.Join(lines, "\n")
}

// digitOf returns the digit a key press typed, or -1.
func digitOf(msg tea.KeyMsg) int {
	if msg.Type == tea.KeyRunes && len(msg.Runes) == 1 && msg.Runes[0] >= '0' && msg.Runes[0] <= '9' {
		return int(msg.Runes[0] - '0')
	}
	return -1
}

// isText reports whether the key typed printable characters (a letter, say)
// that no binding claimed.
func isText(msg tea.KeyMsg) bool {
	return msg.Type == tea.KeyRunes || msg.Type == tea.KeySpace
}

// splitRunes turns a burst of typed characters (a terminal delivers "12" typed
// quickly as one message) into one message per character, so a burst behaves
// exactly like the same keys pressed one by one.
func splitRunes(msg tea.KeyMsg) []tea.KeyMsg {
	if msg.Type != tea.KeyRunes || len(msg.Runes) < 2 || msg.Paste {
		return []tea.KeyMsg{msg}
	}
	out := make([]tea.KeyMsg, len(msg.Runes))
	for i, r := range msg.Runes {
		out[i] = tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: msg.Alt}
	}
	return out
}

// digitsHelp is the help entry for digit keys with a screen-specific meaning.
func digitsHelp(c *Common, label, desc string) key.Binding {
	b := c.Keys.Digits
	b.SetHelp(label, desc)
	return b
}

// labelsWidth is the column for the labels of keys in c's language: the
// widest and two spaces, at least w.
func labelsWidth(c *Common, w int, keys ...string) int {
	for _, k := range keys {
		w = max(w, ansi.StringWidth(c.t(k))+2)
	}
	return w
}
