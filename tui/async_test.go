package tui

import (
	"context"
	"fmt"
	"github.com/multipos/multipos/devices"
	"github.com/multipos/multipos/receipts/spool"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/cards"
	"github.com/multipos/multipos/posclient"
	"github.com/multipos/multipos/receipts"
)

// These tests feed the root model the answers of async work directly, in
// the orders the network can deliver them, without running the Cmds.

func step(t *testing.T, m Model, msg tea.Msg) (Model, tea.Cmd) {
	t.Helper()
	next, cmd := m.Update(msg)
	return next.(Model), cmd
}

func showingQR(t *testing.T) (Model, *payment) {
	t.Helper()
	c := testCommon(t)
	p := c.newPayment(api.Alipay)
	p.amount = 500
	p.order = api.Order{ID: "o1", Channel: api.Alipay, State: api.StatePending, Version: 2,
		OutTradeNo: "T000000120261125165407000001", ExpiresAt: c.serverNow().Add(2 * time.Minute)}
	q := &qrScreen{c: c, p: p, prev: newAmount(c, api.Alipay, "menu.qr"), phase: qrShowing}
	return newModel(c, q), p
}

func with(o api.Order, st api.State, reason string, version int) api.Order {
	o.State, o.Reason, o.Version = st, reason, version
	return o
}

func TestLateAnswerAfterEscIsDropped(t *testing.T) {
	m, p := showingQR(t)
	m, cmd := step(t, m, tea.KeyMsg{Type: tea.KeyEsc})
	if cmd == nil || !m.busy() {
		t.Fatal("Esc on the QR screen must close the order at the server")
	}
	m, _ = step(t, m, orderMsg{pay: p.id, op: opCancel, order: with(p.order, api.StateClosed, api.ReasonCancelled, 3)})
	if m.Screen() != "amount" || !strings.Contains(m.View(), "订单已关闭") {
		t.Fatalf("after the close: %s\n%s", m.Screen(), m.View())
	}
	// The long-poll that was out answers late, with the order still open.
	m, cmd = step(t, m, orderMsg{pay: p.id, op: opWait, order: with(p.order, api.StatePending, "", 2)})
	if m.Screen() != "amount" || cmd != nil {
		t.Fatalf("a late answer took over: %s", m.Screen())
	}
	// So does a countdown tick of the old payment.
	if m, _ = step(t, m, tickMsg{pay: p.id}); m.Screen() != "amount" {
		t.Fatalf("a late tick took over: %s", m.Screen())
	}
}

func TestCancelRacingPaymentShowsPaid(t *testing.T) {
	m, p := showingQR(t)
	m, _ = step(t, m, tea.KeyMsg{Type: tea.KeyEsc})
	// The customer paid just before the close reached the wallet.
	m, _ = step(t, m, orderMsg{pay: p.id, op: opCancel, order: with(p.order, api.StateSuccess, "", 3)})
	if m.Screen() != "result" || !strings.Contains(m.View(), "支付成功") {
		t.Fatalf("paid order not shown as paid: %s\n%s", m.Screen(), m.View())
	}
	// The long-poll's older view of the order changes nothing.
	m, _ = step(t, m, orderMsg{pay: p.id, op: opWait, order: with(p.order, api.StatePending, "", 2)})
	if m.Screen() != "result" {
		t.Fatalf("screen %s", m.Screen())
	}
}

func TestCloseThatLeavesOrderOpenCanBeRetried(t *testing.T) {
	m, p := showingQR(t)
	m, _ = step(t, m, tea.KeyMsg{Type: tea.KeyEsc})
	m, cmd := step(t, m, orderMsg{pay: p.id, op: opCancel, order: with(p.order, api.StatePending, "", 3)})
	if m.Screen() != "qr" || !m.busy() || cmd == nil {
		t.Fatalf("a non-final close answer must keep the order watched: %s busy=%v", m.Screen(), m.busy())
	}
	if !strings.Contains(m.View(), "关闭订单失败") {
		t.Fatalf("no message:\n%s", m.View())
	}
	if _, cmd = step(t, m, tea.KeyMsg{Type: tea.KeyEsc}); cmd == nil {
		t.Fatal("Esc does not retry the close")
	}
	// Offline past the expiry the cashier may leave: the server sweeps it.
	m, _ = step(t, m, orderMsg{pay: p.id, op: opCancel, err: fmt.Errorf("post: %w", posclient.ErrOffline)})
	if !m.busy() {
		t.Fatal("leaving allowed before the code expired")
	}
	m.c.skew = 3 * time.Minute
	if m.busy() {
		t.Fatal("still busy after the code expired")
	}
	if m, _ = step(t, m, tea.KeyMsg{Type: tea.KeyEnter}); m.Screen() != "channels" {
		t.Fatalf("Confirm after expiry went to %s", m.Screen())
	}
}

func TestLostCreateIsClosedByTrace(t *testing.T) {
	c := testCommon(t)
	p := c.newPayment(api.WeChat)
	p.amount = 100
	q, _ := newQR(c, p, newAmount(c, api.WeChat, "menu.qr"))
	m := newModel(c, q)
	// Esc while creating is remembered; then the answer is lost.
	m, _ = step(t, m, tea.KeyMsg{Type: tea.KeyEsc})
	m, cmd := step(t, m, orderMsg{pay: p.id, op: opCreate, trace: "000007", err: context.DeadlineExceeded})
	if m.Screen() != "qr" || cmd == nil || !m.busy() || p.trace != "000007" {
		t.Fatalf("a lost create must be closed by its trace: %s busy=%v trace=%q", m.Screen(), m.busy(), p.trace)
	}
	m, _ = step(t, m, orderMsg{pay: p.id, op: opCancel, trace: "000007", err: &api.Error{Code: api.CodeNotFound}})
	if m.Screen() != "amount" || !strings.Contains(m.View(), "订单未创建") {
		t.Fatalf("%s\n%s", m.Screen(), m.View())
	}
}

func TestRefusedCreateCreatesNothing(t *testing.T) {
	c := testCommon(t)
	p := c.newPayment(api.Alipay)
	q, _ := newQR(c, p, newAmount(c, api.Alipay, "menu.qr"))
	m := newModel(c, q)
	m, _ = step(t, m, orderMsg{pay: p.id, op: opCreate, err: &api.Error{Code: api.CodeOverLimit, Limit: 2_000_000}})
	if m.busy() || !strings.Contains(m.View(), "超过单笔限额 ¥20,000.00") {
		t.Fatalf("busy=%v\n%s", m.busy(), m.View())
	}
	if m, _ = step(t, m, tea.KeyMsg{Type: tea.KeyEsc}); m.Screen() != "amount" {
		t.Fatalf("Esc went to %s", m.Screen())
	}
}

func sendingSale(t *testing.T) (Model, *payment) {
	t.Helper()
	c := testCommon(t)
	c.opts.CardKeys = posclient.NewCardKeys(make([]byte, 16))
	p := c.newPayment(api.Card)
	p.amount = 8800
	p.card = cards.Card{PAN: "6212345678900002", Expiry: "3012", Entry: cards.EntryChip}
	return newModel(c, &processing{c: c, p: p}), p
}

func TestLostSaleAnswerIsNeverAbandoned(t *testing.T) {
	m, p := sendingSale(t)
	m, _ = step(t, m, orderMsg{pay: p.id, op: opSale, trace: "000003", err: context.DeadlineExceeded})
	if !m.busy() || !strings.Contains(m.View(), "交易结果未知") || p.card.PAN != "6212345678900002" {
		t.Fatalf("busy=%v pan kept=%v\n%s", m.busy(), p.card.PAN != "", m.View())
	}
	// Confirm resends with the same trace.
	m, cmd := step(t, m, tea.KeyMsg{Type: tea.KeyEnter})
	if cmd == nil || p.trace != "000003" {
		t.Fatalf("no resend with the same trace (%q)", p.trace)
	}
	m, _ = step(t, m, orderMsg{pay: p.id, op: opSale, trace: "000003", err: fmt.Errorf("x: %w", posclient.ErrOffline)})
	// Esc asks the server; the server never saw it.
	m, cmd = step(t, m, tea.KeyMsg{Type: tea.KeyEsc})
	if cmd == nil || m.Screen() != "processing" {
		t.Fatal("Esc does not ask the server")
	}
	m, _ = step(t, m, orderMsg{pay: p.id, op: opLookup, trace: "000003", err: &api.Error{Code: api.CodeNotFound}})
	if m.Screen() != "channels" || !strings.Contains(m.View(), "未扣款") || strings.Contains(p.card.PAN, "5678900") {
		t.Fatalf("%s\n%s", m.Screen(), m.View())
	}
}

func TestLostSaleFoundApproved(t *testing.T) {
	m, p := sendingSale(t)
	m, _ = step(t, m, orderMsg{pay: p.id, op: opSale, trace: "000004", err: context.DeadlineExceeded})
	m, _ = step(t, m, tea.KeyMsg{Type: tea.KeyEsc})
	ord := api.Order{ID: "c1", Channel: api.Card, State: api.StateSuccess, Amount: 8800, ResponseCode: "00", AuthCode: "123456", MaskedPAN: "621234******0002", Trace: "000004", Version: 2}
	m, _ = step(t, m, orderMsg{pay: p.id, op: opLookup, trace: "000004", order: ord})
	if m.Screen() != "result" || !strings.Contains(m.View(), "交易成功") {
		t.Fatalf("%s\n%s", m.Screen(), m.View())
	}
}

func TestPrintNewsForOtherCopyIsIgnored(t *testing.T) {
	c := testCommon(t)
	c.opts.Prints = spool.NewWorker(nil, nil) // never run: the test plays its events
	p := c.newPayment(api.Alipay)
	p.order = api.Order{ID: "o1", Channel: api.Alipay, State: api.StateSuccess, Amount: 500, Version: 3}
	r, _ := newReceipt(c, p)
	m := newModel(c, r)
	merchant := spool.Job{ID: "000000000001"}
	m, _ = step(t, m, queuedMsg{pay: p.id, copy: int(receipts.MerchantCopy), job: merchant.ID})
	m, _ = step(t, m, printEventMsg{spool.Event{Kind: spool.Printing, Job: merchant, Sent: 256, Total: 1061, Queued: 1}})
	if v := m.View(); !strings.Contains(v, "256/1061 B") {
		t.Fatalf("no progress shown:\n%s", v)
	}
	m, _ = step(t, m, printEventMsg{spool.Event{Kind: spool.Printed, Job: merchant}})
	m, _ = step(t, m, tea.KeyMsg{Type: tea.KeyEnter}) // queues the customer copy
	rs := m.Active().(*receiptScreen)
	if rs.copy != receipts.CustomerCopy || !rs.Busy() {
		t.Fatalf("copy %v busy %v", rs.copy, rs.Busy())
	}
	// A late answer for the merchant copy, and the news of its job.
	m, _ = step(t, m, queuedMsg{pay: p.id, copy: int(receipts.MerchantCopy), job: merchant.ID})
	m, _ = step(t, m, printEventMsg{spool.Event{Kind: spool.Printed, Job: merchant}})
	if !m.Active().(*receiptScreen).queuing {
		t.Fatal("the merchant copy's news finished the customer copy")
	}
	customer := spool.Job{ID: "000000000002"}
	m, _ = step(t, m, queuedMsg{pay: p.id, copy: int(receipts.CustomerCopy), job: customer.ID, queued: 1})
	// Enter while the printer takes the copy does nothing.
	m, _ = step(t, m, printEventMsg{spool.Event{Kind: spool.Printing, Job: customer, Sent: 256, Total: 900, Queued: 1}})
	m, _ = step(t, m, tea.KeyMsg{Type: tea.KeyEnter})
	if m.Screen() != "receipt" {
		t.Fatalf("left while printing: %s", m.Screen())
	}
	// Paper out: the cashier is told; Esc goes on and leaves it queued.
	m, _ = step(t, m, printEventMsg{spool.Event{Kind: spool.Failed, Job: customer, Err: devices.ErrPaperOut, Queued: 1}})
	if v := m.View(); !strings.Contains(v, "缺纸") || !strings.Contains(v, "待打印1") {
		t.Fatalf("paper out not shown:\n%s", v)
	}
	if m, _ = step(t, m, tea.KeyMsg{Type: tea.KeyEsc}); m.Screen() != "channels" {
		t.Fatalf("Esc on paper out went to %s", m.Screen())
	}
}

// The merchant copy fails and the cashier goes on: the customer copy waits
// behind it in the queue, and the cashier is not held until the printer is
// back (the worker says nothing about a job it has not reached).
func TestCopyQueuedBehindAFailedOneDoesNotHold(t *testing.T) {
	c := testCommon(t)
	c.opts.Prints = spool.NewWorker(nil, nil)
	p := c.newPayment(api.WeChat)
	p.order = api.Order{ID: "o2", Channel: api.WeChat, State: api.StateSuccess, Amount: 880, Version: 3}
	r, _ := newReceipt(c, p)
	m := newModel(c, r)
	merchant, customer := spool.Job{ID: "000000000007"}, spool.Job{ID: "000000000008"}
	m, _ = step(t, m, queuedMsg{pay: p.id, copy: int(receipts.MerchantCopy), job: merchant.ID, queued: 1})
	m, _ = step(t, m, printEventMsg{spool.Event{Kind: spool.Failed, Job: merchant, Err: devices.ErrOffline, Queued: 1}})
	m, _ = step(t, m, tea.KeyMsg{Type: tea.KeyEsc})
	m, _ = step(t, m, queuedMsg{pay: p.id, copy: int(receipts.CustomerCopy), job: customer.ID, queued: 2})
	if v := m.View(); !strings.Contains(v, "已存入打印队列") || !strings.Contains(v, "待打印2") {
		t.Fatalf("waiting copy:\n%s", v)
	}
	if m, _ = step(t, m, tea.KeyMsg{Type: tea.KeyEnter}); m.Screen() != "channels" {
		t.Fatalf("Confirm on a queued copy went to %s", m.Screen())
	}
}

// The queue's news about a job can come before the answer to Add: it is
// kept and applied, not lost.
func TestPrintNewsBeforeQueuedAnswer(t *testing.T) {
	c := testCommon(t)
	c.opts.Prints = spool.NewWorker(nil, nil)
	p := c.newPayment(api.Alipay)
	p.order = api.Order{ID: "o3", Channel: api.Alipay, State: api.StateSuccess, Amount: 500, Version: 3}
	r, _ := newReceipt(c, p)
	m := newModel(c, r)
	job := spool.Job{ID: "000000000009"}
	m, _ = step(t, m, printEventMsg{spool.Event{Kind: spool.Printed, Job: job}})
	m, _ = step(t, m, queuedMsg{pay: p.id, copy: int(receipts.MerchantCopy), job: job.ID, queued: 0})
	if v := m.View(); !strings.Contains(v, "商户存根已打印") {
		t.Fatalf("news before the answer was lost:\n%s", v)
	}
}

func TestAnswerForAnotherPaymentIsDropped(t *testing.T) {
	m, p := showingQR(t)
	m, cmd := step(t, m, orderMsg{pay: p.id + 1, op: opWait, order: with(p.order, api.StateSuccess, "", 9)})
	if m.Screen() != "qr" || cmd != nil || p.order.State != api.StatePending {
		t.Fatalf("another payment's answer was applied: %s %s", m.Screen(), p.order.State)
	}
}

// The countdown follows the server's clock, not the counter PC's.
func TestCountdownUsesServerClock(t *testing.T) {
	m, p := showingQR(t)
	c := m.c
	// The PC is 5 minutes fast; the server's expiry is 2 minutes from server time.
	serverNow := c.now().Add(-5 * time.Minute)
	p.order.ExpiresAt = serverNow.Add(2 * time.Minute)
	m, _ = step(t, m, terminalMsg{info: api.TerminalInfo{ServerTime: serverNow, Channels: c.Info.Channels}})
	m, _ = step(t, m, tickMsg{pay: p.id})
	if m.Active().(*qrScreen).phase != qrShowing || !strings.Contains(m.View(), "02:00") {
		t.Fatalf("expired by a fast PC clock:\n%s", m.View())
	}
}
