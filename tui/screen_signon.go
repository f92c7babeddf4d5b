package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/multipos/multipos/api"
)

// signOnScreen is 签到 on the bank-card menu: it asks for fresh PIN and MAC
// working keys and says how that went. The sign-on component does it (it
// owns the keys' state, and signs on by itself when the app starts).
type signOnScreen struct {
	base
	asked bool // the screen's own request is out
}

func newSignOnScreen(b base) *signOnScreen { return &signOnScreen{base: b, asked: true} }

func (s *signOnScreen) Init() tea.Cmd { return ask(signOnAskMsg{renew: true}) }

// ask sends msg to the root's components: a message, not a call, so that
// a screen never changes state it does not own.
func ask(msg tea.Msg) tea.Cmd { return func() tea.Msg { return msg } }

func (s *signOnScreen) Name() string        { return "signon" }
func (s *signOnScreen) Title() string       { return channelName(api.Card) + " › " + s.c.t("menu.signon") }
func (s *signOnScreen) MinSize() (int, int) { return 60, 9 }

func (s *signOnScreen) busy() bool { return s.asked || s.st.keys().busy }

func (s *signOnScreen) Help() []key.Binding {
	c := s.c
	if s.busy() {
		return nil
	}
	return []key.Binding{as(c.Keys.Confirm, c.t("help.again")), as(c.Keys.Cancel, c.t("help.back"))}
}

func (s *signOnScreen) Update(msg tea.Msg) (next, tea.Cmd) {
	c := s.c
	switch msg := msg.(type) {
	case signOnAskMsg:
		// The sign-on component has seen the request: from now on its own
		// state says whether one is out (it may take no cards at all).
		s.asked = false
	case signOnMsg:
		s.asked = false
	case tea.KeyMsg:
		if s.busy() {
			return nil, nil
		}
		switch {
		case key.Matches(msg, c.Keys.Cancel):
			return goBack{}, nil
		case key.Matches(msg, c.Keys.Confirm):
			s.asked = true
			return nil, ask(signOnAskMsg{renew: true})
		}
	}
	return nil, nil
}

func (s *signOnScreen) View() string {
	c := s.c
	st := c.Styles
	k := s.st.keys()
	var b strings.Builder
	b.WriteString("\n  " + st.Title.Render(c.t("menu.signon")) + "\n\n")
	switch {
	case s.busy():
		b.WriteString("  " + c.t("signon.busy") + "\n")
	case k.err != nil:
		b.WriteString(para(c, st.Bad, c.tf("signon.failed", errText(s.base, k.err))) + "\n")
	case k.signed:
		b.WriteString("  " + st.Good.Render(c.tf("signon.ok", k.at.In(s.now().Location()).Format("15:04:05"))) + "\n")
	}
	return b.String()
}
