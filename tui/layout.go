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
	return "  " + padRight(label, w) + value + "\n"
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
