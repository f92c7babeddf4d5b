package tui_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/cards"
	"github.com/multipos/multipos/config"
	"github.com/multipos/multipos/demo"
	"github.com/multipos/multipos/i18n"
	"github.com/multipos/multipos/posclient"
	"github.com/multipos/multipos/sandbox/acquirer"
	"github.com/multipos/multipos/tui"
)

func TestMain(m *testing.M) {
	lipgloss.SetColorProfile(termenv.Ascii)
	lipgloss.SetHasDarkBackground(true)
	os.Exit(m.Run())
}

const width, height = 80, 24

// fixedNow keeps clocks, order numbers and receipts stable for goldens.
var fixedNow = time.Date(2026, 11, 25, 16, 54, 7, 0, time.Local)

func startDemo(t *testing.T, o demo.Options) *demo.Env {
	t.Helper()
	o.Dir = t.TempDir()
	if o.Now == nil {
		o.Now = func() time.Time { return fixedNow }
	}
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	env, err := demo.Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Close(); err != nil {
			t.Errorf("close demo: %v", err)
		}
	})
	return env
}

func appOptions(env *demo.Env, lang i18n.Lang, now func() time.Time) tui.Options {
	cfg := config.DefaultTerminal()
	cfg.Lang = lang
	o := env.TUIOptions(cfg)
	o.Now = now
	o.PowerRoot = ""
	return o
}

// recorder wraps the app and keeps the last view of every screen visit, so
// a flow's goldens show each screen as the cashier last saw it.
type recorder struct {
	tui.Model
	shots *[]shot
}

type shot struct{ name, view string }

func (r recorder) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	m, cmd := r.Model.Update(msg)
	r.Model = m.(tui.Model)
	name, view := r.Model.Screen(), r.Model.View()
	s := *r.shots
	if n := len(s); n > 0 && s[n-1].name == name {
		s[n-1].view = view
	} else {
		*r.shots = append(s, shot{name, view})
	}
	return r, cmd
}

type flow struct {
	t     *testing.T
	tm    *teatest.TestModel
	env   *demo.Env
	shots *[]shot
}

func newFlow(t *testing.T, env *demo.Env, o tui.Options) *flow {
	t.Helper()
	m, err := tui.New(o)
	if err != nil {
		t.Fatal(err)
	}
	shots := &[]shot{}
	tm := teatest.NewTestModel(t, recorder{Model: m, shots: shots}, teatest.WithInitialTermSize(width, height))
	return &flow{t: t, tm: tm, env: env, shots: shots}
}

// waitFor waits until the screen shows all of texts.
func (f *flow) waitFor(texts ...string) {
	f.t.Helper()
	teatest.WaitFor(f.t, f.tm.Output(), func(b []byte) bool {
		for _, s := range texts {
			if !bytes.Contains(b, []byte(s)) {
				return false
			}
		}
		return true
	}, teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(5*time.Millisecond))
}

// openQR walks from the channel list to a QR code for amount (typed digits)
// on the channel numbered digit, in Chinese.
func (f *flow) openQR(digit, amount string) {
	f.t.Helper()
	f.waitFor("单笔限额 ¥", "在线")
	f.keys(digit)
	f.key(tea.KeyEnter)
	f.key(tea.KeyEnter)
	f.keys(amount)
	f.key(tea.KeyEnter)
	f.waitFor("等待顾客付款")
}

func (f *flow) keys(s string) {
	for _, r := range s {
		f.tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
}

func (f *flow) key(t tea.KeyType) { f.tm.Send(tea.KeyMsg{Type: t}) }

// finish quits from the channel list and returns the final app model.
func (f *flow) finish() tui.Model {
	f.t.Helper()
	f.key(tea.KeyCtrlC)
	fm := f.tm.FinalModel(f.t, teatest.WithFinalTimeout(10*time.Second)).(recorder)
	return fm.Model
}

var rttRe = regexp.MustCompile(`[ \d]{3}ms`)

// normalize replaces what differs between runs (temp dirs, link round-trip
// times, bank and wallet reference numbers) with stable placeholders.
func normalize(s string, env *demo.Env, ord api.Order) string {
	s = strings.ReplaceAll(s, env.Dir, "<dir>")
	s = rttRe.ReplaceAllString(s, "NNNms")
	for v, p := range map[string]string{ord.TradeNo: "<trade-no>", ord.AuthCode: "<auth>", ord.RRN: "<rrn>"} {
		if v != "" {
			s = strings.ReplaceAll(s, v, p)
		}
	}
	return s
}

// golden compares every screen of the flow, and the final view, with testdata.
func (f *flow) golden(final tui.Model, ord api.Order) {
	f.t.Helper()
	var b strings.Builder
	for _, s := range *f.shots {
		fmt.Fprintf(&b, "──── %s ────\n%s\n", s.name, s.view)
	}
	golden.RequireEqual(f.t, []byte(normalize(b.String(), f.env, ord)))
	f.t.Run("final", func(t *testing.T) {
		golden.RequireEqual(t, []byte(normalize(final.View(), f.env, ord)))
	})
}

func (f *flow) screens() []string {
	var names []string
	for _, s := range *f.shots {
		names = append(names, s.name)
	}
	return names
}

// serverOrder fetches what the server recorded for trace and checks it.
func serverOrder(t *testing.T, env *demo.Env, trace string, amount int64, state api.State) api.Order {
	t.Helper()
	ord, err := env.Server.OrderByTrace(context.Background(), env.TerminalID, trace)
	if err != nil {
		t.Fatalf("server has no order for trace %s: %v", trace, err)
	}
	if ord.Amount != amount || ord.State != state {
		t.Fatalf("server recorded %d fen %s, want %d fen %s", ord.Amount, ord.State, amount, state)
	}
	return ord
}

func historyStates(t *testing.T, env *demo.Env, id string) string {
	t.Helper()
	h, err := env.Server.History(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, tr := range h {
		states = append(states, string(tr.To))
	}
	return strings.Join(states, ">")
}

func walletFlow(t *testing.T, ch api.Channel, digit, welcome, leftToday string) {
	env := startDemo(t, demo.Options{})
	now := func() time.Time { return fixedNow }
	f := newFlow(t, env, appOptions(env, i18n.ZH, now))

	f.waitFor("单笔限额 ¥", "在线") // channel list with limits, server reached
	f.keys(digit)
	f.waitFor(welcome)
	f.key(tea.KeyEnter)
	f.waitFor("扫码支付")
	f.key(tea.KeyEnter)
	f.waitFor("请输入金额")
	f.keys("1234")
	f.waitFor("12.34")
	f.key(tea.KeyEnter)
	f.waitFor("剩余时间", "等待顾客付款")
	f.key(tea.KeyF5) // trainer: the customer pays
	f.waitFor("支付成功")
	f.key(tea.KeyEnter)
	f.waitFor("商户存根已打印")
	f.key(tea.KeyEnter)
	f.waitFor("顾客联已打印")
	f.key(tea.KeyEnter)
	f.waitFor("请选择支付通道", leftToday) // the daily limit now counts this payment
	final := f.finish()

	want := []string{"channels", "welcome", "menu", "amount", "qr", "result", "receipt", "channels"}
	if got := f.screens(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("screens %v, want %v", got, want)
	}
	if final.Screen() != "channels" || final.LastResult().State != api.StateSuccess {
		t.Fatalf("final screen %s, last result %+v", final.Screen(), final.LastResult())
	}
	ord := serverOrder(t, env, "000002", 1234, api.StateSuccess)
	if ord.Channel != ch || ord.TradeNo == "" {
		t.Fatalf("order %+v", ord)
	}
	if got := historyStates(t, env, ord.ID); got != "CREATED>PENDING>SUCCESS" {
		t.Fatalf("history %s", got)
	}
	if got := len(env.Printer.Printed()); got != 2 {
		t.Fatalf("printed %d copies, want merchant and customer", got)
	}
	f.golden(final, ord)
}

func TestAlipayFlow(t *testing.T) {
	walletFlow(t, api.Alipay, "1", "欢迎使用支付宝收款", "今日余额 ¥199,987.66")
}
func TestWeChatFlow(t *testing.T) {
	walletFlow(t, api.WeChat, "2", "欢迎使用微信支付收款", "今日余额 ¥99,987.66")
}

// cardFlow runs the bank card flow to the result with test card n and pin.
func cardFlow(t *testing.T, lang i18n.Lang, card, pin string, waitResult string) (*flow, *demo.Env) {
	env := startDemo(t, demo.Options{})
	now := func() time.Time { return fixedNow }
	f := newFlow(t, env, appOptions(env, lang, now))
	f.waitFor(lang.Pick("单笔限额 ¥", "limit ¥"), lang.Pick("在线", "online"))
	f.keys("3")
	f.waitFor(lang.Pick("欢迎使用银联刷卡收款", "Welcome to UnionPay"))
	f.key(tea.KeyEnter)
	f.waitFor(lang.Pick("消费", "Sale"))
	f.key(tea.KeyEnter)
	f.waitFor(lang.Pick("请输入金额", "Enter the amount"))
	f.keys("88")
	f.tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("*")}) // symbol key: 00
	f.waitFor("88.00")
	f.key(tea.KeyEnter)
	f.waitFor(lang.Pick("请刷卡或插卡", "Swipe or insert the card"))
	f.key(tea.KeyF7) // trainer: insert a test card
	f.waitFor(lang.Pick("选择测试卡", "Choose a test card"))
	f.keys(card)
	f.waitFor(lang.Pick("请核对卡号", "Check the card number"), cards.Mask(testCard(t, card).PAN))
	f.key(tea.KeyEnter)
	f.waitFor(lang.Pick("请持卡人输入密码", "Cardholder: enter the PIN"))
	f.keys(pin)
	f.waitFor("│ " + strings.Repeat("*", len(pin)) + " ") // the PIN box, masked
	f.key(tea.KeyEnter)
	f.waitFor(waitResult)
	return f, env
}

func TestCardFlowApproved(t *testing.T) {
	f, env := cardFlow(t, i18n.ZH, "1", "123456", "交易成功")
	f.key(tea.KeyEnter)
	f.waitFor("商户存根已打印")
	f.key(tea.KeyEnter)
	f.waitFor("顾客联已打印")
	f.key(tea.KeyEnter)
	f.waitFor("请选择支付通道", "今日余额 ¥499,912.00")
	final := f.finish()
	want := "channels welcome menu amount card card-confirm pin processing result receipt channels"
	if got := strings.Join(f.screens(), " "); got != want {
		t.Fatalf("screens %s, want %s", got, want)
	}
	ord := serverOrder(t, env, "000002", 8800, api.StateSuccess)
	if ord.ResponseCode != "00" || ord.AuthCode == "" || !strings.Contains(ord.MaskedPAN, "******") {
		t.Fatalf("order %+v", ord)
	}
	if got := historyStates(t, env, ord.ID); got != "CREATED>SUCCESS" {
		t.Fatalf("history %s", got)
	}
	// The receipts name the card masked and never in full.
	for _, p := range env.Printer.Printed() {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), ord.MaskedPAN) || strings.Contains(string(b), testCard(t, "1").PAN) {
			t.Fatalf("receipt %s: masked PAN missing or a full number printed:\n%s", p, b)
		}
	}
	f.golden(final, ord)
}

func TestCardFlowDeclines(t *testing.T) {
	for _, tc := range []struct {
		name, card, pin, code, zh, en string
	}{
		{"insufficient", "2", "123456", "51", "余额不足", "Insufficient funds"},
		{"wrong-pin", "3", "123456", "55", "密码错误", "Incorrect PIN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lang := i18n.ZH
			want := tc.zh
			if tc.name == "wrong-pin" {
				lang, want = i18n.EN, tc.en // and check the English screens on the way
			}
			f, env := cardFlow(t, lang, tc.card, tc.pin, want)
			f.key(tea.KeyEnter)
			f.waitFor(lang.Pick("请选择支付通道", "Choose a payment channel"))
			final := f.finish()
			ord := serverOrder(t, env, "000002", 8800, api.StateFailed)
			if ord.ResponseCode != tc.code {
				t.Fatalf("response code %s, want %s", ord.ResponseCode, tc.code)
			}
			if final.LastResult().ResponseCode != tc.code {
				t.Fatalf("app's last result %+v", final.LastResult())
			}
			if n := len(env.Printer.Printed()); n != 0 {
				t.Fatalf("a declined sale printed %d receipts", n)
			}
			f.golden(final, ord)
		})
	}
}

// Esc on the QR screen closes the order at the server and at the wallet.
func TestQRCancelClosesOrder(t *testing.T) {
	env := startDemo(t, demo.Options{})
	f := newFlow(t, env, appOptions(env, i18n.ZH, func() time.Time { return fixedNow }))
	f.openQR("1", "500")
	f.key(tea.KeyEsc)
	f.waitFor("订单已关闭", "请输入金额")
	ord := serverOrder(t, env, "000002", 500, api.StateClosed)
	if ord.Reason != api.ReasonCancelled {
		t.Fatalf("reason %q", ord.Reason)
	}
	// Closed at the wallet: the customer can no longer pay the code.
	if err := env.Wallets.CustomerPays(context.Background(), api.Alipay, ord.OutTradeNo); err == nil {
		t.Fatal("the closed order could still be paid at the wallet")
	}
	// The amount is kept for a new attempt, which gets a new trace.
	f.key(tea.KeyEnter)
	f.waitFor("等待顾客付款")
	f.key(tea.KeyF6)  // trainer: the customer declines on the phone; the wallet closes its trade
	f.key(tea.KeyEsc) // the cashier gives up on the code
	f.waitFor("订单已关闭", "请输入金额")
	f.key(tea.KeyEsc)
	f.key(tea.KeyEsc)
	f.key(tea.KeyEsc)
	f.waitFor("请选择支付通道")
	f.finish()
	if ord := serverOrder(t, env, "000003", 500, api.StateClosed); ord.Reason != api.ReasonCancelled {
		t.Fatalf("second attempt closed for %q, want the cashier's cancel", ord.Reason)
	}
}

// An unpaid QR code expires: the order is closed and the cashier told so.
func TestQRExpires(t *testing.T) {
	env := startDemo(t, demo.Options{Now: time.Now, QRTTL: 2 * time.Second})
	f := newFlow(t, env, appOptions(env, i18n.EN, time.Now))
	f.waitFor("limit ¥", "online")
	f.keys("2")
	f.key(tea.KeyEnter)
	f.key(tea.KeyEnter)
	f.keys("100")
	f.key(tea.KeyEnter)
	f.waitFor("Waiting for the customer")
	f.waitFor("The QR code expired")
	f.key(tea.KeyEnter)
	f.waitFor("Choose a payment channel")
	f.finish()
	serverOrder(t, env, "000002", 100, api.StateClosed)
}

// With the server unreachable the status bar says offline, the payment
// screen says so plainly, and nothing reaches a server.
func TestServerOffline(t *testing.T) {
	env := startDemo(t, demo.Options{})
	o := appOptions(env, i18n.ZH, func() time.Time { return fixedNow })
	o.Gateway = offlineGateway(t)
	f := newFlow(t, env, o)
	f.waitFor("离线")
	f.keys("1")
	f.key(tea.KeyEnter)
	f.key(tea.KeyEnter)
	f.keys("100")
	f.key(tea.KeyEnter)
	f.waitFor("服务器离线，现在无法收款")
	f.key(tea.KeyCtrlC) // nothing in flight: quitting is allowed
	final := f.tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(recorder).Model
	if final.Screen() != "amount" {
		t.Fatalf("screen %s", final.Screen())
	}
	if !strings.Contains(final.View(), "✕ 离线") {
		t.Fatalf("status bar does not say offline:\n%s", final.View())
	}
}

// A QR order in flight cannot be abandoned by quitting.
func TestQuitRefusedDuringPayment(t *testing.T) {
	env := startDemo(t, demo.Options{})
	f := newFlow(t, env, appOptions(env, i18n.ZH, func() time.Time { return fixedNow }))
	f.openQR("1", "100")
	f.key(tea.KeyCtrlC)
	f.waitFor("交易进行中")
	f.key(tea.KeyEsc)
	f.waitFor("订单已关闭")
	f.key(tea.KeyCtrlC)
	f.tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
	serverOrder(t, env, "000002", 100, api.StateClosed)
}

// testCard is the bank stand-in's test card the trainer picks with digit n.
func testCard(t *testing.T, n string) acquirer.TestCard {
	t.Helper()
	i := int(n[0] - '1')
	tcs := acquirer.TestCards()
	if i < 0 || i >= len(tcs) {
		t.Fatalf("no test card %s", n)
	}
	return tcs[i]
}

// offlineGateway is a real client aimed at a loopback port nobody listens on.
func offlineGateway(t *testing.T) tui.Gateway {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return posclient.NewClient("http://"+addr, "T0000001", &http.Client{Timeout: 2 * time.Second})
}
