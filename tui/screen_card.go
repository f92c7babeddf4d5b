package tui

import (
	"context"
	"encoding/hex"
	"errors"
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
	c        *Common
	p        *payment
	prev     Screen // where Cancel goes: the amount, the original sale, the menu
	choosing bool   // demo: the test-card list is open
	hint     text
	// held is a card read while the app was still signing on; it goes on
	// once the keys are there.
	held *devices.CardEvent
}

func newCardPrompt(c *Common, p *payment, prev Screen) *cardPrompt {
	s := &cardPrompt{c: c, p: p, prev: prev}
	s.hint = s.keyProblem()
	if s.hint.empty() && c.opts.Reader != nil && c.opts.Reader.State() == devices.ReaderCardPresent {
		// Inserted before this screen: its read went to another screen.
		// A reader tells of a card once, so the cashier inserts it again.
		s.hint = say("card.present")
		if c.opts.Trainer != nil {
			s.hint = say("card.presentdemo", c.Keys.InsertCard.Help().Key)
		}
	}
	return s
}

// keyProblem says why cards cannot be taken with this terminal's PIN key.
func (s *cardPrompt) keyProblem() text {
	c := s.c
	switch {
	case c.opts.CardKeys == nil:
		return say("card.nokey")
	case c.signingOn:
		return say("card.signing")
	case !c.signedOn():
		return say("card.notsigned")
	}
	return text{}
}

func (s *cardPrompt) Name() string      { return "card" }
func (s *cardPrompt) Title() string     { return channelName(api.Card) + " › " + s.c.t(s.p.opLabel()) }
func (s *cardPrompt) Payment() *payment { return s.p }
func (s *cardPrompt) Busy() bool        { return false }

func (s *cardPrompt) Help() []key.Binding {
	c := s.c
	if s.choosing {
		return []key.Binding{digitsHelp(c, fmt.Sprintf("1-%d", len(c.opts.Trainer.TestCards())), c.t("help.select")), as(c.Keys.Cancel, c.t("help.back"))}
	}
	return []key.Binding{as(c.Keys.Cancel, c.t("help.back")), c.Keys.InsertCard}
}

func (s *cardPrompt) Update(msg tea.Msg) (Screen, tea.Cmd) {
	c := s.c
	o := c.opts
	switch msg := msg.(type) {
	case tea.KeyMsg:
		switch {
		case key.Matches(msg, c.Keys.Cancel) && s.choosing:
			s.choosing = false
		case key.Matches(msg, c.Keys.Cancel):
			return s.prev, nil
		case key.Matches(msg, c.Keys.InsertCard) && o.Trainer != nil:
			s.choosing = true
		case s.choosing:
			tcs := o.Trainer.TestCards()
			if d := digitOf(msg); d >= 1 && d <= len(tcs) {
				s.choosing = false
				id := tcs[d-1].ID
				return s, trainerAct(o, s.p.id, func(ctx context.Context) error { return o.Trainer.InsertTestCard(ctx, id) })
			}
		}
	case trainerMsg:
		if msg.err != nil {
			s.hint = say("trainer.error", msg.err)
		}
	case readerMsg:
		return s.cardEvent(msg.ev)
	case signOnMsg:
		s.hint = s.keyProblem()
		ev := s.held
		s.held = nil // taken now, or never: the sign-on failed
		if ev != nil && s.hint.empty() {
			return s.cardEvent(*ev)
		}
	}
	return s, nil
}

func (s *cardPrompt) cardEvent(ev devices.CardEvent) (Screen, tea.Cmd) {
	c := s.c
	switch ev.Kind {
	case devices.CardInserted, devices.CardSwiped:
		if why := s.keyProblem(); !why.empty() {
			if c.signingOn {
				s.held = &ev
			}
			s.hint = why
			return s, nil
		}
		if !cards.ValidPAN(ev.Card.PAN) {
			s.hint = say("card.badpan")
			return s, nil
		}
		if ev.Kind == devices.CardSwiped && cards.HasChip(ev.Card.ServiceCode) {
			// EMV rules: a chip card is read from its chip, never its stripe.
			s.hint = say("card.insertchip")
			return s, nil
		}
		if o := s.p.original; o.ID != "" && cards.Mask(ev.Card.PAN) != o.MaskedPAN {
			s.hint = say("card.notorig", o.MaskedPAN)
			return s, nil
		}
		s.p.card = ev.Card
		return &cardConfirm{c: c, p: s.p, prompt: s}, nil
	case devices.CardReadError:
		s.hint = say("card.readfail", ev.Err)
	case devices.CardRemoved:
		s.held = nil
		if s.hint.key == "card.present" || s.hint.key == "card.presentdemo" {
			s.hint = text{}
		}
	}
	return s, nil
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
	if c.opts.Reader == nil {
		b.WriteString("\n  " + st.Warn.Render(c.t("card.noreader")) + "\n")
	}
	if s.choosing {
		b.WriteString("\n  " + st.Title.Render(c.t("card.choose")) + "\n")
		tcs := c.opts.Trainer.TestCards()
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
	c      *Common
	p      *payment
	prompt *cardPrompt
}

func (s *cardConfirm) Name() string      { return "card-confirm" }
func (s *cardConfirm) Title() string     { return s.prompt.Title() }
func (s *cardConfirm) Payment() *payment { return s.p }
func (s *cardConfirm) Busy() bool        { return false }

func (s *cardConfirm) Help() []key.Binding {
	return []key.Binding{s.c.Keys.Confirm, as(s.c.Keys.Cancel, s.c.t("help.back"))}
}

func (s *cardConfirm) Update(msg tea.Msg) (Screen, tea.Cmd) {
	c := s.c
	switch msg := msg.(type) {
	case tea.KeyMsg:
		switch {
		case key.Matches(msg, c.Keys.Confirm) && (s.p.kind == api.KindCardVoid || s.p.kind == api.KindCardRefund):
			// Money back to the card: no PIN (the supervisor password was).
			pr := &processing{c: c, p: s.p}
			return pr, pr.send()
		case key.Matches(msg, c.Keys.Confirm):
			// The buffer never grows, so no copy of the digits is left behind.
			return &pinEntry{c: c, p: s.p, prompt: s.prompt, confirm: s, pin: make([]byte, 0, cards.MaxPIN)}, nil
		case key.Matches(msg, c.Keys.Cancel):
			s.p.card = cards.Card{}
			return s.prompt, nil
		}
	case readerMsg:
		if msg.ev.Kind == devices.CardRemoved {
			return s.prompt.removed(), nil
		}
	}
	return s, nil
}

// removed returns the prompt after the card left the reader mid-flow.
func (s *cardPrompt) removed() *cardPrompt {
	s.p.card = cards.Card{}
	s.hint = say("card.removed")
	return s
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
	c       *Common
	p       *payment
	prompt  *cardPrompt
	confirm *cardConfirm
	pin     []byte
	hint    text
}

func (s *pinEntry) Name() string      { return "pin" }
func (s *pinEntry) Title() string     { return s.prompt.Title() }
func (s *pinEntry) Payment() *payment { return s.p }
func (s *pinEntry) Busy() bool        { return false }

func (s *pinEntry) Help() []key.Binding {
	c := s.c
	return []key.Binding{c.Keys.Digits, c.Keys.Delete, c.Keys.Confirm, as(c.Keys.Cancel, c.t("help.back"))}
}

func (s *pinEntry) wipe() {
	clear(s.pin[:cap(s.pin)])
	s.pin = s.pin[:0]
}

func (s *pinEntry) Update(msg tea.Msg) (Screen, tea.Cmd) {
	c := s.c
	switch msg := msg.(type) {
	case tea.KeyMsg:
		s.hint = text{}
		switch {
		case key.Matches(msg, c.Keys.Cancel):
			s.wipe()
			return s.confirm, nil
		case key.Matches(msg, c.Keys.Delete):
			if len(s.pin) > 0 {
				s.pin[len(s.pin)-1] = 0
				s.pin = s.pin[:len(s.pin)-1]
			}
		case key.Matches(msg, c.Keys.Confirm):
			return s.submit()
		default:
			if d := digitOf(msg); d >= 0 {
				if len(s.pin) >= cards.MaxPIN {
					s.hint = say("card.pinfull", cards.MaxPIN)
				} else {
					s.pin = append(s.pin, byte('0'+d))
				}
			} else if isText(msg) {
				s.hint = say("amount.digits")
			}
		}
	case readerMsg:
		if msg.ev.Kind == devices.CardRemoved {
			s.wipe()
			return s.prompt.removed(), nil
		}
	}
	return s, nil
}

func (s *pinEntry) submit() (Screen, tea.Cmd) {
	c := s.c
	if len(s.pin) < cards.MinPIN {
		s.hint = say("card.pinshort", cards.MinPIN, cards.MaxPIN)
		return s, nil
	}
	block, err := c.opts.CardKeys.EncryptPIN(s.pin, s.p.card.PAN)
	s.wipe()
	if err != nil {
		s.hint = say("card.pinerror", sayErr(err))
		return s, nil
	}
	s.p.pinBlock, s.p.hasPIN = block, true
	pr := &processing{c: c, p: s.p}
	return pr, pr.send()
}

func (s *pinEntry) View() string {
	c := s.c
	st := c.Styles
	var b strings.Builder
	b.WriteString("\n" + saleHeader(c, s.p) + "\n")
	b.WriteString("  " + st.Title.Render(c.t("card.pin")) + "\n\n")
	mask := strings.Repeat("*", len(s.pin))
	b.WriteString(indent(st.Box.Width(18).Render(st.PINMask.Render(mask)), 2) + "\n")
	b.WriteString("  " + st.Subtle.Render(c.tf("card.pinlen", cards.MinPIN, cards.MaxPIN)) + "\n")
	b.WriteString(hintLine(c, st.Bad, s.hint))
	return b.String()
}

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
	c     *Common
	p     *payment
	phase procPhase
	hint  text
}

func (s *processing) Name() string      { return "processing" }
func (s *processing) Title() string     { return channelName(api.Card) + " › " + s.c.t(s.p.opLabel()) }
func (s *processing) Payment() *payment { return s.p }
func (s *processing) Busy() bool        { return s.phase != procRefused }

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
	c := s.c
	p := s.p
	card := p.card
	icc := strings.ToUpper(hex.EncodeToString(card.ICC))
	switch p.kind {
	case api.KindCardVoid, api.KindCardRefund:
		return cardAdjust(c.opts, p.id, p.kind, p.trace, p.reqID, api.CardAdjust{Original: p.original.ID,
			Amount: int64(p.amount), PAN: card.PAN, Expiry: card.Expiry, Track2: card.Track2, Entry: string(card.Entry),
			CardSeq: card.PANSequence, ICC: icc})
	case kindBalance:
		return cardBalance(c.opts, p.id, api.CardBalance{PAN: card.PAN, Expiry: card.Expiry, Track2: card.Track2,
			Entry: string(card.Entry), CardSeq: card.PANSequence, ICC: icc}, p.pinBlock)
	}
	req := api.CardSale{
		Amount: int64(p.amount), PAN: card.PAN, Expiry: card.Expiry,
		Track2: card.Track2, Entry: string(card.Entry), CardSeq: card.PANSequence, ICC: icc,
	}
	return cardSale(c.opts, p.id, p.trace, p.reqID, req, p.pinBlock)
}

func (s *processing) Update(msg tea.Msg) (Screen, tea.Cmd) {
	c := s.c
	switch msg := msg.(type) {
	case balanceMsg:
		s.p.trace = msg.trace
		if msg.err != nil {
			// Nothing moved: the cashier simply asks again.
			s.phase, s.hint = procRefused, sayErr(msg.err)
			s.p.forgetCard()
			return s, nil
		}
		s.p.balance = msg.res
		s.p.forgetCard()
		return &balanceScreen{c: c, p: s.p}, nil
	case orderMsg:
		if msg.trace != "" {
			s.p.trace, s.p.reqID = msg.trace, msg.reqID
		}
		var ae *api.Error
		switch {
		case msg.err == nil:
			s.p.order = msg.order
			s.p.forgetCard()
			r := newResult(c, s.p)
			return r, r.follow()
		case msg.op == opLookup && errors.As(msg.err, &ae) && ae.Code == api.CodeNotFound:
			// The sale never reached the server: nothing can have been charged.
			s.p.forgetCard()
			c.Flash = c.t("card.notsent")
			return newChannelList(c), nil
		case msg.op == opSale && errors.As(msg.err, &ae):
			if ae.Code == api.CodeSignOnRequired || ae.Code == api.CodeBadMAC {
				// The server holds other keys than ours: ours are useless
				// until the next sign-on. Nothing reached the bank.
				c.opts.CardKeys.Forget()
			}
			s.phase = procRefused
			s.hint = sayErr(msg.err)
			s.p.forgetCard()
		default:
			s.phase = procUnknown
			s.hint = say("card.unknown", sayErr(msg.err), c.Keys.Confirm.Help().Key, c.Keys.Cancel.Help().Key)
		}
		return s, nil
	case tea.KeyMsg:
		switch {
		case s.phase == procUnknown && key.Matches(msg, c.Keys.Confirm):
			s.phase, s.hint = procSending, text{}
			return s, s.send()
		case s.phase == procUnknown && key.Matches(msg, c.Keys.Cancel):
			s.phase = procChecking
			return s, lookupTrace(c.opts, s.p.id, s.p.trace)
		case s.phase == procRefused && (key.Matches(msg, c.Keys.Confirm) || key.Matches(msg, c.Keys.Cancel)):
			return newChannelList(c), nil
		}
	}
	return s, nil
}

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
