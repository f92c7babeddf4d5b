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

// supervisorGuard counts wrong supervisor passwords in a row and locks
// the supervisor screen after too many. The router keeps it: leaving and
// coming back does not start the count again.
type supervisorGuard struct {
	fails       int
	lockedUntil time.Time
}

func (g *supervisorGuard) locked(now time.Time) bool { return now.Before(g.lockedUntil) }

// wrong counts a wrong password; it returns the tries left, 0 when the
// screen is now locked.
func (g *supervisorGuard) wrong(now time.Time) int {
	g.fails++
	if g.fails >= maxSupervisorTries {
		g.fails = 0
		g.lockedUntil = now.Add(supervisorLockout)
		return 0
	}
	return maxSupervisorTries - g.fails
}

// supervisor asks for the supervisor password (主管密码) before a void or
// refund, as bank POS do: money going back to a card needs a second person;
// and before a settlement (结算), which closes the batch for every station.
type supervisor struct {
	base
	guard *supervisorGuard
	kind  api.Kind
	p     *payment // a settlement's (kindSettle); nil for a void or refund
	pw    maskedDigits
	hint  text
}

func newSupervisor(b base, g *supervisorGuard, kind api.Kind) *supervisor {
	s := &supervisor{base: b, guard: g, kind: kind, pw: newMasked(12)}
	switch {
	case b.o.SupervisorPassword == "":
		s.hint = say(s.supKey("sup.none"))
	case g.locked(s.now()):
		s.hint = say(s.supKey("sup.lockeduntil"), g.lockedUntil.In(s.now().Location()).Format("15:04:05"))
	}
	return s
}

// newSupervisorFor guards the settlement p: the same lockout as voids and
// refunds, one password count for all.
func newSupervisorFor(b base, g *supervisorGuard, p *payment) *supervisor {
	s := newSupervisor(b, g, p.kind)
	s.p = p
	return s
}

// supKey is the text key k for what the password guards here.
func (s *supervisor) supKey(k string) string {
	if s.kind == kindSettle {
		return k + ".settle"
	}
	return k
}

func (s *supervisor) Name() string { return "supervisor" }
func (s *supervisor) Title() string {
	return channelName(api.Card) + " › " + s.c.t(kindAction(s.kind).label())
}
func (s *supervisor) MinSize() (int, int) { return 56, 11 }

func (s *supervisor) Help() []key.Binding {
	c := s.c
	return []key.Binding{c.Keys.Digits, c.Keys.Delete, c.Keys.Confirm, as(c.Keys.Cancel, c.t("help.back"))}
}

func (s *supervisor) Update(msg tea.Msg) (next, tea.Cmd) {
	c := s.c
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return nil, nil
	}
	switch {
	case key.Matches(k, c.Keys.Cancel):
		s.pw.wipe()
		return goBack{}, nil
	case s.o.SupervisorPassword == "" || s.guard.locked(s.now()):
		return nil, nil
	case key.Matches(k, c.Keys.Confirm):
		return s.check(), nil
	}
	switch s.pw.key(k, c.Keys.Delete) {
	case typedDigit:
		s.hint = text{}
	case typedFull:
		s.hint = say("sup.long", cap(s.pw.buf))
	case typedNotDigit:
		s.hint = say("amount.digits")
	}
	return nil, nil
}

// check compares the password typed, in constant time, and wipes it.
func (s *supervisor) check() next {
	good := subtle.ConstantTimeCompare(s.pw.digits(), []byte(s.o.SupervisorPassword)) == 1
	s.pw.wipe()
	if good {
		s.guard.fails = 0
		if s.p != nil {
			return toSettleSend{s.p}
		}
		return toOriginal{s.kind}
	}
	left := s.guard.wrong(s.now())
	if left == 0 {
		return goBack{hint: say("sup.locked")}
	}
	s.hint = say("sup.wrong", left)
	return nil
}

func (s *supervisor) View() string {
	c := s.c
	st := c.Styles
	var b strings.Builder
	b.WriteString("\n  " + st.Title.Render(c.t("sup.title")) + "\n\n")
	b.WriteString(s.pw.view(st) + "\n")
	if s.o.Demo && s.o.SupervisorPassword != "" {
		b.WriteString("  " + st.Subtle.Render(c.tf("sup.demo", s.o.SupervisorPassword)) + "\n")
	}
	b.WriteString(hintLine(c, st.Bad, s.hint))
	return b.String()
}

// origTrace takes the trace number (凭证号) of the sale to void or refund,
// finds the sale at the server and shows it for the cashier to check.
type origTrace struct {
	base
	p      *payment
	digits string
	busy   bool
	shown  bool // the sale is shown; Confirm goes on
	hint   text
}

func newOrigTrace(b base, p *payment) *origTrace { return &origTrace{base: b, p: p} }

func (s *origTrace) Name() string        { return "original" }
func (s *origTrace) Title() string       { return channelName(api.Card) + " › " + s.c.t(s.p.opLabel()) }
func (s *origTrace) Payment() *payment   { return s.p }
func (s *origTrace) Busy() bool          { return false }
func (s *origTrace) MinSize() (int, int) { return 60, 17 }

func (s *origTrace) Help() []key.Binding {
	c := s.c
	if s.shown {
		return []key.Binding{as(c.Keys.Confirm, c.t("help.next")), as(c.Keys.Cancel, c.t("help.back"))}
	}
	return []key.Binding{c.Keys.Digits, c.Keys.Delete, c.Keys.Confirm, as(c.Keys.Cancel, c.t("help.back"))}
}

func (s *origTrace) Update(msg tea.Msg) (next, tea.Cmd) {
	switch msg := msg.(type) {
	case orderMsg:
		if msg.op == opOriginal {
			s.found(msg)
		}
	case tea.KeyMsg:
		if !s.busy {
			return s.key(msg)
		}
	}
	return nil, nil
}

// found shows the sale the server found, or why not.
func (s *origTrace) found(msg orderMsg) {
	s.busy = false
	var ae *api.Error
	switch {
	case errors.As(msg.err, &ae) && ae.Code == api.CodeNotFound:
		s.hint = say("orig.nosuch", msg.trace)
	case msg.err != nil:
		s.hint = sayErr(s.base, msg.err)
	case msg.order.Kind != api.KindCardSale || msg.order.State != api.StateSuccess:
		s.hint = say("orig.notsale", msg.trace)
	case !adjustRefusal(s.base, s.p.kind, msg.order).empty():
		// Said now, before a card is read or a trace is spent on a
		// request the server would refuse.
		s.hint = adjustRefusal(s.base, s.p.kind, msg.order)
	default:
		s.p.original, s.shown = msg.order, true
	}
}

func (s *origTrace) key(k tea.KeyMsg) (next, tea.Cmd) {
	c := s.c
	switch {
	case key.Matches(k, c.Keys.Cancel) && s.shown:
		s.shown, s.p.original = false, api.Order{}
	case key.Matches(k, c.Keys.Cancel):
		return goBack{to: "menu"}, nil
	case key.Matches(k, c.Keys.Confirm) && s.shown:
		return s.next(), nil
	case key.Matches(k, c.Keys.Confirm):
		if s.digits == "" {
			s.hint = say("orig.enter")
			return nil, nil
		}
		trace := strings.Repeat("0", 6-len(s.digits)) + s.digits
		s.busy, s.hint = true, text{}
		return nil, findOriginal(c.ctx, *s.o, s.p.id, trace)
	case key.Matches(k, c.Keys.Delete) && !s.shown:
		if s.digits != "" {
			s.digits = s.digits[:len(s.digits)-1]
		}
	case !s.shown:
		switch d := digitOf(k); {
		case d >= 0 && len(s.digits) < 6:
			s.digits += string(rune('0' + d))
			s.hint = text{}
		case d >= 0:
			s.hint = say("reprint.long")
		case isText(k):
			s.hint = say("amount.digits")
		}
	}
	return nil, nil
}

// next goes on to the card (a void: the whole amount) or to the amount to
// refund.
func (s *origTrace) next() next {
	if s.p.kind == api.KindCardVoid {
		s.p.amount = money.Fen(s.p.original.Amount)
		return toCard{s.p}
	}
	return toRefund{s.p}
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
	if s.shown {
		o := s.p.original
		b.WriteString("\n  " + st.Title.Render(c.t("orig.check")) + "\n")
		b.WriteString(field(c.t("qr.amount"), st.Amount.Render(money.Fen(o.Amount).Yuan()), 10))
		b.WriteString(field(c.t("card.number"), o.MaskedPAN, 10))
		b.WriteString(field(c.t("result.auth"), o.AuthCode, 10))
		b.WriteString(field(c.t("result.rrn"), o.RRN, 10))
		b.WriteString(field(c.t("orig.time"), o.CreatedAt.In(s.now().Location()).Format("2006-01-02 15:04"), 10))
		if o.Refunded > 0 {
			w := labelsWidth(c, 10, "orig.refunded", "orig.left")
			b.WriteString(field(c.t("orig.refunded"), money.Fen(o.Refunded).Yuan(), w))
			b.WriteString(field(c.t("orig.left"), st.Amount.Render(money.Fen(leftToRefund(o)).Yuan()), w))
		}
	}
	b.WriteString(hintLine(c, st.Bad, s.hint))
	return b.String()
}

// newRefundAmount takes the amount to give back: at most the sale's (the
// server also counts refunds made before).
func newRefundAmount(b base, p *payment) *amountScreen {
	s := newAmount(b, api.Card, actReturn)
	s.refund = p
	return s
}

// balanceScreen shows the answer to a balance inquiry. It is shown, not
// printed: a balance is the cardholder's business.
type balanceScreen struct {
	base
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

func (s *balanceScreen) MinSize() (int, int) { return 60, 11 }

func (s *balanceScreen) Update(msg tea.Msg) (next, tea.Cmd) {
	if k, ok := msg.(tea.KeyMsg); ok && (key.Matches(k, s.c.Keys.Confirm) || key.Matches(k, s.c.Keys.Cancel)) {
		s.p.balance = api.Balance{}
		return goHome{}, nil
	}
	return nil, nil
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
		out.WriteString(para(c, st.Bad, "✗ "+c.t("result.declined")+c.t("colon")+
			posclient.ResponseText(b.ResponseCode, c.Lang)) + "\n\n")
	}
	out.WriteString(field(c.t("card.number"), b.MaskedPAN, 10))
	out.WriteString(field(c.t("result.trace"), b.Trace, 10))
	out.WriteString("\n  " + st.Subtle.Render(c.tf("result.back", c.Keys.Confirm.Help().Key)) + "\n")
	return out.String()
}
