package tui

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/devices"
	"github.com/multipos/multipos/money"
	"github.com/multipos/multipos/receipts"
	"github.com/multipos/multipos/receipts/spool"
)

// receiptScreen prints the merchant copy, then on Confirm the customer copy,
// then on Confirm returns to the channel list (patent S109: "Confirm twice").
// Each copy goes into the print queue first: a copy the printer cannot take
// now stays queued and prints when it is back, so skipping it loses nothing.
type receiptScreen struct {
	base
	p    *payment
	slip receipts.Receipt // the receipt, whichever copy
	copy receipts.Copy

	queuing  bool   // the copy is being written to the queue
	job      string // the queue job of the copy on screen
	printing bool   // queued and not yet printed or failed
	started  bool   // the printer is taking it now: leaving could tear it
	sent     int    // bytes sent of total, while printing
	total    int
	where    string
	err      error // the last attempt failed; the copy is still queued
	scroll   int
}

func newReceipt(b base, p *payment) *receiptScreen {
	s := &receiptScreen{base: b, p: p, slip: receiptOf(b, p), copy: receipts.MerchantCopy}
	s.queuing = true
	return s
}

// newReprint prints a receipt again (重打印), both copies, marked REPRINT;
// p is a payment of its own, for the print queue's answers.
func newReprint(b base, r receipts.Receipt, p *payment) *receiptScreen {
	r.Reprint, r.Demo = true, r.Demo || b.st.demo()
	s := &receiptScreen{base: b, p: p, slip: r, copy: receipts.MerchantCopy}
	s.queuing = true
	return s
}

// newSettleSlip prints a settlement slip (结算单): one copy, the merchant's.
func newSettleSlip(b base, r receipts.Receipt, p *payment) *receiptScreen {
	return &receiptScreen{base: b, p: p, slip: r, copy: receipts.MerchantCopy, queuing: true}
}

// settlement is whether the slip is a settlement slip: one copy only.
func (s *receiptScreen) settlement() bool { return s.slip.Settlement != nil }

// Init queues the merchant copy.
func (s *receiptScreen) Init() tea.Cmd { return queueReceipt(*s.o, s.p.id, s.receipt()) }

func (s *receiptScreen) MinSize() (int, int) { return s.o.PrinterWidth + 2 + 5 + 24, 11 }

func (s *receiptScreen) Name() string      { return "receipt" }
func (s *receiptScreen) Title() string     { return channelName(api.Channel(s.slip.Channel)) }
func (s *receiptScreen) Payment() *payment { return s.p }

// Busy is while the copy is written to the queue or going to the printer.
// A copy waiting behind others (a printer that is out of paper or away)
// does not hold the cashier: it prints by itself when the printer is back.
func (s *receiptScreen) Busy() bool { return s.queuing || s.printing && s.started }

func (s *receiptScreen) print() tea.Cmd {
	s.queuing, s.printing, s.started, s.err, s.where, s.job, s.sent, s.total, s.scroll = true, false, false, nil, "", "", 0, 0, 0
	return queueReceipt(*s.o, s.p.id, s.receipt())
}

// receiptOf builds the receipt model from a payment.
func receiptOf(b base, p *payment) receipts.Receipt {
	o := p.order
	info, _, _ := b.st.terminal()
	r := receipts.Receipt{
		Lang:         b.c.Lang,
		Demo:         b.st.demo(),
		MerchantName: info.MerchantName,
		MerchantID:   info.MerchantID,
		TerminalID:   b.o.TerminalID,
		Operator:     "01",
		Channel:      string(p.channel),
		Type:         receipts.Sale,
		Amount:       money.Fen(o.Amount),
		Trace:        o.Trace,
		OrderNo:      o.OutTradeNo,
		Time:         o.UpdatedAt.Local(),
	}
	switch p.kind {
	case api.KindCardVoid:
		r.Type, r.OrigTrace = receipts.Void, p.original.Trace
	case api.KindCardRefund:
		r.Type, r.OrigTrace = receipts.Refund, p.original.Trace
	}
	if p.channel == api.Card {
		r.MaskedPAN, r.Expiry, r.Entry = o.MaskedPAN, p.card.ExpiryText(), o.Entry
		r.AuthCode, r.RRN, r.Batch = o.AuthCode, o.RRN, o.Batch
	} else {
		r.TradeNo = o.TradeNo
	}
	return r
}

// receipt is the copy on screen.
func (s *receiptScreen) receipt() receipts.Receipt {
	r := s.slip
	r.Copy = s.copy
	if s.settlement() {
		r.Copy = 0 // nobody's copy: the merchant's record of the batch
	}
	return r
}

func (s *receiptScreen) copyName() string {
	if s.settlement() {
		return s.c.t("settle.slip")
	}
	if s.copy == receipts.MerchantCopy {
		return s.c.t("receipt.merchant")
	}
	return s.c.t("receipt.customer")
}

func (s *receiptScreen) Help() []key.Binding {
	c := s.c
	if s.Busy() {
		return []key.Binding{c.Keys.Up}
	}
	if s.err != nil {
		return []key.Binding{as(c.Keys.Confirm, c.t("help.retry")), as(c.Keys.Cancel, c.t("help.later")), as(c.Keys.Up, c.t("help.scroll"))}
	}
	return []key.Binding{c.Keys.Confirm, as(c.Keys.Up, c.t("help.scroll"))}
}

func (s *receiptScreen) Update(msg tea.Msg) (next, tea.Cmd) {
	switch msg := msg.(type) {
	case queuedMsg:
		s.queued(msg)
	case printEventMsg:
		if msg.ev.Job.ID == s.job && s.job != "" { // not another copy's news
			s.news(msg.ev)
		}
	case tea.KeyMsg:
		return s.key(msg)
	}
	return nil, nil
}

func (s *receiptScreen) queued(msg queuedMsg) {
	if msg.copy != int(s.receipt().Copy) || !s.queuing {
		return
	}
	s.queuing = false
	if msg.err != nil {
		s.err = msg.err // not even queued: Confirm tries again
		return
	}
	if msg.job == "" { // no printer: on screen only
		return
	}
	s.job, s.printing = msg.job, true
	if ev, ok := s.st.printNews(msg.job); ok {
		s.news(ev) // the queue was quicker than the answer to Add
	}
}

func (s *receiptScreen) key(msg tea.KeyMsg) (next, tea.Cmd) {
	c := s.c
	switch {
	case key.Matches(msg, c.Keys.Up):
		s.scroll = max(0, s.scroll-1)
	case key.Matches(msg, c.Keys.Down):
		lines, room := s.page()
		s.scroll = min(s.scroll+1, max(0, len(lines)-room))
	case s.Busy():
	case key.Matches(msg, c.Keys.Confirm) && s.err != nil && s.job == "":
		return nil, s.print()
	case key.Matches(msg, c.Keys.Confirm) && s.err != nil:
		// The paper is in (or the cable back): the queue tries now,
		// not at its next look.
		s.printing, s.started, s.err = true, false, nil
		return nil, kickPrinter(*s.o)
	case key.Matches(msg, c.Keys.Confirm), key.Matches(msg, c.Keys.Cancel) && s.err != nil:
		if s.copy == receipts.MerchantCopy && !s.settlement() {
			s.copy = receipts.CustomerCopy
			return nil, s.print()
		}
		return goHome{}, nil
	}
	return nil, nil
}

// news applies what the queue says about the copy on screen.
func (s *receiptScreen) news(ev spool.Event) {
	switch ev.Kind {
	case spool.Printing:
		s.printing, s.started, s.err = true, true, nil
		s.sent, s.total = ev.Sent, ev.Total
	case spool.Printed:
		s.printing, s.started, s.err, s.where = false, false, nil, ev.Where
	case spool.Failed:
		s.printing, s.started, s.err = false, false, ev.Err
	}
}

func (s *receiptScreen) View() string {
	c := s.c
	st := c.Styles
	lines, room := s.page()
	top := min(s.scroll, max(0, len(lines)-room))
	shown := lines[top:min(len(lines), top+room)]
	paper := st.Receipt.Render(strings.Join(shown, "\n"))

	var side strings.Builder
	title := s.copyName()
	if s.slip.Reprint {
		title = c.t("receipt.reprint") + " · " + title
	}
	side.WriteString(st.Title.Render(title) + "\n")
	amount := "qr.amount"
	if s.settlement() {
		amount = "settle.net"
	}
	side.WriteString(labelCol(c.t(amount), 8) + st.Amount.Render(s.slip.Amount.Yuan()) + "\n\n")
	switch {
	case s.queuing:
		side.WriteString(c.tf("receipt.printing", s.copyName()) + "\n")
	case s.printing && !s.started && s.st.queued() > 1:
		// Behind other receipts, most likely a printer that is not ready:
		// the cashier may go on.
		side.WriteString(c.tf("receipt.waiting", s.copyName(), s.st.queued()-1) + "\n\n")
		side.WriteString(c.tf("receipt.goon", c.Keys.Confirm.Help().Key) + "\n")
	case s.printing:
		side.WriteString(c.tf("receipt.printing", s.copyName()) + "\n")
		if s.total > 0 {
			side.WriteString(progressBar(s.sent, s.total, 20) + fmt.Sprintf(" %d/%d B", s.sent, s.total) + "\n")
		}
		if n := s.st.queued() - 1; n > 0 {
			side.WriteString(st.Subtle.Render(c.tf("receipt.ahead", n)) + "\n")
		}
	case s.err != nil && s.job == "":
		side.WriteString(st.Bad.Render(c.tf("receipt.notqueued", s.err.Error())) + "\n\n")
		side.WriteString(c.tf("receipt.skipnq", c.Keys.Confirm.Help().Key, c.Keys.Cancel.Help().Key) + "\n")
	case s.err != nil:
		// Short lines: the side panel beside an 80 mm receipt is narrow.
		side.WriteString(st.Bad.Render(c.tf("receipt.notprinted", s.copyName())) + "\n")
		side.WriteString(st.Bad.Render(s.printerProblem()) + "\n")
		side.WriteString(c.t("receipt.again") + "\n\n")
		side.WriteString(c.tf("receipt.now", c.Keys.Confirm.Help().Key) + "\n")
		side.WriteString(c.tf("receipt.later", c.Keys.Cancel.Help().Key) + "\n")
	default:
		if s.o.Prints == nil {
			side.WriteString(st.Warn.Render(c.t("receipt.noprinter")) + "\n")
		} else {
			side.WriteString(st.Good.Render("✓ "+c.tf("receipt.printed", s.copyName())) + "\n")
		}
		if s.where != "" && filepath.IsAbs(s.where) {
			side.WriteString(st.Subtle.Render(c.tf("receipt.saved", filepath.Base(s.where))) + "\n")
		}
		side.WriteString("\n")
		if s.copy == receipts.MerchantCopy && !s.settlement() {
			side.WriteString(c.tf("receipt.nextcopy", c.Keys.Confirm.Help().Key) + "\n")
		} else {
			side.WriteString(c.tf("receipt.done", c.Keys.Confirm.Help().Key) + "\n")
		}
	}
	sideW := max(16, c.Width-lipgloss.Width(paper)-6)
	return "\n" + lipgloss.JoinHorizontal(lipgloss.Top, "  ", paper, "   ", lipgloss.NewStyle().Width(sideW).Render(side.String()))
}

func progressBar(done, total, w int) string {
	n := done * w / max(total, 1)
	return "[" + strings.Repeat("█", n) + strings.Repeat("░", w-n) + "]"
}

// page returns the receipt's lines and how many fit on screen.
func (s *receiptScreen) page() ([]string, int) {
	text := receipts.Text(s.receipt(), s.o.PrinterWidth)
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if s.c.Height <= 0 {
		return lines, len(lines)
	}
	// The body is the height less header, status and two lines of help
	// (it wraps in training mode), less the box borders and a blank line.
	return lines, max(3, s.c.Height-4-3)
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
