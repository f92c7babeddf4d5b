package tui

import (
	"strings"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/money"
)

// acquirerZone is the zone of a CUP acquirer's business day: it closes its
// batch at midnight China Standard Time, whatever the station's clock says.
var acquirerZone = time.FixedZone("CST", 8*3600)

// adjustRefusal says, at the lookup and before any card is read or trace
// taken, why the sale o cannot take a void or refund (kind) — what the
// server would refuse after the card was read — or nothing.
func adjustRefusal(b base, kind api.Kind, o api.Order) text {
	refunded := money.Fen(o.Refunded).Yuan()
	left := money.Fen(leftToRefund(o)).Yuan()
	switch {
	case o.Voided:
		return say("orig.voided", o.Trace)
	case kind == api.KindCardVoid && o.Refunded > 0:
		return say("orig.hasrefunds", refunded, left)
	case kind == api.KindCardVoid && !saleOfToday(b, o):
		return say("orig.nottoday")
	case kind == api.KindCardRefund && leftToRefund(o) <= 0:
		return say("orig.allrefunded", o.Trace, refunded)
	}
	return text{}
}

// leftToRefund is what refunds may still give back of the sale o, in fen.
func leftToRefund(o api.Order) int64 { return max(0, o.Amount-o.Refunded) }

// saleOfToday reports whether the sale o is of the acquirer's business day
// now, the only day it can be voided: its day is the one its trade number
// carries (MMDD/RRN), as the server reckons it.
func saleOfToday(b base, o api.Order) bool {
	var day string
	switch d, _, ok := strings.Cut(o.TradeNo, "/"); {
	case ok && len(d) == 4:
		day = d
	case o.UpdatedAt.IsZero():
		return true // nothing to go by: the server decides
	default:
		day = o.UpdatedAt.In(acquirerZone).Format("0102")
	}
	return day == b.st.serverNow().In(acquirerZone).Format("0102")
}
