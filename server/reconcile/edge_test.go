package reconcile_test

import (
	"testing"

	"github.com/multipos/multipos/server/reconcile"
)

const day = "2026-12-06"

func payLine(ch reconcile.Channel, out string, amount int64) reconcile.Line {
	return reconcile.Line{Channel: ch, Kind: reconcile.Payment, OutTradeNo: out, TradeNo: "T" + out, Amount: amount, Settle: amount}
}

func refundLine(ch reconcile.Channel, out, rno string, amount int64, state string) reconcile.Line {
	return reconcile.Line{Channel: ch, Kind: reconcile.Refund, OutTradeNo: out, TradeNo: "T" + out, OutRefundNo: rno,
		Amount: amount, RefundState: state}
}

func classes(rep reconcile.Report) []string {
	var out []string
	for _, r := range rep.Results {
		out = append(out, r.Kind.String()+" "+r.OutTradeNo+" "+r.OutRefundNo+" "+r.Class.String())
	}
	return out
}

func expect(t *testing.T, rep reconcile.Report, want ...string) {
	t.Helper()
	got := classes(rep)
	if len(got) != len(want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("result %d: %q, want %q\nall: %q", i, got[i], want[i], got)
		}
	}
}

func TestMatchRefundStates(t *testing.T) {
	w := reconcile.WeChat
	j := reconcile.Journal{
		Orders: []reconcile.Order{{Channel: w, OutTradeNo: "O1", Amount: 1000, State: reconcile.OrderPaid, Day: "2026-12-05"}},
		Refunds: []reconcile.RefundEntry{
			{Channel: w, OutTradeNo: "O1", OutRefundNo: "r1", Amount: 100, State: reconcile.RefundDone, Day: day},
			{Channel: w, OutTradeNo: "O1", OutRefundNo: "r2", Amount: 100, State: reconcile.RefundPending, Day: day},
			{Channel: w, OutTradeNo: "O1", OutRefundNo: "r3", Amount: 100, State: reconcile.RefundFailed, Day: day},
			{Channel: w, OutTradeNo: "O1", OutRefundNo: "r4", Amount: 100, State: reconcile.RefundDone, Day: day},
			{Channel: w, OutTradeNo: "O1", OutRefundNo: "r5", Amount: 100, State: reconcile.RefundFailed, Day: day},
			{Channel: w, OutTradeNo: "O1", OutRefundNo: "r6", Amount: 100, State: reconcile.RefundPending, Day: day},
		},
	}
	lines := []reconcile.Line{
		refundLine(w, "O1", "r1", 100, "PROCESSING"), // frozen when the bill was cut: matches
		refundLine(w, "O1", "r2", 100, "SUCCESS"),
		refundLine(w, "O1", "r3", 100, "SUCCESS"),
		refundLine(w, "O1", "r4", 100, "CLOSED"),
		refundLine(w, "O1", "r5", 100, "CLOSED"),
		refundLine(w, "O1", "r6", 100, "CLOSED"),
	}
	rep := reconcile.Match(day, lines, j)
	expect(t, rep,
		"refund O1 r1 matched",
		"refund O1 r2 refund_differs",
		"refund O1 r3 refund_differs",
		"refund O1 r4 refund_differs",
		"refund O1 r5 matched",
		"refund O1 r6 refund_differs")
	// The order's payment was the day before: its refunds do not make it
	// a difference today.
	for _, r := range rep.Results {
		if r.Order != 0 || r.Refund < 0 || r.Line < 0 {
			t.Fatalf("indexes %+v", r)
		}
	}
}

func TestMatchReversals(t *testing.T) {
	a := reconcile.Alipay
	j := reconcile.Journal{Orders: []reconcile.Order{
		{Channel: a, OutTradeNo: "V1", Amount: 500, State: reconcile.OrderReversed, Day: day},
		{Channel: a, OutTradeNo: "V2", Amount: 500, State: reconcile.OrderReversed, Day: day},
		{Channel: a, OutTradeNo: "V3", Amount: 500, State: reconcile.OrderClosed, Day: day},
	}}
	lines := []reconcile.Line{
		payLine(a, "V1", 500), refundLine(a, "V1", "V1", 500, ""), // reversed at the channel too
		payLine(a, "V2", 500),                                     // the channel kept it
		payLine(a, "V3", 500), refundLine(a, "V3", "V3", 400, ""), // kept part of it
	}
	expect(t, reconcile.Match(day, lines, j),
		"payment V1  matched",
		"refund V1 V1 matched",
		"payment V2  state_differs",
		"payment V3  state_differs",
		"refund V3 V3 refund_differs")
}

func TestMatchJournalSide(t *testing.T) {
	w := reconcile.WeChat
	j := reconcile.Journal{
		Orders: []reconcile.Order{
			{Channel: w, OutTradeNo: "P3", Amount: 300, State: reconcile.OrderPaid, Day: day},
			{Channel: w, OutTradeNo: "P1", Amount: 100, State: reconcile.OrderPaid, Day: day},
			{Channel: w, OutTradeNo: "P2", Amount: 200, State: reconcile.OrderPaid, Day: day, TradeNo: "TX2"},
			{Channel: reconcile.Alipay, OutTradeNo: "P2", Amount: 200, State: reconcile.OrderPaid, Day: day},
		},
		Refunds: []reconcile.RefundEntry{{Channel: w, OutTradeNo: "P3", OutRefundNo: "x", Amount: 10, State: reconcile.RefundDone, Day: day}},
	}
	lines := []reconcile.Line{
		refundLine(w, "P1", "P1-r", 50, "SUCCESS"),                         // the bill has P1's refund but not its payment
		{Channel: w, Kind: reconcile.Payment, TradeNo: "TX2", Amount: 200}, // no out_trade_no: by trade_no
		{Channel: w, Kind: reconcile.Payment, TradeNo: "TX2", Amount: 200}, // twice
		payLine(w, "NOPE", 1),
	}
	rep := reconcile.Match(day, lines, j)
	expect(t, rep,
		"refund P1 P1-r refund_differs",
		"payment P2  matched",
		"payment P2  channel_only",
		"payment NOPE  channel_only",
		// left over, sorted by channel, kind, numbers: Alipay's P2 has no bill here
		"payment P2  journal_only",
		"payment P1  state_differs",
		"payment P3  journal_only",
		"refund P3 x refund_differs")
	if rep.Results[1].Order != 2 || rep.Results[4].Channel != reconcile.Alipay || rep.Results[4].Line != -1 {
		t.Fatalf("results %+v", rep.Results)
	}
}

func TestTotalsRounding(t *testing.T) {
	lines := []reconcile.Line{
		{Channel: reconcile.WeChat, Kind: reconcile.Payment, OutTradeNo: "a", Amount: 1000, Settle: 900, FeeMilli: 1500},
		{Channel: reconcile.Alipay, Kind: reconcile.Payment, OutTradeNo: "b", Amount: 100, Settle: 100, FeeMilli: 600},
		{Channel: reconcile.WeChat, Kind: reconcile.Refund, OutTradeNo: "a", OutRefundNo: "r", Amount: 300, FeeMilli: -499},
	}
	rep := reconcile.Match(day, lines, reconcile.Journal{})
	if len(rep.Totals) != 2 || rep.Totals[0].Channel != reconcile.Alipay || rep.Totals[0].Fees != 1 {
		t.Fatalf("totals %+v", rep.Totals)
	}
	wx := rep.Totals[1]
	if wx.Payments != 1 || wx.Refunds != 1 || wx.Gross != 1000 || wx.Settled != 900 || wx.Refunded != 300 ||
		wx.FeeMilli != 1001 || wx.Fees != 1 || wx.Net != 900-300-1 {
		t.Fatalf("wechat totals %+v", wx)
	}
	neg := reconcile.Match(day, []reconcile.Line{{Channel: reconcile.WeChat, Kind: reconcile.Refund, FeeMilli: -1500}}, reconcile.Journal{})
	if neg.Totals[0].Fees != -2 {
		t.Fatalf("-1.5 fen rounds to %d, want -2", neg.Totals[0].Fees)
	}
}
