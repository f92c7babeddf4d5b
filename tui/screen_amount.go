package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/money"
)

// amountScreen takes the amount (patent S104/S204/S304).
type amountScreen struct {
	c     *Common
	ch    api.Channel
	op    string // text key of the menu item, e.g. "menu.qr"
	entry amountEntry
	hint  string
	// A refund's amount: refund is the payment under way (its original
	// set), back the screen Cancel returns to.
	refund *payment
	back   Screen
}

func newAmount(c *Common, ch api.Channel, op string) *amountScreen {
	return &amountScreen{c: c, ch: ch, op: op}
}

func (s *amountScreen) Name() string  { return "amount" }
func (s *amountScreen) Title() string { return channelName(s.ch) + " › " + s.c.t(s.op) }

func (s *amountScreen) Help() []key.Binding {
	c := s.c
	return []key.Binding{c.Keys.Symbol, c.Keys.Delete, c.Keys.Confirm, as(c.Keys.Cancel, c.t("help.back"))}
}

func (s *amountScreen) Update(msg tea.Msg) (Screen, tea.Cmd) {
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return s, nil
	}
	c := s.c
	s.hint = ""
	switch {
	case key.Matches(k, c.Keys.Cancel) && s.back != nil:
		return s.back, nil
	case key.Matches(k, c.Keys.Cancel):
		return newMenu(c, s.ch), nil
	case key.Matches(k, c.Keys.Delete):
		s.entry.del()
	case key.Matches(k, c.Keys.Symbol):
		if !s.entry.pushDoubleZero() {
			s.hint = c.t("amount.max")
		}
	case key.Matches(k, c.Keys.Confirm):
		return s.submit()
	default:
		if d := digitOf(k); d >= 0 {
			if !s.entry.push(d) {
				s.hint = c.t("amount.max")
			}
		} else if isText(k) {
			s.hint = c.t("amount.digits")
		}
	}
	return s, nil
}

// check says why amount cannot be taken on the channel now, or "" when it can.
func (s *amountScreen) check(amount money.Fen) string {
	c := s.c
	info, known := c.channelInfo(s.ch)
	if s.refund != nil {
		// Limits are on what is taken, not on what is given back.
		switch {
		case amount <= 0:
			return c.t("amount.zero")
		case int64(amount) > s.refund.original.Amount:
			return c.tf("refund.over", money.Fen(s.refund.original.Amount).Yuan())
		case c.LinkKnown && !c.LinkUp:
			return c.t("amount.offline")
		}
		return ""
	}
	switch {
	case amount <= 0:
		return c.t("amount.zero")
	case known && info.SingleLimit > 0 && int64(amount) > info.SingleLimit:
		return c.tf("amount.over", money.Fen(info.SingleLimit).Yuan())
	case known && info.DailyLimit > 0 && int64(amount) > info.DailyLimit-info.DailyUsed:
		return c.tf("amount.daily", money.Fen(max(0, info.DailyLimit-info.DailyUsed)).Yuan())
	case c.LinkKnown && !c.LinkUp:
		return c.t("amount.offline")
	}
	return ""
}

func (s *amountScreen) submit() (Screen, tea.Cmd) {
	c := s.c
	amount := s.entry.value()
	if why := s.check(amount); why != "" {
		s.hint = why
		return s, nil
	}
	if s.refund != nil {
		s.refund.amount = amount
		return newCardPrompt(c, s.refund, s), nil
	}
	p := c.newPayment(s.ch)
	p.amount = amount
	if s.op == "menu.barcode" {
		return newBarcode(c, p, s), nil
	}
	if s.ch.Wallet() {
		return newQR(c, p, s)
	}
	return newCardPrompt(c, p, s), nil
}

func (s *amountScreen) View() string {
	c := s.c
	st := c.Styles
	var b strings.Builder
	b.WriteString("\n  " + st.Title.Render(c.t(s.op)+" · "+c.t("amount.title")) + "\n\n")
	shown := "¥ " + s.entry.value().Grouped()
	box := st.Box.Width(28).Align(lipgloss.Right).Render(st.Amount.Render(shown))
	b.WriteString(indent(box, 2) + "\n")
	info, known := c.channelInfo(s.ch)
	if s.refund != nil {
		b.WriteString("  " + st.Subtle.Render(c.tf("refund.info", s.refund.original.Trace, money.Fen(s.refund.original.Amount).Yuan())) + "\n")
	} else if known && info.SingleLimit > 0 {
		b.WriteString("  " + st.Subtle.Render(c.tf("amount.limitinfo", money.Fen(info.SingleLimit).Yuan())) + "\n")
	}
	if s.hint != "" {
		b.WriteString("\n  " + st.Bad.Render(s.hint) + "\n")
	}
	return b.String()
}
