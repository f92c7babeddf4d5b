package tui

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/money"
	"github.com/multipos/multipos/paycode"
	"github.com/multipos/multipos/posclient"
)

type bcPhase int

const (
	bcScanning   bcPhase = iota // waiting for the customer's code
	bcPaying                    // the code is being charged
	bcConfirming                // the customer confirms on the phone, or the outcome is being checked
	bcCancelling                // reversal requested
	bcCancelFail                // reversal failed; Esc retries
	// bcGivingBack: the server journaled the reversal (CANCELLING) and
	// waits for the wallet; it finishes by itself, so the cashier may leave.
	bcGivingBack
)

// barcodeScreen charges the payment code on the customer's phone (付款码):
// the cashier's scanner reads it (a keyboard wedge, told from typing by the
// root), or the cashier types its digits. The code decides the wallet: one
// of the other wallet is refused before anything is sent. Like the QR
// screen, it never lets the cashier walk away from a payment still open.
type barcodeScreen struct {
	c     *Common
	p     *payment
	prev  *amountScreen
	phase bcPhase
	typed string // digits typed by hand
	hint  string
	lost  bool // the link dropped while following the payment
}

func newBarcode(c *Common, p *payment, prev *amountScreen) *barcodeScreen {
	return &barcodeScreen{c: c, p: p, prev: prev}
}

func (s *barcodeScreen) Name() string { return "barcode" }
func (s *barcodeScreen) Title() string {
	return channelName(s.p.channel) + " › " + s.c.t("menu.barcode")
}
func (s *barcodeScreen) Payment() *payment { return s.p }
func (s *barcodeScreen) Busy() bool        { return s.phase != bcScanning && s.phase != bcGivingBack }

func (s *barcodeScreen) Help() []key.Binding {
	c := s.c
	switch s.phase {
	case bcScanning:
		return []key.Binding{c.Keys.Confirm, as(c.Keys.Cancel, c.t("help.back")),
			as(c.Keys.CustomerPays, c.t("trainer.code")), as(c.Keys.CustomerDeclines, c.t("trainer.codec"))}
	case bcConfirming:
		return []key.Binding{as(c.Keys.Cancel, c.t("help.cancel")), c.Keys.CustomerPays, c.Keys.CustomerDeclines}
	case bcCancelFail:
		return []key.Binding{as(c.Keys.Cancel, c.t("help.retry"))}
	case bcGivingBack:
		return []key.Binding{as(c.Keys.Confirm, c.t("help.leave"))}
	}
	return nil
}

func (s *barcodeScreen) Update(msg tea.Msg) (Screen, tea.Cmd) {
	c := s.c
	switch msg := msg.(type) {
	case scanMsg:
		if s.phase != bcScanning {
			return s, nil // one payment at a time; a second scan is ignored
		}
		return s.charge(msg.code)
	case shownCodeMsg:
		if msg.err != nil {
			s.hint = c.tf("trainer.error", msg.err)
			return s, nil
		}
		if s.phase == bcScanning {
			return s.charge(msg.code)
		}
	case tea.KeyMsg:
		return s.key(msg)
	case trainerMsg:
		if msg.err != nil {
			s.hint = c.tf("trainer.error", msg.err)
		}
	case retryMsg:
		if msg.op == opCancel && s.p.order.ID == "" {
			return s, cancelTrace(c.opts, s.p.id, s.p.trace)
		}
		if s.phase == bcConfirming || s.phase == bcCancelling || s.phase == bcGivingBack {
			return s, waitOrder(c.opts, s.p.id, s.p.order.ID, s.p.order.Version)
		}
	case orderMsg:
		return s.answer(msg)
	}
	return s, nil
}

func (s *barcodeScreen) key(k tea.KeyMsg) (Screen, tea.Cmd) {
	c := s.c
	o := c.opts
	s.hint = ""
	switch s.phase {
	case bcScanning:
		switch {
		case key.Matches(k, c.Keys.Cancel):
			return s.prev, nil
		case key.Matches(k, c.Keys.Confirm):
			if s.typed == "" {
				return s, nil
			}
			return s.charge(s.typed)
		case key.Matches(k, c.Keys.Delete):
			if s.typed != "" {
				s.typed = s.typed[:len(s.typed)-1]
			}
		case key.Matches(k, c.Keys.CustomerPays):
			return s, showCode(o, s.p.id, s.p.channel, false)
		case key.Matches(k, c.Keys.CustomerDeclines):
			return s, showCode(o, s.p.id, s.p.channel, true)
		default:
			if d := digitOf(k); d >= 0 && len(s.typed) < 32 {
				s.typed += string(rune('0' + d))
			}
		}
	case bcGivingBack:
		if key.Matches(k, c.Keys.Confirm) {
			c.Flash = c.t("qr.cancelleft")
			return newChannelList(c), nil
		}
	case bcConfirming, bcCancelFail:
		switch {
		case key.Matches(k, c.Keys.Cancel) && s.p.order.ID != "":
			s.phase = bcCancelling
			return s, cancelOrder(o, s.p.id, s.p.order.ID)
		case key.Matches(k, c.Keys.CustomerPays) && s.p.order.ID != "":
			ch, no := s.p.channel, s.p.order.OutTradeNo
			return s, trainerAct(o, s.p.id, func(ctx context.Context) error { return o.Trainer.CustomerPays(ctx, ch, no) })
		case key.Matches(k, c.Keys.CustomerDeclines) && s.p.order.ID != "":
			ch, no := s.p.channel, s.p.order.OutTradeNo
			return s, trainerAct(o, s.p.id, func(ctx context.Context) error { return o.Trainer.CustomerDeclines(ctx, ch, no) })
		}
	}
	return s, nil
}

// charge checks the code against the chosen wallet and sends it.
func (s *barcodeScreen) charge(code string) (Screen, tea.Cmd) {
	c := s.c
	var wrong *paycode.WrongWallet
	switch err := paycode.Check(code, s.p.channel); {
	case errors.As(err, &wrong):
		name := c.Lang.Pick("支付宝", "an Alipay")
		if wrong.Got == api.WeChat {
			name = c.Lang.Pick("微信支付", "a WeChat Pay")
		}
		s.hint = c.tf("bc.wrong", name, channelName(wrong.Got))
		s.typed = ""
		return s, nil
	case err != nil:
		s.hint = c.t("bc.notcode")
		s.typed = ""
		return s, nil
	}
	s.typed = ""
	s.phase = bcPaying
	if s.p.reqID == "" {
		s.p.reqID = posclient.NewRequestID()
	}
	return s, createBarcode(c.opts, s.p.id, s.p.channel, int64(s.p.amount), s.p.trace, s.p.reqID, code)
}

func (s *barcodeScreen) answer(msg orderMsg) (Screen, tea.Cmd) {
	c := s.c
	o := c.opts
	if msg.trace != "" {
		s.p.trace = msg.trace
	}
	if msg.err != nil {
		return s.failed(msg)
	}
	s.lost = false
	if msg.order.Version < s.p.order.Version {
		return s, nil
	}
	s.p.order = msg.order
	ord := msg.order
	if ord.State.Final() {
		if ord.State == api.StateClosed && ord.Reason == api.ReasonCancelled {
			s.prev.hint = c.t("qr.closed")
			return s.prev, nil
		}
		return newResult(c, s.p), nil
	}
	if ord.State == api.StateCancelling {
		s.phase = bcGivingBack
		s.hint = c.tf("qr.cancelling", c.Keys.Confirm.Help().Key)
		return s, waitOrder(o, s.p.id, ord.ID, ord.Version)
	}
	if msg.op == opCancel {
		s.phase = bcCancelFail
		s.hint = c.tf("bc.cancelfail", c.t("qr.stillopen"), c.Keys.Cancel.Help().Key)
	} else if s.phase != bcCancelling {
		s.phase = bcConfirming
	}
	return s, waitOrder(o, s.p.id, ord.ID, ord.Version)
}

func (s *barcodeScreen) failed(msg orderMsg) (Screen, tea.Cmd) {
	c := s.c
	var ae *api.Error
	refused := errors.As(msg.err, &ae)
	switch msg.op {
	case opCreate:
		if refused {
			// The server said no before charging: nothing is open. A new
			// attempt gets a new trace and request id.
			s.phase = bcScanning
			s.p.trace, s.p.reqID = "", ""
			s.hint = c.tf("qr.failed", errText(c, msg.err))
			return s, nil
		}
		// The answer was lost: the code may have been charged. Reverse it
		// by its trace; the server's reversal gives back anything taken.
		s.phase = bcCancelling
		s.hint = errText(c, msg.err)
		return s, cancelTrace(c.opts, s.p.id, s.p.trace)
	case opCancel:
		if s.p.order.ID == "" {
			if refused && ae.Code == api.CodeNotFound {
				s.prev.hint = c.t("qr.notcreated")
				return s.prev, nil
			}
			// Not sure it is undone, and no order to follow: try again.
			s.hint = c.tf("bc.cancelfail", errText(c, msg.err), c.Keys.Cancel.Help().Key)
			return s, retryAfter(s.p.id, opCancel, 2*time.Second)
		}
		s.phase = bcCancelFail
		s.hint = c.tf("bc.cancelfail", errText(c, msg.err), c.Keys.Cancel.Help().Key)
		return s, nil
	default:
		s.lost = true
		return s, retryAfter(s.p.id, opWait, 2*time.Second)
	}
}

func (s *barcodeScreen) View() string {
	c := s.c
	st := c.Styles
	var b strings.Builder
	b.WriteString("\n  " + st.Title.Render(c.t("bc.title")) + "\n\n")
	b.WriteString("  " + padRight(c.t("qr.amount"), 10) + st.Amount.Render(money.Fen(s.p.amount).Yuan()) + "\n")
	if s.p.order.OutTradeNo != "" {
		b.WriteString("  " + padRight(c.t("qr.order"), 10) + s.p.order.OutTradeNo + "\n")
	}
	b.WriteString("\n")
	switch s.phase {
	case bcScanning:
		b.WriteString("  " + st.Subtle.Render(c.tf("bc.typed", c.Keys.Confirm.Help().Key)) + "\n")
		if s.typed != "" {
			b.WriteString("  " + st.Amount.Render(s.typed) + "\n")
		}
	case bcPaying:
		b.WriteString("  " + st.Subtle.Render(c.t("bc.paying")) + "\n")
	case bcConfirming:
		dots := []string{"●○○", "○●○", "○○●"}[s.c.now().Unix()%3]
		if s.p.order.State == api.StateUnknown {
			b.WriteString("  " + st.Warn.Render(c.t("bc.checking")+" "+dots) + "\n")
		} else {
			b.WriteString("  " + st.Good.Render(c.t("bc.confirm")+" "+dots) + "\n")
		}
		if s.lost {
			b.WriteString("  " + st.Warn.Render(c.t("qr.reconnect")) + "\n")
		}
	case bcCancelling, bcGivingBack:
		b.WriteString("  " + st.Subtle.Render(c.t("bc.cancelling")) + "\n")
	}
	if s.hint != "" {
		b.WriteString("\n  " + st.Bad.Width(max(20, c.Width-6)).Render(s.hint) + "\n")
	}
	return b.String()
}
