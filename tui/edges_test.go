package tui

import (
	"context"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/cardkeys"
	"github.com/multipos/multipos/cards"
	"github.com/multipos/multipos/config"
	"github.com/multipos/multipos/devices/sim"
	"github.com/multipos/multipos/i18n"
	"github.com/multipos/multipos/posclient"
)

// A label never runs into its value, in either language.
func TestLabelsKeepAGapBeforeTheirValues(t *testing.T) {
	for _, lang := range []i18n.Lang{i18n.ZH, i18n.EN} {
		m := demoModel(t, lang, false)
		var all strings.Builder
		for _, s := range everyScreen(m) {
			all.WriteString(ansi.Strip(s.View()) + "\n")
		}
		view := all.String()
		for _, want := range map[i18n.Lang][]string{
			i18n.EN: {`Expires in {2,}\d\d:\d\d`, `Orig\. trace {2,}000003`, `Orig\. card {2,}621234`},
			i18n.ZH: {`剩余时间 {2,}\d\d:\d\d`, `原凭证号 {2,}000003`, `原交易卡号 {2,}621234`},
		}[lang] {
			if !regexp.MustCompile(want).MatchString(view) {
				t.Errorf("%s: no %q in the screens", lang, want)
			}
		}
		for _, bad := range []string{"in01:", "trace000", "card621", "卡号621", "凭证号000"} {
			if strings.Contains(view, bad) {
				t.Errorf("%s: %q runs a label into its value", lang, bad)
			}
		}
	}
	if got := field("Orig. trace", "000003", 10); got != "  Orig. trace  000003\n" {
		t.Errorf("field: %q", got)
	}
}

// A hint shown before F1 is shown in the new language after it.
func TestHintFollowsTheLanguageKey(t *testing.T) {
	m := demoModel(t, i18n.ZH, false)
	m = m.open(newAmount(m.b(), api.Alipay, actQR))
	m, _ = step(t, m, runes("x"))
	if !strings.Contains(m.View(), "只能输入数字") {
		t.Fatalf("no hint:\n%s", m.View())
	}
	m, _ = step(t, m, tea.KeyMsg{Type: tea.KeyF1})
	if v := m.View(); !strings.Contains(v, "Digits only") || strings.Contains(v, "只能输入数字") {
		t.Fatalf("the hint stayed in Chinese after F1:\n%s", v)
	}
	// An error from the server too.
	p := m.router.newPayment(api.Alipay, "")
	m = m.open(newQR(m.b(), p))
	m, _ = step(t, m, orderMsg{pay: p.id, op: opCreate, err: &api.Error{Code: api.CodeOverLimit, Limit: 2_000_000}})
	if !strings.Contains(m.View(), "Over the limit of ¥20,000.00") {
		t.Fatalf("%s", m.View())
	}
	m, _ = step(t, m, tea.KeyMsg{Type: tea.KeyF1})
	if !strings.Contains(m.View(), "超过单笔限额 ¥20,000.00") {
		t.Fatalf("the server's refusal stayed in English after F1:\n%s", m.View())
	}
}

// A digit past the last one says the number is full, not "digits only".
func TestTooManyDigitsSaysSo(t *testing.T) {
	m := demoModel(t, i18n.EN, false)
	var s Screen = newOrigTrace(m.b(), m.router.newPayment(api.Card, api.KindCardVoid))
	for range 7 {
		s.Update(runes("1"))
	}
	if v := s.View(); !strings.Contains(v, "A trace number has 6 digits") || strings.Contains(v, "Digits only") {
		t.Errorf("7th trace digit:\n%s", v)
	}
	if got := s.(*origTrace).digits; got != "111111" {
		t.Errorf("trace %q", got)
	}
	s = newSupervisor(m.b(), &supervisorGuard{}, api.KindCardVoid)
	for range 13 {
		s.Update(runes("1"))
	}
	if v := s.View(); !strings.Contains(v, "at most 12 digits") || strings.Contains(v, "Digits only") {
		t.Errorf("13th password digit:\n%s", v)
	}
	if s.Update(runes("a")); !strings.Contains(s.View(), "Digits only") {
		t.Errorf("a letter:\n%s", s.View())
	}
}

// lookedUp is the void or refund screen after the lookup of trace 000003
// answered with sale.
func lookedUp(t *testing.T, m Model, kind api.Kind, sale api.Order) (Model, *origTrace) {
	t.Helper()
	p := m.router.newPayment(api.Card, kind)
	s := newOrigTrace(m.b(), p)
	m = m.open(newMenu(m.b(), api.Card)).open(s)
	m = typeKeys(t, m, "3")
	m, _ = step(t, m, tea.KeyMsg{Type: tea.KeyEnter})
	m, _ = step(t, m, orderMsg{pay: p.id, op: opOriginal, trace: "000003", order: sale})
	return m, s
}

func todaysSale(m Model) api.Order {
	return api.Order{ID: "c1", Channel: api.Card, Kind: api.KindCardSale, State: api.StateSuccess, Amount: 8800,
		MaskedPAN: "621234******0002", Trace: "000003", TradeNo: m.st.serverNow().In(acquirerZone).Format("0102") + "/261125000001",
		CreatedAt: testNow, UpdatedAt: testNow}
}

// What the server would refuse after the card is read is said at the
// lookup, before any card or trace, in the cashier's words.
func TestVoidOrRefundRefusedAtTheLookup(t *testing.T) {
	m := demoModel(t, i18n.EN, false)
	voided := todaysSale(m)
	voided.Voided = true
	partly := todaysSale(m)
	partly.Refunded = 3000
	all := todaysSale(m)
	all.Refunded = 8800
	yesterday := todaysSale(m)
	yesterday.TradeNo = m.st.serverNow().Add(-24*time.Hour).In(acquirerZone).Format("0102") + "/261124000001"
	for _, tc := range []struct {
		kind api.Kind
		sale api.Order
		want string
	}{
		{api.KindCardVoid, voided, "The sale with trace 000003 was voided already"},
		{api.KindCardRefund, voided, "The sale with trace 000003 was voided already"},
		{api.KindCardVoid, partly, "¥30.00 of this sale was refunded already: it can no longer be voided. Refund the ¥58.00 left instead"},
		{api.KindCardRefund, all, "The sale with trace 000003 was refunded in full already (¥88.00)"},
		{api.KindCardVoid, yesterday, "Only a sale of today can be voided: refund it instead"},
	} {
		m, s := lookedUp(t, m, tc.kind, tc.sale)
		if s.shown || !strings.Contains(flat(m.View()), tc.want) {
			t.Errorf("%s of %+v: found=%v\n%s", tc.kind, tc.sale, s.shown, m.View())
		}
		// Confirm does not go on to the card.
		if m, _ = step(t, m, tea.KeyMsg{Type: tea.KeyEnter}); m.Screen() != "original" {
			t.Errorf("%s went on to %s", tc.kind, m.Screen())
		}
	}
	// A sale of today with nothing undone goes on.
	if _, s := lookedUp(t, m, api.KindCardVoid, todaysSale(m)); !s.shown {
		t.Errorf("a void of today's sale refused: %s", s.hint.in(m.c))
	}
}

// After a partial refund the screen says what was refunded and what is
// left, and a refund of more than is left is refused before the card.
func TestRefundShowsWhatIsLeft(t *testing.T) {
	m := demoModel(t, i18n.EN, false)
	partly := todaysSale(m)
	partly.Refunded = 3000
	m, s := lookedUp(t, m, api.KindCardRefund, partly)
	v := m.View()
	if !s.shown || !regexp.MustCompile(`Refunded +¥30\.00`).MatchString(v) || !regexp.MustCompile(`Left to refund +¥58\.00`).MatchString(v) {
		t.Fatalf("found=%v\n%s", s.shown, v)
	}
	m, _ = step(t, m, tea.KeyMsg{Type: tea.KeyEnter})
	if m.Screen() != "amount" || !strings.Contains(flat(m.View()), "Original trace 000003: sale ¥88.00, refunded ¥30.00, ¥58.00 left") {
		t.Fatalf("%s\n%s", m.Screen(), m.View())
	}
	m = typeKeys(t, m, "5801")
	m, _ = step(t, m, tea.KeyMsg{Type: tea.KeyEnter})
	if m.Screen() != "amount" || !strings.Contains(flat(m.View()), "A refund cannot exceed what is left: ¥58.00 (¥30.00 refunded already)") {
		t.Fatalf("%s\n%s", m.Screen(), m.View())
	}
	m, _ = step(t, m, tea.KeyMsg{Type: tea.KeyBackspace})
	m = typeKeys(t, m, "0")
	if m, _ = step(t, m, tea.KeyMsg{Type: tea.KeyEnter}); m.Screen() != "card" {
		t.Fatalf("¥58.00 of ¥58.00 left refused: %s\n%s", m.Screen(), m.View())
	}
}

// A refusal after the card was read (the server knew better) says why in
// the cashier's language, with what is left, never the server's code.
func TestNotAdjustableAfterTheCardSaysWhy(t *testing.T) {
	for _, tc := range []struct {
		reason string
		want   map[i18n.Lang]string
	}{
		{api.AdjustOverRefund, map[i18n.Lang]string{i18n.EN: "More than is left to refund: at most ¥12.00", i18n.ZH: "超过可退金额：最多还可退 ¥12.00"}},
		// A refund made meanwhile (another station, or one still in
		// progress at the lookup): a void would not be "more than is left".
		{api.AdjustHasRefunds, map[i18n.Lang]string{i18n.EN: "This sale has refunds: it can no longer be voided. Refund the ¥12.00 left instead",
			i18n.ZH: "该交易已有退货，不能再撤销；剩余 ¥12.00 请用退货"}},
	} {
		for lang, want := range tc.want {
			m, p := sendingSale(t)
			m.c.Lang = lang
			m, _ = step(t, m, orderMsg{pay: p.id, op: opSale, trace: "000009",
				err: &api.Error{Code: api.CodeNotAdjustable, Reason: tc.reason, Limit: 1200, Message: "refused"}})
			if v := flat(m.View()); !strings.Contains(v, want) || strings.Contains(v, "not_adjustable") {
				t.Errorf("%s %s:\n%s", tc.reason, lang, v)
			}
		}
	}
}

// flat is a view as prose: no styles, runs of spaces and line breaks as
// one space, so that a test reads a wrapped sentence whole.
func flat(view string) string {
	return strings.Join(strings.Fields(ansi.Strip(view)), " ")
}

// Test card 7: the bank never answers, the server answers UNKNOWN and
// reverses the sale later. The screen follows the order and says what
// became of it, with its keys on screen.
func TestUnknownCardSaleFollowedToItsOutcome(t *testing.T) {
	for _, lang := range []i18n.Lang{i18n.ZH, i18n.EN} {
		m, p := sendingSale(t)
		m.c.Lang = lang
		m.c.Keys = NewKeyMap(config.DefaultTerminal().Keys, lang, false)
		unknown := api.Order{ID: "c7", Channel: api.Card, Kind: api.KindCardSale, State: api.StateUnknown, Amount: 8800,
			MaskedPAN: "621234******0051", Trace: "000002", Version: 2}
		m, cmd := step(t, m, orderMsg{pay: p.id, op: opSale, trace: "000002", order: unknown})
		v := flat(m.View())
		if m.Screen() != "result" || cmd == nil {
			t.Fatalf("%s: %s, following=%v", lang, m.Screen(), cmd != nil)
		}
		for _, want := range []string{lang.Pick("请勿重复收款", "Do not charge again"), lang.Pick("正在等待结果", "Waiting for the outcome"),
			lang.Pick("按 Enter 可先返回", "Enter goes back now")} {
			if !strings.Contains(v, want) {
				t.Errorf("%s: no %q:\n%s", lang, want, m.View())
			}
		}
		// The link drops: it keeps following.
		m, cmd = step(t, m, orderMsg{pay: p.id, op: opWait, err: context.DeadlineExceeded})
		if cmd == nil || !strings.Contains(m.View(), lang.Pick("连接中断", "Link lost")) {
			t.Fatalf("%s: a lost wait stops following:\n%s", lang, m.View())
		}
		if _, cmd = step(t, m, retryMsg{pay: p.id, op: opWait}); cmd == nil {
			t.Fatalf("%s: no wait after the retry", lang)
		}
		reversed := with(unknown, api.StateClosed, api.ReasonReversed, 3)
		m, _ = step(t, m, orderMsg{pay: p.id, op: opWait, order: reversed})
		v = flat(m.View())
		if r, ok := m.Active().(*result); !ok || r.following() {
			t.Fatalf("%s: still following a final order", lang)
		}
		if want := lang.Pick("银行未应答，交易已冲正：未扣款", "The bank never answered: the sale was reversed. Nothing was charged"); !strings.Contains(v, want) {
			t.Errorf("%s: no %q:\n%s", lang, want, m.View())
		}
		if m.LastResult().ID != "c7" {
			t.Errorf("%s: the final result was not taken as shown", lang)
		}
		if m, _ = step(t, m, tea.KeyMsg{Type: tea.KeyEnter}); m.Screen() != "channels" {
			t.Errorf("%s: Enter went to %s", lang, m.Screen())
		}
	}
}

// Ctrl+C refused says what is true of the screen: nothing cancels a card
// sale on its way, Esc closes an open QR order.
func TestQuitRefusalSaysWhatIsTrue(t *testing.T) {
	m, _ := sendingSale(t)
	m.c.Lang = i18n.EN
	m, _ = step(t, m, tea.KeyMsg{Type: tea.KeyCtrlC})
	if v := flat(m.View()); !strings.Contains(v, "A payment is being processed: wait for its outcome, then quit") || strings.Contains(v, "cancel") {
		t.Errorf("card sale:\n%s", m.View())
	}
	m, _ = showingQR(t)
	m.c.Lang = i18n.EN
	m, _ = step(t, m, tea.KeyMsg{Type: tea.KeyCtrlC})
	if v := flat(m.View()); !strings.Contains(v, "A payment is still open: Esc cancels it, then you can quit") {
		t.Errorf("QR:\n%s", m.View())
	}
}

// The trainer's F6 on the QR screen (the customer declines: nothing
// reaches the terminal) says what it did.
func TestTrainerDeclineIsShown(t *testing.T) {
	for _, lang := range []i18n.Lang{i18n.ZH, i18n.EN} {
		m := demoModel(t, lang, true)
		var qr *qrScreen
		for _, s := range everyScreen(m) {
			if q, ok := s.(*qrScreen); ok && q.phase == fOpen {
				qr = q
			}
		}
		m = m.open(qr)
		m, cmd := step(t, m, tea.KeyMsg{Type: tea.KeyF6})
		if cmd == nil {
			t.Fatalf("%s: F6 asked the trainer nothing", lang)
		}
		m, _ = step(t, m, cmd())
		want := lang.Pick("顾客在手机上拒绝付款", "The customer declined") // beside the code: cut by its lines
		if v := flat(m.View()); !strings.Contains(v, want) || !strings.Contains(v, "Esc") {
			t.Errorf("%s: no word of the decline:\n%s", lang, m.View())
		}
		if got := m.o.Trainer.(*fakeTrainer).asked; len(got) != 1 || got[0] != "declines" {
			t.Errorf("%s: trainer asked %v", lang, got)
		}
	}
}

// A card already in the reader when a sale starts is not ignored in
// silence: the cashier is told to insert it again, and the words go once
// it is out.
func TestCardAlreadyInTheReaderIsSaid(t *testing.T) {
	m := demoModel(t, i18n.EN, false)
	m.o.CardKeys = signedOnKeys(t)
	r := sim.NewReader("test")
	t.Cleanup(func() { _ = r.Close() })
	m.o.Reader = r
	p := m.router.newPayment(api.Card, "")
	p.amount = 8800
	if v := flat(newCardPrompt(m.b(), p).View()); strings.Contains(v, "already in the reader") {
		t.Fatalf("an empty reader:\n%s", v)
	}
	if err := r.Insert(cards.Card{PAN: "6212345678900002", Expiry: "3012"}); err != nil {
		t.Fatal(err)
	}
	<-r.Events() // went to the amount screen
	s := newCardPrompt(m.b(), p)
	if v := flat(s.View()); !strings.Contains(v, "A card is already in the reader: take it out and insert it again") {
		t.Fatalf("a card in the reader:\n%s", v)
	}
	if err := r.Remove(); err != nil {
		t.Fatal(err)
	}
	s.Update(readerMsg{ev: <-r.Events()})
	if v := flat(s.View()); strings.Contains(v, "already in the reader") {
		t.Fatalf("the card was taken out:\n%s", v)
	}
}

// signedOnKeys are card keys signed on, as after a sign-on (签到).
func signedOnKeys(t *testing.T) *posclient.CardKeys {
	t.Helper()
	tmk := []byte("0123456789abcdef")
	f62, err := cardkeys.EncodeWorkingKeys(tmk, cardkeys.WorkingKeys{PIN: []byte("fedcba9876543210"), MAC: []byte("0011223344556677")})
	if err != nil {
		t.Fatal(err)
	}
	k := posclient.NewCardKeys(tmk)
	if err := k.Install(api.SignedOn{Keys: hex.EncodeToString(f62), SignedOnAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	return k
}
