package tui

import (
	"context"
	"errors"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/devices"
	"github.com/multipos/multipos/devices/magstripe"
	"github.com/multipos/multipos/i18n"
)

// Model is the root of the cashier app (soft-serve's ssh/ui.go). It owns
// Common and routes: raw keys through the key filter, background news to
// the station's components, and everything for the cashier to the router,
// which hands it to the active screen.
type Model struct {
	c      *Common
	o      *Options
	cancel context.CancelFunc
	keys   *keyFilter
	st     *station
	router *router
}

// New builds the cashier app. Options.Gateway and Options.Traces are required.
func New(o Options) (Model, error) {
	if o.Gateway == nil || o.Traces == nil {
		return Model{}, errors.New("tui: a gateway and a trace source are required")
	}
	if len(o.Keys.Confirm) == 0 || len(o.Keys.Cancel) == 0 {
		return Model{}, errors.New("tui: the key map needs confirm and cancel keys")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Lang == "" {
		o.Lang = i18n.ZH
	}
	if o.PrinterWidth == 0 {
		o.PrinterWidth = 32
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Common{
		ctx:    ctx,
		Lang:   o.Lang,
		Keys:   NewKeyMap(o.Keys, o.Lang, o.Demo),
		Styles: DefaultStyles(lipgloss.DefaultRenderer()),
	}
	return newModel(c, &o, cancel), nil
}

func newModel(c *Common, o *Options, cancel context.CancelFunc) Model {
	st := newStation(c, o)
	return Model{c: c, o: o, cancel: cancel, keys: newKeyFilter(), st: st,
		router: newRouter(base{c: c, o: o, st: st})}
}

// Init starts the background checks: server link, terminal info, devices,
// clock, power, the card reader, the print queue and the sign-on.
func (m Model) Init() tea.Cmd { return m.st.Init() }

// Close cancels everything the app started; quitting from the keyboard
// does it, and whoever runs the app calls it when the program ends
// another way (a signal).
func (m Model) Close() {
	if m.cancel != nil {
		m.cancel()
	}
}

// Screen returns the active screen's name ("channels", "qr", …).
func (m Model) Screen() string { return m.router.active().Name() }

// Active returns the active screen, for tests.
func (m Model) Active() Screen { return m.router.active() }

// LastResult returns the order of the last payment that reached a result.
func (m Model) LastResult() api.Order { return m.router.lastResult }

// Lang returns the display language.
func (m Model) Lang() string { return string(m.c.Lang) }

func (m Model) busy() bool { return m.router.busy() }

// Update routes msg: keys through the filter to the cashier's events,
// background news to the station, and what remains to the active screen.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if events, cmd, ok := m.keys.Update(msg); ok {
		cmds := []tea.Cmd{cmd}
		for _, ev := range events {
			cmds = append(cmds, m.event(ev))
		}
		return m, tea.Batch(cmds...)
	}
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.c.Width, m.c.Height = msg.Width, msg.Height
		return m, nil
	case paperMsg:
		if msg.err != nil {
			m.router.notice = say("trainer.error", msg.err)
		}
	case dayEndMsg:
		m.router.notice = dayEndNotice(msg)
	}
	cmd := m.st.Update(msg, m.Screen() == "channels")
	return m, tea.Batch(cmd, m.route(msg))
}

// event handles one of the cashier's events: a global key, a scan, a
// swipe, or a key for the screen.
func (m Model) event(ev tea.Msg) tea.Cmd {
	switch ev := ev.(type) {
	case tea.KeyMsg:
		m.router.notice = text{}
		if cmd, ok := m.globalKey(ev); ok {
			return cmd
		}
	case scanMsg:
		if _, ok := m.router.active().(*barcodeScreen); !ok {
			m.router.notice = say("bc.noscan") // never taken as typed digits
			return nil
		}
	case swipeMsg:
		return m.swiped(ev.raw)
	}
	return m.route(ev)
}

// globalKey handles the keys that work on every screen.
func (m Model) globalKey(k tea.KeyMsg) (tea.Cmd, bool) {
	c, o := m.c, m.o
	switch {
	case key.Matches(k, c.Keys.Function):
		c.Lang = c.Lang.Other()
		c.Keys = NewKeyMap(o.Keys, c.Lang, o.Demo)
		return nil, true
	case key.Matches(k, c.Keys.PaperOut) && o.Trainer != nil:
		// A trainer's key on every screen: printing problems happen
		// whenever they like.
		return togglePaper(*o), true
	case key.Matches(k, c.Keys.EndDay) && m.Screen() == "channels" && m.dayEnder() != nil:
		// Only between payments: the trainer closes the day at the
		// channel list, as a shop does after its last customer.
		return endDay(c.ctx, m.dayEnder()), true
	case key.Matches(k, c.Keys.Quit):
		if m.busy() {
			m.router.notice = m.quitRefused()
			return nil, true
		}
		m.cancel()
		return tea.Quit, true
	}
	return nil, false
}

// route hands msg to the active screen; a payment that has just reached
// its result is noted for the server.
func (m Model) route(msg tea.Msg) tea.Cmd {
	cmd := m.router.Update(msg)
	if ord, ok := m.router.finished(); ok {
		cmd = tea.Batch(cmd, m.st.resultShown(ord))
	}
	return cmd
}

// swiped hands a swipe to the card prompt as its reader event; anywhere
// else it is refused, never typed.
func (m Model) swiped(raw string) tea.Cmd {
	if _, ok := m.router.active().(*cardPrompt); !ok {
		m.router.notice = say("swipe.nowhere")
		return nil
	}
	sw, err := magstripe.Parse(raw)
	ev := devices.CardEvent{Kind: devices.CardSwiped, Reader: "magstripe", Card: sw.Card()}
	if err != nil {
		// The parser's words are English and technical; the cashier gets
		// the reason in the screen's language (the error never holds card data).
		ev = devices.CardEvent{Kind: devices.CardReadError, Reader: "magstripe", Err: errors.New(m.c.t("swipe.bad"))}
	}
	return m.route(readerMsg{ev: ev})
}

// OpenOrder returns the wallet order of the payment on screen when it is
// still open at the server, so that whoever stops the app can close it.
func (m Model) OpenOrder() (api.Order, bool) {
	p, ok := m.router.active().(paying)
	if !ok || p.Payment() == nil {
		return api.Order{}, false
	}
	ord := p.Payment().order
	if ord.ID == "" || !ord.Channel.Wallet() || ord.State.Final() {
		return api.Order{}, false
	}
	return ord, true
}
