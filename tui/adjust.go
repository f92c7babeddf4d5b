package tui

import (
	"strings"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/money"
)

// acquirerZone is Beijing time, the business day's zone when the server
// does not say (one from before business zones): a CUP acquirer closes its
// batch at midnight there, whatever the station's clock says.
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

// saleOfToday reports whether the sale o is of the business day now, the
// only day it can be voided: its day is the one its trade number carries
// (MMDD/RRN), and the day ends at midnight in the server's business zone,
// as the server reckons it.
func saleOfToday(b base, o api.Order) bool {
	info, _, _ := b.st.terminal()
	zone := businessZone(info)
	var day string
	switch d, _, ok := strings.Cut(o.TradeNo, "/"); {
	case ok && len(d) == 4:
		day = d
	case o.UpdatedAt.IsZero():
		return true // nothing to go by: the server decides
	default:
		day = o.UpdatedAt.In(zone).Format("0102")
	}
	return day == b.st.serverNow().In(zone).Format("0102")
}

// businessZone is the zone of the chain's business day the server told:
// by name, or when this PC does not know the name (no zone database), by
// its offset from UTC.
func businessZone(info api.TerminalInfo) *time.Location {
	if info.BusinessZone == "" {
		return acquirerZone
	}
	// "Local" would be this PC's zone, not the server's.
	if loc, err := time.LoadLocation(info.BusinessZone); err == nil && info.BusinessZone != "Local" {
		return loc
	}
	return time.FixedZone(info.BusinessZone, info.BusinessOffset)
}
