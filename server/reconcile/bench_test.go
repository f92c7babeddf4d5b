package reconcile_test

import (
	"runtime"
	"slices"
	"strconv"
	"testing"

	"github.com/multipos/multipos/server/reconcile"
)

// benchDay builds n bill lines and n journal orders of one channel: every
// 1,000th line a difference, every 10th order refunded on the day.
func benchDay(n int) ([]reconcile.Line, reconcile.Journal) {
	lines := make([]reconcile.Line, 0, n+n/10)
	j := reconcile.Journal{Orders: make([]reconcile.Order, n), Refunds: make([]reconcile.RefundEntry, 0, n/10)}
	for i := range n {
		out := "M" + strconv.Itoa(100_000_000+i)
		amount := int64(100 + i%10_000)
		j.Orders[i] = reconcile.Order{Channel: reconcile.WeChat, OutTradeNo: out, Amount: amount, State: reconcile.OrderPaid, Day: day}
		bill := amount
		if i%1000 == 7 {
			bill++ // a different amount
		}
		lines = append(lines, reconcile.Line{Channel: reconcile.WeChat, Kind: reconcile.Payment, Row: len(lines) + 1,
			OutTradeNo: out, TradeNo: "42" + out, Amount: bill, Settle: bill, FeeMilli: bill * 6})
		if i%10 == 3 {
			rno := out + "-r1"
			j.Refunds = append(j.Refunds, reconcile.RefundEntry{Channel: reconcile.WeChat, OutTradeNo: out, OutRefundNo: rno,
				Amount: 50, State: reconcile.RefundDone, Day: day})
			lines = append(lines, reconcile.Line{Channel: reconcile.WeChat, Kind: reconcile.Refund, Row: len(lines) + 1,
				OutTradeNo: out, TradeNo: "42" + out, OutRefundNo: rno, Amount: 50, FeeMilli: -300, RefundState: "SUCCESS"})
		}
	}
	return lines[:n], j // n lines: the last refunds' payments fall off the end, so some journal entries go unmatched too
}

// BenchmarkMatch1M matches 1,000,000 bill lines with 1,000,000 journal
// orders (and their refunds) in memory: the matching step of the issue's
// end-to-end benchmark, without parsing or storing.
func BenchmarkMatch1M(b *testing.B) {
	lines, j := benchDay(1_000_000)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rep := reconcile.Match(day, lines, j)
		if len(rep.Results) < len(lines) {
			b.Fatal("results missing")
		}
	}
}

func TestBenchDayShape(t *testing.T) {
	lines, j := benchDay(10_000)
	rep := reconcile.Match(day, lines, j)
	if rep.Count(reconcile.AmountDiffers) == 0 || rep.Count(reconcile.JournalOnly) == 0 ||
		rep.Count(reconcile.Matched) < len(lines)*9/10 {
		t.Fatalf("matched %d, amount %d, journal only %d", rep.Count(reconcile.Matched),
			rep.Count(reconcile.AmountDiffers), rep.Count(reconcile.JournalOnly))
	}
}

// TestMatchAcrossCores: a day large enough for lookUp to split its lines
// among goroutines gives what one goroutine gives, and so does a journal
// prepared beforehand, matched twice.
func TestMatchAcrossCores(t *testing.T) {
	lines, j := benchDay(5 * 32768)
	const k = 70_001 // order k's payment line, found by trade number after lookUp
	i := slices.IndexFunc(lines, func(l reconcile.Line) bool { return l.OutTradeNo == j.Orders[k].OutTradeNo })
	lines[i].OutTradeNo, j.Orders[k].TradeNo = "", lines[i].TradeNo
	prev := runtime.GOMAXPROCS(1)
	one := reconcile.Match(day, lines, j)
	runtime.GOMAXPROCS(max(prev, 4))
	many := reconcile.Match(day, lines, j)
	runtime.GOMAXPROCS(prev)
	if !slices.Equal(one.Results, many.Results) {
		t.Fatal("results differ between one goroutine and several")
	}
	j.Prepare()
	for range 2 {
		if again := reconcile.Match(day, lines, j); !slices.Equal(one.Results, again.Results) {
			t.Fatal("results differ with the journal prepared beforehand")
		}
	}
	if r := many.Results[i]; r.Class != reconcile.Matched || r.Order != k {
		t.Fatalf("line found by trade number: %+v", r)
	}
}
