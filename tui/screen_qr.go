package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/money"
)

type qrPhase int

const (
	qrCreating    qrPhase = iota // order requested
	qrShowing                    // QR on screen, waiting for the customer
	qrClosing                    // close requested (cashier or expiry)
	qrCloseFailed                // close failed; Esc retries
	// qrCancelling: the server journaled the close (CANCELLING) and waits
	// for the wallet; it finishes by itself, so the cashier may leave.
	qrCancelling
	qrNotCreated // the server refused the order: nothing is open
)

// qrScreen shows the wallet QR code and waits for the result (patent S105-S108).
// It never lets the cashier walk away from an order that may still be open.
type qrScreen struct {
	c           *Common
	p           *payment
	prev        *amountScreen
	phase       qrPhase
	cancelAsked bool // Esc while the order was being created
	code        string
	hint        string
	linkLost    bool
}

func newQR(c *Common, p *payment, prev *amountScreen) (Screen, tea.Cmd) {
	s := &qrScreen{c: c, p: p, prev: prev, phase: qrCreating}
	return s, createOrder(c.opts, p.id, p.channel, int64(p.amount))
}

func (s *qrScreen) Name() string      { return "qr" }
func (s *qrScreen) Title() string     { return channelName(s.p.channel) + " › " + s.c.t("menu.qr") }
func (s *qrScreen) Payment() *payment { return s.p }

// Busy is false only when nothing can be open at the server, or when an
// unreachable server will close the order itself because it has expired.
func (s *qrScreen) Busy() bool {
	switch s.phase {
	case qrNotCreated, qrCancelling:
		return false
	case qrCloseFailed:
		return !s.expired()
	}
	return true
}

func (s *qrScreen) expired() bool {
	return !s.p.order.ExpiresAt.IsZero() && s.remaining() <= 0
}

func (s *qrScreen) Help() []key.Binding {
	c := s.c
	switch s.phase {
	case qrNotCreated:
		return []key.Binding{as(c.Keys.Cancel, c.t("help.back"))}
	case qrCreating:
		return []key.Binding{as(c.Keys.Cancel, c.t("help.cancel"))}
	case qrShowing:
		return []key.Binding{as(c.Keys.Cancel, c.t("help.cancel")), c.Keys.CustomerPays, c.Keys.CustomerDeclines}
	case qrCloseFailed:
		if s.expired() {
			return []key.Binding{as(c.Keys.Cancel, c.t("help.retry")), as(c.Keys.Confirm, c.t("help.leave"))}
		}
		return []key.Binding{as(c.Keys.Cancel, c.t("help.retry"))}
	case qrCancelling:
		return []key.Binding{as(c.Keys.Confirm, c.t("help.leave"))}
	}
	return nil
}

func (s *qrScreen) Update(msg tea.Msg) (Screen, tea.Cmd) {
	c := s.c
	o := c.opts
	switch msg := msg.(type) {
	case tea.KeyMsg:
		return s.key(msg)
	case trainerMsg:
		if msg.err != nil {
			s.hint = c.tf("trainer.error", msg.err)
		}
	case tickMsg:
		return s.tick()
	case retryMsg:
		if s.phase == qrShowing || s.phase == qrClosing || s.phase == qrCloseFailed || s.phase == qrCancelling {
			return s, waitOrder(o, s.p.id, s.p.order.ID, s.p.order.Version)
		}
	case orderMsg:
		return s.answer(msg)
	}
	return s, nil
}

func (s *qrScreen) key(k tea.KeyMsg) (Screen, tea.Cmd) {
	c := s.c
	o := c.opts
	s.hint = ""
	switch {
	case key.Matches(k, c.Keys.Cancel):
		switch s.phase {
		case qrNotCreated:
			return s.prev, nil
		case qrCreating:
			s.cancelAsked = true // closed as soon as the server answers
		case qrShowing, qrCloseFailed:
			s.phase = qrClosing
			s.code = "" // a code being closed is no longer offered
			return s, cancelOrder(o, s.p.id, s.p.order.ID)
		}
	case key.Matches(k, c.Keys.Confirm) && s.phase == qrCancelling:
		c.Flash = c.t("qr.cancelleft")
		return newChannelList(c), nil
	case key.Matches(k, c.Keys.Confirm) && s.phase == qrCloseFailed && s.expired():
		// The server is out of reach, but the code has expired: the server's
		// sweeper closes the order at the wallet, so leaving is safe.
		c.Flash = c.t("qr.leftopen")
		return newChannelList(c), nil
	case key.Matches(k, c.Keys.CustomerPays) && s.phase == qrShowing:
		ch, no := s.p.channel, s.p.order.OutTradeNo
		return s, trainerAct(o, s.p.id, func(ctx context.Context) error { return o.Trainer.CustomerPays(ctx, ch, no) })
	case key.Matches(k, c.Keys.CustomerDeclines) && s.phase == qrShowing:
		ch, no := s.p.channel, s.p.order.OutTradeNo
		return s, trainerAct(o, s.p.id, func(ctx context.Context) error { return o.Trainer.CustomerDeclines(ctx, ch, no) })
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
		return s.failed(msg)
	}
	s.linkLost = false
	if msg.order.Version < s.p.order.Version {
		if msg.op == opCancel {
			s.phase = qrCloseFailed
			s.hint = c.tf("qr.closefail", c.t("qr.stillopen"), c.Keys.Cancel.Help().Key)
		}
		return s, nil // an older view of the order than we have
	}
	s.p.order = msg.order
	ord := msg.order
	if ord.State.Final() {
		if ord.State == api.StateClosed && ord.Reason == api.ReasonCancelled && !s.p.expired {
			// The cashier closed it: one step back, amount kept.
			s.prev.hint = c.t("qr.closed")
			return s.prev, nil
		}
		return newResult(c, s.p), nil
	}
	if ord.State == api.StateCancelling {
		s.phase, s.code = qrCancelling, ""
		s.hint = c.tf("qr.cancelling", c.Keys.Confirm.Help().Key)
		return s, waitOrder(o, s.p.id, ord.ID, ord.Version)
	}
	switch msg.op {
	case opCreate:
		if s.cancelAsked {
			s.phase = qrClosing
			return s, cancelOrder(o, s.p.id, ord.ID)
		}
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
	case opCancel:
		// The server answered but the order is still open at the wallet.
		s.phase = qrCloseFailed
		s.hint = c.tf("qr.closefail", c.t("qr.stillopen"), c.Keys.Cancel.Help().Key)
		return s, tea.Batch(waitOrder(o, s.p.id, ord.ID, ord.Version), countdown(s.p.id))
	case opWait:
		return s, waitOrder(o, s.p.id, ord.ID, ord.Version)
	}
	return s, nil
}

func (s *qrScreen) failed(msg orderMsg) (Screen, tea.Cmd) {
	c := s.c
	var ae *api.Error
	refused := errors.As(msg.err, &ae)
	switch msg.op {
	case opCreate:
		if refused {
			// The server said no: nothing was created.
			if s.cancelAsked {
				return s.prev, nil
			}
			s.phase = qrNotCreated
			s.hint = c.tf("qr.failed", errText(c, msg.err))
			return s, nil
		}
		// The answer was lost: the order may exist. Close it by its trace
		// before going back; the code was never shown, so nobody can pay it.
		s.phase = qrClosing
		s.hint = errText(c, msg.err)
		return s, cancelTrace(c.opts, s.p.id, s.p.trace)
	case opCancel:
		if s.p.order.ID == "" {
			// A lost create being cleaned up: no code was ever shown.
			if refused && ae.Code == api.CodeNotFound {
				s.prev.hint = c.t("qr.notcreated")
			} else {
				s.prev.hint = c.t("qr.leftopen")
			}
			return s.prev, nil
		}
		s.phase = qrCloseFailed
		s.hint = c.tf("qr.closefail", errText(c, msg.err), c.Keys.Cancel.Help().Key)
		return s, countdown(s.p.id)
	default: // the long-poll: keep trying, the order is still open
		s.linkLost = true
		return s, retryAfter(s.p.id, opWait, 2*time.Second)
	}
}

func (s *qrScreen) remaining() time.Duration {
	if s.p.order.ExpiresAt.IsZero() {
		return 0
	}
	return max(0, s.p.order.ExpiresAt.Sub(s.c.serverNow()))
}

// tick runs the countdown while the code is on screen and while a failed
// close waits for a retry; at zero it closes the order.
func (s *qrScreen) tick() (Screen, tea.Cmd) {
	switch s.phase {
	case qrShowing:
		if s.expired() {
			s.p.expired = true
			s.phase, s.code = qrClosing, ""
			return s, cancelOrder(s.c.opts, s.p.id, s.p.order.ID)
		}
		return s, countdown(s.p.id)
	case qrCloseFailed:
		return s, countdown(s.p.id)
	}
	return s, nil
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
		if s.cancelAsked {
			info.WriteString(st.Subtle.Render(c.t("qr.closing")) + "\n")
		}
	case qrShowing:
		r := s.remaining()
		info.WriteString(padRight(c.t("qr.expires"), 10) + fmt.Sprintf("%02d:%02d", int(r.Minutes()), int(r.Seconds())%60) + "\n\n")
		dots := []string{"●○○", "○●○", "○○●"}[s.c.now().Unix()%3]
		info.WriteString(st.Good.Render(c.t("qr.waiting")+" "+dots) + "\n")
		if s.linkLost {
			info.WriteString(st.Warn.Render(c.t("qr.reconnect")) + "\n")
		}
	case qrClosing, qrCancelling:
		info.WriteString("\n" + st.Subtle.Render(c.t("qr.closing")) + "\n")
	}
	width := max(20, c.Width-42)
	if s.code == "" {
		width = max(20, c.Width-6)
	}
	if s.hint != "" {
		info.WriteString("\n" + st.Bad.Width(width).Render(s.hint) + "\n")
	}
	if s.code == "" {
		return "\n" + indent(info.String(), 2)
	}
	return "\n" + lipgloss.JoinHorizontal(lipgloss.Top, "  ", st.QR.Render(s.code), "   ", info.String())
}
