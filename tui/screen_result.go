package tui

import (
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/money"
	"github.com/multipos/multipos/posclient"
)

// result shows how the payment ended (patent S108 / S307). A card order
// whose outcome is not known yet (the bank never answered: the server
// reverses it) is followed until it is, and the outcome replaces the
// "unknown" on the same screen.
type result struct {
	base
	p    *payment
	lost bool // the link dropped while following the order
}

func newResult(b base, p *payment) *result { return &result{base: b, p: p} }

// Init follows an order whose outcome is not known yet.
func (s *result) Init() tea.Cmd { return s.follow() }

func (s *result) MinSize() (int, int) { return 60, 15 }

// following reports whether the order is a card order not final yet.
func (s *result) following() bool {
	o := s.p.order
	return s.p.channel == api.Card && o.ID != "" && !o.State.Final()
}

// follow waits for the order's next state while it is not final.
func (s *result) follow() tea.Cmd {
	if !s.following() {
		return nil
	}
	return waitOrder(s.c.ctx, *s.o, s.p.id, s.p.order.ID, s.p.order.Version)
}

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

func (s *result) Update(msg tea.Msg) (next, tea.Cmd) {
	switch msg := msg.(type) {
	case orderMsg:
		return nil, s.followed(msg)
	case retryMsg:
		return nil, s.follow()
	}
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return nil, nil
	}
	c := s.c
	switch {
	case key.Matches(k, c.Keys.Confirm) && s.paid():
		return toReceipt{s.p}, nil
	case key.Matches(k, c.Keys.Confirm), key.Matches(k, c.Keys.Cancel) && !s.paid():
		return goHome{}, nil
	}
	return nil, nil
}

// followed takes the next state of an order being followed.
func (s *result) followed(msg orderMsg) tea.Cmd {
	if msg.op != opWait || !s.following() {
		return nil
	}
	if msg.err != nil {
		s.lost = true
		return retryAfter(s.p.id, opWait, 2*time.Second)
	}
	s.lost = false
	if msg.order.ID == s.p.order.ID && msg.order.Version >= s.p.order.Version {
		s.p.order = msg.order
	}
	return s.follow()
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
		return "✗ " + c.t(s.closedText()), false
	}
	if card {
		return "? " + c.t("result.cardunknown"), false
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
		b.WriteString(para(c, st.Bad, head) + "\n\n")
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
	if s.following() {
		dots := []string{"●○○", "○●○", "○○●"}[s.now().Unix()%3]
		b.WriteString("  " + st.Warn.Render(c.t("result.following")+" "+dots) + "\n")
		if s.lost {
			b.WriteString("  " + st.Warn.Render(c.t("qr.reconnect")) + "\n")
		}
		b.WriteString(para(c, st.Subtle, c.tf("result.leavelist", c.Keys.Confirm.Help().Key)) + "\n")
		return b.String()
	}
	if s.paid() {
		b.WriteString("  " + st.Subtle.Render(c.tf("result.next", c.Keys.Confirm.Help().Key)) + "\n")
	} else {
		b.WriteString("  " + st.Subtle.Render(c.tf("result.back", c.Keys.Confirm.Help().Key)) + "\n")
	}
	return b.String()
}

// closedText is the text key of why a closed order closed: nothing was
// taken, and the reason says where the money is.
func (s *result) closedText() string {
	o := s.p.order
	switch o.Reason {
	case api.ReasonReversed:
		if s.p.kind == api.KindCardVoid || s.p.kind == api.KindCardRefund {
			return "result.adjreversed"
		}
		return "result.reversed"
	case api.ReasonNotBooked:
		return "result.notbooked"
	case api.ReasonRefunded:
		return "result.givenback"
	case api.ReasonAmountMismatch:
		return "result.mismatch"
	case api.ReasonDoublePayment:
		return "result.double"
	}
	switch {
	case o.Reason == api.ReasonExpired || s.p.expired:
		return "result.expired"
	case o.Reason == api.ReasonNotConfirmed:
		return "result.notconfirmed"
	case o.Reason == api.ReasonClosedAtChannel:
		return "result.chanclosed"
	}
	return "result.closed"
}
