package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/cards"
	"github.com/multipos/multipos/i18n"
	"github.com/multipos/multipos/posclient"
)

// screenCase is one screen in one state, built on a model that has heard
// from its server, for the layout tests and the goldens.
type screenCase struct {
	name  string
	build func(m Model) Screen
}

var (
	qrContent = "https://qr.alipay.com/bax03431ljhokirwl38f00a7"
	paidCard  = api.Order{ID: "c1", Channel: api.Card, Kind: api.KindCardSale, State: api.StateSuccess, Amount: 8800,
		MaskedPAN: "621234******0002", AuthCode: "123456", RRN: "261125000001", Trace: "000002", Version: 2,
		CreatedAt: testNow, UpdatedAt: testNow}
)

func walletPay(m Model, ch api.Channel, phase followPhase) *payment {
	p := m.router.newPayment(ch, "")
	p.amount = 1234
	if phase >= fOpen {
		p.order = api.Order{ID: "o1", Channel: ch, State: api.StatePending, Version: 2,
			OutTradeNo: "T000000120261125165407000001", QRContent: qrContent, ExpiresAt: testNow.Add(2 * time.Minute)}
	}
	return p
}

func cardPay(m Model, kind api.Kind) *payment {
	p := m.router.newPayment(api.Card, kind)
	p.amount = 8800
	p.card = cards.Card{PAN: "6212345678900002", Expiry: "3012", Entry: cards.EntryChip, Label: "UnionPay Debit"}
	return p
}

func screenCases() []screenCase {
	return append(baseCases(), settleCases()...)
}

func baseCases() []screenCase {
	return []screenCase{
		{"channels", func(m Model) Screen { return m.Active() }},
		{"channels-unseen", func(m Model) Screen {
			m.st.server.unseen = []api.Order{{ID: "u1", Channel: api.Alipay, State: api.StateSuccess, Amount: 4321, Trace: "000777", CreatedAt: testNow}}
			s := newChannelList(m.b())
			s.Update(runes("7"))
			return s
		}},
		{"welcome", func(m Model) Screen { return newWelcome(m.b(), api.Card) }},
		{"menu-card", func(m Model) Screen { return newMenu(m.b(), api.Card) }},
		{"menu-wallet", func(m Model) Screen {
			s := newMenu(m.b(), api.WeChat)
			s.Update(runes("4"))
			return s
		}},
		{"amount", func(m Model) Screen {
			s := newAmount(m.b(), api.Alipay, actQR)
			for _, r := range "1234" {
				s.Update(runes(string(r)))
			}
			return s
		}},
		{"qr-creating", func(m Model) Screen { return newQR(m.b(), walletPay(m, api.Alipay, fCreating)) }},
		{"qr-showing", func(m Model) Screen {
			s := newQR(m.b(), walletPay(m, api.Alipay, fOpen))
			s.phase = fOpen
			s.show(s.p.order)
			return s
		}},
		{"qr-closefailed", func(m Model) Screen {
			s := newQR(m.b(), walletPay(m, api.WeChat, fOpen))
			s.phase = fOpen
			s.answer(orderMsg{pay: s.p.id, op: opCancel, err: posclient.ErrOffline})
			return s
		}},
		{"barcode-scanning", func(m Model) Screen {
			s := newBarcode(m.b(), walletPay(m, api.Alipay, fIdle))
			s.Update(runes("2"))
			s.Update(runes("8"))
			return s
		}},
		{"barcode-confirming", func(m Model) Screen {
			s := newBarcode(m.b(), walletPay(m, api.WeChat, fOpen))
			s.phase = fOpen
			return s
		}},
		{"card", func(m Model) Screen { return newCardPrompt(m.b(), cardPay(m, "")) }},
		{"card-void", func(m Model) Screen {
			p := cardPay(m, api.KindCardVoid)
			p.original = paidCard
			return newCardPrompt(m.b(), p)
		}},
		{"card-confirm", func(m Model) Screen { return &cardConfirm{base: m.b(), p: cardPay(m, "")} }},
		{"pin", func(m Model) Screen {
			s := newPINEntry(m.b(), cardPay(m, ""))
			for _, r := range "1234" {
				s.Update(runes(string(r)))
			}
			return s
		}},
		{"processing-unknown", func(m Model) Screen {
			s := newProcessing(m.b(), cardPay(m, ""))
			s.Update(orderMsg{op: opSale, trace: "000003", err: posclient.ErrOffline})
			return s
		}},
		{"result-card", func(m Model) Screen {
			p := cardPay(m, "")
			p.order = paidCard
			return newResult(m.b(), p)
		}},
		{"result-declined", func(m Model) Screen {
			p := cardPay(m, "")
			p.order = paidCard
			p.order.State, p.order.ResponseCode = api.StateFailed, "51"
			return newResult(m.b(), p)
		}},
		{"result-wallet", func(m Model) Screen {
			p := walletPay(m, api.Alipay, fOpen)
			p.order.State, p.order.TradeNo, p.order.Trace = api.StateSuccess, "2026112522001400001", "000002"
			return newResult(m.b(), p)
		}},
		{"receipt", func(m Model) Screen {
			p := cardPay(m, "")
			p.order = paidCard
			s := newReceipt(m.b(), p)
			s.queued(queuedMsg{pay: p.id, copy: 1})
			return s
		}},
		{"reprint", func(m Model) Screen { return newReprintPrompt(m.b()) }},
		{"signon", func(m Model) Screen {
			s := newSignOnScreen(m.b())
			m.st.signon.err = fmt.Errorf("post: %w", posclient.ErrOffline)
			s.Update(signOnAskMsg{renew: true})
			return s
		}},
		{"supervisor", func(m Model) Screen {
			s := newSupervisor(m.b(), &supervisorGuard{}, api.KindCardVoid)
			s.Update(runes("1"))
			return s
		}},
		{"original", func(m Model) Screen {
			s := newOrigTrace(m.b(), m.router.newPayment(api.Card, api.KindCardRefund))
			s.Update(runes("2"))
			s.found(orderMsg{op: opOriginal, trace: "000002", order: paidCard})
			return s
		}},
		{"balance", func(m Model) Screen {
			p := cardPay(m, kindBalance)
			p.balance = api.Balance{ResponseCode: "00", Balance: 1_000_000, MaskedPAN: "621234******0002", Trace: "000004"}
			return &balanceScreen{base: m.b(), p: p}
		}},
	}
}

// screenModel is the app showing case c in lang at 80×24.
func screenModel(t *testing.T, lang i18n.Lang, c screenCase) Model {
	return screenModelIn(t, lang, false, c)
}

// screenModelIn is screenModel in training mode or not.
func screenModelIn(t *testing.T, lang i18n.Lang, demo bool, c screenCase) Model {
	t.Helper()
	o := testOptions()
	o.Lang, o.Demo = lang, demo
	if demo {
		o.Trainer = &fakeTrainer{}
	}
	m := testModel(t, o)
	if s := c.build(m); s != m.Active() {
		m = m.open(s)
	}
	return m
}

// Every screen, in both languages, as the cashier sees it at 80×24:
// testdata/TestScreenGoldens/*.golden (go test ./tui -run TestScreenGoldens -update
// rewrites them). The clock is the injected one, so they never drift.
func TestScreenGoldens(t *testing.T) {
	t.Parallel()
	for _, c := range screenCases() {
		for _, lang := range []i18n.Lang{i18n.ZH, i18n.EN} {
			t.Run(c.name+"-"+string(lang), func(t *testing.T) {
				t.Parallel()
				m := screenModel(t, lang, c)
				golden.RequireEqual(t, []byte(m.View()))
			})
		}
	}
}

// Every screen fits the 80×24 counter screen exactly, in both languages,
// its declared minimum size is true (drawn at it, nothing is cut off), and
// it renders without a size (before the first WindowSizeMsg).
func TestScreensFitTheirSize(t *testing.T) {
	t.Parallel()
	for _, c := range screenCases() {
		for _, v := range []struct {
			lang i18n.Lang
			demo bool
		}{{i18n.ZH, false}, {i18n.EN, false}, {i18n.ZH, true}, {i18n.EN, true}} {
			t.Run(fmt.Sprintf("%s-%s-demo=%v", c.name, v.lang, v.demo), func(t *testing.T) {
				t.Parallel()
				m := screenModelIn(t, v.lang, v.demo, c)
				checkFits(t, m.View(), 80, 24)
				w, h := m.minSize()
				if w > 80 || h > 24 {
					t.Errorf("needs %d×%d, more than the counter screen", w, h)
				}
				m.c.Width, m.c.Height = w, h
				body := m.Active().View()
				_, room := m.Active().MinSize() // the body's lines
				if n := strings.Count(strings.TrimRight(body, "\n"), "\n") + 1; n > room {
					t.Errorf("at its minimum %d×%d the body is %d lines, room for %d:\n%s", w, h, n, room, body)
				}
				for i, l := range strings.Split(body, "\n") {
					if lw := ansi.StringWidth(l); lw > w {
						t.Errorf("at its minimum %d×%d body line %d is %d cells: %q", w, h, i, lw, l)
					}
				}
				m.c.Width, m.c.Height = 0, 0
				if m.View() == "" {
					t.Error("empty view without a size")
				}
			})
		}
	}
}

// checkFits checks that a full view is h lines of at most w cells, with
// the status bar last.
func checkFits(t *testing.T, view string, w, h int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) != h {
		t.Errorf("%d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if lw := ansi.StringWidth(l); lw > w {
			t.Errorf("line %d is %d cells: %q", i, lw, l)
		}
	}
	if !strings.Contains(lines[len(lines)-1], "T0000001") {
		t.Errorf("status bar missing: %q", lines[len(lines)-1])
	}
}

// Below the size a screen needs, the app says so, in the cashier's
// language, instead of drawing the screen cut off (a QR code cut off at
// 40×12 does not scan).
func TestWindowTooSmall(t *testing.T) {
	t.Parallel()
	for _, lang := range []i18n.Lang{i18n.ZH, i18n.EN} {
		o := testOptions()
		o.Lang = lang
		m := testModel(t, o)
		p := walletPay(m, api.Alipay, fOpen)
		s := newQR(m.b(), p)
		s.phase = fOpen
		s.show(p.order)
		m = m.open(s)
		w, h := m.minSize()
		m, _ = step(t, m, tea.WindowSizeMsg{Width: 40, Height: 12})
		v := ansi.Strip(m.View())
		want := Tf(lang, "win.small", w, h)
		if !strings.Contains(strings.Join(strings.Fields(v), " "), strings.Join(strings.Fields(want), " ")) || strings.Contains(v, "▀") {
			t.Errorf("%s at 40×12:\n%s", lang, v)
		}
		if lines := strings.Split(m.View(), "\n"); len(lines) != 12 || ansi.StringWidth(lines[1]) > 40 {
			t.Errorf("%s: not drawn in 40×12:\n%s", lang, m.View())
		}
		m, _ = step(t, m, tea.WindowSizeMsg{Width: w, Height: h})
		if v := m.View(); strings.Contains(v, want) || !strings.Contains(v, "▀") {
			t.Errorf("%s at its minimum %d×%d the code is not drawn:\n%s", lang, w, h, v)
		}
	}
}
