package server

import (
	"context"
	"testing"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/config"
	"github.com/multipos/multipos/money"
	"github.com/multipos/multipos/posclient"
)

// set moves the clock to t, in t's zone: a server whose clock runs in UTC.
func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// The business day ends at midnight in Beijing, not at the server clock's
// midnight: with the clock in UTC, 16:30 UTC is 00:30 of the next day.
func TestDailyLimitsOnAUTCClock(t *testing.T) {
	onBoth(t, func(o *Options) {
		o.Limits = map[api.Channel]config.ChannelRule{api.Alipay: {Single: money.Fen(30000), Daily: money.Fen(30000)}}
	}, func(t *testing.T, r *rig) {
		ctx := context.Background()
		r.clock.set(time.Date(2026, 3, 1, 15, 59, 0, 0, time.UTC)) // 23:59 in Beijing, 1 March
		o := r.order(api.Alipay, "000001", 20000)
		if err := r.ali.CustomerPay(ctx, o.OutTradeNo); err != nil {
			t.Fatal(err)
		}
		r.wait("T1", o)
		_, err := r.create("T1", api.Alipay, "000002", 15000)
		refused(t, "at 23:59 in Beijing", err, api.CodeOverDailyLimit, 10000)
		if used, _ := r.st.DailyTotal(ctx, "T1", api.Alipay, "2026-03-01"); used != 20000 {
			t.Fatalf("1 March used %d", used)
		}

		r.clock.set(time.Date(2026, 3, 1, 16, 30, 0, 0, time.UTC)) // 00:30 in Beijing, 2 March
		info := r.info("T1")
		if used := info.Channels[0].DailyUsed; used != 0 {
			t.Fatalf("used at 00:30 in Beijing: %d, want a new day", used)
		}
		if info.BusinessZone != "Asia/Shanghai" || info.BusinessOffset != 8*3600 {
			t.Fatalf("business zone told %q %+d", info.BusinessZone, info.BusinessOffset)
		}
		if _, err := r.create("T1", api.Alipay, "000003", 25000); err != nil {
			t.Fatalf("the new day's first order: %v", err)
		}
		if used, _ := r.st.DailyTotal(ctx, "T1", api.Alipay, "2026-03-02"); used != 25000 {
			t.Fatalf("2 March used %d", used)
		}
	})
}

// Only today's sales are voided, and today ends at midnight in Beijing:
// a sale of 23:58 is not today's at 00:00:30, one of 00:00:10 is, though
// the server clock's UTC day is the same for all three.
func TestVoidAcrossBeijingMidnightOnAUTCClock(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		ctx := context.Background()
		c := r.client("T1")
		r.clock.set(time.Date(2026, 3, 1, 15, 58, 0, 0, time.UTC))
		before, err := r.sell(r.cardSale("approved", "123456", "T1", "000001", 800))
		if err != nil || before.State != api.StateSuccess {
			t.Fatalf("%+v, %v", before, err)
		}
		r.clock.set(time.Date(2026, 3, 1, 16, 0, 10, 0, time.UTC))
		after, err := r.sell(r.cardSale("approved", "123456", "T1", "000002", 900))
		if err != nil || after.State != api.StateSuccess {
			t.Fatalf("%+v, %v", after, err)
		}
		r.clock.set(time.Date(2026, 3, 1, 16, 0, 30, 0, time.UTC))
		_, err = c.CardVoid(ctx, posclient.NewRequestID(), adjustOf(t, before, "approved", "000003", 0))
		if e := apiErr(t, err); e.Code != api.CodeNotAdjustable || e.Reason != api.AdjustNotToday {
			t.Fatalf("void of the sale before midnight: %+v", e)
		}
		v, err := c.CardVoid(ctx, posclient.NewRequestID(), adjustOf(t, after, "approved", "000004", 0))
		if err != nil || v.State != api.StateSuccess {
			t.Fatalf("void of today's sale: %+v, %v", v, err)
		}
	})
}
