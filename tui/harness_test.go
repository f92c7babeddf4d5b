package tui

import (
	"context"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/config"
	"github.com/multipos/multipos/i18n"
)

// The component tests drive the root model, or one screen, with the
// messages the commands would bring, in the orders the network can
// deliver them, without running any command; the clock is injected.

var testNow = time.Date(2026, 11, 25, 16, 54, 7, 0, time.UTC)

func runes(s string) tea.KeyMsg { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)} }

func testOptions() Options {
	return Options{Now: func() time.Time { return testNow }, Keys: config.DefaultTerminal().Keys, Lang: i18n.ZH,
		TerminalID: "T0000001", PrinterWidth: 32}
}

// testModel is the app at 80×24 having heard from its server: limits known
// (Alipay's daily limit nearly used, WeChat Pay off) and the link up.
func testModel(t testing.TB, o Options) Model {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	c := &Common{ctx: ctx, Lang: o.Lang, Keys: NewKeyMap(o.Keys, o.Lang, o.Demo),
		Styles: DefaultStyles(lipgloss.DefaultRenderer()), Width: 80, Height: 24}
	m := newModel(c, &o, cancel)
	s := m.st.server
	s.info = api.TerminalInfo{MerchantName: "测试商户", Channels: []api.ChannelInfo{
		{Channel: api.Alipay, Enabled: true, SingleLimit: 2_000_000, DailyLimit: 20_000_000, DailyUsed: 19_999_000},
		{Channel: api.WeChat, Enabled: false, SingleLimit: 1_000_000},
		{Channel: api.Card, Enabled: true},
	}}
	s.infoOK, s.infoPending = true, false
	s.link = link{known: true, up: true, rtt: 12 * time.Millisecond}
	return m
}

// b is what the model's screens are built with.
func (m Model) b() base { return m.router.base }

// open puts s on screen as if the cashier had come to it.
func (m Model) open(s Screen) Model {
	m.router.stack = append(m.router.stack, s)
	return m
}

func step(t testing.TB, m Model, msg tea.Msg) (Model, tea.Cmd) {
	t.Helper()
	next, cmd := m.Update(msg)
	return next.(Model), cmd
}

// stepScreen hands msg to a lone screen and returns what it asked for.
func stepScreen(s Screen, msg tea.Msg) next {
	n, _ := s.Update(msg)
	return n
}

// typeKeys sends s as the cashier types it: a digit goes on once the
// scanner check's timer says nothing followed it.
func typeKeys(t testing.TB, m Model, s string) Model {
	t.Helper()
	for _, r := range s {
		m, _ = step(t, m, runes(string(r)))
		if m.keys.wedge.Holding() {
			m, _ = step(t, m, wedgeMsg{gen: m.keys.wedge.Gen()})
		}
	}
	return m
}
