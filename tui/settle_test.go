package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/i18n"
	"github.com/multipos/multipos/posclient"
)

var testSettlement = api.Settlement{TerminalID: "T0000001", MerchantID: "898310048160001", MerchantName: "测试商户",
	Batch: "000001", NextBatch: "000002", From: testNow.Add(-8 * time.Hour), To: testNow,
	Totals: []api.KindTotal{{Kind: api.KindCardSale, Count: 3, Amount: 26400}, {Kind: api.KindCardVoid, Count: 1, Amount: 8800},
		{Kind: api.KindCardRefund, Count: 1, Amount: 3000}},
	DebitCount: 3, DebitAmount: 26400, CreditCount: 2, CreditAmount: 11800, Net: 14600, Balanced: true, Reversals: 1, By: "01"}

func settlePay(m Model) *payment {
	p := m.router.newPayment(api.Card, kindSettle)
	p.batch = "000001"
	return p
}

// settleCases are the settlement's screens in the states that change
// their keys or texts.
func settleCases() []screenCase {
	settled := func(res api.Settlement, moved bool) func(m Model) Screen {
		return func(m Model) Screen {
			s := newSettleScreen(m.b(), settlePay(m))
			s.moved = moved
			s.Update(settledMsg{pay: s.p.id, res: res, fetched: moved})
			return s
		}
	}
	cutoff := testSettlement
	cutoff.By, cutoff.Balanced, cutoff.Uploaded, cutoff.Reversals = api.SettledByCutoff, false, 5, 0
	return []screenCase{
		{"settle-confirm", func(m Model) Screen {
			s := newSettleConfirm(m.b(), settlePay(m), nil)
			s.Update(openBatchMsg{pay: s.p.id, batch: "000001"})
			return s
		}},
		{"settle-confirm-last", func(m Model) Screen {
			last := (&settleScreen{base: m.b(), res: testSettlement}).slip()
			s := newSettleConfirm(m.b(), settlePay(m), &last)
			s.Update(openBatchMsg{pay: s.p.id, err: fmt.Errorf("get: %w", posclient.ErrOffline)})
			return s
		}},
		{"settle-supervisor", func(m Model) Screen { return newSupervisorFor(m.b(), &supervisorGuard{}, settlePay(m)) }},
		{"settlement-sending", func(m Model) Screen { return newSettleScreen(m.b(), settlePay(m)) }},
		{"settlement-done", settled(testSettlement, false)},
		{"settlement-cutoff", settled(cutoff, true)},
		{"settlement-settling", func(m Model) Screen {
			s := newSettleScreen(m.b(), settlePay(m))
			s.Update(settledMsg{pay: s.p.id, err: fmt.Errorf("settle: %w", posclient.ErrSettling)})
			return s
		}},
		{"settlement-failed", func(m Model) Screen {
			s := newSettleScreen(m.b(), settlePay(m))
			s.Update(settledMsg{pay: s.p.id, err: fmt.Errorf("post: %w", posclient.ErrOffline)})
			return s
		}},
		{"settle-slip", func(m Model) Screen {
			s := newSettleSlip(m.b(), (&settleScreen{base: m.b(), res: testSettlement}).slip(), settlePay(m))
			s.queued(queuedMsg{pay: s.p.id})
			return s
		}},
	}
}

// The settlement's screens as the cashier sees them at 80×24, every key
// in the help, in both languages, in and out of training mode.
func TestSettleScreensFit(t *testing.T) {
	for _, c := range settleCases() {
		for _, lang := range []i18n.Lang{i18n.ZH, i18n.EN} {
			for _, demo := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s-%s-demo=%v", c.name, lang, demo), func(t *testing.T) {
					m := screenModelIn(t, lang, demo, c)
					checkFits(t, m.View(), 80, 24)
					help := m.helpLines()
					if len(help) > 2 {
						t.Errorf("help takes %d lines", len(help))
					}
					shown := ansi.Strip(strings.Join(help, "\n"))
					for _, b := range m.helpBindings() {
						if item := b.Help().Key + " " + b.Help().Desc; b.Enabled() && !strings.Contains(shown, item) {
							t.Errorf("%q is not in the help:\n%s", item, shown)
						}
					}
					body := m.Active().View()
					if n, room := strings.Count(strings.TrimRight(body, "\n "), "\n")+1, 24-2-len(help); n > room {
						t.Errorf("the screen is %d lines, %d fit above its help:\n%s", n, room, body)
					}
					w, h := m.minSize()
					if w > 80 || h > 24 {
						t.Errorf("needs %d×%d", w, h)
					}
					m.c.Width, m.c.Height = w, h
					_, room := m.Active().MinSize()
					if n := strings.Count(strings.TrimRight(m.Active().View(), "\n"), "\n") + 1; n > room {
						t.Errorf("at its minimum %d×%d the body is %d lines, room for %d", w, h, n, room)
					}
				})
			}
		}
	}
}

// The settlement's flow through the root model, with the answers its
// commands would bring: confirm, supervisor (a wrong password first),
// the settlement, the slip; and a batch settled already.
func TestSettleFlowSteps(t *testing.T) {
	m := demoModel(t, i18n.ZH, false)
	m.router.follow(toMenu{ch: api.Card})
	m = typeKeys(t, m, "7")
	conf, ok := m.Active().(*settleConfirm)
	if !ok {
		t.Fatalf("menu item 7 opened %s", m.Active().Name())
	}
	m, _ = step(t, m, openBatchMsg{pay: conf.p.id + 1, batch: "000009"}) // another payment's: dropped
	if conf.batch != "" {
		t.Fatal("an answer for another payment was taken")
	}
	m, _ = step(t, m, openBatchMsg{pay: conf.p.id, batch: "000001"})
	m, _ = step(t, m, tea.KeyMsg{Type: tea.KeyEnter})
	if m.Active().Name() != "supervisor" {
		t.Fatalf("after confirm: %s", m.Active().Name())
	}
	m = typeKeys(t, m, "999999")
	m, _ = step(t, m, tea.KeyMsg{Type: tea.KeyEnter})
	if v := ansi.Strip(m.View()); !strings.Contains(v, "主管密码错误") {
		t.Fatalf("wrong password:\n%s", v)
	}
	m = typeKeys(t, m, "123456")
	m, cmd := step(t, m, tea.KeyMsg{Type: tea.KeyEnter})
	s, ok := m.Active().(*settleScreen)
	if !ok || cmd == nil || !s.Busy() || s.p.batch != "000001" {
		t.Fatalf("after the password: %s", m.Active().Name())
	}
	m, _ = step(t, m, settledMsg{pay: s.p.id, err: &posclient.BatchMovedError{Batch: "000001", Open: "000002"}})
	if s.phase != setFetching || !strings.Contains(ansi.Strip(m.View()), "批次 000001 已结算过") {
		t.Fatalf("batch moved:\n%s", ansi.Strip(m.View()))
	}
	cut := testSettlement
	cut.By = api.SettledByCutoff
	m, _ = step(t, m, settledMsg{pay: s.p.id, res: cut, fetched: true})
	v := ansi.Strip(m.View())
	for _, want := range []string{"已在日切时自动结算", "对账平", "¥146.00", "000002"} {
		if !strings.Contains(v, want) {
			t.Errorf("settled screen lacks %q:\n%s", want, v)
		}
	}
	if m.router.lastSettle == nil || m.router.lastSettle.Settlement.Batch != "000001" || !m.router.lastSettle.Settlement.Cutoff {
		t.Fatalf("last settlement not kept: %+v", m.router.lastSettle)
	}
	m, _ = step(t, m, tea.KeyMsg{Type: tea.KeyEnter})
	rs, ok := m.Active().(*receiptScreen)
	if !ok || !rs.settlement() {
		t.Fatalf("Enter opened %s, not the settlement slip", m.Active().Name())
	}
	m, _ = step(t, m, queuedMsg{pay: rs.p.id})
	m, _ = step(t, m, tea.KeyMsg{Type: tea.KeyEnter})
	if m.Active().Name() != "channels" {
		t.Fatalf("one copy only: after the slip %s", m.Active().Name())
	}
}

// A refusal gets a new request id for the next try; no answer keeps it,
// so that a settlement the server did is never asked for twice.
func TestSettleRetryIDs(t *testing.T) {
	m := demoModel(t, i18n.EN, false)
	s := newSettleScreen(m.b(), settlePay(m))
	id := s.reqID
	s.Update(settledMsg{pay: s.p.id, err: fmt.Errorf("post: %w", posclient.ErrOffline)})
	if s.phase != setFailed || s.reqID != id {
		t.Fatalf("after no answer: phase %d, id changed %v", s.phase, s.reqID != id)
	}
	s.Update(settledMsg{pay: s.p.id, err: fmt.Errorf("settle: %w: %w", posclient.ErrSettling, &api.Error{Code: api.CodeSettling})})
	if s.phase != setSettling || s.reqID == id {
		t.Fatalf("after settling: phase %d, same id %v", s.phase, s.reqID == id)
	}
}
