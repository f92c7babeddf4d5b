package tui

import (
	"regexp"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/multipos/multipos/i18n"
	"github.com/multipos/multipos/server/api"
)

// A label never runs into its value, in either language.
func TestLabelsKeepAGapBeforeTheirValues(t *testing.T) {
	for _, lang := range []i18n.Lang{i18n.ZH, i18n.EN} {
		c := demoCommon(t, lang, false)
		var all strings.Builder
		for _, s := range everyScreen(c) {
			all.WriteString(ansi.Strip(s.View()) + "\n")
		}
		view := all.String()
		for _, want := range map[i18n.Lang][]string{
			i18n.EN: {`Expires in {2,}\d\d:\d\d`, `Orig\. trace {2,}000003`, `Orig\. card {2,}621234`},
			i18n.ZH: {`剩余时间 {2,}\d\d:\d\d`, `原凭证号 {2,}000003`, `原交易卡号 {2,}621234`},
		}[lang] {
			if !regexp.MustCompile(want).MatchString(view) {
				t.Errorf("%s: no %q in the screens", lang, want)
			}
		}
		for _, bad := range []string{"in01:", "trace000", "card621", "卡号621", "凭证号000"} {
			if strings.Contains(view, bad) {
				t.Errorf("%s: %q runs a label into its value", lang, bad)
			}
		}
	}
	if got := field("Orig. trace", "000003", 10); got != "  Orig. trace  000003\n" {
		t.Errorf("field: %q", got)
	}
}

// A hint shown before F1 is shown in the new language after it.
func TestHintFollowsTheLanguageKey(t *testing.T) {
	c := demoCommon(t, i18n.ZH, false)
	var s Screen = newAmount(c, api.Alipay, "menu.qr")
	m := newModel(c, s)
	m, _ = step(t, m, runes("x"))
	if !strings.Contains(m.View(), "只能输入数字") {
		t.Fatalf("no hint:\n%s", m.View())
	}
	m, _ = step(t, m, tea.KeyMsg{Type: tea.KeyF1})
	if v := m.View(); !strings.Contains(v, "Digits only") || strings.Contains(v, "只能输入数字") {
		t.Fatalf("the hint stayed in Chinese after F1:\n%s", v)
	}
	// An error from the server too.
	p := c.newPayment(api.Alipay)
	q, _ := newQR(c, p, newAmount(c, api.Alipay, "menu.qr"))
	m = newModel(c, q)
	m, _ = step(t, m, orderMsg{pay: p.id, op: opCreate, err: &api.Error{Code: api.CodeOverLimit, Limit: 2_000_000}})
	if !strings.Contains(m.View(), "Over the limit of ¥20,000.00") {
		t.Fatalf("%s", m.View())
	}
	m, _ = step(t, m, tea.KeyMsg{Type: tea.KeyF1})
	if !strings.Contains(m.View(), "超过单笔限额 ¥20,000.00") {
		t.Fatalf("the server's refusal stayed in English after F1:\n%s", m.View())
	}
}

// A digit past the last one says the number is full, not "digits only".
func TestTooManyDigitsSaysSo(t *testing.T) {
	c := demoCommon(t, i18n.EN, false)
	var s Screen = newOrigTrace(c, c.newPayment(api.Card), newMenu(c, api.Card))
	for range 7 {
		s, _ = s.Update(runes("1"))
	}
	if v := s.View(); !strings.Contains(v, "A trace number has 6 digits") || strings.Contains(v, "Digits only") {
		t.Errorf("7th trace digit:\n%s", v)
	}
	if got := s.(*origTrace).digits; got != "111111" {
		t.Errorf("trace %q", got)
	}
	s = newSupervisor(c, newMenu(c, api.Card), api.KindCardVoid)
	for range 13 {
		s, _ = s.Update(runes("1"))
	}
	if v := s.View(); !strings.Contains(v, "at most 12 digits") || strings.Contains(v, "Digits only") {
		t.Errorf("13th password digit:\n%s", v)
	}
	if s, _ = s.Update(runes("a")); !strings.Contains(s.View(), "Digits only") {
		t.Errorf("a letter:\n%s", s.View())
	}
}
