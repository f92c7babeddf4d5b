package reconbench

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"strings"
	"time"
)

// Channel is the wallet whose bill the benchmark reconciles.
const Channel = "alipay"

// cst is the zone of Alipay's bills and of the business day.
var cst = time.FixedZone("CST", 8*3600)

// The day's differences: of every 1,000 orders, one the bill has for
// another amount, one paid at the channel under another number (so a line
// the journal lacks and an order the bill lacks), one the journal shows
// closed while the bill has it paid. The rest match.
const (
	diffEvery   = 1000
	diffAmount  = 7
	diffMissing = 500
	diffClosed  = 900
)

// Day is the benchmark's data: N wallet orders in the journal on Date and
// the N lines of that day's Alipay bill, each a function of its index so
// that the journal and the bill are generated apart and still agree.
type Day struct {
	N    int
	Date time.Time // midnight, in cst
}

// NewDay is the day of n orders, 2026-12-06.
func NewDay(n int) Day {
	return Day{N: n, Date: time.Date(2026, 12, 6, 0, 0, 0, 0, cst)}
}

// Name is the business day as the journal writes it.
func (d Day) Name() string { return d.Date.Format("2006-01-02") }

// order is one journal order of the day.
type order struct {
	id, saleID, terminal, trace string
	outTradeNo, tradeNo         string
	amount                      int64 // fen
	state                       string
	at                          time.Time
}

func (d Day) order(i int) order {
	term := fmt.Sprintf("T%04d", i%1000)
	trace := fmt.Sprintf("%06d", i/1000)
	at := d.Date.Add(time.Duration(int64(i) * int64(24*time.Hour) / int64(d.N)))
	o := order{
		id: "tx" + idOf(i, 1), saleID: "sa" + idOf(i, 2),
		terminal: term, trace: trace,
		outTradeNo: term + at.Format("20060102150405") + trace,
		tradeNo:    at.Format("20060102") + "22001" + fmt.Sprintf("%015d", 300_000_000_000+i),
		amount:     int64(100 + i*37%99_900), state: "SUCCESS", at: at,
	}
	if i%diffEvery == diffClosed {
		o.state = "CLOSED"
	}
	return o
}

// idOf is an id shaped as ids.New makes them (26 of base32's lowercase
// letters and digits, 128 bits that look random), the same for the same i
// and kind: the journal's ids are as long as the product's, which the
// load and the stored lines pay for.
func idOf(i, kind int) string {
	h := sha256.Sum256([]byte{byte(kind), byte(i), byte(i >> 8), byte(i >> 16), byte(i >> 24)})
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(h[:16]))
}

// line is one payment line of the day's bill.
type line struct {
	outTradeNo, tradeNo, terminal string
	amount, fee                   int64 // fen; fee charged, positive
	at                            time.Time
}

func (d Day) line(i int) line {
	o := d.order(i)
	l := line{outTradeNo: o.outTradeNo, tradeNo: o.tradeNo, terminal: o.terminal, amount: o.amount, at: o.at.Add(3 * time.Second)}
	switch i % diffEvery {
	case diffAmount:
		l.amount++
	case diffMissing:
		l.outTradeNo = "X" + o.outTradeNo[1:]
		l.tradeNo = o.tradeNo[:8] + "22009" + o.tradeNo[13:] // no order has it
	}
	l.fee = (l.amount*60 + 5000) / 10000 // 0.6%
	return l
}

// Expected is what matching the day must find, by class name.
func (d Day) Expected() map[string]int {
	per := func(k int) int { return d.N/diffEvery + btoi(d.N%diffEvery > k) }
	diff := per(diffAmount) + per(diffMissing) + per(diffClosed)
	return map[string]int{
		"matched":        d.N - diff,
		"amount_differs": per(diffAmount),
		"channel_only":   per(diffMissing),
		"journal_only":   per(diffMissing),
		"state_differs":  per(diffClosed),
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
