package tui

import (
	"strings"

	"github.com/charmbracelet/lipgloss"
)

// text is something a screen will say, kept as a text key and its
// arguments rather than as a string: it is rendered in the language the
// screen is drawn in, so a hint typed before F1 switches with the rest.
// The zero text says nothing.
type text struct {
	key  string
	args []any
	fn   func(c *Common) string // instead of key: a text made by code (errText)
}

// say is the text for key, formatted with args; an arg that is itself a
// text is rendered in the same language.
func say(key string, args ...any) text { return text{key: key, args: args} }

// sayErr says why a call failed (errText), in the language of the moment.
func sayErr(b base, err error) text {
	return text{fn: func(*Common) string { return errText(b, err) }}
}

func (t text) empty() bool { return t.key == "" && t.fn == nil }

// in renders t in c's language.
func (t text) in(c *Common) string {
	switch {
	case t.fn != nil:
		return t.fn(c)
	case t.key == "":
		return ""
	case len(t.args) == 0:
		return c.t(t.key)
	}
	args := make([]any, len(t.args))
	for i, a := range t.args {
		if at, ok := a.(text); ok {
			args[i] = at.in(c)
		} else {
			args[i] = a
		}
	}
	return c.tf(t.key, args...)
}

// para renders s in style as a paragraph two cells in from the left edge,
// wrapped to the window so that every line, not only the first, is
// indented (a long hint never runs back to column 0).
func para(c *Common, style lipgloss.Style, s string) string {
	return paraAt(c, style, s, 2)
}

// paraAt is para at n cells from the left edge.
func paraAt(c *Common, style lipgloss.Style, s string, n int) string {
	w := c.Width - n - 1
	if c.Width <= 0 {
		w = 76
	}
	lines := strings.Split(style.Width(max(20, w)).Render(s), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ") // the wrap pads to the width
	}
	return indent(strings.Join(lines, "\n"), n)
}

// hintLine is a screen's hint after a blank line, or nothing.
func hintLine(c *Common, style lipgloss.Style, t text) string {
	if t.empty() {
		return ""
	}
	return "\n" + para(c, style, t.in(c)) + "\n"
}
