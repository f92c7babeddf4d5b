package tui

import (
	"testing"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/i18n"
)

// The station's "a sale of today" follows the business day the server
// told, as the server's own rule does (server: TestVoidAcrossBeijingMidnight
// OnAUTCClock, same instants): the server's clock, the PC's clock and its
// zone do not move midnight.
func TestSaleOfTodayInTheServersBusinessZone(t *testing.T) {
	now := time.Date(2026, 3, 1, 16, 0, 30, 0, time.UTC) // 00:00:30 on 2 March in Beijing
	before := time.Date(2026, 3, 1, 15, 58, 0, 0, time.UTC)
	after := time.Date(2026, 3, 1, 16, 0, 10, 0, time.UTC)
	sale := func(tradeNo string, at time.Time) api.Order {
		return api.Order{Kind: api.KindCardSale, State: api.StateSuccess, TradeNo: tradeNo, UpdatedAt: at}
	}
	for _, tc := range []struct {
		name   string
		zone   string
		offset int
		sale   api.Order
		today  bool
	}{
		{"Beijing, the acquirer's date before midnight", "Asia/Shanghai", 8 * 3600, sale("0301/260301000001", before), false},
		{"Beijing, the acquirer's date after midnight", "Asia/Shanghai", 8 * 3600, sale("0302/260302000002", after), true},
		{"Beijing, no trade number, before", "Asia/Shanghai", 8 * 3600, sale("", before), false},
		{"Beijing, no trade number, after", "Asia/Shanghai", 8 * 3600, sale("", after), true},
		{"a server before business zones: Beijing", "", 0, sale("", before), false},
		{"a chain in UTC: still 1 March", "UTC", 0, sale("0301/260301000001", before), true},
		{"a chain in UTC: not 2 March", "UTC", 0, sale("0302/260302000001", after), false},
		{"a zone this PC does not know: its offset", "Nowhere/Unknown", -5 * 3600, sale("", before), true},
		{"not this PC's zone", "Local", 8 * 3600, sale("", before), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := demoModel(t, i18n.EN, false)
			m, _ = step(t, m, terminalMsg{info: api.TerminalInfo{ServerTime: now, BusinessZone: tc.zone,
				BusinessOffset: tc.offset, Channels: m.st.server.info.Channels}})
			if got := saleOfToday(m.b(), tc.sale); got != tc.today {
				t.Fatalf("sale of today = %v, want %v", got, tc.today)
			}
		})
	}
}
