package tui_test

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/demo"
	"github.com/multipos/multipos/i18n"
	alipaysb "github.com/multipos/multipos/sandbox/alipay"
	wechatsb "github.com/multipos/multipos/sandbox/wechat"
)

// Issue 11, "money is never wrong", at the station: whatever the wallet
// ends up with, the cashier's screen says it. The demo env runs the real
// posserver with the real Alipay and WeChat Pay connectors against the
// protocol sandboxes, so the race is the one a shop would meet.

// openQRIn walks from the channel list to a QR code for amount (typed
// digits) on the channel numbered digit, in lang.
func (f *flow) openQRIn(lang i18n.Lang, digit, amount string) {
	f.t.Helper()
	f.waitFor(lang.Pick("单笔限额 ¥", "limit ¥"), lang.Pick("在线", "online"))
	f.keys(digit)
	f.key(tea.KeyEnter)
	f.key(tea.KeyEnter)
	f.keys(amount)
	f.key(tea.KeyEnter)
	f.waitFor(lang.Pick("等待顾客付款", "Waiting for the customer"))
}

// shot returns the last view of the screen name, or fails.
func (f *flow) shot(name string) string {
	f.t.Helper()
	for i := len(*f.shots) - 1; i >= 0; i-- {
		if s := (*f.shots)[i]; s.name == name {
			return s.view
		}
	}
	f.t.Fatalf("no %s screen among %v", name, f.screens())
	return ""
}

// prose is a view's text with styling gone and every run of spaces and
// line breaks made one space, so that a sentence wrapped over lines can
// be looked for whole.
func prose(view string) string {
	return strings.Join(strings.Fields(ansi.Strip(view)), " ")
}

// fits80x24 checks that a full view is 24 lines of at most 80 cells.
func fits80x24(t *testing.T, view string) {
	t.Helper()
	lines := strings.Split(ansi.Strip(view), "\n")
	if len(lines) != height {
		t.Errorf("%d lines, want %d:\n%s", len(lines), height, view)
	}
	for i, l := range lines {
		if w := ansi.StringWidth(l); w > width {
			t.Errorf("line %d is %d cells: %q", i+1, w, l)
		}
	}
}

// eventually waits for cond, checking often, for at most 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// holdClose holds the wallet's next close back 1.5 s before it acts (for
// Alipay, whose QR orders posserver closes with alipay.trade.cancel, the
// cancel): the window in which the customer pays.
func holdClose(t *testing.T, env *demo.Env, ch api.Channel) {
	t.Helper()
	const d = 1500 * time.Millisecond
	switch ch {
	case api.Alipay:
		if err := env.Wallets.Alipay.Inject(alipaysb.Fault{Method: alipaysb.MethodCancel, Delay: d}); err != nil {
			t.Fatal(err)
		}
	case api.WeChat:
		env.Wallets.WeChat.InjectFault(wechatsb.OpClose, wechatsb.Fault{Kind: wechatsb.FaultDelay, Delay: d})
	}
}

// closeCalls counts the close calls that reached the wallet.
func closeCalls(env *demo.Env, ch api.Channel) int {
	if ch == api.Alipay {
		return env.Wallets.Alipay.Calls()[alipaysb.MethodCancel]
	}
	return env.Wallets.WeChat.Calls(wechatsb.OpClose)
}

// paymentNotified reports whether the wallet's notification of the
// payment of outTradeNo reached posserver and was acknowledged.
func paymentNotified(env *demo.Env, ch api.Channel, outTradeNo string) bool {
	if ch == api.Alipay {
		for _, d := range env.Wallets.Alipay.Deliveries() {
			if d.OutTradeNo == outTradeNo && d.TradeStatus == alipaysb.StatusTradeSuccess && d.Acked {
				return true
			}
		}
		return false
	}
	for _, d := range env.Wallets.WeChat.Deliveries() {
		if d.OutTradeNo == outTradeNo && d.EventType == "TRANSACTION.SUCCESS" && d.Acknowledged() {
			return true
		}
	}
	return false
}

// checkGivenBackAtWallet checks the wallet's books: paid, then given back
// in full.
func checkGivenBackAtWallet(t *testing.T, env *demo.Env, ch api.Channel, outTradeNo string, amount int64) {
	t.Helper()
	if ch == api.Alipay {
		tr, ok := env.Wallets.Alipay.Trade(outTradeNo)
		if !ok || tr.Paid == "" || int64(tr.Refunded) != amount || tr.Status != alipaysb.StatusTradeClosed ||
			tr.CancelAction != "refund" || len(tr.Refunds) != 1 || !tr.Refunds[0].ViaCancel {
			t.Fatalf("at Alipay: %+v; want paid, then refunded in full by the cancel", tr)
		}
		return
	}
	info, ok := env.Wallets.WeChat.Order(outTradeNo)
	if !ok || info.SuccessTime.IsZero() || info.Refunded != amount || len(info.Refunds) != 1 {
		t.Fatalf("at WeChat Pay: %+v; want paid, then refunded in full", info)
	}
}

// The cashier presses Esc on a QR code; the wallet's close is slow, and
// the customer pays while it is on its way. posserver has journaled the
// close (CANCELLING) before the payment, so the payment goes back: the
// result screen says so, offers no receipt, and nothing prints. On Alipay
// the cancel refunds by itself; on WeChat Pay posserver refunds, the refund
// is PROCESSING first, and the screen says the cancel is being confirmed
// until the server's sweeper finishes it.
func TestCancelRacingPaymentShowsGivenBack(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ch    api.Channel
		digit string
		lang  i18n.Lang
	}{
		{"alipay-zh", api.Alipay, "1", i18n.ZH},
		{"alipay-en", api.Alipay, "1", i18n.EN},
		{"wechat-zh", api.WeChat, "2", i18n.ZH},
		{"wechat-en", api.WeChat, "2", i18n.EN},
	} {
		t.Run(tc.name, func(t *testing.T) { cancelRace(t, tc.ch, tc.digit, tc.lang) })
	}
}

func cancelRace(t *testing.T, ch api.Channel, digit string, lang i18n.Lang) {
	ctx := context.Background()
	// The server's sweeper runs in the demo on the server's clock: a fixed
	// one would never bring a CANCELLING order due, so the test moves it.
	clock := &settableClock{now: fixedNow}
	env := startDemo(t, demo.Options{Now: clock.Now})
	f := newFlow(t, env, appOptions(env, lang, clock.Now))
	f.openQRIn(lang, digit, "3850")
	ord := serverOrder(t, env, "000002", 3850, api.StatePending) // 000001: the demo's sign-on

	holdClose(t, env, ch)
	f.key(tea.KeyEsc)
	eventually(t, "the close on its way to the wallet", func() bool { return closeCalls(env, ch) == 1 })
	if err := env.Wallets.CustomerPays(ctx, ch, ord.OutTradeNo); err != nil {
		t.Fatalf("the customer pays during the close: %v", err)
	}

	if ch == api.WeChat {
		// WeChat Pay answers the close ORDERPAID and posserver's refund
		// PROCESSING: the order stays CANCELLING, and the station says so.
		f.waitFor(lang.Pick("订单已取消，正在等待渠道确认", "Cancelled; waiting for the wallet to confirm"))
		serverOrder(t, env, "000002", 3850, api.StateCancelling)
		// Past the sweeper's next look at a CANCELLING order (5 s).
		clock.Advance(6 * time.Second)
	}
	f.waitFor(lang.Pick("顾客在订单关闭时付了款", "The customer paid as the order"))
	f.key(tea.KeyEnter)
	f.waitFor(lang.Pick("请选择支付通道", "Choose a payment channel"))
	final := f.finish()

	// No receipt on the way: result, then straight back to the list.
	if got := strings.Join(f.screens(), " "); !strings.HasSuffix(got, " amount qr result channels") {
		t.Fatalf("screens %s, want the result after the code and then the channel list", got)
	}
	view := f.shot("result")
	fits80x24(t, view)
	text := prose(view)
	for _, s := range []string{
		lang.Pick("✗ 顾客在订单关闭时付了款，款项已全额退回顾客；未收款",
			"✗ The customer paid as the order was closed: the whole amount went back to them. Nothing was received"),
		"¥38.50", ord.OutTradeNo, "000002",
		lang.Pick("按 Enter 返回通道列表", "Press Enter to return to the channel list"),
		lang.Pick("Enter 返回", "Enter back"), // the help bar: the key to go on is shown
	} {
		if !strings.Contains(text, s) {
			t.Errorf("result screen lacks %q:\n%s", s, view)
		}
	}
	for _, s := range []string{lang.Pick("支付成功", "Payment received"), lang.Pick("打印小票", "print the receipt"),
		lang.Pick("Enter 打印", "Enter print")} {
		if strings.Contains(text, s) {
			t.Errorf("result screen says %q for a payment that went back:\n%s", s, view)
		}
	}
	if n := len(env.Printer.Printed()); n != 0 {
		t.Errorf("%d receipts printed for a payment that went back", n)
	}
	if last := final.LastResult(); last.State != api.StateClosed || last.Reason != api.ReasonRefunded {
		t.Errorf("the app's last result: %s %s", last.State, last.Reason)
	}

	got := serverOrder(t, env, "000002", 3850, api.StateClosed)
	if got.Reason != api.ReasonRefunded {
		t.Fatalf("server: CLOSED for %q, want %q", got.Reason, api.ReasonRefunded)
	}
	if h := historyStates(t, env, got.ID); h != "CREATED>PENDING>CANCELLING>CLOSED" {
		t.Fatalf("history %s", h)
	}
	checkGivenBackAtWallet(t, env, ch, ord.OutTradeNo, 3850)
	// The payment's own notification, when it comes, changes nothing.
	eventually(t, "the payment notification acknowledged", func() bool { return paymentNotified(env, ch, ord.OutTradeNo) })
	if cur := serverOrder(t, env, "000002", 3850, api.StateClosed); cur.Reason != api.ReasonRefunded {
		t.Fatalf("after the notification: %s %s", cur.State, cur.Reason)
	}
}

// The cashier need not wait for WeChat Pay to confirm the cancel: Enter
// leaves the CANCELLING order with a flash, and the outcome the server's
// sweeper reaches later shows on the channel list.
func TestCancellingOrderLeftEarlyShowsOnChannelList(t *testing.T) {
	ctx := context.Background()
	clock := &settableClock{now: fixedNow}
	env := startDemo(t, demo.Options{Now: clock.Now})
	opts := appOptions(env, i18n.EN, clock.Now)
	opts.PingEvery = 50 * time.Millisecond
	f := newFlow(t, env, opts)
	f.openQRIn(i18n.EN, "2", "2600")
	ord := serverOrder(t, env, "000002", 2600, api.StatePending)

	holdClose(t, env, api.WeChat)
	f.key(tea.KeyEsc)
	eventually(t, "the close on its way to WeChat Pay", func() bool { return closeCalls(env, api.WeChat) == 1 })
	if err := env.Wallets.CustomerPays(ctx, api.WeChat, ord.OutTradeNo); err != nil {
		t.Fatal(err)
	}
	f.waitFor("Cancelled; waiting for the wallet to confirm")
	f.key(tea.KeyEnter)
	f.waitFor("The order is being closed; its outcome will show on the channel list")

	clock.Advance(6 * time.Second) // the sweeper's next look
	eventually(t, "the sweeper closing the order", func() bool {
		o, err := env.Server.OrderByTrace(ctx, env.TerminalID, "000002")
		return err == nil && o.State == api.StateClosed
	})
	// Final for longer than a long-poll would take, and a heartbeat due:
	// the server offers the result to the station.
	clock.Advance(20 * time.Second)
	f.waitFor("Results this station never showed:", "¥26.00", "000002", "closed, refunded")
	final := f.finish()

	if got := strings.Join(f.screens(), " "); strings.Contains(got, "result") || strings.Contains(got, "receipt") {
		t.Fatalf("screens %s: the cashier left before the outcome", got)
	}
	if final.Screen() != "channels" {
		t.Fatalf("final screen %s", final.Screen())
	}
	if got := serverOrder(t, env, "000002", 2600, api.StateClosed); got.Reason != api.ReasonRefunded {
		t.Fatalf("server: CLOSED for %q", got.Reason)
	}
	checkGivenBackAtWallet(t, env, api.WeChat, ord.OutTradeNo, 2600)
	if n := len(env.Printer.Printed()); n != 0 {
		t.Fatalf("%d receipts printed", n)
	}
}

// What the wallet has when posserver asks stands: the customer paid, the
// notification is held back, and the cashier presses Esc. The cancel
// finds the payment and the order is paid: the result screen says so and
// the receipts print. Nothing is closed or refunded at the wallet, and the
// notification, once it comes, changes nothing.
func TestCancelAfterCustomerPaidShowsPaid(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ch    api.Channel
		digit string
		lang  i18n.Lang
	}{
		{"alipay-zh", api.Alipay, "1", i18n.ZH},
		{"wechat-en", api.WeChat, "2", i18n.EN},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			lang := tc.lang
			env := startDemo(t, demo.Options{})
			f := newFlow(t, env, appOptions(env, lang, func() time.Time { return fixedNow }))
			f.openQRIn(lang, tc.digit, "990")
			ord := serverOrder(t, env, "000002", 990, api.StatePending)

			if tc.ch == api.Alipay {
				env.Wallets.Alipay.HoldNotifications()
			} else {
				env.Wallets.WeChat.HoldNotifications()
			}
			if err := env.Wallets.CustomerPays(ctx, tc.ch, ord.OutTradeNo); err != nil {
				t.Fatal(err)
			}
			f.key(tea.KeyEsc)
			f.waitFor(lang.Pick("✓ 支付成功", "✓ Payment received"))
			f.key(tea.KeyEnter)
			f.waitFor(lang.Pick("商户存根已打印", "Merchant copy printed"))
			f.key(tea.KeyEnter)
			f.waitFor(lang.Pick("顾客联已打印", "Customer copy printed"))
			f.key(tea.KeyEnter)
			f.waitFor(lang.Pick("请选择支付通道", "Choose a payment channel"))
			final := f.finish()

			if got := strings.Join(f.screens(), " "); !strings.HasSuffix(got, " amount qr result receipt channels") {
				t.Fatalf("screens %s, want the result after the code, then the receipts", got)
			}
			view := f.shot("result")
			fits80x24(t, view)
			if text := prose(view); !strings.Contains(text, lang.Pick("按 Enter 打印小票", "Press Enter to print the receipt")) ||
				strings.Contains(text, lang.Pick("退回", "went back")) {
				t.Errorf("result screen of a kept payment:\n%s", view)
			}
			if n := len(env.Printer.Printed()); n != 2 {
				t.Errorf("printed %d copies, want merchant and customer", n)
			}
			if last := final.LastResult(); last.State != api.StateSuccess {
				t.Errorf("the app's last result: %s %s", last.State, last.Reason)
			}
			got := serverOrder(t, env, "000002", 990, api.StateSuccess)
			if got.TradeNo == "" {
				t.Errorf("paid order without the wallet's trade number: %+v", got)
			}
			if h := historyStates(t, env, got.ID); h != "CREATED>PENDING>SUCCESS" {
				t.Fatalf("history %s", h)
			}
			// Asked, found paid: never closed, nothing given back.
			if n := closeCalls(env, tc.ch); n != 0 {
				t.Errorf("%d close calls at the wallet for a paid order", n)
			}
			if tc.ch == api.Alipay {
				if tr, _ := env.Wallets.Alipay.Trade(ord.OutTradeNo); tr.Status != alipaysb.StatusTradeSuccess || tr.Refunded != 0 {
					t.Errorf("at Alipay: %+v", tr)
				}
				env.Wallets.Alipay.ReleaseNotifications(false)
			} else {
				if info, _ := env.Wallets.WeChat.Order(ord.OutTradeNo); info.TradeState != wechatsb.StateSuccess || info.Refunded != 0 {
					t.Errorf("at WeChat Pay: %+v", info)
				}
				env.Wallets.WeChat.ReleaseNotifications(false)
			}
			eventually(t, "the held notification acknowledged", func() bool { return paymentNotified(env, tc.ch, ord.OutTradeNo) })
			if h := historyStates(t, env, got.ID); h != "CREATED>PENDING>SUCCESS" {
				t.Fatalf("history after the notification: %s", h)
			}
		})
	}
}
