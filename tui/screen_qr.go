package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/money"
)

// qrScreen shows the wallet QR code and waits for the result (patent
// S105-S108); the follower it embeds follows the order.
type qrScreen struct {
	follower
	code string // the QR code drawn, while it is offered
}

func newQR(b base, p *payment) *qrScreen {
	s := &qrScreen{follower: follower{base: b, p: p, phase: fCreating, closeFail: "qr.closefail", ticking: true,
		didPay: "trainer.didpay", didDecline: "trainer.diddecline"}}
	s.opened = s.show
	return s
}

func (s *qrScreen) Init() tea.Cmd {
	return createOrder(s.c.ctx, *s.o, s.p.id, s.p.channel, int64(s.p.amount))
}

func (s *qrScreen) Name() string  { return "qr" }
func (s *qrScreen) Title() string { return channelName(s.p.channel) + " › " + s.c.t("menu.qr") }

// Busy is false also when an unreachable server will close the order
// itself because its code has expired.
func (s *qrScreen) Busy() bool {
	if s.phase == fCloseFailed && s.expired() {
		return false
	}
	return s.follower.Busy()
}

// MinSize makes room for the code beside the order's details.
func (s *qrScreen) MinSize() (int, int) {
	if s.code == "" || s.phase != fOpen {
		return 60, 13
	}
	return 2 + lipgloss.Width(s.code) + 3 + 40, 1 + lipgloss.Height(s.code)
}

func (s *qrScreen) expired() bool {
	return !s.p.order.ExpiresAt.IsZero() && s.remaining() <= 0
}

func (s *qrScreen) Help() []key.Binding {
	c := s.c
	switch s.phase {
	case fIdle:
		return []key.Binding{as(c.Keys.Cancel, c.t("help.back"))}
	case fCreating:
		return []key.Binding{as(c.Keys.Cancel, c.t("help.cancel"))}
	case fOpen:
		return []key.Binding{as(c.Keys.Cancel, c.t("help.cancel")), c.Keys.CustomerPays, c.Keys.CustomerDeclines}
	case fCloseFailed:
		if s.expired() {
			return []key.Binding{as(c.Keys.Cancel, c.t("help.retry")), as(c.Keys.Confirm, c.t("help.leave"))}
		}
		return []key.Binding{as(c.Keys.Cancel, c.t("help.retry"))}
	case fGivingBack:
		return []key.Binding{as(c.Keys.Confirm, c.t("help.leave"))}
	}
	return nil
}

func (s *qrScreen) Update(msg tea.Msg) (next, tea.Cmd) {
	c := s.c
	switch msg := msg.(type) {
	case tickMsg:
		return nil, s.tick()
	case tea.KeyMsg:
		s.hint = text{}
		if key.Matches(msg, c.Keys.Confirm) && s.phase == fCloseFailed && s.expired() {
			// The server is out of reach, but the code has expired: the
			// server's sweeper closes the order at the wallet, so leaving
			// is safe.
			return goHome{notice: say("qr.leftopen")}, nil
		}
	}
	n, cmd, _ := s.update(msg)
	return n, cmd
}

// show draws the code of an order that opened.
func (s *qrScreen) show(ord api.Order) tea.Cmd {
	if ord.QRContent == "" {
		s.hint = say("qr.unknown")
		return nil
	}
	code, err := renderQR(ord.QRContent)
	if err != nil {
		s.hint = say("qr.toobig")
	}
	s.code = code
	return nil
}

func (s *qrScreen) remaining() time.Duration {
	if s.p.order.ExpiresAt.IsZero() {
		return 0
	}
	return max(0, s.p.order.ExpiresAt.Sub(s.st.serverNow()))
}

// tick runs the countdown while the code is on screen and while a failed
// close waits for a retry; at zero it closes the order.
func (s *qrScreen) tick() tea.Cmd {
	switch s.phase {
	case fOpen:
		if s.expired() {
			s.p.expired = true
			return s.close()
		}
		return countdown(s.p.id)
	case fCloseFailed:
		return countdown(s.p.id)
	}
	return nil
}

func (s *qrScreen) View() string {
	c := s.c
	st := c.Styles
	var info strings.Builder
	info.WriteString(st.Title.Render(c.t("qr.title")) + "\n\n")
	lw := labelsWidth(c, 10, "qr.amount", "qr.order", "qr.expires")
	info.WriteString(labelCol(c.t("qr.amount"), lw) + st.Amount.Render(money.Fen(s.p.amount).Yuan()) + "\n")
	if s.p.order.OutTradeNo != "" {
		info.WriteString(labelCol(c.t("qr.order"), lw) + s.p.order.OutTradeNo + "\n")
	}
	switch s.phase {
	case fCreating:
		info.WriteString("\n" + st.Subtle.Render(c.t("qr.creating")) + "\n")
		if s.cancelAsked {
			info.WriteString(st.Subtle.Render(c.t("qr.closing")) + "\n")
		}
	case fOpen:
		r := s.remaining()
		info.WriteString(labelCol(c.t("qr.expires"), lw) + fmt.Sprintf("%02d:%02d", int(r.Minutes()), int(r.Seconds())%60) + "\n\n")
		info.WriteString(st.Good.Render(c.t("qr.waiting")+" "+s.dots()) + "\n")
		if s.lost {
			info.WriteString(st.Warn.Render(c.t("qr.reconnect")) + "\n")
		}
		if !s.note.empty() {
			info.WriteString("\n" + st.Warn.Width(s.infoWidth()).Render(s.note.in(c)) + "\n")
		}
	case fClosing, fGivingBack:
		info.WriteString("\n" + st.Subtle.Render(c.t("qr.closing")) + "\n")
	}
	if !s.hint.empty() {
		info.WriteString("\n" + st.Bad.Width(s.infoWidth()).Render(s.hint.in(c)) + "\n")
	}
	if s.shown() == "" {
		return "\n" + indent(info.String(), 2)
	}
	return "\n" + lipgloss.JoinHorizontal(lipgloss.Top, "  ", st.QR.Render(s.shown()), "   ", info.String())
}

// shown is the code while it is offered: a code being closed is not.
func (s *qrScreen) shown() string {
	if s.phase != fOpen {
		return ""
	}
	return s.code
}

// infoWidth is the width of the text beside the code, or under the title
// when there is no code.
func (s *qrScreen) infoWidth() int {
	if s.shown() == "" {
		return max(20, s.c.Width-6)
	}
	return max(20, s.c.Width-42)
}
