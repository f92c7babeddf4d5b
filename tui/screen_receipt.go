package tui

import (
	"path/filepath"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/multipos/multipos/devices"
	"github.com/multipos/multipos/money"
	"github.com/multipos/multipos/receipts"
	"github.com/multipos/multipos/server/api"
)

// receiptScreen prints the merchant copy, then on Confirm the customer copy,
// then on Confirm returns to the channel list (patent S109: "Confirm twice").
type receiptScreen struct {
	c        *Common
	p        *payment
	copy     receipts.Copy
	printing bool
	where    string
	err      error
	scroll   int
}

func newReceipt(c *Common, p *payment) (Screen, tea.Cmd) {
	s := &receiptScreen{c: c, p: p, copy: receipts.MerchantCopy}
	return s, s.print()
}

func (s *receiptScreen) Name() string      { return "receipt" }
func (s *receiptScreen) Title() string     { return channelName(s.p.channel) }
func (s *receiptScreen) Payment() *payment { return s.p }
func (s *receiptScreen) Busy() bool        { return s.printing }

func (s *receiptScreen) print() tea.Cmd {
	s.printing, s.err, s.where, s.scroll = true, nil, "", 0
	return printReceipt(s.c.opts, s.p.id, s.receipt())
}

// receipt builds the receipt model of the current copy from the payment.
func (s *receiptScreen) receipt() receipts.Receipt {
	c := s.c
	o := s.p.order
	r := receipts.Receipt{
		Lang:         c.Lang,
		Copy:         s.copy,
		Demo:         c.demo(),
		MerchantName: c.Info.MerchantName,
		MerchantID:   c.Info.MerchantID,
		TerminalID:   c.opts.TerminalID,
		Operator:     "01",
		Channel:      string(s.p.channel),
		Type:         receipts.Sale,
		Amount:       money.Fen(o.Amount),
		Trace:        o.Trace,
		Time:         o.UpdatedAt.Local(),
	}
	switch s.p.kind {
	case api.KindCardVoid:
		r.Type, r.OrigTrace = receipts.Void, s.p.original.Trace
	case api.KindCardRefund:
		r.Type, r.OrigTrace = receipts.Refund, s.p.original.Trace
	}
	if s.p.channel == api.Card {
		r.MaskedPAN, r.Expiry, r.Entry = o.MaskedPAN, s.p.card.ExpiryText(), o.Entry
		r.AuthCode, r.RRN, r.Batch = o.AuthCode, o.RRN, o.Batch
	} else {
		r.OrderNo, r.TradeNo = o.OutTradeNo, o.TradeNo
	}
	return r
}

func (s *receiptScreen) copyName() string {
	if s.copy == receipts.MerchantCopy {
		return s.c.t("receipt.merchant")
	}
	return s.c.t("receipt.customer")
}

func (s *receiptScreen) Help() []key.Binding {
	c := s.c
	if s.printing {
		return []key.Binding{c.Keys.Up}
	}
	if s.err != nil {
		return []key.Binding{as(c.Keys.Confirm, c.t("help.retry")), as(c.Keys.Cancel, c.t("help.cancel")), as(c.Keys.Up, c.t("help.scroll"))}
	}
	return []key.Binding{c.Keys.Confirm, as(c.Keys.Up, c.t("help.scroll"))}
}

func (s *receiptScreen) Update(msg tea.Msg) (Screen, tea.Cmd) {
	c := s.c
	switch msg := msg.(type) {
	case printedMsg:
		if msg.copy != int(s.copy) {
			return s, nil
		}
		s.printing, s.where, s.err = false, msg.where, msg.err
	case tea.KeyMsg:
		switch {
		case key.Matches(msg, c.Keys.Up):
			s.scroll = max(0, s.scroll-1)
		case key.Matches(msg, c.Keys.Down):
			lines, room := s.page()
			s.scroll = min(s.scroll+1, max(0, len(lines)-room))
		case s.printing:
		case key.Matches(msg, c.Keys.Confirm) && s.err != nil:
			return s, s.print()
		case key.Matches(msg, c.Keys.Confirm), key.Matches(msg, c.Keys.Cancel) && s.err != nil:
			if s.copy == receipts.MerchantCopy {
				s.copy = receipts.CustomerCopy
				return s, s.print()
			}
			return newChannelList(c), nil
		}
	}
	return s, nil
}

func (s *receiptScreen) View() string {
	c := s.c
	st := c.Styles
	lines, room := s.page()
	top := min(s.scroll, max(0, len(lines)-room))
	shown := lines[top:min(len(lines), top+room)]
	paper := st.Receipt.Render(strings.Join(shown, "\n"))

	var side strings.Builder
	side.WriteString(st.Title.Render(s.copyName()) + "\n")
	side.WriteString(padRight(c.t("qr.amount"), 8) + st.Amount.Render(money.Fen(s.p.order.Amount).Yuan()) + "\n\n")
	switch {
	case s.printing:
		side.WriteString(c.tf("receipt.printing", s.copyName()) + "\n")
	case s.err != nil:
		side.WriteString(st.Bad.Render(c.tf("receipt.failed", s.printerProblem())) + "\n\n")
		side.WriteString(c.tf("receipt.retry", c.Keys.Confirm.Help().Key, c.Keys.Cancel.Help().Key) + "\n")
	default:
		if c.opts.Printer == nil {
			side.WriteString(st.Warn.Render(c.t("receipt.noprinter")) + "\n")
		} else {
			side.WriteString(st.Good.Render("✓ "+c.tf("receipt.printed", s.copyName())) + "\n")
		}
		if s.where != "" {
			side.WriteString(st.Subtle.Render(c.tf("receipt.saved", filepath.Base(s.where))) + "\n")
		}
		side.WriteString("\n")
		if s.copy == receipts.MerchantCopy {
			side.WriteString(c.tf("receipt.nextcopy", c.Keys.Confirm.Help().Key) + "\n")
		} else {
			side.WriteString(c.tf("receipt.done", c.Keys.Confirm.Help().Key) + "\n")
		}
	}
	sideW := max(16, c.Width-lipgloss.Width(paper)-6)
	return "\n" + lipgloss.JoinHorizontal(lipgloss.Top, "  ", paper, "   ", lipgloss.NewStyle().Width(sideW).Render(side.String()))
}

// page returns the receipt's lines and how many fit on screen.
func (s *receiptScreen) page() ([]string, int) {
	text := receipts.Text(s.receipt(), s.c.opts.PrinterWidth)
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if s.c.Height <= 0 {
		return lines, len(lines)
	}
	return lines, max(3, s.c.Height-3-3) // body minus the box borders and a blank line
}

// printerProblem says what is wrong with the printer in the cashier's words.
func (s *receiptScreen) printerProblem() string {
	switch printerStateOf(s.err) {
	case devices.PrinterPaperOut:
		return s.c.t("receipt.paperout")
	case devices.PrinterCoverOpen:
		return s.c.t("receipt.coveropen")
	}
	return s.c.t("receipt.offline") + " (" + s.err.Error() + ")"
}
