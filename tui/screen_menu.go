package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/multipos/multipos/api"
)

// menu is a channel's main menu (patent S103/S203/S303): only what the
// channel offers today.
type menu struct {
	base
	ch    api.Channel
	items []action
	sel   int
	hint  text
}

func newMenu(b base, ch api.Channel) *menu { return &menu{base: b, ch: ch, items: menuActions(ch)} }

func (s *menu) Name() string        { return "menu" }
func (s *menu) Title() string       { return channelName(s.ch) }
func (s *menu) MinSize() (int, int) { return 56, 13 }

func (s *menu) Help() []key.Binding {
	c := s.c
	return []key.Binding{
		digitsHelp(c, fmt.Sprintf("1-%d", len(s.items)), c.t("help.select")),
		c.Keys.Up,
		c.Keys.Confirm,
		as(c.Keys.Cancel, c.t("help.back")),
	}
}

func (s *menu) Update(msg tea.Msg) (next, tea.Cmd) {
	if r, ok := msg.(resumeMsg); ok {
		s.hint = r.hint
	}
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return nil, nil
	}
	c := s.c
	s.hint = text{}
	switch {
	case key.Matches(k, c.Keys.Cancel):
		return goBack{}, nil
	case key.Matches(k, c.Keys.Up):
		s.sel = (s.sel + len(s.items) - 1) % len(s.items)
	case key.Matches(k, c.Keys.Down):
		s.sel = (s.sel + 1) % len(s.items)
	case key.Matches(k, c.Keys.Confirm):
		return s.choose(s.sel), nil
	default:
		if d := digitOf(k); d >= 1 && d <= len(s.items) {
			return s.choose(d - 1), nil
		} else if d >= 0 {
			s.hint = say("menu.nosuch", string(k.Runes))
		}
	}
	return nil, nil
}

func (s *menu) choose(i int) next {
	s.sel = i
	return toAction{ch: s.ch, act: s.items[i]}
}

func (s *menu) View() string {
	c := s.c
	st := c.Styles
	var b strings.Builder
	b.WriteString("\n  " + st.Title.Render(c.t("menu.title")) + "\n\n")
	for i, act := range s.items {
		label := c.t(act.label())
		line := fmt.Sprintf(" %d  %s ", i+1, label)
		switch {
		case i == s.sel:
			line = st.Selected.Render(line)
		default:
			line = " " + st.ItemNum.Render(fmt.Sprintf("%d", i+1)) + "  " + st.Item.Render(label) + " "
		}
		b.WriteString("  " + line + "\n")
	}
	b.WriteString(hintLine(c, st.Hint, s.hint))
	return b.String()
}
