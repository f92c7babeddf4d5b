package tui_test

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/cards"
	"github.com/multipos/multipos/demo"
	"github.com/multipos/multipos/devices/pcsc"
	"github.com/multipos/multipos/devices/pcsc/pcsctest"
	"github.com/multipos/multipos/i18n"
	"github.com/multipos/multipos/sandbox/acquirer"
	"github.com/multipos/multipos/sandbox/emvcard"
)

// TestChipCardThroughPCSC takes cards from insert to result through the
// real path: a virtual EMV card dials vpcd in a private pcscd, the PC/SC
// reader reads it (PPSE/PSE, GPO, records) and the app sends the sale,
// with the chip data for field 55, over the ISO 8583 link to the bank.
func TestChipCardThroughPCSC(t *testing.T) {
	rig := pcsctest.Start(t)
	for _, tc := range []struct {
		card, pin, want string
		state           api.State
		code            string
		opts            emvcard.Options
		entry           string
	}{
		{"approved", "123456", "交易成功", api.StateSuccess, "00", emvcard.Options{Protocol: emvcard.T0, Directory: emvcard.DirPSE}, "chip"},
		{"approved", "123456", "交易成功", api.StateSuccess, "00", emvcard.Options{Directory: emvcard.DirPPSE}, "contactless"},
		{"insufficient", "123456", "余额不足", api.StateFailed, "51", emvcard.Options{}, "chip"},
		{"approved", "654321", "密码错误", api.StateFailed, "55", emvcard.Options{Directory: emvcard.DirNone}, "chip"},
		{"expired", "123456", "卡已过期", api.StateFailed, "54", emvcard.Options{}, "chip"},
		{"issuer-unavailable", "123456", "发卡行不能及时响应", api.StateFailed, "91", emvcard.Options{}, "chip"},
	} {
		t.Run(tc.card+"-"+tc.code+"-"+tc.entry, func(t *testing.T) {
			var tcard acquirer.TestCard
			for _, c := range acquirer.TestCards() {
				if c.ID == tc.card {
					tcard = c
				}
			}
			env := startDemo(t, demo.Options{})
			reader := pcsc.Open(pcsc.Options{Filter: rig.ReaderName(0)})
			t.Cleanup(func() { _ = reader.Close() })
			o := appOptions(env, i18n.ZH, nil)
			o.Reader = reader
			f := newFlow(t, env, o)
			f.waitFor("单笔限额 ¥", "在线")
			f.keys("3")
			f.waitFor("欢迎使用银联刷卡收款")
			f.key(tea.KeyEnter)
			f.waitFor("主菜单")
			f.key(tea.KeyEnter)
			f.waitFor("请输入金额")
			f.keys("8800")
			f.key(tea.KeyEnter)
			f.waitFor("请刷卡或插卡")
			card := emvcard.MustNew(emvcard.Data{PAN: tcard.PAN, Expiry: tcard.Expiry, Holder: tcard.Holder, ServiceCode: "220",
				PANSequence: "01", Apps: []emvcard.App{{AID: "A000000333010101", Label: "UnionPay Debit", Priority: 1}}}, tc.opts)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := rig.Insert(ctx, 0, card); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = rig.Remove(0) })
			f.waitFor("请核对卡号", cards.Mask(tcard.PAN), "UnionPay Debit")
			f.key(tea.KeyEnter)
			f.waitFor("请持卡人输入密码")
			f.keys(tc.pin)
			f.key(tea.KeyEnter)
			f.waitFor(tc.want)
			if tc.state == api.StateSuccess {
				f.key(tea.KeyEnter)
				f.waitFor("商户存根已打印")
				f.key(tea.KeyEnter)
				f.waitFor("顾客联已打印")
				f.key(tea.KeyEnter)
				f.waitFor("请选择支付通道")
				if n := len(env.Printer.Printed()); n != 2 {
					t.Fatalf("printed %d copies", n)
				}
			}
			final := f.finish()
			got := final.LastResult()
			if got.State != tc.state || got.ResponseCode != tc.code || got.Entry != tc.entry || got.MaskedPAN != cards.Mask(tcard.PAN) {
				t.Fatalf("result %+v", got)
			}
			// The chip's data went to the bank in field 55, and field 22 says
			// how the card was read, with a PIN.
			l := env.Bank.Host.Ledger()
			wantMode := map[string]string{"chip": "051", "contactless": "071"}[tc.entry]
			if len(l) != 1 || l[0].ICCBytes == 0 || l[0].EntryMode != wantMode {
				t.Fatalf("the bank got %+v", l)
			}
			if strings.Contains(final.View(), tcard.PAN) {
				t.Fatal("the screen shows the full card number")
			}
		})
	}
}
