package tui

import (
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// titled screens name themselves in the header (e.g. the channel in use).
type titled interface{ Title() string }

// View draws header, the active screen, the help lines and the status bar,
// exactly Height lines tall once the size is known. A window smaller than
// the screen needs says so instead of a screen cut off.
func (m Model) View() string {
	c := m.c
	s := m.router.active()
	var body string
	if w, h := m.minSize(); c.Height > 0 && (c.Width < w || c.Height < h) {
		body = "\n  " + c.Styles.Warn.Width(max(10, c.Width-4)).Render(c.tf("win.small", w, h))
	} else {
		body = s.View()
	}
	if n := m.router.notice; !n.empty() {
		body += "\n\n" + para(c, c.Styles.Warn, n.in(c))
	}
	header, help, status := m.header(), m.helpLines(), m.st.status.View()
	if c.Height <= 0 {
		return strings.Join([]string{header, body, strings.Join(help, "\n"), status}, "\n")
	}
	return strings.Join([]string{header, fitLines(body, c.Height-2-len(help), c.Width), strings.Join(help, "\n"), status}, "\n")
}

// fitLines clips or pads s to exactly h lines, each at most w cells wide.
func fitLines(s string, h, w int) string {
	if h < 0 {
		h = 0
	}
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	if w > 0 {
		for i, l := range lines {
			if ansi.StringWidth(l) > w {
				lines[i] = ansi.Truncate(l, w, "")
			}
		}
	}
	return strings.Join(lines, "\n")
}

func (m Model) header() string {
	c := m.c
	s := c.Styles
	left := " " + c.t("app.title")
	if t, ok := m.router.active().(titled); ok && t.Title() != "" {
		left += " › " + t.Title()
	}
	right := ""
	if info, ok, _ := m.st.terminal(); ok && info.MerchantName != "" {
		right = info.MerchantName + " "
	}
	leftR := s.Header.Render(left)
	rightR := s.HeaderDim.Render(right)
	if m.st.demo() {
		rightR = s.HeaderDim.Render(right) + s.Demo.Render(" "+c.t("demo.badge")+" ")
	}
	return fillBar(leftR, rightR, c.Width, s.Header)
}

// fillBar puts left and right on one line of width w, filling with style bg.
func fillBar(left, right string, w int, bg lipgloss.Style) string {
	if w <= 0 {
		return left + "  " + right
	}
	gap := w - ansi.StringWidth(left) - ansi.StringWidth(right)
	if gap < 1 {
		return ansi.Truncate(left+" "+right, w, "")
	}
	return left + bg.Render(strings.Repeat(" ", gap)) + right
}

// minSize is the smallest window the active screen can be drawn in whole:
// its width, and its body's lines with the header, the status bar and the
// help as it wraps at that width.
func (m Model) minSize() (int, int) {
	w, body := m.router.active().MinSize()
	return w, body + 2 + len(m.helpLinesAt(w))
}
