package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/config"
	"github.com/multipos/multipos/i18n"
	"github.com/multipos/multipos/money"
)

func TestAmountFillsFromTheRight(t *testing.T) {
	var a amountEntry
	want := []money.Fen{1, 12, 123, 1234}
	for i, d := range []int{1, 2, 3, 4} {
		a.push(d)
		if a.value() != want[i] {
			t.Fatalf("after %d digits: %v, want %v", i+1, a.value(), want[i])
		}
	}
	if got := a.value().String(); got != "12.34" {
		t.Fatalf("1,2,3,4 shows %q, want 12.34", got)
	}
	a.del()
	if a.value() != 123 {
		t.Fatalf("backspace: %v", a.value())
	}
	a.pushDoubleZero()
	if a.value() != 12300 {
		t.Fatalf("00: %v", a.value())
	}
	for range 3 {
		a.del()
	}
	a.del()
	a.del()
	if a.value() != 0 || a.digits != "" {
		t.Fatalf("delete past empty: %v %q", a.value(), a.digits)
	}
	// Leading zeros are not digits.
	a.push(0)
	a.push(0)
	if a.digits != "" {
		t.Fatalf("leading zeros kept: %q", a.digits)
	}
	for range maxAmountDigits {
		if !a.push(9) {
			t.Fatal("refused a digit before the maximum")
		}
	}
	if a.push(9) {
		t.Fatal("accepted an 11th digit")
	}
	if a.value() != 9_999_999_999 || a.value() > money.Max {
		t.Fatalf("max = %v", a.value())
	}
}

func TestAmountLimits(t *testing.T) {
	m := testModel(t, testOptions())
	s := newAmount(m.b(), api.Alipay, actQR)
	for in, want := range map[money.Fen]string{
		0:         "金额不能为零",
		2_000_001: "超过单笔限额 ¥20,000.00",
		1_001:     "超过今日余额 ¥10.00",
		1_000:     "",
	} {
		if got := s.check(in).in(m.c); got != want {
			t.Errorf("check(%v) = %q, want %q", in, got, want)
		}
	}
	m.st.server.link.up = false
	if got := s.check(1_000).in(m.c); got != "服务器离线，现在无法收款" {
		t.Errorf("offline: %q", got)
	}
	// No limit on the card channel.
	m.st.server.link.up = true
	if got := newAmount(m.b(), api.Card, actSale).check(money.Max).in(m.c); got != "" {
		t.Errorf("card without limits refused: %q", got)
	}
}

func TestAmountScreenKeys(t *testing.T) {
	m := testModel(t, testOptions())
	a := newAmount(m.b(), api.Alipay, actQR)
	var s Screen = a
	for _, k := range []tea.KeyMsg{runes("5"), runes("x"), runes("0")} {
		s.Update(k)
	}
	if a.entry.value() != 50 {
		t.Fatalf("letters must not change the amount: %v", a.entry.value())
	}
	s.Update(runes("q"))
	if !strings.Contains(s.View(), "只能输入数字") {
		t.Fatalf("no hint for a letter:\n%s", s.View())
	}
	s.Update(tea.KeyMsg{Type: tea.KeyBackspace})
	s.Update(tea.KeyMsg{Type: tea.KeyBackspace})
	if n := stepScreen(s, tea.KeyMsg{Type: tea.KeyEnter}); n != nil || !strings.Contains(s.View(), "金额不能为零") {
		t.Fatalf("zero accepted: %#v\n%s", n, s.View())
	}
	for _, d := range "2000001" {
		s.Update(runes(string(d)))
	}
	s.Update(runes("*")) // symbol: 00
	if n := stepScreen(s, tea.KeyMsg{Type: tea.KeyEnter}); n != nil || !strings.Contains(s.View(), "超过单笔限额 ¥20,000.00") {
		t.Fatalf("over limit accepted: %#v\n%s", n, s.View())
	}
	if n, ok := stepScreen(s, tea.KeyMsg{Type: tea.KeyEsc}).(goBack); !ok || n.to != "" || !n.hint.empty() {
		t.Fatalf("Esc asked for %#v, want back to the menu", n)
	}
}

func TestKeyMapFromConfig(t *testing.T) {
	k := config.DefaultTerminal().Keys
	k.Confirm = []string{"f12", "enter"}
	k.Cancel = []string{"f11"}
	m := NewKeyMap(k, i18n.EN, false)
	if !key.Matches(tea.KeyMsg{Type: tea.KeyF12}, m.Confirm) || !key.Matches(tea.KeyMsg{Type: tea.KeyEnter}, m.Confirm) {
		t.Fatal("configured confirm keys do not match")
	}
	if key.Matches(tea.KeyMsg{Type: tea.KeyEsc}, m.Cancel) || !key.Matches(tea.KeyMsg{Type: tea.KeyF11}, m.Cancel) {
		t.Fatal("cancel still bound to Esc")
	}
	if got := m.Confirm.Help(); got.Key != "F12" || got.Desc != "confirm" {
		t.Fatalf("help built from the binding: %+v", got)
	}
	if m.CustomerPays.Enabled() {
		t.Fatal("trainer key enabled outside demo")
	}
	if !NewKeyMap(k, i18n.ZH, true).CustomerPays.Enabled() {
		t.Fatal("trainer key disabled in demo")
	}
	if got := NewKeyMap(k, i18n.ZH, true).Function.Help().Desc; got != "English" {
		t.Fatalf("function key help in zh = %q", got)
	}
}

func TestSplitRunes(t *testing.T) {
	parts := splitRunes(runes("12"))
	if len(parts) != 2 || string(parts[0].Runes) != "1" || string(parts[1].Runes) != "2" {
		t.Fatalf("split = %v", parts)
	}
	if p := splitRunes(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("12"), Paste: true}); len(p) != 1 {
		t.Fatal("a paste was split")
	}
}

func TestChannelListRefusesDisabledAndUnknown(t *testing.T) {
	m := testModel(t, testOptions())
	m = typeKeys(t, m, "2")
	if m.Screen() != "channels" || !strings.Contains(m.View(), "未开通") {
		t.Fatalf("disabled channel opened: %s", m.Screen())
	}
	m = typeKeys(t, m, "7")
	if m.Screen() != "channels" || !strings.Contains(m.View(), "没有通道 7") {
		t.Fatalf("channel 7: %s\n%s", m.Screen(), m.View())
	}
	m = typeKeys(t, m, "1")
	if m.Screen() != "welcome" {
		t.Fatalf("1 opened %s", m.Screen())
	}
}

func TestQRRenderRefusesOversizedContent(t *testing.T) {
	if _, err := renderQR(strings.Repeat("x", 5000)); err == nil {
		t.Fatal("oversized content accepted")
	}
	code, err := renderQR("https://qr.alipay.com/bax03431ljhokirwl38f00a7")
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(code, "\n") + 1; lines > 19 {
		t.Fatalf("QR is %d lines, too tall for 80x24", lines)
	}
}

// Trainer keys appear in the help line in demo mode only, and do nothing
// outside it.
func TestTrainerKeysOnlyInDemo(t *testing.T) {
	for _, demo := range []bool{false, true} {
		o := testOptions()
		o.Demo = demo
		m := testModel(t, o)
		c := m.c
		p := m.router.newPayment(api.Alipay, "")
		p.order = api.Order{ID: "o1", Channel: api.Alipay, State: api.StatePending, Version: 2, ExpiresAt: m.st.serverNow().Add(time.Minute)}
		q := newQR(m.b(), p)
		q.phase = fOpen
		m = m.open(q)
		help := strings.Join(m.helpLines(), "\n")
		if strings.Contains(help, "顾客付款") != demo {
			t.Errorf("demo=%v: help line %q", demo, help)
		}
		if key.Matches(tea.KeyMsg{Type: tea.KeyF5}, c.Keys.CustomerPays) != demo {
			t.Errorf("demo=%v: F5 bound to the customer paying", demo)
		}
	}
}
