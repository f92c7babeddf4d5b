package reconcile

import (
	"cmp"
	"runtime"
	"slices"
	"sync"
)

// index finds a channel's journal orders by number, and each order's refunds.
type index struct {
	byOut   map[string]int32
	byTrade map[string]int32 // built on first need: most lines carry out_trade_no
}

// prepared is what matching builds of a journal before it reads a line.
type prepared struct {
	idx      map[Channel]*index
	firstRef []int32 // per order: its first refund, -1
	nextRef  []int32 // per refund: the order's next refund, -1
	refOrder []int32 // per refund: its order, -1
}

// Prepare builds what Match builds of the journal before it reads a line
// (its orders' index), so that a caller can have it built while it does
// something else, such as parse the bill. The journal must not change
// afterwards, and Match calls on it must not run at once.
func (j *Journal) Prepare() { j.prep = prepare(j) }

type matcher struct {
	*prepared
	day        string
	lines      []Line
	j          *Journal
	paid       []bool  // per order: a payment line matched it
	touched    []bool  // per order: some line of the bill names it
	returned   []int64 // per order: fen the bill gives back outside the journal's refunds (reversals)
	refundSeen []bool
	res        []Result
	cards      cardIndex
	pre        []int32 // per line: its order found by out_trade_no (lookUp), -1
}

// Match matches the bill lines of one business day (2006-01-02) with the
// journal. Lines of several channels may be passed at once; each is
// matched only with its own channel's entries; pass only the journal of the
// channels whose bills are given, as a paid order of a channel without
// lines is reported as not at the channel. The inputs are not changed.
func Match(day string, lines []Line, j Journal) Report {
	p := j.prep
	if p == nil || len(p.firstRef) != len(j.Orders) || len(p.nextRef) != len(j.Refunds) {
		p = prepare(&j)
	}
	m := &matcher{prepared: p, day: day, lines: lines, j: &j,
		paid: make([]bool, len(j.Orders)), touched: make([]bool, len(j.Orders)),
		returned: make([]int64, len(j.Orders)), refundSeen: make([]bool, len(j.Refunds)),
		res: make([]Result, len(lines), len(lines)+len(lines)/16+16)}
	m.lookUp()
	// Refunds first: a reversal line decides what its payment line is.
	for i := range lines {
		if lines[i].Kind == Refund && lines[i].Channel != Card {
			m.res[i] = m.refundLine(i)
		}
	}
	for i := range lines {
		if lines[i].Kind == Payment && lines[i].Channel != Card {
			m.res[i] = m.paymentLine(i)
		}
	}
	m.matchCards()
	m.leftOver()
	return Report{Day: day, Results: m.res, Totals: totals(day, lines)}
}

// lookUpChunk is the fewest lines worth a goroutine of lookUp.
const lookUpChunk = 1 << 15

// lookUp finds each line's order by out_trade_no, on every core: a
// million lookups in a million-entry map are most of matching's time, and
// they change nothing. What they miss, order tries again by trade number.
func (m *matcher) lookUp() {
	m.pre = make([]int32, len(m.lines))
	workers := max(1, min(runtime.GOMAXPROCS(0), len(m.lines)/lookUpChunk))
	per := (len(m.lines) + workers - 1) / workers
	var wg sync.WaitGroup
	for w := range workers {
		lines, pre := m.lines[w*per:min((w+1)*per, len(m.lines))], m.pre[w*per:min((w+1)*per, len(m.lines))]
		wg.Go(func() {
			var ch Channel
			var ix *index
			for i := range lines {
				l := &lines[i]
				if l.Channel != ch || i == 0 {
					ch, ix = l.Channel, m.idx[l.Channel]
				}
				pre[i] = -1
				if ix != nil && l.OutTradeNo != "" {
					if oi, ok := ix.byOut[l.OutTradeNo]; ok {
						pre[i] = oi
					}
				}
			}
		})
	}
	wg.Wait()
}

// orderOf is line i's order, -1 if none.
func (m *matcher) orderOf(i int) int {
	if oi := m.pre[i]; oi >= 0 {
		return int(oi)
	}
	l := &m.lines[i]
	return m.order(m.j, l.Channel, l.OutTradeNo, l.TradeNo)
}

func prepare(j *Journal) *prepared {
	p := &prepared{idx: map[Channel]*index{}, firstRef: make([]int32, len(j.Orders)), nextRef: make([]int32, len(j.Refunds)),
		refOrder: make([]int32, len(j.Refunds))}
	counts := map[Channel]int{}
	for i := range j.Orders {
		counts[j.Orders[i].Channel]++
	}
	for ch, n := range counts {
		p.idx[ch] = &index{byOut: make(map[string]int32, n)}
	}
	for i := range j.Orders {
		o := &j.Orders[i]
		p.idx[o.Channel].byOut[o.OutTradeNo] = int32(i)
		p.firstRef[i] = -1
	}
	// Each order's refunds as a list threaded through nextRef, newest
	// first: no allocation per order.
	for i := range j.Refunds {
		r := &j.Refunds[i]
		p.nextRef[i] = -1
		o := p.order(j, r.Channel, r.OutTradeNo, "")
		p.refOrder[i] = int32(o)
		if o >= 0 {
			p.nextRef[i] = p.firstRef[o]
			p.firstRef[o] = int32(i)
		}
	}
	return p
}

// order finds a journal order by out_trade_no, else by the channel's trade
// number; -1 if none.
func (p *prepared) order(j *Journal, ch Channel, out, trade string) int {
	ix := p.idx[ch]
	if ix == nil {
		return -1
	}
	if out != "" {
		if i, ok := ix.byOut[out]; ok {
			return int(i)
		}
	}
	if trade == "" {
		return -1
	}
	if ix.byTrade == nil {
		ix.byTrade = make(map[string]int32, len(ix.byOut))
		for i := range j.Orders {
			if o := &j.Orders[i]; o.Channel == ch && o.TradeNo != "" {
				ix.byTrade[o.TradeNo] = int32(i)
			}
		}
	}
	if i, ok := ix.byTrade[trade]; ok {
		return int(i)
	}
	return -1
}

func (m *matcher) lineResult(i int, c Class, note string) Result {
	l := &m.lines[i]
	return Result{Class: c, Kind: l.Kind, Channel: l.Channel, Line: i, Order: -1, Refund: -1, Card: -1,
		OutTradeNo: l.OutTradeNo, OutRefundNo: l.OutRefundNo, ChannelAmount: l.Amount, Note: note}
}

func (m *matcher) paymentLine(i int) Result {
	l := &m.lines[i]
	oi := m.orderOf(i)
	if oi < 0 {
		return m.lineResult(i, ChannelOnly, "paid at the channel, not in the journal")
	}
	o := &m.j.Orders[oi]
	r := m.lineResult(i, Matched, "")
	r.Order, r.JournalAmount, r.OutTradeNo = oi, o.Amount, o.OutTradeNo
	m.touched[oi] = true
	if m.paid[oi] {
		r.Class, r.Note = ChannelOnly, "a second payment line for one order"
		return r
	}
	m.paid[oi] = true
	switch {
	case o.State == OrderPaid && o.Amount == l.Amount:
	case o.State == OrderPaid:
		r.Class, r.Note = AmountDiffers, "paid amounts differ"
	case (o.State == OrderReversed || o.State == OrderClosed) && m.returned[oi] >= l.Amount:
		r.Note = "reversed at the channel too"
	default:
		r.Class, r.Note = StateDiffers, "the channel kept the money, the journal says "+o.State.String()
	}
	return r
}

func (m *matcher) refundLine(i int) Result {
	l := &m.lines[i]
	oi := m.orderOf(i)
	if oi < 0 {
		return m.lineResult(i, RefundDiffers, "refunded at the channel, the journal has no such order")
	}
	o := &m.j.Orders[oi]
	m.touched[oi] = true
	r := m.lineResult(i, Matched, "")
	r.Order, r.OutTradeNo = oi, o.OutTradeNo
	ri := m.journalRefund(oi, l.OutRefundNo)
	if ri < 0 {
		if (o.State == OrderReversed || o.State == OrderClosed) && l.Amount == o.Amount && m.returned[oi] == 0 {
			m.returned[oi] = l.Amount
			r.JournalAmount, r.Note = o.Amount, "the reversal of a sale the journal shows "+o.State.String()
			return r
		}
		r.Class, r.Note = RefundDiffers, "refunded at the channel, not in the journal"
		return r
	}
	m.refundSeen[ri] = true
	e := &m.j.Refunds[ri]
	r.Refund, r.JournalAmount = ri, e.Amount
	failed := l.RefundState == "CLOSED" // WeChat: the refund failed for good
	switch {
	case e.Amount != l.Amount:
		r.Class, r.Note = RefundDiffers, "refunded amounts differ"
	case e.State == RefundDone && !failed, e.State == RefundFailed && failed:
	case e.State == RefundPending && !failed:
		r.Class, r.Note = RefundDiffers, "refunded at the channel, in flight in the journal"
	case e.State == RefundPending:
		r.Class, r.Note = RefundDiffers, "failed at the channel, in flight in the journal"
	case failed:
		r.Class, r.Note = RefundDiffers, "failed at the channel, done in the journal"
	default:
		r.Class, r.Note = RefundDiffers, "refunded at the channel, failed in the journal"
	}
	return r
}

// journalRefund finds the order's refund numbered no, not yet matched.
func (m *matcher) journalRefund(oi int, no string) int {
	for ri := m.firstRef[oi]; ri >= 0; ri = m.nextRef[ri] {
		if m.j.Refunds[ri].OutRefundNo == no && !m.refundSeen[ri] {
			return int(ri)
		}
	}
	return -1
}

// leftOver reports the day's journal entries that hold money but that no
// line matched: paid orders and done refunds. Orders that never took
// money are not differences; entries of other days only served to match.
func (m *matcher) leftOver() {
	start := len(m.res)
	for i := range m.j.Orders {
		o := &m.j.Orders[i]
		if m.paid[i] || o.Day != m.day || o.State != OrderPaid {
			continue
		}
		r := Result{Class: JournalOnly, Kind: Payment, Channel: o.Channel, Line: -1, Order: i, Refund: -1, Card: -1,
			OutTradeNo: o.OutTradeNo, JournalAmount: o.Amount, Note: "paid in the journal, not at the channel"}
		if m.touched[i] {
			r.Class, r.Note = StateDiffers, "paid in the journal, the bill has its refund but no payment"
		}
		m.res = append(m.res, r)
	}
	for i := range m.j.Refunds {
		e := &m.j.Refunds[i]
		if m.refundSeen[i] || e.Day != m.day || e.State != RefundDone {
			continue
		}
		m.res = append(m.res, Result{Class: RefundDiffers, Kind: Refund, Channel: e.Channel, Line: -1, Order: int(m.refOrder[i]),
			Refund: i, Card: -1, OutTradeNo: e.OutTradeNo, OutRefundNo: e.OutRefundNo, JournalAmount: e.Amount,
			Note: "refunded in the journal, not at the channel"})
	}
	m.cardLeftOver()
	// The journal's order is the store's; sort so that a run reads the same twice.
	slices.SortFunc(m.res[start:], func(a, b Result) int {
		return cmp.Or(cmp.Compare(a.Channel, b.Channel), cmp.Compare(a.Kind, b.Kind),
			cmp.Compare(a.OutTradeNo, b.OutTradeNo), cmp.Compare(a.OutRefundNo, b.OutRefundNo),
			cmp.Compare(a.Terminal, b.Terminal), cmp.Compare(a.Batch, b.Batch), cmp.Compare(a.Trace, b.Trace))
	})
}

// totals sums each channel's lines (not another day's card lines).
func totals(day string, lines []Line) []Totals {
	var out []Totals
	at := map[Channel]int{}
	for i := range lines {
		l := &lines[i]
		if l.neighbour(day) {
			continue
		}
		k, ok := at[l.Channel]
		if !ok {
			k = len(out)
			at[l.Channel] = k
			out = append(out, Totals{Channel: l.Channel})
		}
		t := &out[k]
		if l.Kind == Payment {
			t.Payments++
			t.Gross += l.Amount
			t.Settled += l.Settle
		} else {
			t.Refunds++
			t.Refunded += l.Amount
		}
		t.FeeMilli += l.FeeMilli
	}
	for i := range out {
		t := &out[i]
		t.Fees = roundMilli(t.FeeMilli)
		t.Net = t.Settled - t.Refunded - t.Fees
	}
	slices.SortFunc(out, func(a, b Totals) int { return cmp.Compare(a.Channel, b.Channel) })
	return out
}

// roundMilli rounds 0.001 fen to fen, half away from zero.
func roundMilli(v int64) int64 {
	if v < 0 {
		return -((-v + 500) / 1000)
	}
	return (v + 500) / 1000
}
