package tui

import (
	"errors"
	"fmt"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/multipos/multipos/devices"
	"github.com/multipos/multipos/i18n"
	"github.com/multipos/multipos/receipts/spool"
)

// statusBar is the bottom line: server link, printer and its queue, card
// reader, power, terminal id and clock. It owns the device states and
// keeps them current from the devices' own news and a slow poll.
type statusBar struct {
	c       *Common
	o       *Options
	st      *station // the link, read only
	clock   time.Time
	power   [2]string // in zh and en
	printer devices.PrinterState
	queued  int // receipts waiting in the print queue
	reader  devices.ReaderState
	// readerGone: the reader's event stream ended (unplugged, driver
	// gone); no card can be read until the app is restarted.
	readerGone bool
}

// Device and power readings are slow polls; the reader's and the print
// queue's own news keep the bar current in between.
const (
	devicesEvery = 5 * time.Second
	powerEvery   = 30 * time.Second
)

type (
	devicesDueMsg struct{}
	powerDueMsg   struct{}
)

func newStatusBar(c *Common, o *Options, st *station) *statusBar {
	return &statusBar{c: c, o: o, st: st, clock: o.Now()}
}

func (b *statusBar) Init() tea.Cmd {
	return tea.Batch(clockTick(), readPower(*b.o), readDevices(b.c.ctx, *b.o), listenReader(b.c.ctx, *b.o))
}

func (b *statusBar) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case clockMsg:
		b.clock = b.o.Now() // the injected clock, so tests and goldens are stable
		return clockTick()
	case powerDueMsg:
		return readPower(*b.o)
	case powerMsg:
		b.power = msg.text
		return after(powerEvery, powerDueMsg{})
	case devicesDueMsg:
		return readDevices(b.c.ctx, *b.o)
	case deviceMsg:
		b.printer, b.reader = msg.printer, msg.reader
		return after(devicesEvery, devicesDueMsg{})
	case readerMsg:
		b.readerEvent(msg.ev)
		return listenReader(b.c.ctx, *b.o)
	case readerClosedMsg:
		b.readerGone, b.reader = true, devices.ReaderNone
	case paperMsg:
		if msg.err == nil {
			b.printer = devices.PrinterReady
			if msg.out {
				b.printer = devices.PrinterPaperOut
			}
		}
	case queuedMsg:
		if msg.err == nil && msg.job != "" {
			b.queued = msg.queued
		}
	case printEventMsg:
		b.printEvent(msg.ev)
	}
	return nil
}

func (b *statusBar) readerEvent(ev devices.CardEvent) {
	switch ev.Kind {
	case devices.CardInserted:
		b.reader = devices.ReaderCardPresent
	case devices.CardRemoved, devices.ReaderAdded:
		b.reader = devices.ReaderReady
	case devices.ReaderRemoved:
		b.reader = devices.ReaderNone
	}
}

func (b *statusBar) printEvent(ev spool.Event) {
	b.queued = ev.Queued
	switch ev.Kind {
	case spool.Failed:
		b.printer = printerStateOf(ev.Err)
	case spool.Printed:
		if b.printer != devices.PrinterPaperLow {
			b.printer = devices.PrinterReady
		}
	}
}

func printerStateOf(err error) devices.PrinterState {
	switch {
	case errors.Is(err, devices.ErrPaperOut):
		return devices.PrinterPaperOut
	case errors.Is(err, devices.ErrCoverOpen):
		return devices.PrinterCoverOpen
	default:
		return devices.PrinterOffline
	}
}

func (b *statusBar) View() string {
	c := b.c
	s := c.Styles
	sep := s.Status.Render(" │ ")
	parts := []string{b.linkView(),
		s.Status.Render(c.t("status.printer")+" ") + b.printerView() + b.queuedView(),
		s.Status.Render(c.t("status.reader")+" ") + b.readerView(),
	}
	if p := b.power[langIndex(c.Lang)]; p != "" {
		parts = append(parts, s.Status.Render(p))
	}
	parts = append(parts, s.Status.Render(b.o.TerminalID))
	clock := b.clock.Format("2006-01-02 15:04:05")
	line := " " + strings.Join(parts, sep)
	if ansi.StringWidth(line)+ansi.StringWidth(clock)+4 > c.Width && c.Width > 0 {
		clock = b.clock.Format("15:04:05")
	}
	return fillBar(line, s.Status.Render(clock+" "), c.Width, s.Status)
}

func (b *statusBar) linkView() string {
	c, s, l := b.c, b.c.Styles, b.st.server.link
	switch {
	case !l.known:
		return s.Status.Render("◌ " + c.t("status.connecting"))
	case l.up:
		ms := min(l.rtt.Milliseconds(), 999)
		return s.StatusOK.Render("● "+c.t("status.online")) + s.Status.Render(fmt.Sprintf(" %3dms", ms))
	}
	return s.StatusBad.Render("✕ " + c.t("status.offline"))
}

func langIndex(l i18n.Lang) int {
	if l == i18n.EN {
		return 1
	}
	return 0
}

func (b *statusBar) printerView() string {
	c, s := b.c, b.c.Styles
	if b.o.Printer == nil {
		return s.Status.Render(c.t("status.none"))
	}
	switch b.printer {
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

// queuedView is the number of receipts waiting, when any do.
func (b *statusBar) queuedView() string {
	if b.queued == 0 {
		return ""
	}
	return b.c.Styles.StatusBad.Render(" " + b.c.tf("status.queued", b.queued))
}

func (b *statusBar) readerView() string {
	c, s := b.c, b.c.Styles
	switch {
	case b.o.Reader == nil:
		return s.Status.Render(c.t("status.none"))
	case b.readerGone:
		return s.StatusBad.Render(c.t("status.readergone"))
	}
	switch b.reader {
	case devices.ReaderReady:
		return s.StatusOK.Render(c.t("status.ready"))
	case devices.ReaderCardPresent:
		return s.StatusOK.Render(c.t("status.card"))
	case devices.ReaderError:
		return s.StatusBad.Render(c.t("status.error"))
	}
	return s.Status.Render(c.t("status.none"))
}
