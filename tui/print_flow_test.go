package tui_test

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/multipos/multipos/cards"
	"github.com/multipos/multipos/demo"
	"github.com/multipos/multipos/devices/printer"
	"github.com/multipos/multipos/i18n"
	"github.com/multipos/multipos/receipts"
	"github.com/multipos/multipos/receipts/escpos"
	"github.com/multipos/multipos/sandbox/netprinter"
)

// netPrinter is an 80 mm ESC/POS printer on a TCP 9100 peer.
func netPrinter(t *testing.T) (*netprinter.Printer, *printer.Printer) {
	t.Helper()
	np, err := netprinter.Start(netprinter.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { np.Close() })
	addr := np.Addr()
	p := printer.New("tcp "+addr, func(ctx context.Context) (printer.Link, error) { return printer.DialTCP(ctx, addr) },
		receipts.Profile{Width: receipts.Width80, Chinese: escpos.ChineseFS, Cut: escpos.CutPartial})
	t.Cleanup(func() { p.Close() })
	return np, p
}

func sheets(t *testing.T, np *netprinter.Printer, n int) []netprinter.Sheet {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := np.WaitSheets(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != n {
		t.Fatalf("%d sheets printed, want %d", len(s), n)
	}
	return s
}

// The patent's flows print both copies on a network printer: a wallet
// payment, then a card sale, each Confirm twice back to the channel list.
func TestFlowsPrintOnNetworkPrinter(t *testing.T) {
	t.Parallel()
	np, p := netPrinter(t)
	env := startDemo(t, demo.Options{Printer: p, Width: receipts.Width80})
	f := newFlow(t, env, appOptions(env, i18n.ZH, func() time.Time { return fixedNow }))
	f.openQR("1", "1234")
	f.key(tea.KeyF5)
	f.waitFor("支付成功")
	f.key(tea.KeyEnter)
	f.waitFor("商户存根已打印")
	f.customerCopy()
	s := sheets(t, np, 2)
	for i, want := range []string{"{center,bold} 商户存根 MERCHANT COPY", "{center,bold} 顾客联 CUSTOMER COPY"} {
		text := s[i].Text()
		if !strings.Contains(text, want) || !strings.Contains(text, "{center,bold,2x2} 支付宝 Alipay") ||
			!strings.Contains(text, "{right,bold,2x2} RMB 12.34") || !strings.Contains(text, "«qr model=2 size=6 ecc=M T0000001") ||
			!strings.Contains(text, "演示 DEMO") || s[i].Torn || !s[i].Cut {
			t.Errorf("sheet %d:\n%s", i, text)
		}
	}

	// A card sale: the merchant copy has the signature line; neither copy
	// has the full card number.
	card := testCard(t, "1")
	f.keys("3")
	f.key(tea.KeyEnter)
	f.key(tea.KeyEnter)
	f.waitFor("请输入金额")
	f.keys("500")
	f.key(tea.KeyEnter)
	f.waitFor("请刷卡或插卡")
	f.key(tea.KeyF7)
	f.waitFor("选择测试卡")
	f.keys("1")
	f.waitFor("请核对卡号")
	f.key(tea.KeyEnter)
	f.waitFor("请持卡人输入密码")
	f.keys(card.PIN)
	f.key(tea.KeyEnter)
	f.waitFor("交易成功")
	f.key(tea.KeyEnter)
	f.waitFor("商户存根已打印")
	f.customerCopy()
	f.finish()
	s = sheets(t, np, 4)
	merchant, holder := s[2].Text(), s[3].Text()
	if !strings.Contains(merchant, "持卡人签名(CARDHOLDER SIGNATURE)") || !strings.Contains(merchant, cards.Mask(card.PAN)) ||
		!strings.Contains(holder, "持卡人存根 CARDHOLDER COPY") || strings.Contains(holder, "持卡人签名") {
		t.Errorf("card copies:\n%s\n%s", merchant, holder)
	}
	if strings.Contains(merchant+holder, card.PAN) {
		t.Error("a receipt carries the full card number")
	}
	if np.Garbled() != 0 {
		t.Errorf("%d garbled bytes reached the printer", np.Garbled())
	}
}

// The roll ends in the middle of the merchant copy: the cashier is asked to
// refill, and that copy prints again, whole. Then 重打印 prints the last
// receipt again, marked as a reprint, and finds one by its trace number.
func TestPaperOutAndReprint(t *testing.T) {
	t.Parallel()
	np, p := netPrinter(t)
	env := startDemo(t, demo.Options{Printer: p, Width: receipts.Width80})
	f := newFlow(t, env, appOptions(env, i18n.ZH, func() time.Time { return fixedNow }))
	np.PaperOutAfter(8)
	f.openQR("2", "880")
	f.key(tea.KeyF5)
	f.waitFor("支付成功")
	f.key(tea.KeyEnter)
	f.waitFor("打印机缺纸，请装纸", "此联整张重打", "待打印1", "打印机 缺纸")
	// The paper goes in; the queue notices by itself (Enter would only
	// make it try at once) and prints the copy again.
	np.Refill()
	f.waitFor("商户存根已打印")
	s := sheets(t, np, 2)
	if !s[0].Torn || s[1].Torn || !strings.Contains(s[1].Text(), "商户存根") || !strings.Contains(s[1].Text(), "RMB 8.80") {
		t.Fatalf("after the refill:\n%s\n%s", s[0].Text(), s[1].Text())
	}
	f.customerCopy()

	// 重打印 in the WeChat Pay menu: Confirm alone is the last receipt.
	f.keys("2")
	f.key(tea.KeyEnter)
	f.waitFor("重打印")
	f.keys("3")
	f.waitFor("重打印上一笔")
	f.key(tea.KeyEnter)
	f.waitFor("重打印 · 商户存根", "商户存根已打印")
	f.customerCopy()
	s = sheets(t, np, 5)
	for _, sh := range s[3:] {
		if !strings.Contains(sh.Text(), "{bold} ==") || !strings.Contains(sh.Text(), "重打印 REPRINT") || !strings.Contains(sh.Text(), "RMB 8.80") {
			t.Errorf("reprint:\n%s", sh.Text())
		}
	}

	// By trace number: a trace that is not here, then the payment's.
	f.keys("2")
	f.key(tea.KeyEnter)
	f.keys("3")
	f.waitFor("重打印上一笔")
	f.keys("999")
	f.key(tea.KeyEnter)
	f.waitFor("本机没有凭证号 000999 的小票")
	f.key(tea.KeyBackspace)
	f.key(tea.KeyBackspace)
	f.key(tea.KeyBackspace)
	f.keys("2") // 000002
	f.key(tea.KeyEnter)
	f.waitFor("重打印 · 商户存根", "商户存根已打印")
	f.customerCopy()
	f.finish()
	if s := sheets(t, np, 7); !strings.Contains(s[6].Text(), "凭证号(TRACE NO.)") || !strings.Contains(s[6].Text(), "000002") {
		t.Errorf("reprint by trace:\n%s", s[6].Text())
	}
}

// The trainer's paper key runs the demo printer out of paper: the status
// bar says so, the merchant copy waits in the queue with the cashier told
// why, and the same key (paper in) lets it print by itself.
func TestTrainerPaperKey(t *testing.T) {
	t.Parallel()
	env := startDemo(t, demo.Options{})
	f := newFlow(t, env, appOptions(env, i18n.ZH, func() time.Time { return fixedNow }))
	f.waitFor("单笔限额 ¥", "在线")
	f.key(tea.KeyF8)
	f.waitFor("打印机 缺纸")
	f.keys("1")
	f.key(tea.KeyEnter)
	f.key(tea.KeyEnter)
	f.keys("1234")
	f.key(tea.KeyEnter)
	f.waitFor("等待顾客付款")
	f.key(tea.KeyF5)
	f.waitFor("支付成功")
	f.key(tea.KeyEnter)
	f.waitFor("商户存根未打印", "打印机缺纸，请装纸", "待打印1")
	if n := len(env.Printer.Printed()); n != 0 {
		t.Fatalf("%d copies printed without paper", n)
	}
	f.key(tea.KeyF8)
	f.waitFor("商户存根已打印", "打印机 就绪")
	f.customerCopy()
	f.finish()
	if n := len(env.Printer.Printed()); n != 2 {
		t.Fatalf("%d copies printed, want 2", n)
	}
}

// customerCopy confirms a printed merchant copy, waits for the customer
// copy to print, and confirms it: back to the channel list.
func (f *flow) customerCopy() {
	f.t.Helper()
	f.key(tea.KeyEnter)
	f.waitFor("顾客联已打印")
	f.key(tea.KeyEnter)
	f.waitFor("请选择支付通道")
}
