package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/multipos/multipos/api"
)

// welcome is a channel's welcome screen (patent S102/S202/S302).
type welcome struct {
	base
	ch api.Channel
}

func newWelcome(b base, ch api.Channel) *welcome { return &welcome{base: b, ch: ch} }

func (s *welcome) Name() string  { return "welcome" }
func (s *welcome) Title() string { return channelName(s.ch) }

func (s *welcome) Help() []key.Binding {
	return []key.Binding{as(s.c.Keys.Confirm, s.c.t("menu.title")), as(s.c.Keys.Cancel, s.c.t("help.back"))}
}

func (s *welcome) MinSize() (int, int) { return 44, 13 }

func (s *welcome) Update(msg tea.Msg) (next, tea.Cmd) {
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return nil, nil
	}
	switch {
	case key.Matches(k, s.c.Keys.Confirm):
		return toMenu{s.ch}, nil
	case key.Matches(k, s.c.Keys.Cancel):
		return goBack{}, nil
	}
	return nil, nil
}

func (s *welcome) View() string {
	c := s.c
	st := c.Styles
	greet := map[api.Channel]string{api.Alipay: "welcome.alipay", api.WeChat: "welcome.wechat", api.Card: "welcome.card"}[s.ch]
	brand := channelName(s.ch)
	if s.ch == api.Card {
		brand = "银联 UnionPay"
	}
	box := st.Box.Padding(1, 4).Render(lipgloss.JoinVertical(lipgloss.Center,
		st.Title.Render(brand), "", c.t(greet)))
	var b strings.Builder
	b.WriteString("\n")
	b.WriteString(indent(box, 2))
	b.WriteString("\n\n  " + st.Subtle.Render(c.tf("welcome.press", s.c.Keys.Confirm.Help().Key)) + "\n")
	return b.String()
}
