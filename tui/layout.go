package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
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
