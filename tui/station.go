package tui

import (
	"slices"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/receipts/spool"
)

// station is what the station knows about its server and devices, kept
// by the root's background components, each with its own Update: the
// server link, the card sign-on, the print log and the status bar. It is
// the facts screens read.
type station struct {
	c      *Common
	o      *Options
	server *serverLink
	signon *signOn
	prints *printLog
	status *statusBar
}

func newStation(c *Common, o *Options) *station {
	st := &station{c: c, o: o, server: newServerLink(c, o), signon: newSignOn(c, o), prints: &printLog{}}
	st.status = newStatusBar(c, o, st)
	return st
}

// Init starts the background work: terminal info, heartbeat, clock,
// power, devices, the card reader, the print queue and, unless it is
// already done, the card sign-on. It changes nothing: New set up the
// state these commands are the start of.
func (st *station) Init() tea.Cmd {
	return tea.Batch(st.server.Init(), st.signon.Init(), st.status.Init(), listenPrints(st.c.ctx, *st.o))
}

// Update hands a background message to every component; onList says
// whether the channel list is on screen (results shown there count as
// seen).
func (st *station) Update(msg tea.Msg, onList bool) tea.Cmd {
	cmds := []tea.Cmd{st.server.Update(msg, onList), st.signon.Update(msg), st.status.Update(msg)}
	if _, ok := msg.(printEventMsg); ok {
		st.prints.Update(msg)
		cmds = append(cmds, listenPrints(st.c.ctx, *st.o))
	}
	if st.server.cameBack {
		// Back online: a sign-on that failed for want of the server can
		// be done now.
		st.server.cameBack = false
		if !st.signon.signedOn() {
			cmds = append(cmds, st.signon.start(false))
		}
	}
	return tea.Batch(cmds...)
}

// resultShown notes a payment's final result on screen: the server is
// told with the next heartbeat, and today's totals changed.
func (st *station) resultShown(ord api.Order) tea.Cmd {
	if !slices.Contains(st.server.acks, ord.ID) {
		st.server.acks = append(st.server.acks, ord.ID)
	}
	return st.server.fetchInfo()
}

// The facts screens read.

func (st *station) channelInfo(ch api.Channel) (api.ChannelInfo, bool) {
	s := st.server
	if !s.infoOK {
		return api.ChannelInfo{Channel: ch, Enabled: true}, false
	}
	for _, i := range s.info.Channels {
		if i.Channel == ch {
			return i, true
		}
	}
	return api.ChannelInfo{Channel: ch}, true
}

func (st *station) terminal() (api.TerminalInfo, bool, error) {
	return st.server.info, st.server.infoOK, st.server.infoErr
}

func (st *station) offline() bool        { return st.server.link.known && !st.server.link.up }
func (st *station) serverNow() time.Time { return st.o.Now().Add(st.server.skew) }
func (st *station) demo() bool           { return st.o.Demo || (st.server.infoOK && st.server.info.Demo) }
func (st *station) unseen() []api.Order  { return st.server.unseen }
func (st *station) keys() keyState       { return st.signon.state() }
func (st *station) queued() int          { return st.status.queued }

func (st *station) printNews(job string) (spool.Event, bool) {
	ev, ok := st.prints.news[job]
	return ev, ok
}

// link is the server link as the heartbeat and failed calls show it.
type link struct {
	known bool
	up    bool
	rtt   time.Duration
	err   string
}

// serverLink follows the server: the terminal's info and limits, the
// heartbeat (the link, the results to acknowledge, those never seen).
type serverLink struct {
	c           *Common
	o           *Options
	link        link
	info        api.TerminalInfo
	infoOK      bool
	infoErr     error // why the last terminal-info request failed
	infoPending bool
	skew        time.Duration // the server's clock minus ours
	// acks are results shown on screen, to acknowledge with the next
	// heartbeat; unseen are results the server says this terminal never
	// acknowledged (it was stopped or cut off while waiting), shown on the
	// channel list.
	acks     []string
	unseen   []api.Order
	cameBack bool // the link just came back up
}

func newServerLink(c *Common, o *Options) *serverLink {
	return &serverLink{c: c, o: o, infoPending: true}
}

func (s *serverLink) Init() tea.Cmd {
	return tea.Batch(fetchTerminal(s.c.ctx, *s.o), ping(s.c.ctx, *s.o, nil))
}

// pingDueMsg says the next heartbeat is due.
type pingDueMsg struct{}

func (s *serverLink) Update(msg tea.Msg, onList bool) tea.Cmd {
	switch msg := msg.(type) {
	case terminalMsg:
		return s.terminal(msg)
	case refetchMsg:
		return s.fetchInfo()
	case pingDueMsg:
		return ping(s.c.ctx, *s.o, s.acks)
	case pingMsg:
		return s.pinged(msg, onList)
	case orderMsg:
		s.note(msg.err)
	case signOnMsg:
		s.note(msg.err)
	}
	return nil
}

func (s *serverLink) terminal(msg terminalMsg) tea.Cmd {
	s.infoPending = false
	if msg.err != nil {
		s.infoErr = msg.err
		s.note(msg.err)
		return after(3*time.Second, refetchMsg{})
	}
	s.info, s.infoOK, s.infoErr = msg.info, true, nil
	if !msg.info.ServerTime.IsZero() {
		s.skew = msg.info.ServerTime.Sub(s.o.Now())
	}
	return nil
}

func (s *serverLink) pinged(msg pingMsg, onList bool) tea.Cmd {
	wasUp := s.link.up
	s.link = link{known: true, up: msg.err == nil, rtt: msg.rtt}
	if msg.err != nil {
		s.link.err = msg.err.Error()
	} else {
		s.acks = slices.DeleteFunc(s.acks, func(id string) bool { return slices.Contains(msg.acked, id) })
		s.noteUnseen(msg.unseen, onList)
	}
	cmds := []tea.Cmd{after(s.o.pingEvery(), pingDueMsg{})}
	if s.link.up && !wasUp {
		// Back online: limits may have changed while we were away.
		s.cameBack = true
		cmds = append(cmds, s.fetchInfo())
	}
	return tea.Batch(cmds...)
}

// noteUnseen keeps the results the server says were never acknowledged,
// except those acknowledged since. Shown on the channel list, they count as
// seen: the next heartbeat acknowledges them.
func (s *serverLink) noteUnseen(unseen []api.Order, onList bool) {
	s.unseen = s.unseen[:0]
	for _, o := range unseen {
		if slices.Contains(s.acks, o.ID) {
			continue
		}
		s.unseen = append(s.unseen, o)
		if onList {
			s.acks = append(s.acks, o.ID)
		}
	}
}

// fetchInfo asks for the terminal info unless a request is already out.
func (s *serverLink) fetchInfo() tea.Cmd {
	if s.infoPending {
		return nil
	}
	s.infoPending = true
	return fetchTerminal(s.c.ctx, *s.o)
}

// note marks the link down when a call failed for lack of a server.
func (s *serverLink) note(err error) {
	if isOffline(err) {
		s.link = link{known: true, err: err.Error()}
	}
}

type refetchMsg struct{}

// signOn owns the card sign-on (签到): whether one is out, how the last
// went, and the working keys it installs.
type signOn struct {
	c    *Common
	o    *Options
	busy bool
	err  error
	at   time.Time
}

// newSignOn decides the start-up sign-on: a till signs on for card
// payments when it starts, as bank POS do, unless it already is (demo
// mode comes up signed on).
func newSignOn(c *Common, o *Options) *signOn {
	s := &signOn{c: c, o: o}
	s.busy = o.CardKeys != nil && !s.signedOn()
	return s
}

func (s *signOn) Init() tea.Cmd {
	if !s.busy {
		return nil
	}
	return signOnCmd(s.c.ctx, *s.o, false)
}

// signOnAskMsg asks for a sign-on (the cashier's 签到: renew for fresh keys).
type signOnAskMsg struct{ renew bool }

// keysRefusedMsg says the server holds other keys than ours: ours are
// useless until the next sign-on.
type keysRefusedMsg struct{}

func (s *signOn) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case signOnAskMsg:
		return s.start(msg.renew)
	case keysRefusedMsg:
		s.o.CardKeys.Forget()
	case signOnMsg:
		s.busy = false
		err := msg.err
		if err == nil {
			// Decrypting two keys under the master key: no I/O.
			err = s.o.CardKeys.Install(msg.res)
		}
		s.err = err
		if err == nil {
			s.at = msg.res.SignedOnAt
		}
	}
	return nil
}

// start sends a sign-on unless one is out or the terminal takes no cards:
// for the terminal's keys of today (renew false), or for fresh ones.
func (s *signOn) start(renew bool) tea.Cmd {
	if s.o.CardKeys == nil || s.busy {
		return nil
	}
	s.busy = true
	return signOnCmd(s.c.ctx, *s.o, renew)
}

func (s *signOn) signedOn() bool {
	if s.o.CardKeys == nil {
		return false
	}
	_, ok := s.o.CardKeys.SignedOn()
	return ok
}

func (s *signOn) state() keyState {
	return keyState{none: s.o.CardKeys == nil, busy: s.busy, signed: s.signedOn(), err: s.err, at: s.at}
}

// printLog keeps the print queue's last word on recent jobs.
type printLog struct{ news map[string]spool.Event }

func (l *printLog) Update(msg tea.Msg) {
	ev, ok := msg.(printEventMsg)
	if !ok || ev.ev.Kind == spool.Printing {
		return
	}
	if l.news == nil || len(l.news) > 64 {
		l.news = map[string]spool.Event{}
	}
	l.news[ev.ev.Job.ID] = ev.ev
}
