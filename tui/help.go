package tui

import (
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/x/ansi"
)

// helpSep separates the keys of the help line.
const helpSep = " · "

// helpBindings is every key the active screen takes, then the keys every
// screen takes: the language, the trainer's paper key (demo) and quitting
// (when nothing would be left half-done).
func (m Model) helpBindings() []key.Binding {
	c := m.c
	bindings := append([]key.Binding{}, m.router.active().Help()...)
	bindings = append(bindings, c.Keys.Function)
	if m.o.Trainer != nil {
		bindings = append(bindings, c.Keys.PaperOut)
	}
	if m.Screen() == "channels" && m.dayEnder() != nil {
		bindings = append(bindings, c.Keys.EndDay)
	}
	if !m.busy() {
		bindings = append(bindings, c.Keys.Quit)
	}
	return bindings
}

// helpLines is the help at the foot of the screen: every key the screen
// takes, wrapped between keys onto as many lines as the width needs (two
// at most on an 80-column screen), never cut off.
func (m Model) helpLines() []string { return m.helpLinesAt(m.c.Width) }

// helpLinesAt is the help as it wraps at width w.
func (m Model) helpLinesAt(w int) []string {
	c := m.c
	return wrapHelp(m.helpBindings(), w, func(k, desc string) string {
		return c.Styles.HelpKey.Render(k) + " " + c.Styles.HelpDesc.Render(desc)
	}, c.Styles.HelpSep.Render(helpSep))
}

// wrapHelp lays out the enabled bindings' "key desc" items on lines of at
// most width cells (unlimited when width <= 0), each starting with a space.
func wrapHelp(bindings []key.Binding, width int, item func(k, desc string) string, sep string) []string {
	var lines []string
	line, n := " ", 1
	sepW := ansi.StringWidth(sep)
	for _, b := range bindings {
		h := b.Help()
		if !b.Enabled() || (h.Key == "" && h.Desc == "") {
			continue
		}
		it := item(h.Key, h.Desc)
		w := ansi.StringWidth(it)
		switch {
		case n == 1:
			line, n = line+it, n+w
		case width > 0 && n+sepW+w > width:
			lines = append(lines, line)
			line, n = " "+it, 1+w
		default:
			line, n = line+sep+it, n+sepW+w
		}
	}
	lines = append(lines, line)
	if width > 0 {
		for i, l := range lines {
			if ansi.StringWidth(l) > width {
				lines[i] = ansi.Truncate(l, width, "…") // one item wider than the screen
			}
		}
	}
	return lines
}
