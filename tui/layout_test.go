package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/cards"
	"github.com/multipos/multipos/i18n"
)

// Every screen fits the 80×24 counter screen exactly, in both languages,
// and renders without a size (before the first WindowSizeMsg).
func TestScreensFit80x24(t *testing.T) {
	for _, lang := range []i18n.Lang{i18n.ZH, i18n.EN} {
		c := testCommon(t)
		c.Lang = lang
		c.opts.TerminalID = "T0000001"
		c.opts.PrinterWidth = 32
		p := c.newPayment(api.Alipay)
		p.amount = 99_999_999_99
		p.order = api.Order{ID: "o1", Channel: api.Alipay, State: api.StatePending, Version: 2,
			OutTradeNo: "T000000120261125165407000001", QRContent: "https://qr.alipay.com/bax03431ljhokirwl38f00a7",
			ExpiresAt: c.serverNow().Add(2 * time.Minute)}
		qr := &qrScreen{c: c, p: p, prev: newAmount(c, api.Alipay, "menu.qr"), phase: qrShowing, hint: strings.Repeat("很长的提示 long hint ", 6)}
		qr.code, _ = renderQR(p.order.QRContent)
		cp := c.newPayment(api.Card)
		cp.amount = 8800
		cp.card = cards.Card{PAN: "6212345678900002", Expiry: "3012"}
		paid := c.newPayment(api.Card)
		paid.order = api.Order{ID: "c1", Channel: api.Card, State: api.StateSuccess, Amount: 8800, MaskedPAN: "621234******0002", AuthCode: "123456", RRN: "261125000001", Trace: "000001"}
		rcpt, _ := newReceipt(c, paid)
		screens := []Screen{
			newChannelList(c), newWelcome(c, api.WeChat), newMenu(c, api.Card), newAmount(c, api.Alipay, "menu.qr"),
			qr, newCardPrompt(c, cp, nil), &processing{c: c, p: cp, phase: procUnknown, hint: strings.Repeat("x ", 100)},
			newResult(c, paid), rcpt,
		}
		for _, s := range screens {
			m := newModel(c, s)
			c.Width, c.Height = 80, 24
			lines := strings.Split(m.View(), "\n")
			if len(lines) != 24 {
				t.Errorf("%s/%s: %d lines", lang, s.Name(), len(lines))
			}
			for i, l := range lines {
				if w := ansi.StringWidth(l); w > 80 {
					t.Errorf("%s/%s line %d is %d cells: %q", lang, s.Name(), i, w, l)
				}
			}
			if !strings.Contains(lines[len(lines)-1], "T0000001") {
				t.Errorf("%s/%s: status bar missing", lang, s.Name())
			}
			c.Width, c.Height = 0, 0
			if m.View() == "" {
				t.Errorf("%s/%s: empty view without a size", lang, s.Name())
			}
		}
	}
}
