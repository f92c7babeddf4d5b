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
	"github.com/multipos/multipos/config"
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
func (f *fakeTrainer) ShowCode(context.Context, api.Channel, bool) (string, error) {
	return "", nil
}
func (f *fakeTrainer) TogglePaper() (bool, error) { return true, nil }

// demoCommon is testCommon in training mode, in lang.
func demoCommon(t testing.TB, lang i18n.Lang, demo bool) *Common {
	c := testCommon(t)
	c.Lang = lang
	c.opts.TerminalID = "T0000001"
	c.opts.PrinterWidth = 32
	c.opts.Demo = demo
	c.opts.SupervisorPassword = "123456"
	if demo {
		c.opts.Trainer = &fakeTrainer{}
	}
	c.Keys = NewKeyMap(config.DefaultTerminal().Keys, lang, demo)
	return c
}

// everyScreen is every screen of the app, in each of the states that
// changes its keys or its texts.
func everyScreen(c *Common) []Screen {
	wallet := func(phase qrPhase) *qrScreen {
		p := c.newPayment(api.Alipay)
		p.amount = 99_999_999_99
		p.order = api.Order{ID: "o1", Channel: api.Alipay, State: api.StatePending, Version: 2,
			OutTradeNo: "T000000120261125165407000001", QRContent: "https://qr.alipay.com/bax03431ljhokirwl38f00a7",
			ExpiresAt: c.serverNow().Add(2 * time.Minute)}
		q := &qrScreen{c: c, p: p, prev: newAmount(c, api.Alipay, "menu.qr"), phase: phase}
		if phase == qrShowing {
			q.code, _ = renderQR(p.order.QRContent)
		}
		return q
	}
	code := func(phase bcPhase) *barcodeScreen {
		p := c.newPayment(api.WeChat)
		p.amount = 12_345
		p.order = api.Order{ID: "o2", Channel: api.WeChat, State: api.StatePending, Version: 2, OutTradeNo: "T000000120261125165407000002"}
		return &barcodeScreen{c: c, p: p, prev: newAmount(c, api.WeChat, "menu.barcode"), phase: phase}
	}
	sale := api.Order{ID: "c1", Channel: api.Card, Kind: api.KindCardSale, State: api.StateSuccess, Amount: 8800,
		MaskedPAN: "621234******0002", AuthCode: "123456", RRN: "261125000001", Trace: "000003", CreatedAt: c.now()}
	cardPay := func(kind api.Kind) *payment {
		p := c.newPayment(api.Card)
		p.amount, p.kind = 8800, kind
		p.card = cards.Card{PAN: "6212345678900002", Expiry: "3012", Label: "UnionPay Debit"}
		if kind != "" && kind != kindBalance {
			p.original = sale
		}
		return p
	}
	proc := func(phase procPhase, hint text) *processing {
		return &processing{c: c, p: cardPay(""), phase: phase, hint: hint}
	}
	result := func(p *payment, o api.Order) *result {
		p.order = o
		return newResult(c, p)
	}
	choosing := newCardPrompt(c, cardPay(""), nil)
	choosing.choosing = c.opts.Trainer != nil
	found := newOrigTrace(c, cardPay(api.KindCardRefund), newMenu(c, api.Card))
	found.digits, found.found, found.p.original = "3", true, sale
	paid := cardPay("")
	rcpt, _ := newReceipt(c, result(paid, sale).p)
	reprinted, _ := newReprint(c, receipts.Receipt{Channel: string(api.Card), Amount: 8800, Trace: "000003"})
	failedRcpt, _ := newReceipt(c, result(cardPay(""), sale).p)
	failedRcpt.(*receiptScreen).queuing, failedRcpt.(*receiptScreen).err = false, fmt.Errorf("paper")
	bal := cardPay(kindBalance)
	bal.balance = api.Balance{ResponseCode: "00", Balance: 123_456, MaskedPAN: "621234******0002", Trace: "000004"}
	unknown := sale
	unknown.State, unknown.AuthCode, unknown.RRN = api.StateUnknown, "", ""
	declined := sale
	declined.State, declined.ResponseCode = api.StateFailed, "51"
	signon, _ := newSignOn(c, newMenu(c, api.Card))
	refund := newRefundAmount(c, cardPay(api.KindCardRefund), nil)
	return []Screen{
		newChannelList(c), newWelcome(c, api.Alipay), newWelcome(c, api.Card),
		newMenu(c, api.Alipay), newMenu(c, api.Card),
		newAmount(c, api.Alipay, "menu.qr"), newAmount(c, api.WeChat, "menu.barcode"), refund,
		wallet(qrCreating), wallet(qrShowing), wallet(qrClosing), wallet(qrCloseFailed), wallet(qrCancelling), wallet(qrNotCreated),
		code(bcScanning), code(bcPaying), code(bcConfirming), code(bcCancelling), code(bcCancelFail), code(bcGivingBack),
		newCardPrompt(c, cardPay(""), nil), choosing, newCardPrompt(c, cardPay(api.KindCardVoid), nil),
		&cardConfirm{c: c, p: cardPay(""), prompt: choosing},
		&pinEntry{c: c, p: cardPay(""), prompt: choosing, pin: []byte("1234")},
		proc(procSending, text{}), proc(procChecking, text{}), proc(procRefused, say("err.salebusy")),
		proc(procUnknown, say("card.unknown", say("err.timeout"), "Enter", "Esc")),
		result(cardPay(""), sale), result(cardPay(""), unknown), result(cardPay(""), declined),
		result(cardPay(api.KindCardVoid), sale),
		rcpt, reprinted, failedRcpt, newReprintPrompt(c, newMenu(c, api.Card)), signon,
		newSupervisor(c, newMenu(c, api.Card), api.KindCardVoid), newOrigTrace(c, cardPay(api.KindCardVoid), newMenu(c, api.Card)), found,
		&balanceScreen{c: c, p: bal},
	}
}

// Every key a screen takes is in its help at 80×24, in both languages, in
// and out of training mode: the help wraps to a second line rather than
// cutting keys off; and no line of a screen runs back to column 0.
func TestEveryKeyShownAt80x24(t *testing.T) {
	for _, lang := range []i18n.Lang{i18n.ZH, i18n.EN} {
		for _, demo := range []bool{false, true} {
			c := demoCommon(t, lang, demo)
			for _, s := range everyScreen(c) {
				m := newModel(c, s)
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
