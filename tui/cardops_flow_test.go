package tui_test

import (
	"context"
	"os"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/cards"
	"github.com/multipos/multipos/demo"
	"github.com/multipos/multipos/i18n"
	"github.com/multipos/multipos/sandbox/acquirer"
)

// soldAndBack sells ¥88.00 with test card 1, prints both copies and
// returns to the channel list; the sale has trace 000002.
func soldAndBack(t *testing.T) (*flow, *demo.Env) {
	t.Helper()
	f, env := cardFlow(t, i18n.ZH, "1", "123456", "交易成功")
	f.key(tea.KeyEnter)
	f.waitFor("商户存根已打印")
	f.key(tea.KeyEnter)
	f.waitFor("顾客联已打印")
	f.key(tea.KeyEnter)
	f.waitFor("请选择支付通道")
	return f, env
}

// cardMenu opens item n of the bank-card menu from the channel list.
func (f *flow) cardMenu(n string) {
	f.t.Helper()
	f.keys("3")
	f.waitFor("欢迎使用银联刷卡收款")
	f.key(tea.KeyEnter)
	f.waitFor("主菜单")
	f.keys(n)
}

// original passes the supervisor password and finds the sale with trace.
func (f *flow) original(trace string) {
	f.t.Helper()
	f.waitFor("请输入主管密码", "演示模式主管密码：123456")
	f.keys(demo.SupervisorPassword)
	f.key(tea.KeyEnter)
	f.waitFor("请输入原交易凭证号")
	f.keys(trace)
	f.key(tea.KeyEnter)
	f.waitFor("请核对原交易", "¥88.00", "621234******0002")
	f.key(tea.KeyEnter)
}

func TestCardVoidFlow(t *testing.T) {
	t.Parallel()
	f, env := soldAndBack(t)
	f.cardMenu("2")
	f.original("2") // 000002, typed short
	f.waitFor("请刷卡或插卡", "原凭证号", "000002")
	// Another card than the sale's is refused before anything is sent.
	f.key(tea.KeyF7)
	f.keys("2")
	f.waitFor("不是原交易的卡")
	f.key(tea.KeyF7)
	f.keys("1")
	f.waitFor("请核对卡号", "621234******0002")
	f.key(tea.KeyEnter) // no PIN for a void
	f.waitFor("撤销成功")
	f.key(tea.KeyEnter)
	f.waitFor("商户存根已打印")
	f.key(tea.KeyEnter)
	f.waitFor("顾客联已打印")
	f.key(tea.KeyEnter)
	f.waitFor("请选择支付通道")
	// Voiding it again is refused at the lookup, before a card or a trace.
	f.cardMenu("2")
	f.waitFor("请输入主管密码")
	f.keys(demo.SupervisorPassword)
	f.key(tea.KeyEnter)
	f.waitFor("请输入原交易凭证号")
	f.keys("2")
	f.key(tea.KeyEnter)
	f.waitFor("凭证号 000002 的交易已撤销，不能再撤销或退货")
	f.finish()
	want := "supervisor original card card-confirm processing result receipt channels"
	if got := strings.Join(f.screens(), " "); !strings.Contains(got, want) {
		t.Fatalf("screens %s, want %s in them", got, want)
	}
	v, err := env.Server.OrderByTrace(context.Background(), env.TerminalID, "000002")
	if err != nil {
		t.Fatal(err)
	}
	l := env.Bank.Host.Ledger()
	if len(l) != 2 || !l[0].Voided || l[1].Type != acquirer.Void || !l[1].Approved || l[1].Original != env.TerminalID+"|"+l[0].MerchantID+"|"+l[0].Batch+"|"+v.Trace {
		t.Fatalf("bank ledger %+v", l)
	}
	printed := env.Printer.Printed()
	if len(printed) != 4 {
		t.Fatalf("printed %d copies, want 2 for the sale and 2 for the void", len(printed))
	}
	b, err := os.ReadFile(printed[2])
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"消费撤销(VOID)", "原凭证号", "000002", "RMB -88.00", "621234******0002"} {
		if !strings.Contains(string(b), w) {
			t.Fatalf("void slip lacks %q:\n%s", w, b)
		}
	}
	if strings.Contains(string(b), testCard(t, "1").PAN) {
		t.Fatalf("void slip holds the full card number:\n%s", b)
	}
}

func TestCardRefundFlow(t *testing.T) {
	t.Parallel()
	f, env := soldAndBack(t)
	f.cardMenu("3")
	f.original("000002")
	f.waitFor("请输入金额", "原交易金额 ¥88.00")
	f.keys("9000") // ¥90.00: more than the sale
	f.key(tea.KeyEnter)
	f.waitFor("退货金额不能超过原交易金额 ¥88.00")
	for range 4 {
		f.key(tea.KeyBackspace)
	}
	f.keys("3000")
	f.key(tea.KeyEnter)
	f.waitFor("请刷卡或插卡", "¥30.00")
	f.key(tea.KeyF7)
	f.keys("1")
	f.waitFor("请核对卡号")
	f.key(tea.KeyEnter)
	f.waitFor("退货成功", "¥30.00")
	f.key(tea.KeyEnter)
	f.waitFor("商户存根已打印")
	f.key(tea.KeyEnter)
	f.waitFor("顾客联已打印")
	f.key(tea.KeyEnter)
	f.waitFor("请选择支付通道")
	// A second refund: the lookup says what was refunded and what is left,
	// and more than is left is refused before the card.
	f.cardMenu("3")
	f.waitFor("请输入主管密码")
	f.keys(demo.SupervisorPassword)
	f.key(tea.KeyEnter)
	f.waitFor("请输入原交易凭证号")
	f.keys("2")
	f.key(tea.KeyEnter)
	f.waitFor("请核对原交易", "已退货", "¥30.00", "可退金额", "¥58.00")
	f.key(tea.KeyEnter)
	f.waitFor("已退 ¥30.00，可退 ¥58.00")
	f.keys("6000")
	f.key(tea.KeyEnter)
	f.waitFor("退货金额不能超过可退金额 ¥58.00（已退 ¥30.00）")
	// A void of a sale with refunds is refused at the lookup.
	f.key(tea.KeyEsc) // back to the sale
	f.key(tea.KeyEsc) // the trace again
	f.key(tea.KeyEsc) // the menu
	f.waitFor("主菜单")
	f.keys("2")
	f.waitFor("请输入主管密码")
	f.keys(demo.SupervisorPassword)
	f.key(tea.KeyEnter)
	f.waitFor("请输入原交易凭证号")
	f.keys("2")
	f.key(tea.KeyEnter)
	f.waitFor("该交易已退货 ¥30.00，不能再撤销")
	f.finish()
	var refund acquirer.Entry
	for _, e := range env.Bank.Host.Ledger() {
		if e.Type == acquirer.Refund {
			refund = e
		}
	}
	if !refund.Approved || refund.Amount != 3000 || env.Bank.Host.Ledger()[0].Refunded != 3000 || len(env.Bank.Host.Ledger()) != 2 {
		t.Fatalf("bank ledger %+v", env.Bank.Host.Ledger())
	}
}

func TestSupervisorPasswordGuardsVoids(t *testing.T) {
	t.Parallel()
	f, env := soldAndBack(t)
	f.cardMenu("2")
	f.waitFor("请输入主管密码")
	for i, left := range []string{"2", "1"} {
		f.keys("99999" + string(rune('0'+i)))
		f.key(tea.KeyEnter)
		f.waitFor("主管密码错误，还可尝试 " + left + " 次")
	}
	f.keys("000000")
	f.key(tea.KeyEnter)
	f.waitFor("主管密码连续错误，已锁定 5 分钟", "主菜单")
	// Coming back does not start the count again.
	f.keys("2")
	f.waitFor("前不能撤销或退货")
	f.finish()
	if n := len(env.Bank.Host.Ledger()); n != 1 {
		t.Fatalf("the bank saw %d transactions, want the sale only", n)
	}
}

func TestBalanceFlow(t *testing.T) {
	t.Parallel()
	env := startDemo(t, demo.Options{})
	f := newFlow(t, env, appOptions(env, i18n.ZH, nil))
	f.waitFor("单笔限额 ¥", "在线")
	f.cardMenu("4")
	f.waitFor("余额查询", "请刷卡或插卡")
	f.key(tea.KeyF7)
	f.keys("1")
	f.waitFor("请核对卡号")
	f.key(tea.KeyEnter)
	f.waitFor("请持卡人输入密码")
	f.keys("123456")
	f.key(tea.KeyEnter)
	f.waitFor("查询成功", "可用余额", "¥10,000.00", "621234******0002")
	f.key(tea.KeyEnter)
	f.waitFor("请选择支付通道")
	f.finish()
	if n := len(env.Printer.Printed()); n != 0 {
		t.Fatalf("a balance inquiry printed %d receipts", n)
	}
}

func TestSignOnFromMenu(t *testing.T) {
	t.Parallel()
	env := startDemo(t, demo.Options{})
	f := newFlow(t, env, appOptions(env, i18n.ZH, nil))
	f.waitFor("单笔限额 ¥", "在线")
	f.cardMenu("5")
	f.waitFor("签到成功")
	f.key(tea.KeyEsc)
	f.waitFor("主菜单")
	f.finish()
}

// A keyboard-wedge magstripe reader types its tracks: a chip card's stripe
// is refused (insert it), a stripe-only card is taken, and a swipe on
// another screen never turns into typed digits.
func TestMagstripeSwipes(t *testing.T) {
	t.Parallel()
	env := startDemo(t, demo.Options{})
	f := newFlow(t, env, appOptions(env, i18n.ZH, nil))
	f.waitFor("单笔限额 ¥", "在线")
	// A wedge reader types the track and its Enter faster than anyone
	// can: the terminal hands them over as one burst.
	swipe := func(c acquirer.TestCard) {
		f.tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(";" + c.Track2 + "?\r")})
	}
	var chip, stripe acquirer.TestCard
	for _, c := range acquirer.TestCards() {
		switch c.ID {
		case "approved":
			chip = c
		case "stripe-only":
			stripe = c
		}
	}
	swipe(chip) // on the channel list
	f.waitFor("刷卡无效")
	f.keys("3")
	f.waitFor("欢迎使用银联刷卡收款")
	f.key(tea.KeyEnter)
	f.waitFor("主菜单")
	f.key(tea.KeyEnter)
	f.waitFor("请输入金额")
	f.keys("12")
	f.key(tea.KeyEnter)
	f.waitFor("请刷卡或插卡")
	swipe(chip)
	f.waitFor("此卡有芯片，请插卡")
	swipe(stripe)
	f.waitFor("请核对卡号", cards.Mask(stripe.PAN))
	f.key(tea.KeyEnter)
	f.waitFor("请持卡人输入密码")
	f.keys(stripe.PIN)
	f.key(tea.KeyEnter)
	f.waitFor("交易成功")
	final := f.finish()
	if o := final.LastResult(); o.State != api.StateSuccess || o.Entry != "swipe" || o.Amount != 12 {
		t.Fatalf("swiped sale %+v", o)
	}
}
