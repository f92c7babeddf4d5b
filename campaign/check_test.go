package campaign

import (
	"strings"
	"testing"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/sandbox/acquirer"
	"github.com/multipos/multipos/server/store"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func jtx(id, trace string, kind api.Kind, ch api.Channel, amount int64, st api.State) store.JournalTx {
	o := api.Order{ID: id, SaleID: "sa-" + id, TerminalID: "T1", Trace: trace, Channel: ch, Kind: kind, Amount: amount,
		State: st, CreatedAt: t0}
	if ch.Wallet() {
		o.OutTradeNo = "T1" + trace
	}
	return store.JournalTx{Order: o, Day: "2026-12-01", MerchantID: "M1"}
}

func paidSale(n int, rid, order string, amount int64, kind SaleKind) *Sale {
	s := &Sale{Run: 0, Terminal: "T1", N: n, Amount: amount, Plan: SalePlan{Kind: kind, Amount: amount}}
	s.Attempts = []*Attempt{{RequestIDs: []string{rid}, OrderID: order, Saw: api.StateSuccess}}
	s.Paid, s.PaidBy, s.PaidAmount = true, order, amount
	return s
}

// fixture is a consistent little world: a card sale, a paid QR order, a
// code payment closed unpaid, and a card sale partly refunded; the bank
// and the wallets agree with the journal.
type fixture struct {
	sales []*Sale
	books Books
}

func newFixture() *fixture {
	refund := jtx("adj5", "000005", api.KindCardRefund, api.Card, 1500, api.StateSuccess)
	refund.Original, refund.RequestID = "tx4", "rid5"
	f := &fixture{books: Books{
		Journal: store.Snapshot{
			Transactions: []store.JournalTx{
				jtx("tx1", "000001", api.KindCardSale, api.Card, 1000, api.StateSuccess),
				jtx("tx2", "000002", api.KindWalletQR, api.Alipay, 2000, api.StateSuccess),
				jtx("tx3", "000003", api.KindWalletBarcode, api.WeChat, 3000, api.StateClosed),
				jtx("tx4", "000004", api.KindCardSale, api.Card, 4000, api.StateSuccess),
			},
			Adjustments: []store.JournalTx{refund},
			Requests: []store.JournalRequest{{TerminalID: "T1", RequestID: "rid1", TxID: "tx1"}, {TerminalID: "T1", RequestID: "rid2", TxID: "tx2"},
				{TerminalID: "T1", RequestID: "rid3", TxID: "tx3"}, {TerminalID: "T1", RequestID: "rid4", TxID: "tx4"}},
			Totals: []store.DailyTotal{{Scope: "terminal", ScopeID: "T1", Channel: "card", Day: "2026-12-01", Amount: 5000},
				{Scope: "terminal", ScopeID: "T1", Channel: "alipay", Day: "2026-12-01", Amount: 2000},
				{Scope: "terminal", ScopeID: "T1", Channel: "wechat", Day: "2026-12-01", Amount: 0}},
		},
		Wallets: map[string]WalletBook{
			"alipay/T1000002": {Channel: api.Alipay, OutTradeNo: "T1000002", Found: true, State: "TRADE_SUCCESS", Amount: 2000, Paid: true, Kept: 2000},
			"wechat/T1000003": {Channel: api.WeChat, OutTradeNo: "T1000003", Found: true, State: "REVOKED", Amount: 3000},
		},
		Bank: []acquirer.LedgerEntry{
			{Index: 0, Type: "sale", TerminalID: "T1", Trace: "000001", Amount: 1000, Approved: true, Charged: 1000},
			{Index: 1, Type: "sale", TerminalID: "T1", Trace: "000004", Amount: 4000, Approved: true, Refunded: 1500, Charged: 2500},
			{Index: 2, Type: "refund", TerminalID: "T1", Trace: "000005", Original: "000004", Amount: 1500, Approved: true},
		},
	}}
	unpaid := &Sale{Terminal: "T1", N: 2, Amount: 3000, Plan: SalePlan{Kind: KindCode}}
	unpaid.Attempts = []*Attempt{{RequestIDs: []string{"rid3"}, OrderID: "tx3", Saw: api.StateClosed}}
	refunded := paidSale(3, "rid4", "tx4", 4000, KindCard)
	refunded.Adjust = &Adjustment{Kind: api.KindCardRefund, Original: "tx4", Amount: 1500, RequestIDs: []string{"rid5"}, Saw: api.StateSuccess}
	f.sales = []*Sale{paidSale(0, "rid1", "tx1", 1000, KindCard), paidSale(1, "rid2", "tx2", 2000, KindQR), unpaid, refunded}
	return f
}

func (f *fixture) check() []Finding {
	return Check(f.sales, f.books, Scope{Since: t0.Add(-time.Minute), Now: t0.Add(time.Hour),
		Deadline: func(tx store.JournalTx, _ bool) time.Time { return tx.CreatedAt.Add(time.Minute) }})
}

func (f *fixture) tx(id string) *store.JournalTx {
	for i := range f.books.Journal.Transactions {
		if f.books.Journal.Transactions[i].ID == id {
			return &f.books.Journal.Transactions[i]
		}
	}
	panic(id)
}

// expect checks that exactly the findings of the kinds given came, each
// saying what it should.
func expect(t *testing.T, got []Finding, want ...string) {
	t.Helper()
	if len(got) != len(want) {
		for _, f := range got {
			t.Logf("%s: %s | %s | %s", f.Kind, f.What, f.Journal, f.Channel)
		}
		t.Fatalf("%d findings, want %d", len(got), len(want))
	}
	for i, w := range want {
		kind, text, _ := strings.Cut(w, ": ")
		if string(got[i].Kind) != kind || !strings.Contains(got[i].What+" "+got[i].Channel, text) {
			t.Errorf("finding %d: %s: %s (channel %s); want %s", i, got[i].Kind, got[i].What, got[i].Channel, w)
		}
	}
}

func TestCheckConsistentBooks(t *testing.T) {
	expect(t, newFixture().check())
}

func TestCheckLost(t *testing.T) {
	f := newFixture()
	f.tx("tx2").State, f.tx("tx2").Reason = api.StateClosed, api.ReasonCancelled
	f.books.Journal.Totals[1].Amount = 0
	f.books.Wallets["alipay/T1000002"] = WalletBook{Channel: api.Alipay, OutTradeNo: "T1000002", Found: true, State: "TRADE_CLOSED", Amount: 2000, Paid: true, Refunded: 2000}
	expect(t, f.check(), "lost: the journal's transaction is CLOSED")

	f = newFixture()
	f.sales[0].PaidBy = "tx9"
	expect(t, f.check(), "lost: no transaction tx9")

	// The terminal was shown another sale's payment (a trace used twice,
	// looked up after a lost answer).
	f = newFixture()
	f.sales = append(f.sales, paidSale(9, "rid9", "tx1", 1000, KindCard))
	expect(t, f.check(), "lost: made by another request")
}

func TestCheckDoubleCharged(t *testing.T) {
	f := newFixture()
	second := jtx("tx6", "000006", api.KindWalletQR, api.WeChat, 2000, api.StateFailed)
	second.SaleID = "sa-tx2" // a second attempt of the QR sale, failed by the journal, paid at WeChat
	f.books.Journal.Transactions = append(f.books.Journal.Transactions, second)
	f.books.Journal.Requests = append(f.books.Journal.Requests, store.JournalRequest{TerminalID: "T1", RequestID: "rid6", TxID: "tx6"})
	f.sales[1].Attempts = append(f.sales[1].Attempts, &Attempt{RequestIDs: []string{"rid6"}})
	f.books.Wallets["wechat/T1000006"] = WalletBook{Channel: api.WeChat, OutTradeNo: "T1000006", Found: true, State: "SUCCESS", Amount: 2000, Paid: true, Kept: 2000}
	expect(t, f.check(),
		"disagreement: the channel kept ¥20.00 for a transaction the journal has FAILED",
		"double-charged: keep ¥40.00 for a sale of ¥20.00")
}

func TestCheckDisagreements(t *testing.T) {
	// Paid by the journal; the wallet refunded it (a cancel that refunded).
	f := newFixture()
	w := f.books.Wallets["alipay/T1000002"]
	w.Refunded, w.Kept, w.State = 2000, 0, "TRADE_CLOSED"
	f.books.Wallets["alipay/T1000002"] = w
	expect(t, f.check(), "disagreement: the journal has it paid; the channel kept nothing")

	// Closed by the journal; the wallet kept the money.
	f = newFixture()
	f.books.Wallets["wechat/T1000003"] = WalletBook{Channel: api.WeChat, OutTradeNo: "T1000003", Found: true, State: "SUCCESS", Amount: 3000, Paid: true, Kept: 3000}
	expect(t, f.check(), "disagreement: kept ¥30.00 for a transaction the journal has CLOSED")

	// A void the journal has, the bank not: the sale still charged.
	f = newFixture()
	void := jtx("adj7", "000007", api.KindCardVoid, api.Card, 1000, api.StateSuccess)
	void.Original = "tx1"
	f.books.Journal.Adjustments = append(f.books.Journal.Adjustments, void)
	expect(t, f.check(), "disagreement: the channel kept ¥10.00; by the journal it should keep ¥0.00")

	// A refund the journal reversed (CLOSED), booked at the bank.
	f = newFixture()
	f.books.Journal.Adjustments[0].State = api.StateClosed
	f.books.Bank[1].Refunded, f.books.Bank[1].Charged = 0, 4000
	f.books.Bank[2].Approved = true
	f.sales[3].Adjust.Saw = api.StateClosed
	expect(t, f.check(), "disagreement: the journal has the refund CLOSED")

	// The bank booked a sale the journal does not have.
	f = newFixture()
	f.books.Bank = append(f.books.Bank, acquirer.LedgerEntry{Index: 3, Type: "sale", TerminalID: "T1", Trace: "000099", Amount: 500, Approved: true, Charged: 500})
	expect(t, f.check(), "disagreement: the bank booked a sale the journal does not have")

	// With every wallet order at hand: money kept for an order the journal lacks.
	f = newFixture()
	f.books.AllWallets = true
	f.books.Wallets["alipay/T1000042"] = WalletBook{Channel: api.Alipay, OutTradeNo: "T1000042", Found: true, Paid: true, Amount: 700, Kept: 700}
	expect(t, f.check(), "disagreement: alipay keeps ¥7.00 for an order the journal does not have")

	// The terminal told the customer the refund was made; it was not.
	f = newFixture()
	f.books.Journal.Adjustments[0].State = api.StateFailed
	f.books.Bank[1].Refunded, f.books.Bank[1].Charged = 0, 4000
	f.books.Bank[2].Approved = false
	expect(t, f.check(), "disagreement: the terminal said the card_refund was made; the journal has it FAILED")
}

func TestCheckTotals(t *testing.T) {
	f := newFixture()
	f.books.Journal.Totals[0].Amount = 4000
	expect(t, f.check(), "disagreement: daily total of T1 on card for 2026-12-01 is ¥40.00; what was paid (and is open) adds up to ¥50.00")
}

func TestCheckStuck(t *testing.T) {
	f := newFixture()
	open := jtx("tx8", "000008", api.KindWalletQR, api.Alipay, 800, api.StatePending)
	f.books.Journal.Transactions = append(f.books.Journal.Transactions, open)
	f.books.Journal.Totals[1].Amount += 800
	expect(t, f.check(), "stuck: tx8 is still PENDING")

	// Not yet overdue: nothing to say.
	expect(t, Check(f.sales, f.books, Scope{Since: t0.Add(-time.Minute), Now: t0.Add(30 * time.Second),
		Deadline: func(tx store.JournalTx, _ bool) time.Time { return tx.CreatedAt.Add(time.Minute) }}))

	// An earlier run's transactions are not this run's to be stuck.
	expect(t, Check(f.sales, f.books, Scope{Since: t0.Add(time.Second), Now: t0.Add(time.Hour),
		Deadline: func(tx store.JournalTx, _ bool) time.Time { return tx.CreatedAt.Add(time.Minute) }}))

	f = newFixture()
	f.books.Journal.Adjustments[0].State = api.StateUnknown
	expect(t, f.check(), "stuck: refund adj5 is still UNKNOWN")
}
