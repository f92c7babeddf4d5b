package tui_test

import (
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/demo"
	"github.com/multipos/multipos/i18n"
)

// scan plays the cashier's barcode scanner: the code's digits and Enter,
// as fast as a scanner types them; the terminal hands a burst over as one
// read, as it does here.
func (f *flow) scan(code string) {
	f.tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(code)})
	f.key(tea.KeyEnter)
}

// openBarcode walks from the channel list (on screen) to the barcode
// screen of the channel numbered digit, for amount.
func (f *flow) openBarcode(digit, welcome, amount string) {
	f.t.Helper()
	f.keys(digit)
	f.waitFor(welcome)
	f.key(tea.KeyEnter)
	f.waitFor("付款码收款")
	f.keys("2")
	f.waitFor("请输入金额")
	f.keys(amount)
	f.key(tea.KeyEnter)
	f.waitFor("请扫描顾客的付款码")
}

func barcodeFlow(t *testing.T, ch api.Channel, digit, welcome, code, otherCode, otherName string) {
	env := startDemo(t, demo.Options{})
	now := func() time.Time { return fixedNow }
	f := newFlow(t, env, appOptions(env, i18n.ZH, now))

	// A scan on the channel list is never taken as keys: it would pick a
	// channel and type an amount.
	f.waitFor("单笔限额 ¥", "在线")
	f.scan(code)
	f.waitFor("此处不接受扫码")

	f.openBarcode(digit, welcome, "500")
	// The other wallet's code is refused before anything is sent.
	f.scan(otherCode)
	f.waitFor("这是" + otherName + "付款码")
	// The scanner reads the customer's code: paid at once.
	f.scan(code)
	f.waitFor("支付成功")
	f.key(tea.KeyEnter)
	f.waitFor("商户存根已打印")
	f.key(tea.KeyEnter)
	f.waitFor("顾客联已打印")
	f.key(tea.KeyEnter)
	f.waitFor("请选择支付通道")

	// A code the customer must confirm on the phone (trainer: F6 shows one).
	f.openBarcode(digit, welcome, "800")
	f.key(tea.KeyF6)
	f.waitFor("等待顾客在手机上确认付款")
	f.key(tea.KeyF5) // trainer: the customer confirms
	f.waitFor("支付成功")
	f.key(tea.KeyEnter)
	f.waitFor("商户存根已打印")
	f.key(tea.KeyEnter)
	f.waitFor("顾客联已打印")
	f.key(tea.KeyEnter)
	f.waitFor("请选择支付通道")
	final := f.finish()
	if final.Screen() != "channels" || final.LastResult().State != api.StateSuccess {
		t.Fatalf("final screen %s, last result %+v", final.Screen(), final.LastResult())
	}

	first := serverOrder(t, env, "000002", 500, api.StateSuccess)
	second := serverOrder(t, env, "000003", 800, api.StateSuccess)
	for _, o := range []api.Order{first, second} {
		if o.Channel != ch || o.Kind != api.KindWalletBarcode || o.TradeNo == "" {
			t.Fatalf("order %+v", o)
		}
	}
	if got := historyStates(t, env, first.ID); got != "CREATED>SUCCESS" {
		t.Fatalf("paid at once: history %s", got)
	}
	if got := historyStates(t, env, second.ID); got != "CREATED>PENDING>SUCCESS" {
		t.Fatalf("confirmed on the phone: history %s", got)
	}
	for _, s := range f.screens() {
		if s == "qr" {
			t.Fatalf("a QR code was shown: %v", f.screens())
		}
	}
	if !strings.Contains(strings.Join(f.screens(), " "), "barcode result receipt") {
		t.Fatalf("screens %v", f.screens())
	}
}

func TestAlipayBarcodeFlow(t *testing.T) {
	barcodeFlow(t, api.Alipay, "1", "欢迎使用支付宝收款", "281234567890123456", "134567890123456789", "微信支付")
}

func TestWeChatBarcodeFlow(t *testing.T) {
	barcodeFlow(t, api.WeChat, "2", "欢迎使用微信支付收款", "134567890123456789", "281234567890123456", "支付宝")
}
