package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/multipos/multipos/api"
)

// signOnScreen is 签到 on the bank-card menu: it fetches fresh PIN and MAC
// working keys and says how that went. The root installs the keys (it owns
// their state, and signs on by itself when the app starts).
type signOnScreen struct {
	c    *Common
	menu *menu
}

func newSignOn(c *Common, m *menu) (Screen, tea.Cmd) {
	return &signOnScreen{c: c, menu: m}, c.signOnNow(true)
}

func (s *signOnScreen) Name() string  { return "signon" }
func (s *signOnScreen) Title() string { return channelName(api.Card) + " › " + s.c.t("menu.signon") }

func (s *signOnScreen) Help() []key.Binding {
	c := s.c
	if c.signingOn {
		return nil
	}
	return []key.Binding{as(c.Keys.Confirm, c.t("help.again")), as(c.Keys.Cancel, c.t("help.back"))}
}

func (s *signOnScreen) Update(msg tea.Msg) (Screen, tea.Cmd) {
	c := s.c
	if k, ok := msg.(tea.KeyMsg); ok && !c.signingOn {
		switch {
		case key.Matches(k, c.Keys.Cancel):
			return s.menu, nil
		case key.Matches(k, c.Keys.Confirm):
			return s, c.signOnNow(true)
		}
	}
	return s, nil
}

func (s *signOnScreen) View() string {
	c := s.c
	st := c.Styles
	var b strings.Builder
	b.WriteString("\n  " + st.Title.Render(c.t("menu.signon")) + "\n\n")
	switch {
	case c.signingOn:
		b.WriteString("  " + c.t("signon.busy") + "\n")
	case c.signOnErr != nil:
		b.WriteString("  " + st.Bad.Width(max(20, c.Width-4)).Render(c.tf("signon.failed", errText(c, c.signOnErr))) + "\n")
	case c.signedOn():
		b.WriteString("  " + st.Good.Render(c.tf("signon.ok", c.signOnTime.In(c.Clock.Location()).Format("15:04:05"))) + "\n")
	}
	return b.String()
}
