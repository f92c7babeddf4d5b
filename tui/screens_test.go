package tui

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/cards"
	"github.com/multipos/multipos/i18n"
	"github.com/multipos/multipos/receipts"
)

// fakeTrainer is a trainer that does nothing but say what it was asked.
type fakeTrainer struct{ asked []string }

func (f *fakeTrainer) CustomerPays(context.Context, api.Channel, string) error {
	f.asked = append(f.asked, "pays")
	return nil
}
func (f *fakeTrainer) CustomerDeclines(context.Context, api.Channel, string) error {
	f.asked = append(f.asked, "declines")
	return nil
}
func (f *fakeTrainer) TestCards() []TestCard {
	var out []TestCard
	for i := 1; i <= 7; i++ {
		out = append(out, TestCard{ID: fmt.Sprint(i), LabelZH: fmt.Sprintf("测试卡%d", i), LabelEN: fmt.Sprintf("Test card %d", i), Hint: "PIN 123456"})
	}
	return out
}
func (f *fakeTrainer) InsertTestCard(context.Context, string) error { return nil }
func (f *fakeTrainer) RemoveTestCard(context.Context) error         { return nil }
func (f *fakeTrainer) ShowCode(context.Context, api.Channel, bool) (string, error) {
	return "", nil
}
func (f *fakeTrainer) TogglePaper() (bool, error) { return true, nil }

// demoModel is testModel in lang, in training mode or not.
func demoModel(t testing.TB, lang i18n.Lang, demo bool) Model {
	o := testOptions()
	o.Lang, o.Demo, o.SupervisorPassword = lang, demo, "123456"
	if demo {
		o.Trainer = &fakeTrainer{}
	}
	return testModel(t, o)
}

// everyScreen is every screen of the app, in each of the states that
// changes its keys or its texts.
func everyScreen(m Model) []Screen {
	b := m.b()
	wallet := func(phase followPhase) *qrScreen {
		p := m.router.newPayment(api.Alipay, "")
		p.amount = 99_999_999_99
		p.order = api.Order{ID: "o1", Channel: api.Alipay, State: api.StatePending, Version: 2,
			OutTradeNo: "T000000120261125165407000001", QRContent: "https://qr.alipay.com/bax03431ljhokirwl38f00a7",
			ExpiresAt: m.st.serverNow().Add(2 * time.Minute)}
		q := newQR(b, p)
		q.phase = phase
		if phase == fOpen {
			q.show(p.order)
		}
		return q
	}
	code := func(phase followPhase) *barcodeScreen {
		p := m.router.newPayment(api.WeChat, "")
		p.amount = 12_345
		p.order = api.Order{ID: "o2", Channel: api.WeChat, State: api.StatePending, Version: 2, OutTradeNo: "T000000120261125165407000002"}
		s := newBarcode(b, p)
		s.phase = phase
		return s
	}
	sale := api.Order{ID: "c1", Channel: api.Card, Kind: api.KindCardSale, State: api.StateSuccess, Amount: 8800,
		MaskedPAN: "621234******0002", AuthCode: "123456", RRN: "261125000001", Trace: "000003", CreatedAt: testNow}
	cardPay := func(kind api.Kind) *payment {
		p := m.router.newPayment(api.Card, kind)
		p.amount = 8800
		p.card = cards.Card{PAN: "6212345678900002", Expiry: "3012", Label: "UnionPay Debit"}
		if kind != "" && kind != kindBalance {
			p.original = sale
		}
		return p
	}
	proc := func(phase procPhase, hint text) *processing {
		s := newProcessing(b, cardPay(""))
		s.phase, s.hint = phase, hint
		return s
	}
	result := func(p *payment, o api.Order) *result {
		p.order = o
		return newResult(b, p)
	}
	choosing := newCardPrompt(b, cardPay(""))
	choosing.choosing = m.o.Trainer != nil
	found := newOrigTrace(b, cardPay(api.KindCardRefund))
	found.digits, found.shown, found.p.original = "3", true, sale
	rcpt := newReceipt(b, result(cardPay(""), sale).p)
	reprinted := newReprint(b, receipts.Receipt{Channel: string(api.Card), Amount: 8800, Trace: "000003"}, cardPay(""))
	failedRcpt := newReceipt(b, result(cardPay(""), sale).p)
	failedRcpt.queuing, failedRcpt.err = false, fmt.Errorf("paper")
	bal := cardPay(kindBalance)
	bal.balance = api.Balance{ResponseCode: "00", Balance: 123_456, MaskedPAN: "621234******0002", Trace: "000004"}
	unknown := sale
	unknown.State, unknown.AuthCode, unknown.RRN = api.StateUnknown, "", ""
	declined := sale
	declined.State, declined.ResponseCode = api.StateFailed, "51"
	pin := newPINEntry(b, cardPay(""))
	pin.pin.key(runes("1"), m.c.Keys.Delete)
	return []Screen{
		newChannelList(b), newWelcome(b, api.Alipay), newWelcome(b, api.Card),
		newMenu(b, api.Alipay), newMenu(b, api.Card),
		newAmount(b, api.Alipay, actQR), newAmount(b, api.WeChat, actBarcode), newRefundAmount(b, cardPay(api.KindCardRefund)),
		wallet(fCreating), wallet(fOpen), wallet(fClosing), wallet(fCloseFailed), wallet(fGivingBack), wallet(fIdle),
		code(fIdle), code(fCreating), code(fOpen), code(fClosing), code(fCloseFailed), code(fGivingBack),
		newCardPrompt(b, cardPay("")), choosing, newCardPrompt(b, cardPay(api.KindCardVoid)),
		&cardConfirm{base: b, p: cardPay("")}, pin,
		proc(procSending, text{}), proc(procChecking, text{}), proc(procRefused, say("err.salebusy")),
		proc(procUnknown, say("card.unknown", say("err.timeout"), "Enter", "Esc")),
		result(cardPay(""), sale), result(cardPay(""), unknown), result(cardPay(""), declined),
		result(cardPay(api.KindCardVoid), sale),
		rcpt, reprinted, failedRcpt, newReprintPrompt(b), newSignOnScreen(b),
		newSupervisor(b, &supervisorGuard{}, api.KindCardVoid), newOrigTrace(b, cardPay(api.KindCardVoid)), found,
		&balanceScreen{base: b, p: bal},
	}
}

// Every key a screen takes is in its help at 80×24, in both languages, in
// and out of training mode: the help wraps to a second line rather than
// cutting keys off; and no line of a screen runs back to column 0.
func TestEveryKeyShownAt80x24(t *testing.T) {
	for _, lang := range []i18n.Lang{i18n.ZH, i18n.EN} {
		for _, demo := range []bool{false, true} {
			dm := demoModel(t, lang, demo)
			for _, s := range everyScreen(dm) {
				m := dm.open(s)
				name := fmt.Sprintf("%s/demo=%v/%s", lang, demo, s.Name())
				view := ansi.Strip(m.View())
				lines := strings.Split(view, "\n")
				if len(lines) != 24 {
					t.Errorf("%s: %d lines", name, len(lines))
				}
				for i, l := range lines {
					if w := ansi.StringWidth(l); w > 80 {
						t.Errorf("%s: line %d is %d cells: %q", name, i, w, l)
					}
				}
				// Nothing is cut off at the right edge either.
				for _, l := range strings.Split(ansi.Strip(s.View()), "\n") {
					if w := ansi.StringWidth(strings.TrimRight(l, " ")); w > 80 {
						t.Errorf("%s: a line of %d cells is cut off: %q", name, w, l)
					}
				}
				help := m.helpLines()
				if len(help) > 2 {
					t.Errorf("%s: help takes %d lines:\n%s", name, len(help), strings.Join(help, "\n"))
				}
				if n, room := strings.Count(strings.TrimRight(s.View(), "\n "), "\n")+1, 24-2-len(help); n > room {
					t.Errorf("%s: the screen is %d lines, %d fit above its help", name, n, room)
				}
				shown := ansi.Strip(strings.Join(help, "\n"))
				if strings.Contains(shown, "…") {
					t.Errorf("%s: help cut off: %q", name, shown)
				}
				want := 0
				for _, b := range m.helpBindings() {
					if !b.Enabled() {
						continue
					}
					want++
					if item := b.Help().Key + " " + b.Help().Desc; !strings.Contains(shown, item) {
						t.Errorf("%s: %q is not in the help:\n%s", name, item, shown)
					}
				}
				if demo && !strings.Contains(shown, "F8") {
					t.Errorf("%s: the trainer's paper key is not shown:\n%s", name, shown)
				}
				if !strings.Contains(shown, "F1") {
					t.Errorf("%s: the language key is not shown:\n%s", name, shown)
				}
				// The body: everything between the header and the help.
				for i, l := range lines[1 : len(lines)-1-len(help)] {
					if l != "" && l[0] != ' ' {
						t.Errorf("%s: line %d starts at column 0: %q\n%s", name, i+1, l, view)
					}
				}
			}
		}
	}
}
