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
	benchKeystroke(b, testModel(b, testOptions()), runes("7"))
}

func BenchmarkKeystrokeQR(b *testing.B) {
	m := testModel(b, testOptions())
	p := m.router.newPayment(api.Alipay, "")
	p.amount = 1234
	p.order = api.Order{ID: "o1", OutTradeNo: "T000000120261125165407000001", State: api.StatePending, Version: 2,
		QRContent: "https://qr.alipay.com/bax03431ljhokirwl38f00a7", ExpiresAt: testNow.Add(2 * time.Minute)}
	s := newQR(m.b(), p)
	s.phase = fOpen
	s.show(p.order)
	benchKeystroke(b, m.open(s), tea.KeyMsg{Type: tea.KeyBackspace})
}
