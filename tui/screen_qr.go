package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/multipos/multipos/money"
	"github.com/multipos/multipos/server/api"
)

type qrPhase int

const (
	qrCreating    qrPhase = iota // order requested
	qrShowing                    // QR on screen, waiting for the customer
	qrClosing                    // close requested (cashier or expiry)
	qrCloseFailed                // close failed; Esc retries
	qrNotCreated                 // the order could not be created
)

// qrScreen shows the wallet QR code and waits for the result (patent S105-S108).
type qrScreen struct {
	c        *Common
	p        *payment
	prev     *amountScreen
	phase    qrPhase
	expired  bool // the close was asked because the code expired
	code     string
	hint     string
	linkLost bool
}

func newQR(c *Common, p *payment, prev *amountScreen) (Screen, tea.Cmd) {
	s := &qrScreen{c: c, p: p, prev: prev, phase: qrCreating}
	return s, createOrder(c.opts, p.id, p.channel, int64(p.amount))
}

func (s *qrScreen) Name() string      { return "qr" }
func (s *qrScreen) Title() string     { return channelName(s.p.channel) + " › " + s.c.t("menu.qr") }
func (s *qrScreen) Payment() *payment { return s.p }
func (s *qrScreen) Busy() bool        { return s.phase != qrNotCreated }

func (s *qrScreen) Help() []key.Binding {
	c := s.c
	switch s.phase {
	case qrNotCreated:
		return []key.Binding{as(c.Keys.Cancel, c.t("help.back"))}
	case qrShowing:
		return []key.Binding{as(c.Keys.Cancel, c.t("help.cancel")), c.Keys.CustomerPays, c.Keys.CustomerDeclines}
	case qrCloseFailed:
		return []key.Binding{as(c.Keys.Cancel, c.t("help.retry"))}
	}
	return nil
}

func (s *qrScreen) Update(msg tea.Msg) (Screen, tea.Cmd) {
	c := s.c
	o := c.opts
	switch msg := msg.(type) {
	case tea.KeyMsg:
		s.hint = ""
		switch {
		case key.Matches(msg, c.Keys.Cancel) && s.phase == qrNotCreated:
			return s.prev, nil
		case key.Matches(msg, c.Keys.Cancel) && (s.phase == qrShowing || s.phase == qrCloseFailed):
			s.phase = qrClosing
			return s, cancelOrder(o, s.p.id, s.p.order.ID)
		case key.Matches(msg, c.Keys.CustomerPays) && s.phase == qrShowing:
			ch, no := s.p.channel, s.p.order.OutTradeNo
			return s, trainerAct(o, s.p.id, func(ctx contextT) error { return o.Trainer.CustomerPays(ctx, ch, no) })
		case key.Matches(msg, c.Keys.CustomerDeclines) && s.phase == qrShowing:
			ch, no := s.p.channel, s.p.order.OutTradeNo
			return s, trainerAct(o, s.p.id, func(ctx contextT) error { return o.Trainer.CustomerDeclines(ctx, ch, no) })
		}
	case trainerMsg:
		if msg.err != nil {
			s.hint = c.tf("trainer.error", msg.err)
		}
	case tickMsg:
		return s.tick()
	case retryMsg:
		if s.phase == qrShowing || s.phase == qrClosing {
			return s, waitOrder(o, s.p.id, s.p.order.ID, s.p.order.Version)
		}
	case orderMsg:
		return s.answer(msg)
	}
	return s, nil
}

func (s *qrScreen) answer(msg orderMsg) (Screen, tea.Cmd) {
	c := s.c
	o := c.opts
	if msg.trace != "" {
		s.p.trace = msg.trace
	}
	if msg.err != nil {
		switch msg.op {
		case opCreate:
			s.phase = qrNotCreated
			s.hint = c.tf("qr.failed", errText(c, msg.err))
			if isOffline(msg.err) {
				s.hint = c.t("qr.offline")
			}
			return s, nil
		case opCancel:
			s.phase = qrCloseFailed
			s.hint = c.tf("qr.closefail", errText(c, msg.err), c.Keys.Cancel.Help().Key)
			return s, nil
		default: // the long-poll: keep trying, the order is still open
			s.linkLost = true
			return s, retryAfter(s.p.id, opWait, 2*time.Second)
		}
	}
	s.linkLost = false
	if msg.order.Version < s.p.order.Version {
		return s, nil // an older view of the order than we have
	}
	s.p.order = msg.order
	ord := msg.order
	if ord.State.Final() {
		if ord.State == api.StateClosed && ord.Reason == api.ReasonCancelled && !s.expired {
			// The cashier closed it: one step back, amount kept.
			s.prev.hint = c.t("qr.closed")
			return s.prev, nil
		}
		return newResult(c, s.p), nil
	}
	switch msg.op {
	case opCreate:
		if ord.QRContent != "" {
			code, err := renderQR(ord.QRContent)
			if err != nil {
				s.hint = c.t("qr.toobig")
			}
			s.code = code
		} else {
			s.hint = c.t("qr.unknown")
		}
		s.phase = qrShowing
		return s, tea.Batch(waitOrder(o, s.p.id, ord.ID, ord.Version), countdown(s.p.id))
	case opWait:
		return s, waitOrder(o, s.p.id, ord.ID, ord.Version)
	}
	return s, nil
}

func (s *qrScreen) remaining() time.Duration {
	if s.p.order.ExpiresAt.IsZero() {
		return 0
	}
	d := s.p.order.ExpiresAt.Sub(s.c.now())
	if d < 0 {
		return 0
	}
	return d
}

func (s *qrScreen) tick() (Screen, tea.Cmd) {
	if s.phase != qrShowing {
		return s, nil
	}
	if !s.p.order.ExpiresAt.IsZero() && s.remaining() <= 0 {
		s.expired = true
		s.p.expired = true
		s.phase = qrClosing
		return s, cancelOrder(s.c.opts, s.p.id, s.p.order.ID)
	}
	return s, countdown(s.p.id)
}

func (s *qrScreen) View() string {
	c := s.c
	st := c.Styles
	var info strings.Builder
	info.WriteString(st.Title.Render(c.t("qr.title")) + "\n\n")
	info.WriteString(padRight(c.t("qr.amount"), 10) + st.Amount.Render(money.Fen(s.p.amount).Yuan()) + "\n")
	if s.p.order.OutTradeNo != "" {
		info.WriteString(padRight(c.t("qr.order"), 10) + s.p.order.OutTradeNo + "\n")
	}
	switch s.phase {
	case qrCreating:
		info.WriteString("\n" + st.Subtle.Render(c.t("qr.creating")) + "\n")
	case qrShowing:
		r := s.remaining()
		info.WriteString(padRight(c.t("qr.expires"), 10) + fmt.Sprintf("%02d:%02d", int(r.Minutes()), int(r.Seconds())%60) + "\n\n")
		dots := []string{"●○○", "○●○", "○○●"}[s.c.now().Unix()%3]
		info.WriteString(st.Good.Render(c.t("qr.waiting")+" "+dots) + "\n")
		if s.linkLost {
			info.WriteString(st.Warn.Render(c.t("qr.reconnect")) + "\n")
		}
	case qrClosing:
		info.WriteString("\n" + st.Subtle.Render(c.t("qr.closing")) + "\n")
	}
	if s.hint != "" {
		info.WriteString("\n" + st.Bad.Width(max(20, c.Width-44)).Render(s.hint) + "\n")
	}
	if s.code == "" {
		return "\n" + indent(info.String(), 2)
	}
	qrBlock := st.QR.Render(s.code)
	return "\n" + lipgloss.JoinHorizontal(lipgloss.Top, "  ", qrBlock, "   ", info.String())
}
