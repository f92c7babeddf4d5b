package tui

import (
	"errors"
	"github.com/multipos/multipos/receipts/spool"
	"slices"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/devices"
	"github.com/multipos/multipos/devices/magstripe"
	"github.com/multipos/multipos/devices/wedge"
	"github.com/multipos/multipos/i18n"
)

// Model is the root of the cashier app.
type Model struct {
	c      *Common
	active Screen
	help   help.Model
}

// New builds the cashier app. Options.Gateway and Options.Traces are required.
func New(o Options) (Model, error) {
	if o.Gateway == nil || o.Traces == nil {
		return Model{}, errors.New("tui: a gateway and a trace source are required")
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
	c := &Common{
		opts:   o,
		Lang:   o.Lang,
		Keys:   NewKeyMap(o.Keys, o.Lang, o.Demo),
		Styles: DefaultStyles(lipgloss.DefaultRenderer()),
		Clock:  o.Now(),
	}
	if len(o.Keys.Confirm) == 0 || len(o.Keys.Cancel) == 0 {
		return Model{}, errors.New("tui: the key map needs confirm and cancel keys")
	}
	return newModel(c, newChannelList(c)), nil
}

func newModel(c *Common, active Screen) Model {
	h := help.New()
	h.ShortSeparator = " · "
	h.Styles.ShortKey = c.Styles.HelpKey
	h.Styles.ShortDesc = c.Styles.HelpDesc
	h.Styles.ShortSeparator = c.Styles.HelpSep
	h.Styles.Ellipsis = c.Styles.HelpSep
	return Model{c: c, active: active, help: h}
}

// Init starts the background checks: server link, terminal info, devices,
// clock, power and the card reader.
func (m Model) Init() tea.Cmd {
	o := m.c.opts
	m.c.infoPending = true
	// A till signs on for card payments when it starts, as bank POS do,
	// unless it already is (demo mode comes up signed on).
	var sign tea.Cmd
	if !m.c.signedOn() {
		sign = m.c.signOnNow(false)
	}
	return tea.Batch(fetchTerminal(o), ping(o, 0, nil), clockTick(), readPower(o, 0), readDevices(o, 0), listenReader(o), listenPrints(o), sign)
}

// signOnNow sends a card sign-on unless one is out or the terminal takes
// no cards: for the terminal's keys of today (renew false: a station
// starting up, or whose keys were refused), or for fresh ones (the
// cashier's own 签到).
func (c *Common) signOnNow(renew bool) tea.Cmd {
	if c.opts.CardKeys == nil || c.signingOn {
		return nil
	}
	c.signingOn = true
	return signOn(c.opts, renew)
}

// signedOn reports whether card working keys are installed.
func (c *Common) signedOn() bool {
	if c.opts.CardKeys == nil {
		return false
	}
	_, ok := c.opts.CardKeys.SignedOn()
	return ok
}

// Screen returns the active screen's name ("channels", "qr", …).
func (m Model) Screen() string { return m.active.Name() }

// Active returns the active screen, for tests.
func (m Model) Active() Screen { return m.active }

// LastResult returns the order of the last payment that reached a result.
func (m Model) LastResult() api.Order { return m.c.lastResult }

// Lang returns the display language.
func (m Model) Lang() string { return string(m.c.Lang) }

func (m Model) busy() bool {
	if p, ok := m.active.(paying); ok {
		return p.Busy()
	}
	return false
}

func (m Model) activePay() int {
	if p, ok := m.active.(paying); ok && p.Payment() != nil {
		return p.Payment().id
	}
	return -1
}

// Update handles global keys and background results, then hands the message
// to the active screen only.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	c := m.c
	o := c.opts
	if k, ok := msg.(tea.KeyMsg); ok {
		if parts := splitRunes(k); len(parts) > 1 {
			var next tea.Model = m
			cmds := make([]tea.Cmd, 0, len(parts))
			for _, p := range parts {
				var cmd tea.Cmd
				next, cmd = next.Update(p)
				cmds = append(cmds, cmd)
			}
			return next, tea.Batch(cmds...)
		}
	}
	switch msg := msg.(type) {
	case tea.KeyMsg:
		if !c.passing {
			return m.sortStripe(msg)
		}
	case stripeMsg:
		return m.stripeOut(c.stripe.Expire(msg.gen))
	case swipeMsg:
		return m.swiped(msg.raw)
	case wedgeMsg:
		return m.pass(c.wedge.Expire(msg.gen), nil)
	case scanMsg:
		if m.active.Name() != "barcode" {
			c.Flash = c.t("bc.noscan") // never taken as typed digits
			return m, nil
		}
	}
	var cmds []tea.Cmd
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		c.Width, c.Height = msg.Width, msg.Height
		m.help.Width = msg.Width
		return m, nil
	case tea.KeyMsg:
		c.Flash = ""
		switch {
		case key.Matches(msg, c.Keys.Function):
			c.Lang = c.Lang.Other()
			c.Keys = NewKeyMap(o.Keys, c.Lang, o.Demo)
			return m, nil
		case key.Matches(msg, c.Keys.PaperOut) && o.Trainer != nil:
			// A trainer's key on every screen: printing problems happen
			// whenever they like.
			return m, togglePaper(o)
		case key.Matches(msg, c.Keys.Quit):
			if m.busy() {
				c.Flash = c.t("quit.busy")
				return m, nil
			}
			return m, tea.Quit
		}
	case terminalMsg:
		c.infoPending = false
		if msg.err != nil {
			c.InfoErr = msg.err
			c.noteLink(msg.err)
			return m, tea.Tick(3*time.Second, func(time.Time) tea.Msg { return refetchMsg{} })
		}
		c.Info, c.InfoOK, c.InfoErr = msg.info, true, nil
		if !msg.info.ServerTime.IsZero() {
			c.skew = msg.info.ServerTime.Sub(o.Now())
		}
		return m, nil
	case refetchMsg:
		return m, c.fetchInfo()
	case pingMsg:
		wasUp := c.LinkUp
		c.LinkKnown = true
		c.LinkUp = msg.err == nil
		c.LinkRTT = msg.rtt
		c.LinkErr = ""
		if msg.err != nil {
			c.LinkErr = msg.err.Error()
		} else {
			c.acks = slices.DeleteFunc(c.acks, func(id string) bool { return slices.Contains(msg.acked, id) })
			c.noteUnseen(msg.unseen, m.active.Name() == "channels")
		}
		cmds = append(cmds, ping(o, o.pingEvery(), c.acks))
		if c.LinkUp && !wasUp {
			// Back online: limits may have changed while we were away, and a
			// sign-on that failed for want of the server can be done now.
			cmds = append(cmds, c.fetchInfo())
			if !c.signedOn() {
				cmds = append(cmds, c.signOnNow(false))
			}
		}
		return m, tea.Batch(cmds...)
	case clockMsg:
		c.Clock = o.Now() // the injected clock, so tests and goldens are stable
		return m, clockTick()
	case powerMsg:
		c.Power = msg.text
		return m, readPower(o, 30*time.Second)
	case paperMsg:
		if msg.err != nil {
			c.Flash = msg.err.Error()
			return m, nil
		}
		c.Printer = devices.PrinterReady
		if msg.out {
			c.Printer = devices.PrinterPaperOut
		}
		return m, nil
	case deviceMsg:
		c.Printer, c.Reader = msg.printer, msg.reader
		return m, readDevices(o, 5*time.Second)
	case readerMsg:
		switch msg.ev.Kind {
		case devices.CardInserted:
			c.Reader = devices.ReaderCardPresent
		case devices.CardRemoved, devices.ReaderAdded:
			c.Reader = devices.ReaderReady
		case devices.ReaderRemoved:
			c.Reader = devices.ReaderNone
		}
		cmds = append(cmds, listenReader(o))
	case queuedMsg:
		if msg.err == nil && msg.job != "" {
			c.Queued = msg.queued
		}
	case printEventMsg:
		c.Queued = msg.ev.Queued
		if msg.ev.Kind != spool.Printing {
			if c.printNews == nil || len(c.printNews) > 64 {
				c.printNews = map[string]spool.Event{}
			}
			c.printNews[msg.ev.Job.ID] = msg.ev
		}
		switch msg.ev.Kind {
		case spool.Failed:
			c.Printer = printerStateOf(msg.ev.Err)
		case spool.Printed:
			if c.Printer != devices.PrinterPaperLow {
				c.Printer = devices.PrinterReady
			}
		}
		cmds = append(cmds, listenPrints(o))
	case orderMsg:
		if msg.err != nil {
			c.noteLink(msg.err)
		}
	case signOnMsg:
		c.signingOn = false
		err := msg.err
		if err == nil {
			// Decrypting two keys under the master key: no I/O.
			err = o.CardKeys.Install(msg.res)
		}
		c.signOnErr = err
		if err != nil {
			c.noteLink(err)
		} else {
			c.signOnTime = msg.res.SignedOnAt
		}
	}
	if t, ok := msg.(tagged); ok && t.payID() != m.activePay() {
		return m, tea.Batch(cmds...) // a late answer for a payment that is gone
	}
	next, cmd := m.active.Update(msg)
	m.active = next
	if p, ok := next.(paying); ok && p.Payment() != nil && p.Payment().order.State.Final() {
		ord := p.Payment().order
		if ord.ID != c.lastResult.ID || ord.Version != c.lastResult.Version {
			c.lastResult = ord
			if !slices.Contains(c.acks, ord.ID) {
				c.acks = append(c.acks, ord.ID)
			}
			// Today's totals changed: refresh what is left of the daily limits.
			cmds = append(cmds, c.fetchInfo())
		}
	}
	return m, tea.Batch(append(cmds, cmd)...)
}

type refetchMsg struct{}

// noteUnseen keeps the results the server says were never acknowledged,
// except those acknowledged since. Shown on the channel list, they count as
// seen: the next heartbeat acknowledges them.
func (c *Common) noteUnseen(unseen []api.Order, onList bool) {
	c.Unseen = c.Unseen[:0]
	for _, o := range unseen {
		if slices.Contains(c.acks, o.ID) {
			continue
		}
		c.Unseen = append(c.Unseen, o)
		if onList {
			c.acks = append(c.acks, o.ID)
		}
	}
}

// fetchInfo asks for the terminal info unless a request is already out.
func (c *Common) fetchInfo() tea.Cmd {
	if c.infoPending {
		return nil
	}
	c.infoPending = true
	return fetchTerminal(c.opts)
}

// OpenOrder returns the wallet order of the payment on screen when it is
// still open at the server, so that whoever stops the app can close it.
func (m Model) OpenOrder() (api.Order, bool) {
	p, ok := m.active.(paying)
	if !ok || p.Payment() == nil {
		return api.Order{}, false
	}
	ord := p.Payment().order
	if ord.ID == "" || !ord.Channel.Wallet() || ord.State.Final() {
		return api.Order{}, false
	}
	return ord, true
}

// noteLink marks the link down when a call failed for lack of a server.
func (c *Common) noteLink(err error) {
	if isOffline(err) {
		c.LinkKnown, c.LinkUp, c.LinkErr = true, false, err.Error()
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

// sortStripe takes magstripe swipes out of the keys (devices/magstripe)
// before the barcode check: a track's digits never reach a screen as typed
// digits, nor the barcode detector as a payment code.
func (m Model) sortStripe(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	c := m.c
	var r rune
	switch {
	case k.Type == tea.KeyRunes && len(k.Runes) == 1 && !k.Alt && !k.Paste:
		r = k.Runes[0]
	case k.Type == tea.KeyEnter:
		r = '\r'
	}
	if !c.stripe.Holding() && r != '%' && r != ';' {
		return m.sortKey(k) // no swipe under way: straight on, barcode timing kept
	}
	swipe, typed := c.stripe.Key(k, r, time.Now()) // the real clock: key speed, not business time
	next, cmd := m.stripeOut(swipe, typed)
	if c.stripe.Holding() {
		gen := c.stripe.Gen()
		cmd = tea.Batch(cmd, tea.Tick(magstripe.DefaultMaxGap+5*time.Millisecond, func(time.Time) tea.Msg { return stripeMsg{gen: gen} }))
	}
	return next, cmd
}

// stripeOut handles what the stripe detector let go: the swipe first, then
// the keys that were typed, through the barcode check.
func (m Model) stripeOut(swipe string, typed []tea.KeyMsg) (tea.Model, tea.Cmd) {
	var next tea.Model = m
	var cmds []tea.Cmd
	if swipe != "" {
		var cmd tea.Cmd
		next, cmd = next.Update(swipeMsg{raw: swipe})
		cmds = append(cmds, cmd)
	}
	for _, k := range typed {
		var cmd tea.Cmd
		next, cmd = next.(Model).sortKey(k)
		cmds = append(cmds, cmd)
	}
	return next, tea.Batch(cmds...)
}

// swiped hands a swipe to the card prompt as its reader event; anywhere
// else it is refused, never typed.
func (m Model) swiped(raw string) (tea.Model, tea.Cmd) {
	c := m.c
	sw, err := magstripe.Parse(raw)
	ev := devices.CardEvent{Kind: devices.CardSwiped, Reader: "magstripe", Card: sw.Card()}
	if err != nil {
		// The parser's words are English and technical; the cashier gets
		// the reason in the screen's language (the error never holds card data).
		ev = devices.CardEvent{Kind: devices.CardReadError, Reader: "magstripe", Err: errors.New(c.t("swipe.bad"))}
	}
	if _, ok := m.active.(*cardPrompt); !ok {
		c.Flash = c.t("swipe.nowhere")
		return m, nil
	}
	next, cmd := m.active.Update(readerMsg{ev: ev})
	m.active = next
	return m, cmd
}

// sortKey tells the barcode scanner from typing (devices/wedge): digits
// are held for a moment; a fast run of them ended by Enter is a scan, for
// the active screen as a scanMsg, and anything else goes through as typed,
// in the order it came.
func (m Model) sortKey(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	c := m.c
	now := time.Now() // the real clock: this is about how fast keys come, not business time
	switch {
	case k.Type == tea.KeyRunes && len(k.Runes) == 1 && k.Runes[0] >= '0' && k.Runes[0] <= '9' && !k.Alt && !k.Paste:
		typed := c.wedge.Digit(k, k.Runes[0], now)
		gen := c.wedge.Gen()
		next, cmd := m.pass(typed, nil)
		return next, tea.Batch(cmd, tea.Tick(wedge.DefaultMaxGap+5*time.Millisecond, func(time.Time) tea.Msg { return wedgeMsg{gen: gen} }))
	case k.Type == tea.KeyEnter:
		scan, typed := c.wedge.Enter(now)
		if scan != "" {
			return m.Update(scanMsg{code: scan})
		}
		return m.pass(typed, &k)
	default:
		return m.pass(c.wedge.Other(), &k)
	}
}

// pass hands keys the scanner check let go, then last (if any), to the
// usual key handling.
func (m Model) pass(keys []tea.KeyMsg, last *tea.KeyMsg) (tea.Model, tea.Cmd) {
	if last != nil {
		keys = append(keys, *last)
	}
	if len(keys) == 0 {
		return m, nil
	}
	c := m.c
	c.passing = true
	defer func() { c.passing = false }()
	var next tea.Model = m
	cmds := make([]tea.Cmd, 0, len(keys))
	for _, k := range keys {
		var cmd tea.Cmd
		next, cmd = next.Update(k)
		cmds = append(cmds, cmd)
	}
	return next, tea.Batch(cmds...)
}
