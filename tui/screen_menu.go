package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/multipos/multipos/api"
)

// menuItem is one entry of a channel's main menu; items without an action
// are listed so the cashier sees what is coming.
type menuItem struct {
	label string // text key
	ready bool
}

func menuItems(ch api.Channel) []menuItem {
	if ch == api.Card {
		return []menuItem{{"menu.sale", true}, {"menu.void", true}, {"menu.return", true}, {"menu.balance", true}, {"menu.signon", true}, {"menu.reprint", true}}
	}
	return []menuItem{{"menu.qr", true}, {"menu.barcode", true}, {"menu.reprint", true}, {"menu.refund", false}}
}

// menu is a channel's main menu (patent S103/S203/S303).
type menu struct {
	c     *Common
	ch    api.Channel
	items []menuItem
	sel   int
	hint  string
}

func newMenu(c *Common, ch api.Channel) *menu { return &menu{c: c, ch: ch, items: menuItems(ch)} }

func (s *menu) Name() string  { return "menu" }
func (s *menu) Title() string { return channelName(s.ch) }

func (s *menu) Help() []key.Binding {
	c := s.c
	return []key.Binding{
		digitsHelp(c, fmt.Sprintf("1-%d", len(s.items)), c.t("help.select")),
		c.Keys.Up,
		c.Keys.Confirm,
		as(c.Keys.Cancel, c.t("help.back")),
	}
}

func (s *menu) Update(msg tea.Msg) (Screen, tea.Cmd) {
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return s, nil
	}
	c := s.c
	s.hint = ""
	switch {
	case key.Matches(k, c.Keys.Cancel):
		return newWelcome(c, s.ch), nil
	case key.Matches(k, c.Keys.Up):
		s.sel = (s.sel + len(s.items) - 1) % len(s.items)
	case key.Matches(k, c.Keys.Down):
		s.sel = (s.sel + 1) % len(s.items)
	case key.Matches(k, c.Keys.Confirm):
		return s.choose(s.sel)
	default:
		if d := digitOf(k); d >= 1 && d <= len(s.items) {
			return s.choose(d - 1)
		} else if d >= 0 {
			s.hint = c.tf("menu.nosuch", string(k.Runes))
		}
	}
	return s, nil
}

func (s *menu) choose(i int) (Screen, tea.Cmd) {
	s.sel = i
	it := s.items[i]
	if !it.ready {
		s.hint = s.c.tf("menu.notyet", s.c.t(it.label))
		return s, nil
	}
	switch it.label {
	case "menu.signon":
		return newSignOn(s.c, s)
	case "menu.reprint":
		return newReprintPrompt(s.c, s), nil
	case "menu.void":
		return newSupervisor(s.c, s, api.KindCardVoid), nil
	case "menu.return":
		return newSupervisor(s.c, s, api.KindCardRefund), nil
	case "menu.balance":
		p := s.c.newPayment(api.Card)
		p.kind = kindBalance
		return newCardPrompt(s.c, p, s), nil
	}
	return newAmount(s.c, s.ch, it.label), nil
}

func (s *menu) View() string {
	c := s.c
	st := c.Styles
	var b strings.Builder
	b.WriteString("\n  " + st.Title.Render(c.t("menu.title")) + "\n\n")
	for i, it := range s.items {
		label := c.t(it.label)
		line := fmt.Sprintf(" %d  %s ", i+1, label)
		switch {
		case i == s.sel:
			line = st.Selected.Render(line)
		case !it.ready:
			line = st.Disabled.Render(line)
		default:
			line = " " + st.ItemNum.Render(fmt.Sprintf("%d", i+1)) + "  " + st.Item.Render(label) + " "
		}
		if !it.ready {
			line += st.Disabled.Render(c.t("menu.later"))
		}
		b.WriteString("  " + line + "\n")
	}
	if s.hint != "" {
		b.WriteString("\n  " + st.Hint.Render(s.hint) + "\n")
	}
	return b.String()
}
