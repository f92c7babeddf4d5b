package tui

import (
	"errors"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/money"
	"github.com/multipos/multipos/paycode"
	"github.com/multipos/multipos/posclient"
)

// barcodeScreen charges the payment code on the customer's phone (付款码):
// the cashier's scanner reads it (a keyboard wedge, told from typing by the
// key filter), or the cashier types its digits. The code decides the
// wallet: one of the other wallet is refused before anything is sent. The
// follower it embeds follows the payment, as on the QR screen.
type barcodeScreen struct {
	follower
	typed string // digits typed by hand
}

func newBarcode(b base, p *payment) *barcodeScreen {
	s := &barcodeScreen{follower: follower{base: b, p: p, phase: fIdle, closeFail: "bc.cancelfail", undoLost: true,
		didPay: "trainer.didconfirm", didDecline: "trainer.didcancel"}}
	s.opened = func(api.Order) tea.Cmd { return nil }
	return s
}

func (s *barcodeScreen) Name() string { return "barcode" }
func (s *barcodeScreen) Title() string {
	return channelName(s.p.channel) + " › " + s.c.t("menu.barcode")
}
func (s *barcodeScreen) MinSize() (int, int) { return 64, 15 }

func (s *barcodeScreen) Help() []key.Binding {
	c := s.c
	switch s.phase {
	case fIdle:
		return []key.Binding{c.Keys.Digits, c.Keys.Delete, c.Keys.Confirm, as(c.Keys.Cancel, c.t("help.back")),
			as(c.Keys.CustomerPays, c.t("trainer.code")), as(c.Keys.CustomerDeclines, c.t("trainer.codec"))}
	case fCreating:
		return []key.Binding{as(c.Keys.Cancel, c.t("help.cancel"))}
	case fOpen:
		return []key.Binding{as(c.Keys.Cancel, c.t("help.cancel")), c.Keys.CustomerPays, c.Keys.CustomerDeclines}
	case fCloseFailed:
		return []key.Binding{as(c.Keys.Cancel, c.t("help.retry"))}
	case fGivingBack:
		return []key.Binding{as(c.Keys.Confirm, c.t("help.leave"))}
	}
	return nil
}

func (s *barcodeScreen) Update(msg tea.Msg) (next, tea.Cmd) {
	switch msg := msg.(type) {
	case scanMsg:
		if s.phase != fIdle {
			return nil, nil // one payment at a time; a second scan is ignored
		}
		return nil, s.charge(msg.code)
	case shownCodeMsg:
		if msg.err != nil {
			s.hint = say("trainer.error", msg.err)
			return nil, nil
		}
		if s.phase == fIdle {
			return nil, s.charge(msg.code)
		}
		return nil, nil
	case tea.KeyMsg:
		s.hint = text{}
		if s.phase == fIdle {
			if cmd, ok := s.typing(msg); ok {
				return nil, cmd
			}
		}
	}
	n, cmd, _ := s.update(msg)
	return n, cmd
}

// typing handles the keys of a code typed by hand, and the trainer's
// customer showing one.
func (s *barcodeScreen) typing(k tea.KeyMsg) (tea.Cmd, bool) {
	c, o := s.c, s.o
	switch {
	case key.Matches(k, c.Keys.Confirm):
		if s.typed == "" {
			return nil, true
		}
		return s.charge(s.typed), true
	case key.Matches(k, c.Keys.Delete):
		if s.typed != "" {
			s.typed = s.typed[:len(s.typed)-1]
		}
		return nil, true
	case key.Matches(k, c.Keys.CustomerPays):
		return showCode(c.ctx, *o, s.p.id, s.p.channel, false), true
	case key.Matches(k, c.Keys.CustomerDeclines):
		return showCode(c.ctx, *o, s.p.id, s.p.channel, true), true
	}
	if d := digitOf(k); d >= 0 {
		if len(s.typed) < 32 {
			s.typed += string(rune('0' + d))
		}
		return nil, true
	}
	return nil, false
}

// charge checks the code against the chosen wallet and sends it.
func (s *barcodeScreen) charge(code string) tea.Cmd {
	c := s.c
	s.typed = ""
	var wrong *paycode.WrongWallet
	switch err := paycode.Check(code, s.p.channel); {
	case errors.As(err, &wrong):
		name := c.Lang.Pick("支付宝", "an Alipay")
		if wrong.Got == api.WeChat {
			name = c.Lang.Pick("微信支付", "a WeChat Pay")
		}
		s.hint = say("bc.wrong", name, channelName(wrong.Got))
		return nil
	case err != nil:
		s.hint = say("bc.notcode")
		return nil
	}
	s.phase = fCreating
	if s.p.reqID == "" {
		s.p.reqID = posclient.NewRequestID()
	}
	return createBarcode(c.ctx, *s.o, s.p.id, s.p.channel, int64(s.p.amount), s.p.trace, s.p.reqID, code)
}

func (s *barcodeScreen) View() string {
	c := s.c
	st := c.Styles
	var b strings.Builder
	b.WriteString("\n  " + st.Title.Render(c.t("bc.title")) + "\n\n")
	b.WriteString("  " + labelCol(c.t("qr.amount"), 10) + st.Amount.Render(money.Fen(s.p.amount).Yuan()) + "\n")
	if s.p.order.OutTradeNo != "" {
		b.WriteString("  " + labelCol(c.t("qr.order"), 10) + s.p.order.OutTradeNo + "\n")
	}
	b.WriteString("\n")
	switch s.phase {
	case fIdle:
		b.WriteString("  " + st.Subtle.Render(c.tf("bc.typed", c.Keys.Confirm.Help().Key)) + "\n")
		if s.typed != "" {
			b.WriteString("  " + st.Amount.Render(s.typed) + "\n")
		}
	case fCreating:
		b.WriteString("  " + st.Subtle.Render(c.t("bc.paying")) + "\n")
	case fOpen:
		if s.p.order.State == api.StateUnknown {
			b.WriteString("  " + st.Warn.Render(c.t("bc.checking")+" "+s.dots()) + "\n")
		} else {
			b.WriteString("  " + st.Good.Render(c.t("bc.confirm")+" "+s.dots()) + "\n")
		}
		if s.lost {
			b.WriteString("  " + st.Warn.Render(c.t("qr.reconnect")) + "\n")
		}
		if !s.note.empty() {
			b.WriteString(para(c, st.Warn, s.note.in(c)) + "\n")
		}
	case fClosing, fGivingBack:
		b.WriteString("  " + st.Subtle.Render(c.t("bc.cancelling")) + "\n")
	}
	b.WriteString(hintLine(c, st.Bad, s.hint))
	return b.String()
}
