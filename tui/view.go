package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/multipos/multipos/devices"
	"github.com/multipos/multipos/i18n"
)

// titled screens name themselves in the header (e.g. the channel in use).
type titled interface{ Title() string }

// View draws header, the active screen, the help lines and the status bar,
// exactly Height lines tall once the size is known.
func (m Model) View() string {
	c := m.c
	body := m.active.View()
	if c.Flash != "" {
		body += "\n\n  " + c.Styles.Warn.Render(c.Flash)
	}
	header, help, status := m.header(), m.helpLines(), m.statusBar()
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
	if t, ok := m.active.(titled); ok && t.Title() != "" {
		left += " › " + t.Title()
	}
	right := ""
	if c.InfoOK && c.Info.MerchantName != "" {
		right = c.Info.MerchantName + " "
	}
	leftR := s.Header.Render(left)
	rightR := s.HeaderDim.Render(right)
	if c.demo() {
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

func (m Model) statusBar() string {
	c := m.c
	s := c.Styles
	sep := s.Status.Render(" │ ")
	var link string
	switch {
	case !c.LinkKnown:
		link = s.Status.Render("◌ " + c.t("status.connecting"))
	case c.LinkUp:
		ms := c.LinkRTT.Milliseconds()
		if ms > 999 {
			ms = 999
		}
		link = s.StatusOK.Render("● "+c.t("status.online")) + s.Status.Render(fmt.Sprintf(" %3dms", ms))
	default:
		link = s.StatusBad.Render("✕ " + c.t("status.offline"))
	}
	parts := []string{link,
		s.Status.Render(c.t("status.printer")+" ") + m.printerState() + m.queuedState(),
		s.Status.Render(c.t("status.reader")+" ") + m.readerState(),
	}
	if p := c.Power[langIndex(c.Lang)]; p != "" {
		parts = append(parts, s.Status.Render(p))
	}
	parts = append(parts, s.Status.Render(c.opts.TerminalID))
	clock := c.Clock.Format("2006-01-02 15:04:05")
	line := " " + strings.Join(parts, sep)
	if ansi.StringWidth(line)+ansi.StringWidth(clock)+4 > c.Width && c.Width > 0 {
		clock = c.Clock.Format("15:04:05")
	}
	return fillBar(line, s.Status.Render(clock+" "), c.Width, s.Status)
}

func langIndex(l i18n.Lang) int {
	if l == i18n.EN {
		return 1
	}
	return 0
}

func (m Model) printerState() string {
	c := m.c
	s := c.Styles
	if c.opts.Printer == nil {
		return s.Status.Render(c.t("status.none"))
	}
	switch c.Printer {
	case devices.PrinterReady:
		return s.StatusOK.Render(c.t("status.ready"))
	case devices.PrinterPaperOut:
		return s.StatusBad.Render(c.t("status.paperout"))
	case devices.PrinterCoverOpen:
		return s.StatusBad.Render(c.t("status.cover"))
	case devices.PrinterOffline:
		return s.StatusBad.Render(c.t("status.poff"))
	case devices.PrinterPaperLow:
		return s.StatusBad.Render(c.t("status.paperlow"))
	}
	return s.Status.Render("…")
}

// queuedState is the number of receipts waiting, when any do.
func (m Model) queuedState() string {
	c := m.c
	if c.Queued == 0 {
		return ""
	}
	return c.Styles.StatusBad.Render(" " + c.tf("status.queued", c.Queued))
}

func (m Model) readerState() string {
	c := m.c
	s := c.Styles
	if c.opts.Reader == nil {
		return s.Status.Render(c.t("status.none"))
	}
	switch c.Reader {
	case devices.ReaderReady:
		return s.StatusOK.Render(c.t("status.ready"))
	case devices.ReaderCardPresent:
		return s.StatusOK.Render(c.t("status.card"))
	case devices.ReaderError:
		return s.StatusBad.Render(c.t("status.error"))
	}
	return s.Status.Render(c.t("status.none"))
}
