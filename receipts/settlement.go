package receipts

import (
	"strconv"
	"strings"
	"time"

	"github.com/multipos/multipos/i18n"
	"github.com/multipos/multipos/money"
)

// Settle is the type of a settlement slip (结算单): a Receipt whose
// Settlement is set.
const Settle Type = "settlement"

// Settlement is what a settlement slip (结算单) prints of a settled card
// batch, besides the Receipt's merchant, terminal, operator (who asked) and
// Time (when it was printed). Amounts are int64 fen, as in the print
// queue's files; there is no card number on a settlement slip.
type Settlement struct {
	Batch     string
	NextBatch string
	From, To  time.Time // the period: first transaction (or opening) to the settlement
	// Totals per kind, as settled: Sale, Void and Refund, zeros included.
	Totals       []KindTotal
	DebitCount   int
	DebitAmount  int64
	CreditCount  int
	CreditAmount int64
	Net          int64 // debits less credits
	// Balanced is the acquirer's verdict on the totals first sent (对账平);
	// false means the detail was uploaded (Uploaded transactions).
	Balanced  bool
	Uploaded  int
	Reversals int  // reversals still owed, sent before the totals
	Cutoff    bool // settled by posserver at its cut-off, not by an operator
}

// KindTotal is the count and amount of one kind of transaction in a batch.
type KindTotal struct {
	Type   Type
	Count  int
	Amount int64 // fen
}

// NewSettlementSlip returns the settlement slip receipt: r's merchant,
// terminal, operator, language and time with s.
func NewSettlementSlip(r Receipt, s Settlement) Receipt {
	r.Channel, r.Type, r.Copy, r.Settlement = "card", Settle, 0, &s
	r.Amount = money.Fen(s.Net)
	r.Batch, r.Trace, r.OrigTrace, r.OrderNo, r.TradeNo = s.Batch, "", "", "", ""
	r.MaskedPAN, r.Expiry, r.Entry, r.AuthCode, r.RRN = "", "", "", "", ""
	return r
}

var (
	lSettledBy = label{"结算人", "SETTLED BY"}
	lFrom      = label{"起", "FROM"}
	lTo        = label{"止", "TO"}
	lDebit     = label{"借记", "DEBIT"}
	lCredit    = label{"贷记", "CREDIT"}
	lNet       = label{"净额", "NET"}
	lUploaded  = label{"上送笔数", "UPLOADED"}
	lReversals = label{"冲正上送", "REVERSALS SENT"}
	lNextBatch = label{"下一批次", "NEXT BATCH"}
	lPrinted   = label{"打印时间", "PRINTED"}
)

// settleTypeNames are the kinds as a settlement slip lists them.
var settleTypeNames = map[Type]label{Sale: {"消费", "SALE"}, Void: {"撤销", "VOID"}, Refund: {"退货", "REFUND"}}

const stamp = "2006/01/02 15:04:05"

// settlementLayout lays out a settlement slip (结算单).
func settlementLayout(r Receipt, width int) *sheet {
	l := slip{s: &sheet{w: width}, r: r, lang: r.Lang, card: true}
	if l.lang != i18n.EN {
		l.lang = i18n.ZH
	}
	s, st := l.s, r.Settlement
	if r.Demo {
		demoBanner(s, l.lang)
	}
	s.title(both(l.lang, "银联", "UnionPay"))
	s.style(s.center(pick(l.lang, label{"结算单", "SETTLEMENT"})), true, false)
	if r.Reprint {
		s.banner(both(l.lang, "重打印", "REPRINT"), "=")
	}
	s.rule("-")
	l.f(lMerchantName, l.v(r.MerchantName))
	l.f(lMerchantID, l.v(r.MerchantID))
	l.f(lTerminalID, l.v(r.TerminalID))
	if st.Cutoff {
		l.f(lSettledBy, pick(l.lang, label{"日切", "CUT-OFF"}))
	} else {
		l.f(lOperator, l.v(r.Operator))
	}
	s.rule("-")
	l.f(lBatch, l.v(st.Batch))
	l.period(st)
	s.rule("-")
	l.totals(st)
	s.rule("-")
	l.verdict(st)
	l.f(lReversals, strconv.Itoa(st.Reversals))
	l.f(lNextBatch, l.v(st.NextBatch))
	if !r.Time.IsZero() {
		l.f(lPrinted, r.Time.Format(stamp))
	}
	if r.Demo {
		demoBanner(s, l.lang)
	}
	return s
}

// period prints from and to, each on one line when label and time fit.
func (l slip) period(st *Settlement) {
	if !st.From.IsZero() {
		l.f(lFrom, st.From.Format(stamp))
	}
	if !st.To.IsZero() {
		l.f(lTo, st.To.Format(stamp))
	}
}

// totals prints the table of kinds (count, amount) and the debit, credit
// and net lines.
func (l slip) totals(st *Settlement) {
	s := l.s
	if l.lang == i18n.EN {
		l.row("TYPE", "NO.", "AMOUNT")
		s.style(1, true, false)
	} else { // the headings in both languages, one above the other
		l.row("类型", "笔数", "金额")
		l.row("TYPE", "NO.", "AMOUNT")
		s.style(2, true, false)
	}
	for _, k := range st.Totals {
		name := strings.ToUpper(clean(string(k.Type)))
		if n, ok := settleTypeNames[k.Type]; ok {
			name = n.text(l.lang, s.w)
		}
		l.row(name, strconv.Itoa(k.Count), money.Fen(k.Amount).Grouped())
	}
	s.rule("-")
	l.row(lDebit.text(l.lang, s.w), strconv.Itoa(st.DebitCount), money.Fen(st.DebitAmount).Grouped())
	l.row(lCredit.text(l.lang, s.w), strconv.Itoa(st.CreditCount), money.Fen(st.CreditAmount).Grouped())
	s.para(lNet.text(l.lang, s.w))
	s.right("RMB "+money.Fen(st.Net).Grouped(), true)
}

// row prints a line of the table: the name, then the count and amount
// right-aligned in their columns; a name too long for its column gets a
// line of its own.
func (l slip) row(name, count, amount string) {
	s := l.s
	const amountW = 14 // "99,999,999.99" and a space
	countW := 6
	if s.w >= Width80 {
		countW = 10
	}
	nameW := s.w - countW - amountW
	nums := padLeft(count, countW) + padLeft(amount, amountW)
	if cells(name) > nameW {
		s.para(name)
		s.add(strings.Repeat(" ", nameW) + nums)
		return
	}
	s.add(name + strings.Repeat(" ", nameW-cells(name)) + nums)
}

// padLeft right-aligns s in w cells.
func padLeft(s string, w int) string { return strings.Repeat(" ", max(0, w-cells(s))) + s }

// verdict prints whether the acquirer found the totals balanced (对账平)
// or not, and how many transactions were then uploaded.
func (l slip) verdict(st *Settlement) {
	if st.Balanced {
		l.s.style(l.s.center(both(l.lang, "对账平", "BALANCED")), true, false)
		return
	}
	l.s.style(l.s.center(both(l.lang, "对账不平", "OUT OF BALANCE")), true, false)
	l.f(lUploaded, strconv.Itoa(st.Uploaded))
}
