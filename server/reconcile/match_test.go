package reconcile_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/multipos/multipos/server/reconcile"
)

type key struct {
	kind reconcile.Kind
	out  string
	rno  string
}

// TestMatchSandboxBills plants every kind of difference at each wallet's
// sandbox and in a journal, fetches the day's bill through the connector,
// and checks that matching finds each one, and nothing else.
func TestMatchSandboxBills(t *testing.T) {
	for _, mk := range []func(*testing.T) *wallet{alipayWallet, wechatWallet} {
		w := mk(t)
		t.Run(string(w.ch), func(t *testing.T) { sandboxScenario(t, w) })
	}
}

func sandboxScenario(t *testing.T, w *wallet) {
	p := fmt.Sprintf("%s%d_", w.ch, time.Now().UnixNano()%1e9)
	var day string
	if w.ch == reconcile.Alipay {
		day = "2026-12-06" // the Alipay sandbox's clock
	} else {
		day = time.Now().In(time.FixedZone("CST", 8*3600)).Format(time.DateOnly)
	}
	prev, next := "2000-01-01", "2999-01-01" // neighbouring days: only their Day differs from day
	var j reconcile.Journal
	order := func(no string, amount int64, st reconcile.OrderState, d string) {
		j.Orders = append(j.Orders, reconcile.Order{Channel: w.ch, OutTradeNo: p + no, Amount: amount, State: st, Day: d})
	}
	refund := func(no, rno string, amount int64, st reconcile.RefundState) {
		j.Refunds = append(j.Refunds, reconcile.RefundEntry{Channel: w.ch, OutTradeNo: p + no, OutRefundNo: p + rno,
			Amount: amount, State: st, Day: day})
	}
	want := map[key]reconcile.Class{}
	pay := func(no string, amount int64) {
		w.pay(t, p+no, amount)
	}

	pay("M1", 1000)
	order("M1", 1000, reconcile.OrderPaid, day)
	want[key{reconcile.Payment, p + "M1", ""}] = reconcile.Matched

	pay("C1", 2000) // the journal never saw it
	want[key{reconcile.Payment, p + "C1", ""}] = reconcile.ChannelOnly

	order("J1", 500, reconcile.OrderPaid, day) // the channel never got it
	want[key{reconcile.Payment, p + "J1", ""}] = reconcile.JournalOnly

	pay("A1", 3000)
	order("A1", 2999, reconcile.OrderPaid, day)
	want[key{reconcile.Payment, p + "A1", ""}] = reconcile.AmountDiffers

	pay("S1", 1500)
	order("S1", 1500, reconcile.OrderFailed, day)
	want[key{reconcile.Payment, p + "S1", ""}] = reconcile.StateDiffers
	pay("S2", 1600)
	order("S2", 1600, reconcile.OrderPending, day)
	want[key{reconcile.Payment, p + "S2", ""}] = reconcile.StateDiffers

	pay("R1", 4000)
	w.refund(t, p+"R1", p+"R1-r1", 1000, 4000)
	order("R1", 4000, reconcile.OrderPaid, day)
	refund("R1", "R1-r1", 1200, reconcile.RefundDone) // another amount
	want[key{reconcile.Payment, p + "R1", ""}] = reconcile.Matched
	want[key{reconcile.Refund, p + "R1", p + "R1-r1"}] = reconcile.RefundDiffers

	pay("R2", 2500)
	w.refund(t, p+"R2", p+"R2-r1", 500, 2500)
	order("R2", 2500, reconcile.OrderPaid, day)
	refund("R2", "R2-r1", 500, reconcile.RefundDone)
	refund("R2", "R2-r2", 300, reconcile.RefundDone) // never reached the channel
	want[key{reconcile.Payment, p + "R2", ""}] = reconcile.Matched
	want[key{reconcile.Refund, p + "R2", p + "R2-r1"}] = reconcile.Matched
	want[key{reconcile.Refund, p + "R2", p + "R2-r2"}] = reconcile.RefundDiffers

	pay("R3", 700)
	w.refund(t, p+"R3", p+"R3-r1", 700, 700) // the journal has no refund
	order("R3", 700, reconcile.OrderPaid, day)
	want[key{reconcile.Payment, p + "R3", ""}] = reconcile.Matched
	want[key{reconcile.Refund, p + "R3", p + "R3-r1"}] = reconcile.RefundDiffers

	pay("V1", 800)
	if _, err := w.conn.Reverse(t.Context(), p+"V1"); err != nil {
		t.Fatal(err)
	}
	order("V1", 800, reconcile.OrderReversed, day)
	want[key{reconcile.Payment, p + "V1", ""}] = reconcile.Matched
	want[key{reconcile.Refund, p + "V1", p + "V1"}] = reconcile.Matched // both sandboxes number a reversal by the order

	pay("Z1", 1100) // the journal put it on the next day: across midnight
	order("Z1", 1100, reconcile.OrderPaid, next)
	want[key{reconcile.Payment, p + "Z1", ""}] = reconcile.Matched

	order("X1", 900, reconcile.OrderPaid, prev)       // another day's: not this bill's
	order("N1", 600, reconcile.OrderPending, day)     // never took money
	order("N2", 600, reconcile.OrderClosed, day)      // never took money
	refund("M1", "M1-x", 100, reconcile.RefundFailed) // never took money back

	lines := w.bill(t)
	for i, l := range lines {
		if l.Terminal != "T01" || l.Row != i+1 || l.At.IsZero() || l.TradeNo == "" {
			t.Fatalf("line %d: %+v", i, l)
		}
	}
	rep := reconcile.Match(day, lines, j)
	got := map[key]reconcile.Class{}
	for _, r := range rep.Results {
		k := key{r.Kind, r.OutTradeNo, r.OutRefundNo}
		if r.Kind == reconcile.Payment {
			k.rno = ""
		}
		if _, dup := got[k]; dup {
			t.Errorf("two results for %v", k)
		}
		got[k] = r.Class
		if r.Class != reconcile.Matched && r.Note == "" {
			t.Errorf("%v: %s without a note", k, r.Class)
		}
	}
	for k, c := range want {
		if got[k] != c {
			t.Errorf("%s %s %s: %s, want %s", k.kind, k.out, k.rno, classOr(got, k), c)
		}
	}
	for k, c := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected %s %s %s: %s", k.kind, k.out, k.rno, c)
		}
	}
	checkTotals(t, w.ch, rep)
	if again := reconcile.Match(day, lines, j); fmt.Sprint(again) != fmt.Sprint(rep) {
		t.Error("a second run reads differently")
	}
}

func classOr(m map[key]reconcile.Class, k key) string {
	if c, ok := m[k]; ok {
		return c.String()
	}
	return "missing"
}

func checkTotals(t *testing.T, ch reconcile.Channel, rep reconcile.Report) {
	t.Helper()
	if len(rep.Totals) != 1 {
		t.Fatalf("totals %+v", rep.Totals)
	}
	tot := rep.Totals[0]
	const gross, refunded = 1000 + 2000 + 3000 + 1500 + 1600 + 4000 + 2500 + 700 + 800 + 1100, 1000 + 500 + 700 + 800
	if tot.Channel != ch || tot.Payments != 10 || tot.Refunds != 4 || tot.Gross != gross || tot.Settled != gross ||
		tot.Refunded != refunded {
		t.Fatalf("totals %+v", tot)
	}
	// Both sandboxes charge 0.6% and give it back on a refund: Alipay
	// rounds each line to the fen, WeChat Pay bills 0.00001 yuan.
	fees := map[reconcile.Channel]int64{reconcile.Alipay: 92, reconcile.WeChat: 91}[ch]
	milli := map[reconcile.Channel]int64{reconcile.Alipay: 92_000, reconcile.WeChat: (gross - refunded) * 6}[ch]
	if tot.FeeMilli != milli || tot.Fees != fees || tot.Net != gross-refunded-fees {
		t.Fatalf("fees %+v", tot)
	}
}
