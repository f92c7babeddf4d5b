package tui

import (
	"encoding/hex"
	"errors"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/money"
)

// procPhase is where a sale stands on the processing screen.
type procPhase int

const (
	procSending  procPhase = iota // the sale is on its way
	procUnknown                   // no answer: the sale may or may not have been made
	procChecking                  // asking the server what became of the sale
	procRefused                   // the server refused the request: nothing was sent to the bank
)

// processing sends the sale and waits for the bank's answer. When the
// answer is lost it never lets the cashier go without knowing the outcome:
// Confirm resends with the same trace (the server answers a replay with the
// sale it already made), Esc asks the server what became of that trace.
type processing struct {
	base
	p     *payment
	phase procPhase
	hint  text
}

func newProcessing(b base, p *payment) *processing { return &processing{base: b, p: p} }

func (s *processing) Init() tea.Cmd       { return s.send() }
func (s *processing) Name() string        { return "processing" }
func (s *processing) Title() string       { return channelName(api.Card) + " › " + s.c.t(s.p.opLabel()) }
func (s *processing) Payment() *payment   { return s.p }
func (s *processing) Busy() bool          { return s.phase != procRefused }
func (s *processing) MinSize() (int, int) { return 60, 13 }

func (s *processing) Help() []key.Binding {
	c := s.c
	switch s.phase {
	case procUnknown:
		return []key.Binding{as(c.Keys.Confirm, c.t("help.retry")), as(c.Keys.Cancel, c.t("help.check"))}
	case procRefused:
		return []key.Binding{as(c.Keys.Confirm, c.t("help.back"))}
	}
	return nil
}

func (s *processing) send() tea.Cmd {
	ctx, o := s.c.ctx, *s.o
	p := s.p
	card := p.card
	icc := strings.ToUpper(hex.EncodeToString(card.ICC))
	switch p.kind {
	case api.KindCardVoid, api.KindCardRefund:
		return cardAdjust(ctx, o, p.id, p.kind, p.trace, p.reqID, api.CardAdjust{Original: p.original.ID,
			Amount: int64(p.amount), PAN: card.PAN, Expiry: card.Expiry, Track2: card.Track2, Entry: string(card.Entry),
			CardSeq: card.PANSequence, ICC: icc})
	case kindBalance:
		return cardBalance(ctx, o, p.id, api.CardBalance{PAN: card.PAN, Expiry: card.Expiry, Track2: card.Track2,
			Entry: string(card.Entry), CardSeq: card.PANSequence, ICC: icc}, p.pinBlock)
	}
	req := api.CardSale{
		Amount: int64(p.amount), PAN: card.PAN, Expiry: card.Expiry,
		Track2: card.Track2, Entry: string(card.Entry), CardSeq: card.PANSequence, ICC: icc,
	}
	return cardSale(ctx, o, p.id, p.trace, p.reqID, req, p.pinBlock)
}

func (s *processing) Update(msg tea.Msg) (next, tea.Cmd) {
	c := s.c
	switch msg := msg.(type) {
	case balanceMsg:
		s.p.trace = msg.trace
		s.p.forgetCard()
		if msg.err != nil {
			// Nothing moved: the cashier simply asks again.
			s.phase, s.hint = procRefused, sayErr(s.base, msg.err)
			return nil, s.cardDone()
		}
		s.p.balance = msg.res
		return toBalance{s.p}, s.cardDone()
	case orderMsg:
		return s.answer(msg)
	case tea.KeyMsg:
		switch {
		case s.phase == procUnknown && key.Matches(msg, c.Keys.Confirm):
			s.phase, s.hint = procSending, text{}
			return nil, s.send()
		case s.phase == procUnknown && key.Matches(msg, c.Keys.Cancel):
			s.phase = procChecking
			return nil, lookupTrace(c.ctx, *s.o, s.p.id, s.p.trace)
		case s.phase == procRefused && (key.Matches(msg, c.Keys.Confirm) || key.Matches(msg, c.Keys.Cancel)):
			return goHome{}, nil
		}
	}
	return nil, nil
}

func (s *processing) answer(msg orderMsg) (next, tea.Cmd) {
	c := s.c
	if msg.trace != "" {
		s.p.trace, s.p.reqID = msg.trace, msg.reqID
	}
	var ae *api.Error
	switch {
	case msg.err == nil:
		s.p.order = msg.order
		s.p.forgetCard()
		return toResult{s.p}, s.cardDone()
	case msg.op == opLookup && errors.As(msg.err, &ae) && ae.Code == api.CodeNotFound:
		// The sale never reached the server: nothing can have been charged.
		s.p.forgetCard()
		return goHome{notice: say("card.notsent")}, s.cardDone()
	case msg.op == opSale && errors.As(msg.err, &ae):
		s.phase = procRefused
		s.hint = sayErr(s.base, msg.err)
		s.p.forgetCard()
		var cmd tea.Cmd
		if ae.Code == api.CodeSignOnRequired || ae.Code == api.CodeBadMAC {
			// The server holds other keys than ours: ours are useless
			// until the next sign-on. Nothing reached the bank.
			cmd = ask(keysRefusedMsg{})
		}
		return nil, tea.Batch(cmd, s.cardDone())
	}
	s.phase = procUnknown
	s.hint = say("card.unknown", sayErr(s.base, msg.err), c.Keys.Confirm.Help().Key, c.Keys.Cancel.Help().Key)
	return nil, nil
}

// cardDone: the reader is done with the card, and the cardholder takes it
// back (in demo mode the trainer's cardholder does, so that the reader
// and the status bar say so as a real one would).
func (s *processing) cardDone() tea.Cmd { return removeCard(s.c.ctx, *s.o) }

func (s *processing) View() string {
	c := s.c
	st := c.Styles
	var b strings.Builder
	b.WriteString("\n" + saleHeader(c, s.p))
	if s.p.trace != "" {
		b.WriteString(field(c.t("result.trace"), s.p.trace, 10))
	}
	b.WriteString("\n")
	switch s.phase {
	case procSending:
		b.WriteString("  " + st.Title.Render(c.t("card.processing")) + "\n")
	case procChecking:
		b.WriteString("  " + st.Title.Render(c.t("card.checking")) + "\n")
	}
	if !s.hint.empty() {
		b.WriteString(para(c, st.Bad, s.hint.in(c)) + "\n")
	}
	return b.String()
}

// saleHeader is the amount and masked card lines that head the PIN and
// processing screens.
func saleHeader(c *Common, p *payment) string {
	return field(c.t("qr.amount"), c.Styles.Amount.Render(money.Fen(p.amount).Yuan()), 10) +
		field(c.t("card.number"), p.card.Masked(), 10)
}
