package tui

import (
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/multipos/multipos/api"
)

// Keystroke → new frame: one Update for a key press plus the View that the
// renderer draws after it, on an 80×24 counter screen.

func benchKeystroke(b *testing.B, m Model, k tea.KeyMsg) {
	b.Helper()
	next, _ := m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	m = next.(Model)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		next, _ := m.Update(k)
		_ = next.View()
	}
}

func BenchmarkKeystrokeChannelList(b *testing.B) {
	c := testCommon(b)
	c.opts.TerminalID = "T0000001"
	benchKeystroke(b, newModel(c, newChannelList(c)), runes("7"))
}

func BenchmarkKeystrokeQR(b *testing.B) {
	c := testCommon(b)
	c.opts.TerminalID = "T0000001"
	p := c.newPayment(api.Alipay)
	p.amount = 1234
	p.order = api.Order{ID: "o1", OutTradeNo: "T000000120261125165407000001", State: api.StatePending, Version: 2,
		QRContent: "https://qr.alipay.com/bax03431ljhokirwl38f00a7", ExpiresAt: c.now().Add(2 * time.Minute)}
	s := &qrScreen{c: c, p: p, prev: newAmount(c, api.Alipay, "menu.qr"), phase: qrShowing}
	code, err := renderQR(p.order.QRContent)
	if err != nil {
		b.Fatal(err)
	}
	s.code = code
	benchKeystroke(b, newModel(c, s), tea.KeyMsg{Type: tea.KeyBackspace})
}
