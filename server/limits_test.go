package server

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/config"
	"github.com/multipos/multipos/money"
	"github.com/multipos/multipos/posclient"
	"github.com/multipos/multipos/server/store"
)

// create asks for a wallet order from tid under a fresh request id.
func (r *rig) create(tid string, ch api.Channel, trace string, amount int64) (api.Order, error) {
	return r.client(tid).CreateWalletOrder(context.Background(), posclient.NewRequestID(),
		api.CreateWalletOrder{Trace: trace, Channel: ch, Amount: amount})
}

// refused checks that err is the API error code with the limit (when
// limit >= 0).
func refused(t *testing.T, what string, err error, code string, limit int64) {
	t.Helper()
	e := apiErr(t, err)
	status := map[string]int{api.CodeOverLimit: http.StatusUnprocessableEntity, api.CodeOverDailyLimit: http.StatusUnprocessableEntity,
		api.CodeChannelDisabled: http.StatusForbidden}[code]
	if e.Code != code || (limit >= 0 && e.Limit != limit) || (status != 0 && e.Status != status) {
		t.Fatalf("%s: %+v (status %d), want %s with limit %d", what, e, e.Status, code, limit)
	}
}

func (r *rig) info(tid string) api.TerminalInfo {
	r.t.Helper()
	info, err := r.client(tid).Terminal(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	return info
}

// Per-terminal limits from the configuration file's defaults.
func TestLimits(t *testing.T) {
	off := false
	onBoth(t, func(o *Options) {
		o.Limits = map[api.Channel]config.ChannelRule{
			api.Alipay: {Single: money.Fen(20000), Daily: money.Fen(30000)},
			api.WeChat: {Enabled: &off},
		}
	}, func(t *testing.T, r *rig) {
		ctx := context.Background()
		c := r.client("T1")
		_, err := r.create("T1", api.Alipay, "000001", 20001)
		refused(t, "single", err, api.CodeOverLimit, 20000)
		o := r.order(api.Alipay, "000002", 20000) // exactly the limit is allowed
		if err := r.ali.CustomerPay(ctx, o.OutTradeNo); err != nil {
			t.Fatal(err)
		}
		r.wait("T1", o)
		// An open order counts toward the day until it closes.
		open := r.order(api.Alipay, "000003", 5000)
		if used := r.info("T1").Channels[0].DailyUsed; used != 25000 {
			t.Fatalf("used with an order in flight: %d", used)
		}
		_, err = r.create("T1", api.Alipay, "000004", 15000)
		refused(t, "daily", err, api.CodeOverDailyLimit, 5000)
		if _, err := c.CancelOrder(ctx, open.ID); err != nil {
			t.Fatal(err)
		}
		if used := r.info("T1").Channels[0].DailyUsed; used != 20000 {
			t.Fatalf("used after the close: %d", used)
		}
		_, err = r.create("T1", api.Alipay, "000005", 15000)
		refused(t, "daily after the close", err, api.CodeOverDailyLimit, 10000)
		r.order(api.Alipay, "000006", 10000)
		// Another terminal has its own day.
		if _, err := r.create("T2", api.Alipay, "000001", 15000); err != nil {
			t.Fatalf("T2: %v", err)
		}
		_, err = r.create("T1", api.WeChat, "000007", 1)
		refused(t, "disabled", err, api.CodeChannelDisabled, 0)
		info := r.info("T1")
		want := []api.ChannelInfo{
			{Channel: api.Alipay, Enabled: true, SingleLimit: 20000, DailyLimit: 30000, DailyUsed: 30000},
			{Channel: api.WeChat, Enabled: false},
			{Channel: api.Card, Enabled: true},
		}
		if len(info.Channels) != len(want) {
			t.Fatalf("channels %+v", info.Channels)
		}
		for i := range want {
			if info.Channels[i] != want[i] {
				t.Errorf("channel %d = %+v, want %+v", i, info.Channels[i], want[i])
			}
		}
		if info.TerminalID != "T1" || info.MerchantID != m1 || info.MerchantName != m1Name || info.StoreID != "S1" ||
			info.QRTTLSeconds != 120 || !info.Demo || !info.ServerTime.Equal(r.clock.Now()) {
			t.Fatalf("info %+v", info)
		}
		// A new business day (23:00 → 01:00 in Beijing) starts from zero.
		r.clock.Advance(2 * time.Hour)
		if used := r.info("T1").Channels[0].DailyUsed; used != 0 {
			t.Fatalf("used on the new day: %d", used)
		}
		if _, err := r.create("T1", api.Alipay, "000008", 15000); err != nil {
			t.Fatalf("next day: %v", err)
		}
		// Yesterday's order closing gives its amount back to yesterday.
		yesterday, _ := r.srv.OrderByTrace(ctx, "T1", "000006")
		if _, err := c.CancelOrder(ctx, yesterday.ID); err != nil {
			t.Fatal(err)
		}
		if used := r.info("T1").Channels[0].DailyUsed; used != 15000 {
			t.Fatalf("used today after yesterday's order closed: %d", used)
		}
		if used, _ := r.st.DailyTotal(ctx, "T1", api.Alipay, "2026-03-01"); used != 20000 {
			t.Fatalf("used yesterday: %d", used)
		}
	})
}

func TestCardLimitsAndMissingConnector(t *testing.T) {
	onBoth(t, func(o *Options) {
		o.Limits = map[api.Channel]config.ChannelRule{api.Card: {Single: money.Fen(5000)}}
		o.Wallets = nil
	}, func(t *testing.T, r *rig) {
		_, err := r.sell(r.cardSale("approved", "123456", "T1", "000001", 5001))
		refused(t, "card single", err, api.CodeOverLimit, 5000)
		_, err = r.create("T1", api.Alipay, "000002", 1)
		refused(t, "no wallet connector", err, api.CodeChannelDisabled, 0)
		if r.bank.Calls() != 0 {
			t.Fatal("an over-limit sale reached the bank")
		}
		if e := apiErr(t, err); !strings.Contains(e.Message, "not set up on this server") {
			t.Fatalf("refusal of a wallet without a connector says %q", e.Message)
		}
		// A payment code is refused the same way, before it reaches anything.
		_, err = r.barcode(api.WeChat, "000003", wxCode, 1)
		refused(t, "no wallet connector (payment code)", err, api.CodeChannelDisabled, 0)
		info := r.info("T1")
		if info.Channels[0].Enabled || info.Channels[1].Enabled || !info.Channels[2].Enabled {
			t.Fatalf("channels %+v", info.Channels)
		}
		for _, ci := range info.Channels {
			if want := map[bool]string{true: api.DisabledNotConfigured}[ci.Channel.Wallet()]; ci.DisabledReason != want {
				t.Errorf("%s disabled_reason %q, want %q", ci.Channel, ci.DisabledReason, want)
			}
		}
	})
}

func ptr[T any](v T) *T { return &v }

// setLimit stores a rule and drops the cached terminals, so that it
// applies at once.
func (r *rig) setLimit(rule store.LimitRule) {
	r.t.Helper()
	rule.UpdatedAt = r.clock.Now()
	if err := r.st.SetLimit(context.Background(), rule); err != nil {
		r.t.Fatal(err)
	}
	r.srv.Forget("")
}

// The layers: configuration defaults per terminal and per merchant, then
// the merchant's rules, then the terminal's.
func TestLayeredLimits(t *testing.T) {
	onBoth(t, func(o *Options) {
		o.Limits = map[api.Channel]config.ChannelRule{
			api.Alipay: {Single: money.Fen(50000), Daily: money.Fen(100000)},
			api.Card:   {Single: money.Fen(1000)},
		}
		o.MerchantLimits = map[api.Channel]config.ChannelRule{api.Alipay: {Daily: money.Fen(30000)}}
	}, func(t *testing.T, r *rig) {
		ctx := context.Background()
		// The merchant's daily limit is shared by T1 and T2, not by T3 of
		// another merchant.
		r.orderOn("T1", api.Alipay, "000001", 12000)
		r.orderOn("T2", api.Alipay, "000001", 12000)
		_, err := r.create("T2", api.Alipay, "000002", 7000)
		refused(t, "merchant daily", err, api.CodeOverDailyLimit, 6000)
		if !strings.Contains(err.Error(), "merchant") {
			t.Fatalf("the refusal does not say whose limit: %v", err)
		}
		r.orderOn("T3", api.Alipay, "000001", 20000)
		r.orderOn("T1", api.Alipay, "000002", 6000)
		ali := r.info("T2").Channels[0]
		if ali.DailyUsed != 12000 || ali.DailyLimit != 100000 || ali.SingleLimit != 50000 ||
			ali.MerchantDailyLimit != 30000 || ali.MerchantDailyUsed != 30000 {
			t.Fatalf("T2 alipay %+v", ali)
		}
		if ali := r.info("T3").Channels[0]; ali.MerchantDailyUsed != 20000 || ali.DailyUsed != 20000 {
			t.Fatalf("T3 alipay %+v", ali)
		}
		// Closing an order gives its amount back to the merchant too.
		first, _ := r.srv.OrderByTrace(ctx, "T1", "000001")
		if _, err := r.client("T1").CancelOrder(ctx, first.ID); err != nil {
			t.Fatal(err)
		}
		r.orderOn("T2", api.Alipay, "000003", 12000)

		// A terminal rule overrides the defaults for that terminal only.
		_, err = r.sell(r.cardSale("approved", "123456", "T1", "000010", 1500))
		refused(t, "card default single", err, api.CodeOverLimit, 1000)
		r.setLimit(store.LimitRule{Scope: store.ScopeTerminal, ScopeID: "T1", Channel: api.Card, Single: ptr[int64](2000), Daily: ptr[int64](3000)})
		if o, err := r.sell(r.cardSale("approved", "123456", "T1", "000011", 1500)); err != nil || o.State != api.StateSuccess {
			t.Fatalf("card under the terminal's rule: %+v, %v", o, err)
		}
		_, err = r.sell(r.cardSale("approved", "123456", "T1", "000012", 1600))
		refused(t, "terminal rule daily", err, api.CodeOverDailyLimit, 1500)
		_, err = r.client("T2").CardSale(ctx, posclient.NewRequestID(), r.cardSale("approved", "123456", "T2", "000010", 1500))
		refused(t, "T2 keeps the default", err, api.CodeOverLimit, 1000)
		if card := r.info("T1").Channels[2]; card.SingleLimit != 2000 || card.DailyLimit != 3000 || card.DailyUsed != 1500 {
			t.Fatalf("T1 card %+v", card)
		}
		// A merchant rule: the stricter single limit of merchant and
		// terminal applies; a merchant daily limit on a channel without a
		// configured one.
		r.setLimit(store.LimitRule{Scope: store.ScopeMerchant, ScopeID: m1, Channel: api.Card, Single: ptr[int64](1200), Daily: ptr[int64](2000)})
		_, err = r.sell(r.cardSale("approved", "123456", "T1", "000013", 1300))
		refused(t, "merchant single", err, api.CodeOverLimit, 1200)
		_, err = r.client("T2").CardSale(ctx, posclient.NewRequestID(), r.cardSale("approved", "123456", "T2", "000011", 1000))
		refused(t, "merchant card daily", err, api.CodeOverDailyLimit, 500)
		if o, err := r.client("T3").CardSale(ctx, posclient.NewRequestID(), r.cardSale("approved", "123456", "T3", "000011", 1000)); err != nil || o.State != api.StateSuccess {
			t.Fatalf("T3 is another merchant: %+v, %v", o, err)
		}

		// Channels switched off by rule, at either level; a terminal
		// cannot switch on what its merchant switched off.
		r.setLimit(store.LimitRule{Scope: store.ScopeTerminal, ScopeID: "T2", Channel: api.WeChat, Enabled: ptr(false)})
		_, err = r.create("T2", api.WeChat, "000020", 100)
		refused(t, "terminal switched off", err, api.CodeChannelDisabled, 0)
		r.orderOn("T1", api.WeChat, "000020", 100)
		r.setLimit(store.LimitRule{Scope: store.ScopeMerchant, ScopeID: m2, Channel: api.Alipay, Enabled: ptr(false)})
		r.setLimit(store.LimitRule{Scope: store.ScopeTerminal, ScopeID: "T3", Channel: api.Alipay, Enabled: ptr(true)})
		_, err = r.create("T3", api.Alipay, "000020", 100)
		refused(t, "merchant switched off", err, api.CodeChannelDisabled, 0)
		if info := r.info("T3"); info.Channels[0].Enabled || !info.Channels[1].Enabled {
			t.Fatalf("T3 channels %+v", info.Channels)
		}
		// Deleting the rule inherits again.
		if err := r.st.DeleteLimit(ctx, store.ScopeTerminal, "T2", api.WeChat); err != nil {
			t.Fatal(err)
		}
		r.srv.Forget("T2")
		r.orderOn("T2", api.WeChat, "000021", 100)
	})
}

// A rule set through the CLI reaches a running server within CacheTTL,
// without Forget.
func TestLimitRuleAfterCacheTTL(t *testing.T) {
	onSQLite(t, func(o *Options) { o.CacheTTL = 20 * time.Millisecond }, func(t *testing.T, r *rig) {
		r.orderOn("T1", api.WeChat, "000001", 500)
		if err := r.st.SetLimit(context.Background(), store.LimitRule{Scope: store.ScopeTerminal, ScopeID: "T1",
			Channel: api.WeChat, Single: ptr[int64](400), UpdatedAt: r.clock.Now()}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(40 * time.Millisecond)
		_, err := r.create("T1", api.WeChat, "000002", 500)
		refused(t, "after the cache time", err, api.CodeOverLimit, 400)
	})
}

// A merchant daily limit set during the day must count exactly what the
// merchant's terminals have open or taken, whether those payments were
// journaled before the limit existed, or while it was lifted.
func TestMerchantLimitSetDuringTheDay(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		ctx := context.Background()
		// Alipay: an order taken before the limit closes after it is set.
		early := r.orderOn("T1", api.Alipay, "000001", 6000)
		r.setLimit(store.LimitRule{Scope: store.ScopeMerchant, ScopeID: m1, Channel: api.Alipay, Daily: ptr[int64](10000)})
		r.orderOn("T2", api.Alipay, "000001", 3000)
		if _, err := r.client("T1").CancelOrder(ctx, early.ID); err != nil {
			t.Fatal(err)
		}
		if ali := r.info("T2").Channels[0]; ali.MerchantDailyUsed != 3000 {
			t.Fatalf("merchant used %d, want 3000", ali.MerchantDailyUsed)
		}
		if _, err := r.create("T2", api.Alipay, "000002", 5000); err != nil {
			t.Errorf("3000 + 5000 of a 10000 merchant limit refused: %v", err)
		}
		// WeChat: an order taken while the limit was lifted still counts
		// once it is set again.
		r.setLimit(store.LimitRule{Scope: store.ScopeMerchant, ScopeID: m1, Channel: api.WeChat, Daily: ptr[int64](10000)})
		r.orderOn("T1", api.WeChat, "000010", 2000)
		r.setLimit(store.LimitRule{Scope: store.ScopeMerchant, ScopeID: m1, Channel: api.WeChat, Daily: ptr[int64](0)})
		r.orderOn("T1", api.WeChat, "000011", 5000)
		r.setLimit(store.LimitRule{Scope: store.ScopeMerchant, ScopeID: m1, Channel: api.WeChat, Daily: ptr[int64](10000)})
		if wx := r.info("T2").Channels[1]; wx.MerchantDailyUsed != 7000 {
			t.Fatalf("merchant used %d, want 7000", wx.MerchantDailyUsed)
		}
		_, err := r.create("T2", api.WeChat, "000010", 5000)
		if err == nil {
			t.Errorf("7000 + 5000 of a 10000 merchant limit accepted")
		} else {
			refused(t, "over the merchant limit", err, api.CodeOverDailyLimit, 3000)
		}
	})
}
