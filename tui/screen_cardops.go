package tui

import (
	"crypto/subtle"
	"errors"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/money"
	"github.com/multipos/multipos/posclient"
)

// maxSupervisorTries is how many wrong supervisor passwords in a row lock
// the supervisor screen for supervisorLockout: leaving and coming back does
// not start the count again.
const (
	maxSupervisorTries = 3
	supervisorLockout  = 5 * time.Minute
)

// supervisor asks for the supervisor password (主管密码) before a void or
// refund, as bank POS do: money going back to a card needs a second person.
type supervisor struct {
	c    *Common
	menu *menu
	kind api.Kind
	pw   []byte
	hint string
}

func newSupervisor(c *Common, m *menu, kind api.Kind) *supervisor {
	s := &supervisor{c: c, menu: m, kind: kind, pw: make([]byte, 0, 12)}
	switch {
	case c.opts.SupervisorPassword == "":
		s.hint = c.t("sup.none")
	case s.locked():
		s.hint = c.tf("sup.lockeduntil", c.supLocked.In(c.Clock.Location()).Format("15:04:05"))
	}
	return s
}

// locked reports whether too many wrong passwords lock the screen now.
func (s *supervisor) locked() bool {
	return s.c.opts.Now().Before(s.c.supLocked)
}

func (s *supervisor) Name() string { return "supervisor" }
func (s *supervisor) Title() string {
	return channelName(api.Card) + " › " + s.c.t((&payment{kind: s.kind}).opLabel())
}

func (s *supervisor) Help() []key.Binding {
	c := s.c
	return []key.Binding{c.Keys.Digits, c.Keys.Delete, c.Keys.Confirm, as(c.Keys.Cancel, c.t("help.back"))}
}

func (s *supervisor) wipe() {
	clear(s.pw[:cap(s.pw)])
	s.pw = s.pw[:0]
}

func (s *supervisor) Update(msg tea.Msg) (Screen, tea.Cmd) {
	c := s.c
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return s, nil
	}
	switch {
	case key.Matches(k, c.Keys.Cancel):
		s.wipe()
		return s.menu, nil
	case c.opts.SupervisorPassword == "" || s.locked():
		return s, nil
	case key.Matches(k, c.Keys.Delete):
		if len(s.pw) > 0 {
			s.pw[len(s.pw)-1] = 0
			s.pw = s.pw[:len(s.pw)-1]
		}
	case key.Matches(k, c.Keys.Confirm):
		good := subtle.ConstantTimeCompare(s.pw, []byte(c.opts.SupervisorPassword)) == 1
		s.wipe()
		if good {
			c.supFails = 0
			p := c.newPayment(api.Card)
			p.kind = s.kind
			return newOrigTrace(c, p, s.menu), nil
		}
		c.supFails++
		if c.supFails >= maxSupervisorTries {
			c.supFails = 0
			c.supLocked = c.opts.Now().Add(supervisorLockout)
			c.Flash = c.t("sup.locked")
			return s.menu, nil
		}
		s.hint = c.tf("sup.wrong", maxSupervisorTries-c.supFails)
	default:
		if d := digitOf(k); d >= 0 && len(s.pw) < cap(s.pw) {
			s.pw = append(s.pw, byte('0'+d))
			s.hint = ""
		} else if isText(k) {
			s.hint = c.t("amount.digits")
		}
	}
	return s, nil
}

func (s *supervisor) View() string {
	c := s.c
	st := c.Styles
	var b strings.Builder
	b.WriteString("\n  " + st.Title.Render(c.t("sup.title")) + "\n\n")
	b.WriteString(indent(st.Box.Width(18).Render(st.PINMask.Render(strings.Repeat("*", len(s.pw)))), 2) + "\n")
	if c.opts.Demo && c.opts.SupervisorPassword != "" {
		b.WriteString("  " + st.Subtle.Render(c.tf("sup.demo", c.opts.SupervisorPassword)) + "\n")
	}
	if s.hint != "" {
		b.WriteString("\n  " + st.Bad.Width(max(20, c.Width-4)).Render(s.hint) + "\n")
	}
	return b.String()
}

// origTrace takes the trace number (凭证号) of the sale to void or refund,
// finds the sale at the server and shows it for the cashier to check.
type origTrace struct {
	c      *Common
	p      *payment
	menu   *menu
	digits string
	busy   bool
	found  bool // the sale is shown; Confirm goes on
	hint   string
}

func newOrigTrace(c *Common, p *payment, m *menu) *origTrace { return &origTrace{c: c, p: p, menu: m} }

func (s *origTrace) Name() string      { return "original" }
func (s *origTrace) Title() string     { return channelName(api.Card) + " › " + s.c.t(s.p.opLabel()) }
func (s *origTrace) Payment() *payment { return s.p }
func (s *origTrace) Busy() bool        { return false }

func (s *origTrace) Help() []key.Binding {
	c := s.c
	if s.found {
		return []key.Binding{as(c.Keys.Confirm, c.t("help.next")), as(c.Keys.Cancel, c.t("help.back"))}
	}
	return []key.Binding{c.Keys.Digits, c.Keys.Delete, c.Keys.Confirm, as(c.Keys.Cancel, c.t("help.back"))}
}

func (s *origTrace) Update(msg tea.Msg) (Screen, tea.Cmd) {
	c := s.c
	switch msg := msg.(type) {
	case orderMsg:
		if msg.op != opOriginal {
			return s, nil
		}
		s.busy = false
		var ae *api.Error
		switch {
		case errors.As(msg.err, &ae) && ae.Code == api.CodeNotFound:
			s.hint = c.tf("orig.nosuch", msg.trace)
		case msg.err != nil:
			s.hint = errText(c, msg.err)
		case msg.order.Kind != api.KindCardSale || msg.order.State != api.StateSuccess:
			s.hint = c.tf("orig.notsale", msg.trace)
		default:
			s.p.original, s.found = msg.order, true
		}
	case tea.KeyMsg:
		if s.busy {
			return s, nil
		}
		switch {
		case key.Matches(msg, c.Keys.Cancel) && s.found:
			s.found, s.p.original = false, api.Order{}
		case key.Matches(msg, c.Keys.Cancel):
			return s.menu, nil
		case key.Matches(msg, c.Keys.Confirm) && s.found:
			return s.next()
		case key.Matches(msg, c.Keys.Confirm):
			if s.digits == "" {
				s.hint = c.t("orig.enter")
				return s, nil
			}
			trace := strings.Repeat("0", 6-len(s.digits)) + s.digits
			s.busy, s.hint = true, ""
			return s, findOriginal(c.opts, s.p.id, trace)
		case key.Matches(msg, c.Keys.Delete) && !s.found:
			if s.digits != "" {
				s.digits = s.digits[:len(s.digits)-1]
			}
		case !s.found:
			if d := digitOf(msg); d >= 0 && len(s.digits) < 6 {
				s.digits += string(rune('0' + d))
				s.hint = ""
			} else if isText(msg) {
				s.hint = c.t("amount.digits")
			}
		}
	}
	return s, nil
}

// next goes on to the card (a void: the whole amount) or to the amount to
// refund.
func (s *origTrace) next() (Screen, tea.Cmd) {
	if s.p.kind == api.KindCardVoid {
		s.p.amount = money.Fen(s.p.original.Amount)
		return newCardPrompt(s.c, s.p, s), nil
	}
	return newRefundAmount(s.c, s.p, s), nil
}

func (s *origTrace) View() string {
	c := s.c
	st := c.Styles
	var b strings.Builder
	b.WriteString("\n  " + st.Title.Render(c.t("orig.title")) + "\n\n")
	b.WriteString(indent(st.Box.Width(18).Render(st.Amount.Render(s.digits)), 2) + "\n")
	if s.busy {
		b.WriteString("  " + c.t("orig.busy") + "\n")
	}
	if s.found {
		o := s.p.original
		b.WriteString("\n  " + st.Title.Render(c.t("orig.check")) + "\n")
		b.WriteString(field(c.t("qr.amount"), st.Amount.Render(money.Fen(o.Amount).Yuan()), 10))
		b.WriteString(field(c.t("card.number"), o.MaskedPAN, 10))
		b.WriteString(field(c.t("result.auth"), o.AuthCode, 10))
		b.WriteString(field(c.t("result.rrn"), o.RRN, 10))
		b.WriteString(field(c.t("orig.time"), o.CreatedAt.In(c.Clock.Location()).Format("2006-01-02 15:04"), 10))
	}
	if s.hint != "" {
		b.WriteString("\n  " + st.Bad.Width(max(20, c.Width-4)).Render(s.hint) + "\n")
	}
	return b.String()
}

// newRefundAmount takes the amount to give back: at most the sale's (the
// server also counts refunds made before).
func newRefundAmount(c *Common, p *payment, back Screen) *amountScreen {
	s := newAmount(c, api.Card, "menu.return")
	s.refund, s.back = p, back
	return s
}

// balanceScreen shows the answer to a balance inquiry. It is shown, not
// printed: a balance is the cardholder's business.
type balanceScreen struct {
	c *Common
	p *payment
}

func (s *balanceScreen) Name() string { return "balance" }
func (s *balanceScreen) Title() string {
	return channelName(api.Card) + " › " + s.c.t("menu.balance")
}
func (s *balanceScreen) Payment() *payment { return s.p }
func (s *balanceScreen) Busy() bool        { return false }

func (s *balanceScreen) Help() []key.Binding {
	return []key.Binding{as(s.c.Keys.Confirm, s.c.t("help.back"))}
}

func (s *balanceScreen) Update(msg tea.Msg) (Screen, tea.Cmd) {
	if k, ok := msg.(tea.KeyMsg); ok && (key.Matches(k, s.c.Keys.Confirm) || key.Matches(k, s.c.Keys.Cancel)) {
		s.p.balance = api.Balance{}
		return newChannelList(s.c), nil
	}
	return s, nil
}

func (s *balanceScreen) View() string {
	c := s.c
	st := c.Styles
	b := s.p.balance
	var out strings.Builder
	out.WriteString("\n")
	if b.ResponseCode == "00" {
		out.WriteString("  " + st.Good.Render("✓ "+c.t("bal.ok")) + "\n\n")
		out.WriteString(field(c.t("bal.amount"), st.Amount.Render(money.Fen(b.Balance).Yuan()), 10))
	} else {
		out.WriteString("  " + st.Bad.Width(max(20, c.Width-4)).Render("✗ "+c.t("result.declined")+c.t("colon")+
			posclient.ResponseText(b.ResponseCode, c.Lang)) + "\n\n")
	}
	out.WriteString(field(c.t("card.number"), b.MaskedPAN, 10))
	out.WriteString(field(c.t("result.trace"), b.Trace, 10))
	out.WriteString("\n  " + st.Subtle.Render(c.tf("result.back", c.Keys.Confirm.Help().Key)) + "\n")
	return out.String()
}
