package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/config"
	"github.com/multipos/multipos/i18n"
	"github.com/multipos/multipos/money"
)

func runes(s string) tea.KeyMsg { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)} }

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

func testCommon(t testing.TB) *Common {
	t.Helper()
	c := &Common{
		opts:   Options{Now: func() time.Time { return time.Date(2026, 11, 25, 16, 54, 7, 0, time.UTC) }, Keys: config.DefaultTerminal().Keys},
		Lang:   i18n.ZH,
		Keys:   NewKeyMap(config.DefaultTerminal().Keys, i18n.ZH, false),
		InfoOK: true,
		Info: api.TerminalInfo{Channels: []api.ChannelInfo{
			{Channel: api.Alipay, Enabled: true, SingleLimit: 2_000_000, DailyLimit: 20_000_000, DailyUsed: 19_999_000},
			{Channel: api.WeChat, Enabled: false, SingleLimit: 1_000_000},
			{Channel: api.Card, Enabled: true},
		}},
		LinkKnown: true, LinkUp: true,
		Width: 80, Height: 24,
	}
	c.Styles = DefaultStyles(lipgloss.DefaultRenderer())
	return c
}

func TestAmountLimits(t *testing.T) {
	c := testCommon(t)
	s := newAmount(c, api.Alipay, "menu.qr")
	for in, want := range map[money.Fen]string{
		0:         "金额不能为零",
		2_000_001: "超过单笔限额 ¥20,000.00",
		1_001:     "超过今日余额 ¥10.00",
		1_000:     "",
	} {
		if got := s.check(in); got != want {
			t.Errorf("check(%v) = %q, want %q", in, got, want)
		}
	}
	c.LinkUp = false
	if got := s.check(1_000); got != "服务器离线，现在无法收款" {
		t.Errorf("offline: %q", got)
	}
	// No limit on the card channel.
	c.LinkUp = true
	if got := newAmount(c, api.Card, "menu.sale").check(money.Max); got != "" {
		t.Errorf("card without limits refused: %q", got)
	}
}

func TestAmountScreenKeys(t *testing.T) {
	c := testCommon(t)
	var s Screen = newAmount(c, api.Alipay, "menu.qr")
	for _, k := range []tea.KeyMsg{runes("5"), runes("x"), runes("0")} {
		s, _ = s.Update(k)
	}
	a := s.(*amountScreen)
	if a.entry.value() != 50 {
		t.Fatalf("letters must not change the amount: %v", a.entry.value())
	}
	s, _ = s.Update(runes("q"))
	if !strings.Contains(s.View(), "只能输入数字") {
		t.Fatalf("no hint for a letter:\n%s", s.View())
	}
	s, _ = s.Update(tea.KeyMsg{Type: tea.KeyBackspace})
	s, _ = s.Update(tea.KeyMsg{Type: tea.KeyBackspace})
	s, _ = s.Update(tea.KeyMsg{Type: tea.KeyEnter})
	if s.Name() != "amount" || !strings.Contains(s.View(), "金额不能为零") {
		t.Fatalf("zero accepted: %s\n%s", s.Name(), s.View())
	}
	for _, d := range "2000001" {
		s, _ = s.Update(runes(string(d)))
	}
	s, _ = s.Update(runes("*")) // symbol: 00
	s, _ = s.Update(tea.KeyMsg{Type: tea.KeyEnter})
	if s.Name() != "amount" || !strings.Contains(s.View(), "超过单笔限额 ¥20,000.00") {
		t.Fatalf("over limit accepted: %s\n%s", s.Name(), s.View())
	}
	s, _ = s.Update(tea.KeyMsg{Type: tea.KeyEsc})
	if s.Name() != "menu" {
		t.Fatalf("Esc went to %s, want menu", s.Name())
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
	c := testCommon(t)
	var s Screen = newChannelList(c)
	s, _ = s.Update(runes("2"))
	if s.Name() != "channels" || !strings.Contains(s.View(), "未开通") {
		t.Fatalf("disabled channel opened: %s", s.Name())
	}
	s, _ = s.Update(runes("7"))
	if s.Name() != "channels" || !strings.Contains(s.View(), "没有通道 7") {
		t.Fatalf("channel 7: %s\n%s", s.Name(), s.View())
	}
	s, _ = s.Update(runes("1"))
	if s.Name() != "welcome" {
		t.Fatalf("1 opened %s", s.Name())
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
		c := testCommon(t)
		c.opts.Demo = demo
		c.Keys = NewKeyMap(config.DefaultTerminal().Keys, i18n.ZH, demo)
		p := c.newPayment(api.Alipay)
		p.order = api.Order{ID: "o1", Channel: api.Alipay, State: api.StatePending, Version: 2, ExpiresAt: c.serverNow().Add(time.Minute)}
		m := newModel(c, &qrScreen{c: c, p: p, prev: newAmount(c, api.Alipay, "menu.qr"), phase: qrShowing})
		help := m.helpLine()
		if strings.Contains(help, "顾客付款") != demo {
			t.Errorf("demo=%v: help line %q", demo, help)
		}
		if key.Matches(tea.KeyMsg{Type: tea.KeyF5}, c.Keys.CustomerPays) != demo {
			t.Errorf("demo=%v: F5 bound to the customer paying", demo)
		}
	}
}
