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
	base
	ch    api.Channel
	op    action // the menu item, e.g. actQR
	entry amountEntry
	hint  text
	// A refund's amount: refund is the payment under way (its original set).
	refund *payment
}

func newAmount(b base, ch api.Channel, op action) *amountScreen {
	return &amountScreen{base: b, ch: ch, op: op}
}

func (s *amountScreen) Name() string        { return "amount" }
func (s *amountScreen) Title() string       { return channelName(s.ch) + " › " + s.c.t(s.op.label()) }
func (s *amountScreen) MinSize() (int, int) { return 56, 13 }

func (s *amountScreen) Help() []key.Binding {
	c := s.c
	return []key.Binding{c.Keys.Digits, c.Keys.Symbol, c.Keys.Delete, c.Keys.Confirm, as(c.Keys.Cancel, c.t("help.back"))}
}

func (s *amountScreen) Update(msg tea.Msg) (next, tea.Cmd) {
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
	case key.Matches(k, c.Keys.Delete):
		s.entry.del()
	case key.Matches(k, c.Keys.Symbol):
		if !s.entry.pushDoubleZero() {
			s.hint = say("amount.max")
		}
	case key.Matches(k, c.Keys.Confirm):
		return s.submit(), nil
	default:
		if d := digitOf(k); d >= 0 {
			if !s.entry.push(d) {
				s.hint = say("amount.max")
			}
		} else if isText(k) {
			s.hint = say("amount.digits")
		}
	}
	return nil, nil
}

// check says why amount cannot be taken on the channel now, or nothing when it can.
func (s *amountScreen) check(amount money.Fen) text {
	info, known := s.st.channelInfo(s.ch)
	if s.refund != nil {
		// Limits are on what is taken, not on what is given back.
		o := s.refund.original
		switch {
		case amount <= 0:
			return say("amount.zero")
		case o.Refunded > 0 && int64(amount) > leftToRefund(o):
			return say("refund.left", money.Fen(leftToRefund(o)).Yuan(), money.Fen(o.Refunded).Yuan())
		case int64(amount) > o.Amount:
			return say("refund.over", money.Fen(o.Amount).Yuan())
		case s.st.offline():
			return say("amount.offline")
		}
		return text{}
	}
	switch {
	case amount <= 0:
		return say("amount.zero")
	case known && info.SingleLimit > 0 && int64(amount) > info.SingleLimit:
		return say("amount.over", money.Fen(info.SingleLimit).Yuan())
	case known && info.DailyLimit > 0 && int64(amount) > info.DailyLimit-info.DailyUsed:
		return say("amount.daily", money.Fen(max(0, info.DailyLimit-info.DailyUsed)).Yuan())
	case s.st.offline():
		return say("amount.offline")
	}
	return text{}
}

func (s *amountScreen) submit() next {
	amount := s.entry.value()
	if why := s.check(amount); !why.empty() {
		s.hint = why
		return nil
	}
	if s.refund != nil {
		s.refund.amount = amount
		return toCard{s.refund}
	}
	return toPay{ch: s.ch, act: s.op, amount: amount}
}

func (s *amountScreen) View() string {
	c := s.c
	st := c.Styles
	var b strings.Builder
	b.WriteString("\n  " + st.Title.Render(c.t(s.op.label())+" · "+c.t("amount.title")) + "\n\n")
	shown := "¥ " + s.entry.value().Grouped()
	box := st.Box.Width(28).Align(lipgloss.Right).Render(st.Amount.Render(shown))
	b.WriteString(indent(box, 2) + "\n")
	info, known := s.st.channelInfo(s.ch)
	if o := s.refund; o != nil && o.original.Refunded > 0 {
		b.WriteString(para(c, st.Subtle, c.tf("refund.infoleft", o.original.Trace, money.Fen(o.original.Amount).Yuan(),
			money.Fen(o.original.Refunded).Yuan(), money.Fen(leftToRefund(o.original)).Yuan())) + "\n")
	} else if s.refund != nil {
		b.WriteString("  " + st.Subtle.Render(c.tf("refund.info", s.refund.original.Trace, money.Fen(s.refund.original.Amount).Yuan())) + "\n")
	} else if known && info.SingleLimit > 0 {
		b.WriteString("  " + st.Subtle.Render(c.tf("amount.limitinfo", money.Fen(info.SingleLimit).Yuan())) + "\n")
	}
	b.WriteString(hintLine(c, st.Bad, s.hint))
	return b.String()
}
