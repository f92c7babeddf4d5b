package tui

import (
	"errors"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/money"
	"github.com/multipos/multipos/posclient"
	"github.com/multipos/multipos/receipts"
)

// kindSettle marks the settlement (结算) of the card batch: a payment of
// its own only so that the answers are tagged with the asker's id.
const kindSettle api.Kind = "card_settle"

// settleOperator is who asks, for field 63 of the 0500: the station's one
// operator, as on its receipts.
const settleOperator = "01"

// settleConfirm is 结算 on the bank-card menu: it asks the server for the
// open batch, shows it and warns that settling closes it; Confirm goes on
// to the supervisor password. last, when the station settled before since
// it started, can be printed again from here.
type settleConfirm struct {
	base
	p     *payment
	batch string // the open batch, once the server has said
	busy  bool
	hint  text
	last  *receipts.Receipt
}

func newSettleConfirm(b base, p *payment, last *receipts.Receipt) *settleConfirm {
	return &settleConfirm{base: b, p: p, busy: true, last: last}
}

func (s *settleConfirm) Init() tea.Cmd { return openBatch(s.c.ctx, *s.o, s.p.id) }

func (s *settleConfirm) Name() string        { return "settle" }
func (s *settleConfirm) Title() string       { return channelName(api.Card) + " › " + s.c.t("menu.settle") }
func (s *settleConfirm) Payment() *payment   { return s.p }
func (s *settleConfirm) Busy() bool          { return false }
func (s *settleConfirm) MinSize() (int, int) { return 64, 14 }

func (s *settleConfirm) Help() []key.Binding {
	c := s.c
	var keys []key.Binding
	switch {
	case s.busy:
	case s.batch != "":
		keys = append(keys, as(c.Keys.Confirm, c.t("help.next")))
	default:
		keys = append(keys, as(c.Keys.Confirm, c.t("help.retry")))
	}
	if s.last != nil {
		keys = append(keys, digitsHelp(c, "9", c.t("settle.reprintlast")))
	}
	return append(keys, as(c.Keys.Cancel, c.t("help.back")))
}

func (s *settleConfirm) Update(msg tea.Msg) (next, tea.Cmd) {
	switch msg := msg.(type) {
	case resumeMsg:
		s.hint = msg.hint
	case openBatchMsg:
		s.busy = false
		if msg.err != nil {
			s.hint = sayErr(s.base, msg.err)
			return nil, nil
		}
		s.batch, s.p.batch = msg.batch, msg.batch
	case tea.KeyMsg:
		c := s.c
		switch {
		case key.Matches(msg, c.Keys.Cancel):
			return goBack{to: "menu"}, nil
		case s.last != nil && digitOf(msg) == 9:
			return toReprint{*s.last}, nil
		case s.busy:
		case key.Matches(msg, c.Keys.Confirm) && s.batch != "":
			return toSettleAuth{s.p}, nil
		case key.Matches(msg, c.Keys.Confirm):
			s.busy, s.hint = true, text{}
			return nil, openBatch(c.ctx, *s.o, s.p.id)
		}
	}
	return nil, nil
}

func (s *settleConfirm) View() string {
	c := s.c
	st := c.Styles
	var b strings.Builder
	b.WriteString("\n  " + st.Title.Render(c.t("settle.title")) + "\n\n")
	switch {
	case s.busy:
		b.WriteString("  " + c.t("settle.asking") + "\n")
	case s.batch != "":
		b.WriteString(field(c.t("settle.open"), st.Amount.Render(s.batch), labelsWidth(c, 10, "settle.open")))
		b.WriteString("\n" + para(c, st.Warn, c.t("settle.warn")) + "\n")
		b.WriteString("\n  " + c.tf("settle.goon", c.Keys.Confirm.Help().Key) + "\n")
	}
	if s.last != nil && s.last.Settlement != nil {
		b.WriteString("\n  " + st.Subtle.Render(c.tf("settle.last", s.last.Settlement.Batch, "9")) + "\n")
	}
	b.WriteString(hintLine(c, st.Bad, s.hint))
	return b.String()
}

// settlePhase is where a settlement stands.
type settlePhase int

const (
	setSending  settlePhase = iota // the settlement is out
	setFetching                    // the batch was settled already: asking how
	setDone                        // settled: the totals are shown
	setSettling                    // settled elsewhere right now: try again
	setFailed                      // no answer, or a refusal: try again, same request
)

// settleScreen sends the settlement the supervisor agreed to and shows its
// totals; Confirm then prints the settlement slip (结算单).
type settleScreen struct {
	base
	p     *payment
	reqID string // the settlement's request id: a retry is the same request
	phase settlePhase
	res   api.Settlement
	paper receipts.Receipt // the slip of res, made once so that a reprint is the same slip
	moved bool             // settled before this request (by another station, or the cut-off)
	err   error
}

func newSettleScreen(b base, p *payment) *settleScreen {
	return &settleScreen{base: b, p: p, reqID: posclient.NewRequestID()}
}

func (s *settleScreen) Init() tea.Cmd { return s.send() }

func (s *settleScreen) send() tea.Cmd {
	s.phase, s.err = setSending, nil
	return settleCmd(s.c.ctx, *s.o, s.p.id, s.reqID, api.SettleBatch{Batch: s.p.batch, Operator: settleOperator})
}

func (s *settleScreen) Name() string        { return "settlement" }
func (s *settleScreen) Title() string       { return channelName(api.Card) + " › " + s.c.t("menu.settle") }
func (s *settleScreen) Payment() *payment   { return s.p }
func (s *settleScreen) MinSize() (int, int) { return 64, 19 }

// Busy while the settlement is out: its answer closes the batch.
func (s *settleScreen) Busy() bool { return s.phase == setSending || s.phase == setFetching }

func (s *settleScreen) quitRefusal() text { return say("quit.wait") }

func (s *settleScreen) Help() []key.Binding {
	c := s.c
	switch s.phase {
	case setDone:
		return []key.Binding{as(c.Keys.Confirm, c.t("help.print")), as(c.Keys.Cancel, c.t("help.later"))}
	case setSettling, setFailed:
		return []key.Binding{as(c.Keys.Confirm, c.t("help.retry")), as(c.Keys.Cancel, c.t("help.back"))}
	}
	return nil
}

func (s *settleScreen) Update(msg tea.Msg) (next, tea.Cmd) {
	switch msg := msg.(type) {
	case settledMsg:
		return s.answered(msg)
	case tea.KeyMsg:
		return s.key(msg)
	}
	return nil, nil
}

// answered takes the server's answer: the settlement, a batch settled
// already (then how it was), or why not.
func (s *settleScreen) answered(msg settledMsg) (next, tea.Cmd) {
	var moved *posclient.BatchMovedError
	switch {
	case msg.err == nil:
		s.phase, s.res = setDone, msg.res
		s.moved = s.moved || msg.fetched
		s.paper = s.slip()
		return toSettled{s.paper}, nil
	case errors.As(msg.err, &moved):
		s.phase, s.moved = setFetching, true
		return nil, fetchSettlement(s.c.ctx, *s.o, s.p.id, moved.Batch)
	case errors.Is(msg.err, posclient.ErrSettling):
		s.phase, s.err = setSettling, msg.err
	default:
		s.phase, s.err = setFailed, msg.err
	}
	var ae *api.Error
	if errors.As(msg.err, &ae) {
		// Refused: nothing was done, so the next try is a new request
		// (the same id would get the same refusal back). After no answer
		// the same id is kept: the server may have settled already.
		s.reqID = posclient.NewRequestID()
	}
	return nil, nil
}

func (s *settleScreen) key(k tea.KeyMsg) (next, tea.Cmd) {
	c := s.c
	switch {
	case s.Busy():
	case s.phase == setDone && key.Matches(k, c.Keys.Confirm):
		return toSettleSlip{s.paper}, nil
	case key.Matches(k, c.Keys.Cancel):
		if s.phase == setDone {
			return goHome{notice: say("settle.printlater", "9")}, nil
		}
		return goBack{to: "menu"}, nil
	case key.Matches(k, c.Keys.Confirm) && s.moved:
		return nil, fetchSettlement(c.ctx, *s.o, s.p.id, s.p.batch)
	case key.Matches(k, c.Keys.Confirm):
		return nil, s.send()
	}
	return nil, nil
}

// slip is the settlement slip (结算单) of the settlement shown.
func (s *settleScreen) slip() receipts.Receipt {
	info, _, _ := s.st.terminal()
	r := receipts.Receipt{Lang: s.c.Lang, Demo: s.st.demo(), MerchantName: s.res.MerchantName, MerchantID: s.res.MerchantID,
		TerminalID: s.res.TerminalID, Operator: s.res.By, Time: s.now()}
	if r.MerchantName == "" {
		r.MerchantName = info.MerchantName
	}
	if r.MerchantID == "" {
		r.MerchantID = info.MerchantID
	}
	if r.TerminalID == "" {
		r.TerminalID = s.o.TerminalID
	}
	st := receipts.Settlement{Batch: s.res.Batch, NextBatch: s.res.NextBatch, From: s.res.From.Local(), To: s.res.To.Local(),
		DebitCount: s.res.DebitCount, DebitAmount: s.res.DebitAmount, CreditCount: s.res.CreditCount,
		CreditAmount: s.res.CreditAmount, Net: s.res.Net, Balanced: s.res.Balanced, Uploaded: s.res.Uploaded,
		Reversals: s.res.Reversals, Cutoff: s.res.By == api.SettledByCutoff}
	if st.Cutoff {
		r.Operator = ""
	}
	for _, k := range s.res.Totals {
		st.Totals = append(st.Totals, receipts.KindTotal{Type: settleType(k.Kind), Count: k.Count, Amount: k.Amount})
	}
	return receipts.NewSettlementSlip(r, st)
}

func settleType(k api.Kind) receipts.Type {
	switch k {
	case api.KindCardVoid:
		return receipts.Void
	case api.KindCardRefund:
		return receipts.Refund
	case api.KindCardSale:
		return receipts.Sale
	}
	return receipts.Type(k)
}

func (s *settleScreen) View() string {
	c := s.c
	st := c.Styles
	var b strings.Builder
	b.WriteString("\n")
	switch s.phase {
	case setSending:
		b.WriteString("  " + c.tf("settle.sending", s.p.batch) + "\n")
	case setFetching:
		b.WriteString(para(c, st.Warn, c.tf("settle.moved", s.p.batch)) + "\n\n")
		b.WriteString("  " + c.t("settle.fetching") + "\n")
	case setSettling:
		b.WriteString(para(c, st.Warn, c.t("settle.busy")) + "\n\n")
		b.WriteString("  " + c.tf("settle.retry", c.Keys.Confirm.Help().Key) + "\n")
	case setFailed:
		b.WriteString(para(c, st.Bad, c.tf("settle.failed", errText(s.base, s.err))) + "\n\n")
		b.WriteString(para(c, st.Hint, c.tf("settle.again", c.Keys.Confirm.Help().Key)) + "\n")
	case setDone:
		s.totals(&b)
	}
	return b.String()
}

// totals draws the settlement: the verdict, the batches and the table.
func (s *settleScreen) totals(b *strings.Builder) {
	c := s.c
	st := c.Styles
	r := s.res
	switch {
	case r.By == api.SettledByCutoff: // asked after the cut-off did it
		b.WriteString(para(c, st.Warn, c.tf("settle.wascutoff", r.Batch)) + "\n")
	case s.moved:
		b.WriteString(para(c, st.Warn, c.tf("settle.wasdone", r.Batch)) + "\n")
	default:
		b.WriteString("  " + st.Good.Render("✓ "+c.t("settle.done")) + "\n")
	}
	if r.Balanced {
		b.WriteString("  " + st.Good.Render(c.t("settle.balanced")) + "\n\n")
	} else {
		b.WriteString("  " + st.Bad.Render(c.tf("settle.unbalanced", r.Uploaded)) + "\n\n")
	}
	w := labelsWidth(c, 10, "settle.batch", "settle.period", "settle.net", "settle.next", "settle.reversals")
	b.WriteString(field(c.t("settle.batch"), r.Batch, w))
	b.WriteString(field(c.t("settle.period"), r.From.In(s.now().Location()).Format("01-02 15:04")+" – "+
		r.To.In(s.now().Location()).Format("01-02 15:04"), w))
	b.WriteString("\n  " + st.Subtle.Render(row(c.t("settle.kind"), c.t("settle.count"), c.t("settle.amount"), w)) + "\n")
	for _, k := range r.Totals {
		b.WriteString("  " + row(c.t(kindAction(k.Kind).label()), fmt.Sprint(k.Count), money.Fen(k.Amount).Yuan(), w) + "\n")
	}
	b.WriteString("  " + row(c.t("settle.debit"), fmt.Sprint(r.DebitCount), money.Fen(r.DebitAmount).Yuan(), w) + "\n")
	b.WriteString("  " + row(c.t("settle.credit"), fmt.Sprint(r.CreditCount), money.Fen(r.CreditAmount).Yuan(), w) + "\n")
	b.WriteString("  " + st.Amount.Render(row(c.t("settle.net"), "", money.Fen(r.Net).Yuan(), w)) + "\n")
	b.WriteString(field(c.t("settle.reversals"), fmt.Sprint(r.Reversals), w))
	b.WriteString(field(c.t("settle.next"), r.NextBatch, w))
	b.WriteString("\n  " + c.tf("settle.print", c.Keys.Confirm.Help().Key) + "\n")
}

// padLeft right-aligns s in w cells.
func padLeft(s string, w int) string {
	return strings.Repeat(" ", max(0, w-ansi.StringWidth(s))) + s
}

// row is a line of the totals table: the kind in the label column, the
// count and amount right-aligned after it.
func row(kind, count, amount string, w int) string {
	return labelCol(kind, w) + padLeft(count, 6) + padLeft(amount, 18)
}
