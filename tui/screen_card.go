package tui

import (
	"context"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/cards"
	"github.com/multipos/multipos/devices"
	"github.com/multipos/multipos/money"
)

// cardPrompt asks for the card (patent S305): swipe or insert.
type cardPrompt struct {
	base
	p        *payment
	choosing bool // demo: the test-card list is open
	hint     text
	// held is a card read while the app was still signing on; it goes on
	// once the keys are there.
	held *devices.CardEvent
}

func newCardPrompt(b base, p *payment) *cardPrompt {
	s := &cardPrompt{base: b, p: p}
	s.hint = s.keyProblem()
	if s.hint.empty() && b.o.Reader != nil && b.o.Reader.State() == devices.ReaderCardPresent {
		// Inserted before this screen: its read went to another screen.
		// A reader tells of a card once, so the cashier inserts it again.
		s.hint = say("card.present")
		if b.o.Trainer != nil {
			s.hint = say("card.presentdemo", b.c.Keys.InsertCard.Help().Key)
		}
	}
	return s
}

// keyProblem says why cards cannot be taken with this terminal's PIN key.
func (s *cardPrompt) keyProblem() text {
	switch k := s.st.keys(); {
	case k.none:
		return say("card.nokey")
	case k.busy:
		return say("card.signing")
	case !k.signed:
		return say("card.notsigned")
	}
	return text{}
}

func (s *cardPrompt) Name() string        { return "card" }
func (s *cardPrompt) Title() string       { return channelName(api.Card) + " › " + s.c.t(s.p.opLabel()) }
func (s *cardPrompt) Payment() *payment   { return s.p }
func (s *cardPrompt) Busy() bool          { return false }
func (s *cardPrompt) MinSize() (int, int) { return 66, 19 }

func (s *cardPrompt) Help() []key.Binding {
	c := s.c
	if s.choosing {
		return []key.Binding{digitsHelp(c, fmt.Sprintf("1-%d", len(s.o.Trainer.TestCards())), c.t("help.select")), as(c.Keys.Cancel, c.t("help.back"))}
	}
	return []key.Binding{as(c.Keys.Cancel, c.t("help.back")), c.Keys.InsertCard}
}

func (s *cardPrompt) Update(msg tea.Msg) (next, tea.Cmd) {
	switch msg := msg.(type) {
	case resumeMsg:
		s.hint = msg.hint
		if s.hint.empty() {
			s.hint = s.keyProblem()
		}
	case tea.KeyMsg:
		return s.key(msg)
	case trainerMsg:
		if msg.err != nil {
			s.hint = say("trainer.error", msg.err)
		}
	case readerMsg:
		return s.cardEvent(msg.ev), nil
	case signOnMsg:
		s.hint = s.keyProblem()
		ev := s.held
		s.held = nil // taken now, or never: the sign-on failed
		if ev != nil && s.hint.empty() {
			return s.cardEvent(*ev), nil
		}
	}
	return nil, nil
}

func (s *cardPrompt) key(k tea.KeyMsg) (next, tea.Cmd) {
	c, o := s.c, s.o
	switch {
	case key.Matches(k, c.Keys.Cancel) && s.choosing:
		s.choosing = false
	case key.Matches(k, c.Keys.Cancel):
		return goBack{}, nil
	case key.Matches(k, c.Keys.InsertCard) && o.Trainer != nil:
		s.choosing = true
	case s.choosing:
		tcs := o.Trainer.TestCards()
		if d := digitOf(k); d >= 1 && d <= len(tcs) {
			s.choosing = false
			id := tcs[d-1].ID
			return nil, trainerAct(c.ctx, *o, s.p.id, func(ctx context.Context) error { return o.Trainer.InsertTestCard(ctx, id) })
		}
	}
	return nil, nil
}

func (s *cardPrompt) cardEvent(ev devices.CardEvent) next {
	switch ev.Kind {
	case devices.CardInserted, devices.CardSwiped:
		if why := s.keyProblem(); !why.empty() {
			if s.st.keys().busy {
				s.held = &ev
			}
			s.hint = why
			return nil
		}
		if !cards.ValidPAN(ev.Card.PAN) {
			s.hint = say("card.badpan")
			return nil
		}
		if ev.Kind == devices.CardSwiped && cards.HasChip(ev.Card.ServiceCode) {
			// EMV rules: a chip card is read from its chip, never its stripe.
			s.hint = say("card.insertchip")
			return nil
		}
		if o := s.p.original; o.ID != "" && cards.Mask(ev.Card.PAN) != o.MaskedPAN {
			s.hint = say("card.notorig", o.MaskedPAN)
			return nil
		}
		s.p.card = ev.Card
		return toCardCheck{s.p}
	case devices.CardReadError:
		s.hint = say("card.readfail", ev.Err)
	case devices.CardRemoved:
		s.held = nil
		if s.hint.key == "card.present" || s.hint.key == "card.presentdemo" {
			s.hint = text{}
		}
	}
	return nil
}

func (s *cardPrompt) View() string {
	c := s.c
	st := c.Styles
	var b strings.Builder
	b.WriteString("\n")
	if s.p.amount > 0 {
		b.WriteString(field(c.t("qr.amount"), st.Amount.Render(money.Fen(s.p.amount).Yuan()), 12))
	}
	if o := s.p.original; o.ID != "" {
		b.WriteString(field(c.t("orig.trace"), o.Trace, 12) + field(c.t("orig.card"), o.MaskedPAN, 12))
	}
	b.WriteString("\n")
	box := st.Box.Padding(1, 4).Render(st.Title.Render(c.t("card.title")))
	b.WriteString(indent(box, 2) + "\n")
	if s.o.Reader == nil {
		b.WriteString("\n  " + st.Warn.Render(c.t("card.noreader")) + "\n")
	}
	if s.choosing {
		b.WriteString("\n  " + st.Title.Render(c.t("card.choose")) + "\n")
		tcs := s.o.Trainer.TestCards()
		w := 0
		for _, tc := range tcs {
			w = max(w, ansi.StringWidth(tc.Label(c.Lang)))
		}
		for i, tc := range tcs {
			b.WriteString(fmt.Sprintf("  %s  %s  %s\n", st.ItemNum.Render(fmt.Sprint(i+1)), padRight(tc.Label(c.Lang), w), st.Subtle.Render(tc.Hint)))
		}
	}
	b.WriteString(hintLine(c, st.Bad, s.hint))
	return b.String()
}

// cardConfirm shows the masked card number for the cashier to check (S306).
type cardConfirm struct {
	base
	p *payment
}

func (s *cardConfirm) Name() string        { return "card-confirm" }
func (s *cardConfirm) Title() string       { return channelName(api.Card) + " › " + s.c.t(s.p.opLabel()) }
func (s *cardConfirm) Payment() *payment   { return s.p }
func (s *cardConfirm) Busy() bool          { return false }
func (s *cardConfirm) MinSize() (int, int) { return 50, 11 }

func (s *cardConfirm) Help() []key.Binding {
	return []key.Binding{s.c.Keys.Confirm, as(s.c.Keys.Cancel, s.c.t("help.back"))}
}

func (s *cardConfirm) Update(msg tea.Msg) (next, tea.Cmd) {
	c := s.c
	switch msg := msg.(type) {
	case tea.KeyMsg:
		switch {
		case key.Matches(msg, c.Keys.Confirm) && (s.p.kind == api.KindCardVoid || s.p.kind == api.KindCardRefund):
			// Money back to the card: no PIN (the supervisor password was).
			return toSend{s.p}, nil
		case key.Matches(msg, c.Keys.Confirm):
			return toPIN{s.p}, nil
		case key.Matches(msg, c.Keys.Cancel):
			s.p.card = cards.Card{}
			return goBack{}, nil
		}
	case readerMsg:
		if msg.ev.Kind == devices.CardRemoved {
			return cardRemoved(s.base, s.p), nil
		}
	}
	return nil, nil
}

// cardRemoved goes back to the card prompt after the card left the reader
// mid-flow.
func cardRemoved(b base, p *payment) next {
	p.card = cards.Card{}
	return goBack{to: "card", hint: say("card.removed")}
}

func (s *cardConfirm) View() string {
	c := s.c
	st := c.Styles
	var b strings.Builder
	b.WriteString("\n  " + st.Title.Render(c.t("card.check")) + "\n\n")
	if s.p.amount > 0 {
		b.WriteString(field(c.t("qr.amount"), st.Amount.Render(money.Fen(s.p.amount).Yuan()), 10))
	}
	b.WriteString(field(c.t("card.number"), st.Title.Render(s.p.card.Masked()), 10))
	if e := s.p.card.ExpiryText(); e != "" {
		b.WriteString(field(c.t("card.expiry"), e, 10))
	}
	if s.p.card.Label != "" {
		b.WriteString(field("", st.Subtle.Render(s.p.card.Label), 10))
	}
	return b.String()
}

// pinEntry takes the cardholder's PIN, masked, and encrypts it into a PIN
// block the moment it is confirmed; the clear digits are then wiped.
type pinEntry struct {
	base
	p    *payment
	pin  maskedDigits
	hint text
}

func newPINEntry(b base, p *payment) *pinEntry {
	return &pinEntry{base: b, p: p, pin: newMasked(cards.MaxPIN)}
}

func (s *pinEntry) Name() string        { return "pin" }
func (s *pinEntry) Title() string       { return channelName(api.Card) + " › " + s.c.t(s.p.opLabel()) }
func (s *pinEntry) Payment() *payment   { return s.p }
func (s *pinEntry) Busy() bool          { return false }
func (s *pinEntry) MinSize() (int, int) { return 50, 13 }

func (s *pinEntry) Help() []key.Binding {
	c := s.c
	return []key.Binding{c.Keys.Digits, c.Keys.Delete, c.Keys.Confirm, as(c.Keys.Cancel, c.t("help.back"))}
}

func (s *pinEntry) Update(msg tea.Msg) (next, tea.Cmd) {
	c := s.c
	switch msg := msg.(type) {
	case tea.KeyMsg:
		s.hint = text{}
		switch {
		case key.Matches(msg, c.Keys.Cancel):
			s.pin.wipe()
			return goBack{}, nil
		case key.Matches(msg, c.Keys.Confirm):
			return s.submit(), nil
		}
		switch s.pin.key(msg, c.Keys.Delete) {
		case typedFull:
			s.hint = say("card.pinfull", cards.MaxPIN)
		case typedNotDigit:
			s.hint = say("amount.digits")
		}
	case readerMsg:
		if msg.ev.Kind == devices.CardRemoved {
			s.pin.wipe()
			return cardRemoved(s.base, s.p), nil
		}
	}
	return nil, nil
}

func (s *pinEntry) submit() next {
	if n := len(s.pin.digits()); n < cards.MinPIN {
		s.hint = say("card.pinshort", cards.MinPIN, cards.MaxPIN)
		return nil
	}
	block, err := s.o.CardKeys.EncryptPIN(s.pin.digits(), s.p.card.PAN)
	s.pin.wipe()
	if err != nil {
		s.hint = say("card.pinerror", sayErr(s.base, err))
		return nil
	}
	s.p.pinBlock, s.p.hasPIN = block, true
	return toSend{s.p}
}

func (s *pinEntry) View() string {
	c := s.c
	st := c.Styles
	var b strings.Builder
	b.WriteString("\n" + saleHeader(c, s.p) + "\n")
	b.WriteString("  " + st.Title.Render(c.t("card.pin")) + "\n\n")
	b.WriteString(s.pin.view(st) + "\n")
	b.WriteString("  " + st.Subtle.Render(c.tf("card.pinlen", cards.MinPIN, cards.MaxPIN)) + "\n")
	b.WriteString(hintLine(c, st.Bad, s.hint))
	return b.String()
}
