package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/money"
	"github.com/multipos/multipos/posclient"
)

// result shows how the payment ended (patent S108 / S307).
type result struct {
	c *Common
	p *payment
}

func newResult(c *Common, p *payment) *result { return &result{c: c, p: p} }

func (s *result) Name() string      { return "result" }
func (s *result) Title() string     { return channelName(s.p.channel) }
func (s *result) Payment() *payment { return s.p }
func (s *result) Busy() bool        { return false }

func (s *result) paid() bool { return s.p.order.State == api.StateSuccess }

func (s *result) Help() []key.Binding {
	c := s.c
	if s.paid() {
		return []key.Binding{as(c.Keys.Confirm, c.t("help.print"))}
	}
	return []key.Binding{as(c.Keys.Confirm, c.t("help.back"))}
}

func (s *result) Update(msg tea.Msg) (Screen, tea.Cmd) {
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return s, nil
	}
	c := s.c
	switch {
	case key.Matches(k, c.Keys.Confirm) && s.paid():
		return newReceipt(c, s.p)
	case key.Matches(k, c.Keys.Confirm), key.Matches(k, c.Keys.Cancel) && !s.paid():
		return newChannelList(c), nil
	}
	return s, nil
}

// headline is the big line of the result and whether it is good news.
func (s *result) headline() (string, bool) {
	c := s.c
	o := s.p.order
	card := s.p.channel == api.Card
	switch o.State {
	case api.StateSuccess:
		switch {
		case s.p.kind == api.KindCardVoid:
			return "✓ " + c.t("result.voided"), true
		case s.p.kind == api.KindCardRefund:
			return "✓ " + c.t("result.refunded"), true
		case card:
			return "✓ " + c.t("result.approved"), true
		}
		return "✓ " + c.t("result.paid"), true
	case api.StateFailed:
		switch {
		case card && o.ResponseCode != "":
			return "✗ " + c.t("result.declined") + c.t("colon") + posclient.ResponseText(o.ResponseCode, c.Lang), false
		case o.Reason == api.ReasonCustomerDeclined:
			return "✗ " + c.t("result.custdecl"), false
		case o.Reason == api.ReasonChannelError:
			return "✗ " + c.t("result.chanerr"), false
		case o.Reason == api.ReasonCodeInvalid:
			return "✗ " + c.t("result.codeinvalid"), false
		case o.Reason == api.ReasonInsufficientFund:
			return "✗ " + c.t("result.nofunds"), false
		}
		return "✗ " + c.t("result.failed"), false
	case api.StateClosed:
		switch o.Reason {
		case api.ReasonRefunded:
			return "✗ " + c.t("result.givenback"), false
		case api.ReasonAmountMismatch:
			return "✗ " + c.t("result.mismatch"), false
		case api.ReasonDoublePayment:
			return "✗ " + c.t("result.double"), false
		}
		if o.Reason == api.ReasonExpired || s.p.expired {
			return "✗ " + c.t("result.expired"), false
		}
		if o.Reason == api.ReasonNotConfirmed {
			return "✗ " + c.t("result.notconfirmed"), false
		}
		if o.Reason == api.ReasonClosedAtChannel {
			return "✗ " + c.t("result.chanclosed"), false
		}
		return "✗ " + c.t("result.closed"), false
	}
	return "? " + c.t("result.unknown"), false
}

func (s *result) View() string {
	c := s.c
	st := c.Styles
	o := s.p.order
	head, good := s.headline()
	var b strings.Builder
	b.WriteString("\n")
	if good {
		b.WriteString("  " + st.Good.Render(head) + "\n\n")
	} else {
		b.WriteString("  " + st.Bad.Width(max(20, c.Width-4)).Render(head) + "\n\n")
	}
	row := func(label, value string) {
		if value != "" {
			b.WriteString(field(label, value, 12))
		}
	}
	row(c.t("qr.amount"), st.Amount.Render(money.Fen(s.p.amount).Yuan()))
	if s.p.channel == api.Card {
		row(c.t("card.number"), o.MaskedPAN)
		row(c.t("result.auth"), o.AuthCode)
		row(c.t("result.rrn"), o.RRN)
		if o.ResponseCode != "" && o.ResponseCode != "00" {
			row("", st.Subtle.Render(c.tf("result.code", o.ResponseCode)))
		}
	} else {
		row(c.t("qr.order"), o.OutTradeNo)
		row(c.t("result.tradeno"), o.TradeNo)
	}
	row(c.t("result.trace"), o.Trace)
	if s.p.original.ID != "" {
		row(c.t("orig.trace"), s.p.original.Trace)
	}
	b.WriteString("\n")
	if s.paid() {
		b.WriteString("  " + st.Subtle.Render(c.tf("result.next", c.Keys.Confirm.Help().Key)) + "\n")
	} else {
		b.WriteString("  " + st.Subtle.Render(c.tf("result.back", c.Keys.Confirm.Help().Key)) + "\n")
	}
	return b.String()
}
