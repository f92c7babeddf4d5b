package tui

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/cardkeys"
	"github.com/multipos/multipos/cards"
	"github.com/multipos/multipos/devices"
	"github.com/multipos/multipos/devices/sim"
	"github.com/multipos/multipos/i18n"
	"github.com/multipos/multipos/posclient"
)

// Alt+digit is a chord, not a digit: it picks no channel and types no
// amount (the key filter and digitOf agree).
func TestAltDigitIsNotADigit(t *testing.T) {
	m := testModel(t, testOptions())
	alt := func(r rune) tea.KeyMsg { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: true} }
	m, _ = step(t, m, alt('1'))
	if m.keys.wedge.Holding() || m.Screen() != "channels" {
		t.Fatalf("Alt+1 on the channel list opened %s", m.Screen())
	}
	m = m.open(newAmount(m.b(), api.Alipay, actQR))
	m, _ = step(t, m, alt('5'))
	m, _ = step(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("55"), Alt: true}) // a burst with Alt held
	if a := m.Active().(*amountScreen); a.entry.value() != 0 {
		t.Fatalf("Alt+5 typed an amount: %v", a.entry.value())
	}
	m = typeKeys(t, m, "5")
	if a := m.Active().(*amountScreen); a.entry.value() != 5 {
		t.Fatalf("a plain 5 after them: %v", a.entry.value())
	}
}

// A card reader that goes away (its event stream ends) shows in the
// status bar, and the app stops listening to it.
func TestReaderGoneShowsInStatusBar(t *testing.T) {
	for _, lang := range []i18n.Lang{i18n.ZH, i18n.EN} {
		o := testOptions()
		o.Lang = lang
		o.Reader = sim.NewReader("test")
		m := testModel(t, o)
		m, _ = step(t, m, readerMsg{ev: devices.CardEvent{Kind: devices.ReaderAdded}})
		status := func() string { return strings.Split(m.View(), "\n")[23] }
		if !strings.Contains(status(), T(lang, "status.reader")+" "+T(lang, "status.ready")) {
			t.Fatalf("%s: %q", lang, status())
		}
		m, cmd := step(t, m, readerClosedMsg{})
		if !strings.Contains(status(), T(lang, "status.reader")+" "+T(lang, "status.readergone")) || cmd != nil {
			t.Fatalf("%s: reader gone: %q (listening again: %v)", lang, status(), cmd != nil)
		}
		// A device poll saying "none" does not hide that it went away.
		m, _ = step(t, m, deviceMsg{reader: devices.ReaderNone})
		if !strings.Contains(status(), T(lang, "status.readergone")) {
			t.Fatalf("%s: after a poll: %q", lang, status())
		}
	}
}

// The card reader in the status bar follows the reader's own news: a card
// in, then out again once the cardholder took it back.
func TestReaderStateFollowsTheReader(t *testing.T) {
	o := testOptions()
	o.Reader = sim.NewReader("test")
	m := testModel(t, o)
	for _, c := range []struct {
		ev   devices.CardEventKind
		want string
	}{{devices.ReaderAdded, "就绪"}, {devices.CardInserted, "有卡"}, {devices.CardRemoved, "就绪"}} {
		m, _ = step(t, m, readerMsg{ev: devices.CardEvent{Kind: c.ev}})
		if s := strings.Split(m.View(), "\n")[23]; !strings.Contains(s, "读卡器 "+c.want) {
			t.Fatalf("after %v: %q", c.ev, s)
		}
	}
}

// blockingGateway answers nothing until the call's context ends.
type blockingGateway struct{ Gateway }

func (blockingGateway) Heartbeat(ctx context.Context, _ api.Heartbeat) (api.HeartbeatAnswer, error) {
	<-ctx.Done()
	return api.HeartbeatAnswer{}, ctx.Err()
}

func (blockingGateway) Terminal(ctx context.Context) (api.TerminalInfo, error) {
	<-ctx.Done()
	return api.TerminalInfo{}, ctx.Err()
}

// Quitting cancels the app's context, and with it every call the app has
// out: nothing it started outlives it (a heartbeat in flight returns at
// once). Init changes nothing.
func TestQuitCancelsEverythingInFlight(t *testing.T) {
	o := testOptions()
	o.Gateway = blockingGateway{}
	m := testModel(t, o)
	before := *m.st.server
	if m.Init(); m.st.server.infoPending != before.infoPending || m.st.signon.busy {
		t.Fatal("Init changed the model")
	}
	calls := []tea.Cmd{ping(m.c.ctx, *m.o, nil), fetchTerminal(m.c.ctx, *m.o)}
	done := make(chan tea.Msg, len(calls))
	for _, c := range calls {
		go func() { done <- c() }()
	}
	m, cmd := step(t, m, tea.KeyMsg{Type: tea.KeyCtrlC})
	if cmd == nil || m.c.ctx.Err() == nil {
		t.Fatal("Ctrl+C on the channel list did not quit and cancel")
	}
	for range calls {
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			t.Fatal("a call in flight outlived the app")
		}
	}
}

// Quitting is refused while a payment is open, and nothing is cancelled.
func TestQuitRefusedKeepsTheContext(t *testing.T) {
	m, _ := showingQR(t)
	m, _ = step(t, m, tea.KeyMsg{Type: tea.KeyCtrlC})
	if m.c.ctx.Err() != nil || !strings.Contains(m.View(), "交易尚未结束：按 Esc 取消后再退出") {
		t.Fatalf("ctx %v\n%s", m.c.ctx.Err(), m.View())
	}
}

// The card leaving the reader on the PIN screen goes back to the card
// prompt, two screens back, which says why; the PIN typed is wiped.
func TestCardRemovedGoesBackToThePrompt(t *testing.T) {
	o := testOptions()
	o.CardKeys = posclient.NewCardKeys(make([]byte, 16))
	m := testModel(t, o)
	p := m.router.newPayment(api.Card, "")
	p.amount = 100
	m = m.open(newCardPrompt(m.b(), p))
	p.card = cards.Card{PAN: "6212345678900002", Expiry: "3012"}
	m = m.open(&cardConfirm{base: m.b(), p: p})
	m, _ = step(t, m, tea.KeyMsg{Type: tea.KeyEnter})
	if m.Screen() != "pin" {
		t.Fatalf("Confirm went to %s", m.Screen())
	}
	pin := m.Active().(*pinEntry)
	m = typeKeys(t, m, "12")
	m, _ = step(t, m, readerMsg{ev: devices.CardEvent{Kind: devices.CardRemoved}})
	if m.Screen() != "card" || !strings.Contains(m.View(), T(i18n.ZH, "card.removed")) || p.card.PAN != "" {
		t.Fatalf("%s\n%s", m.Screen(), m.View())
	}
	if d := pin.pin.buf[:cap(pin.pin.buf)]; strings.Trim(string(d), "\x00") != "" {
		t.Fatalf("PIN digits left behind: %q", d)
	}
}

// Esc while a payment code is being charged closes the payment as soon as
// the server says it is open (the customer had not confirmed yet).
func TestBarcodeEscWhileChargingCloses(t *testing.T) {
	m := testModel(t, testOptions())
	p := m.router.newPayment(api.Alipay, "")
	p.amount = 500
	m = m.open(newAmount(m.b(), api.Alipay, actBarcode)).open(newBarcode(m.b(), p))
	m, cmd := step(t, m, scanMsg{code: "281234567890123456"})
	if cmd == nil || !m.busy() {
		t.Fatal("the scan was not charged")
	}
	m, _ = step(t, m, tea.KeyMsg{Type: tea.KeyEsc})
	ord := api.Order{ID: "b1", Channel: api.Alipay, State: api.StatePending, Version: 2}
	m, cmd = step(t, m, orderMsg{pay: p.id, op: opCreate, trace: "000005", order: ord})
	if cmd == nil || m.Active().(*barcodeScreen).phase != fClosing {
		t.Fatalf("not closing: %v", m.Active().(*barcodeScreen).phase)
	}
	m, _ = step(t, m, orderMsg{pay: p.id, op: opCancel, order: with(ord, api.StateClosed, api.ReasonCancelled, 3)})
	if m.Screen() != "amount" || !strings.Contains(m.View(), "订单已关闭") {
		t.Fatalf("%s\n%s", m.Screen(), m.View())
	}
}

// A sale the server refuses for its keys makes the sign-on component drop
// ours: the screen asks, it does not touch the keys itself.
func TestRefusedKeysAreForgotten(t *testing.T) {
	m, p := sendingSale(t)
	keys, err := cardkeys.EncodeWorkingKeys(make([]byte, 16), cardkeys.WorkingKeys{PIN: bytes.Repeat([]byte{3}, 16), MAC: bytes.Repeat([]byte{4}, 16)})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.o.CardKeys.Install(api.SignedOn{Keys: hex.EncodeToString(keys)}); err != nil || !m.st.signon.signedOn() {
		t.Fatalf("sign on: %v", err)
	}
	m, cmd := step(t, m, orderMsg{pay: p.id, op: opSale, trace: "000003", err: &api.Error{Code: api.CodeSignOnRequired}})
	if cmd == nil {
		t.Fatal("nothing asked")
	}
	var asked bool
	for _, msg := range run(cmd) {
		if _, ok := msg.(keysRefusedMsg); ok {
			asked = true
			m, _ = step(t, m, msg)
		}
	}
	if !asked || m.st.signon.signedOn() {
		t.Fatalf("asked %v, still signed on %v", asked, m.st.signon.signedOn())
	}
}

// run runs cmd and the batches in it, and returns their messages.
func run(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	msg := cmd()
	if b, ok := msg.(tea.BatchMsg); ok {
		var out []tea.Msg
		for _, c := range b {
			out = append(out, run(c)...)
		}
		return out
	}
	return []tea.Msg{msg}
}

// The key filter on its own, on a clock the test moves: a fast run of
// digits ended by Enter is a scan; the same digits typed slowly are keys;
// a track typed by a wedge reader is a swipe, never digits.
func TestKeyFilterSortsKeys(t *testing.T) {
	at := testNow
	f := newKeyFilter()
	f.now = func() time.Time { return at }
	feed := func(keys ...tea.KeyMsg) (out []tea.Msg) {
		for _, k := range keys {
			evs, _, ok := f.Update(k)
			if !ok {
				t.Fatal("a key was not the filter's")
			}
			out = append(out, evs...)
			at = at.Add(2 * time.Millisecond)
		}
		return out
	}
	enter := tea.KeyMsg{Type: tea.KeyEnter}
	if evs := feed(runes("281234567890123456"), enter); len(evs) != 1 || evs[0] != (scanMsg{code: "281234567890123456"}) {
		t.Fatalf("a scan: %v", evs)
	}
	if evs := feed(runes("281234567890123456\r")); len(evs) != 1 || evs[0] != (scanMsg{code: "281234567890123456"}) {
		t.Fatalf("a scan in one burst: %v", evs)
	}
	var typed []tea.Msg
	for _, r := range "12" {
		typed = append(typed, feed(runes(string(r)))...)
		at = at.Add(time.Second) // a person's pace
		evs, _, _ := f.Update(wedgeMsg{gen: f.wedge.Gen()})
		typed = append(typed, evs...)
	}
	typed = append(typed, feed(enter)...)
	if fmt.Sprint(typed) != fmt.Sprint([]tea.Msg{runes("1"), runes("2"), enter}) {
		t.Fatalf("typed: %v", typed)
	}
	evs := feed(runes(";6212345678900002=30122201234567890?"), enter)
	if f.stripe.Holding() { // a reader may type a second track: the gap ends it
		at = at.Add(time.Second)
		more, _, _ := f.Update(stripeMsg{gen: f.stripe.Gen()})
		evs = append(evs, more...)
	}
	if len(evs) != 1 {
		t.Fatalf("a swipe: %v", evs)
	}
	if _, ok := evs[0].(swipeMsg); !ok {
		t.Fatalf("a swipe: %v", evs)
	}
	if evs := feed(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("7"), Alt: true}); len(evs) != 1 || f.wedge.Holding() {
		t.Fatalf("Alt+7 held as a digit: %v", evs)
	}
}
