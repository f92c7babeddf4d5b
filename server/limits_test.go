package server

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/multipos/multipos/config"
	"github.com/multipos/multipos/money"
	"github.com/multipos/multipos/server/api"
)

func TestLimits(t *testing.T) {
	off := false
	r := newRig(t, func(o *Options) {
		o.Limits = map[api.Channel]config.ChannelRule{
			api.Alipay: {Single: money.Fen(20000), Daily: money.Fen(30000)},
			api.WeChat: {Enabled: &off},
		}
	})
	ctx := context.Background()
	c := r.client("T1")

	_, err := c.CreateWalletOrder(ctx, api.CreateWalletOrder{Trace: "000001", Channel: api.Alipay, Amount: 20001})
	if e := apiErr(t, err); e.Code != api.CodeOverLimit || e.Limit != 20000 || e.Status != http.StatusUnprocessableEntity {
		t.Fatalf("single: %+v", e)
	}
	o := r.order(api.Alipay, "000002", 20000) // exactly the limit is allowed
	if err := r.ali.Pay(ctx, o.OutTradeNo); err != nil {
		t.Fatal(err)
	}
	r.wait("T1", o)
	// An open order does not count toward the day; only paid ones do.
	r.order(api.Alipay, "000003", 5000)
	_, err = c.CreateWalletOrder(ctx, api.CreateWalletOrder{Trace: "000004", Channel: api.Alipay, Amount: 15000})
	if e := apiErr(t, err); e.Code != api.CodeOverDailyLimit || e.Limit != 10000 {
		t.Fatalf("daily: %+v", e)
	}
	r.order(api.Alipay, "000005", 10000)
	// Another terminal has its own day.
	if _, err := r.client("T2").CreateWalletOrder(ctx, api.CreateWalletOrder{Trace: "000001", Channel: api.Alipay, Amount: 15000}); err != nil {
		t.Fatalf("T2: %v", err)
	}
	_, err = c.CreateWalletOrder(ctx, api.CreateWalletOrder{Trace: "000006", Channel: api.WeChat, Amount: 1})
	if e := apiErr(t, err); e.Code != api.CodeChannelDisabled || e.Status != http.StatusForbidden {
		t.Fatalf("disabled: %+v", e)
	}
	info, err := c.Terminal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []api.ChannelInfo{
		{Channel: api.Alipay, Enabled: true, SingleLimit: 20000, DailyLimit: 30000, DailyUsed: 20000},
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
	if info.TerminalID != "T1" || info.MerchantID != "898310048160001" || info.QRTTLSeconds != 120 || !info.Demo {
		t.Fatalf("info %+v", info)
	}
	// A new day (in the server's zone: 23:00 → 01:00) starts from zero.
	r.clock.Advance(2 * time.Hour)
	if _, err := c.CreateWalletOrder(ctx, api.CreateWalletOrder{Trace: "000007", Channel: api.Alipay, Amount: 15000}); err != nil {
		t.Fatalf("next day: %v", err)
	}
}

func TestCardLimitsAndMissingConnector(t *testing.T) {
	r := newRig(t, func(o *Options) {
		o.Limits = map[api.Channel]config.ChannelRule{api.Card: {Single: money.Fen(5000)}}
		o.Wallets = nil
	})
	ctx := context.Background()
	c := r.client("T1")
	_, err := c.CardSale(ctx, cardSale(t, "approved", "123456", "T1", "000001", 5001))
	if e := apiErr(t, err); e.Code != api.CodeOverLimit || e.Limit != 5000 {
		t.Fatalf("card single: %+v", e)
	}
	_, err = c.CreateWalletOrder(ctx, api.CreateWalletOrder{Trace: "000002", Channel: api.Alipay, Amount: 1})
	if e := apiErr(t, err); e.Code != api.CodeChannelDisabled {
		t.Fatalf("no wallet connector: %+v", e)
	}
	if r.bank.Calls() != 0 {
		t.Fatal("an over-limit sale reached the bank")
	}
}

func TestTerminalIsolation(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	o := r.order(api.Alipay, "000001", 100)
	other := r.client("T2")
	if _, err := other.WaitOrder(ctx, o.ID, 0, 0); apiErr(t, err).Code != api.CodeNotFound {
		t.Fatalf("read: %v", err)
	}
	if _, err := other.CancelOrder(ctx, o.ID); apiErr(t, err).Status != http.StatusNotFound {
		t.Fatalf("cancel: %v", err)
	}
	if _, err := other.OrderByTrace(ctx, "000001"); apiErr(t, err).Code != api.CodeNotFound {
		t.Fatalf("by trace: %v", err)
	}
	if cur, _ := r.client("T1").WaitOrder(ctx, o.ID, 0, 0); cur.State != api.StatePending {
		t.Fatalf("T2 changed T1's order: %+v", cur)
	}
	for _, tid := range []string{"", "T9"} {
		if _, err := r.client(tid).Terminal(ctx); apiErr(t, err).Code != api.CodeUnknownTerminal || apiErr(t, err).Status != http.StatusUnauthorized {
			t.Fatalf("terminal %q: %v", tid, err)
		}
	}
	if _, err := r.client("T9").Ping(ctx); apiErr(t, err).Code != api.CodeUnknownTerminal {
		t.Fatalf("ping from unknown terminal: %v", err)
	}
	if _, err := r.client("T1").Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
}

func TestWalletOrderValidation(t *testing.T) {
	r := newRig(t, nil)
	c := r.client("T1")
	for name, req := range map[string]api.CreateWalletOrder{
		"trace letters": {Trace: "00000a", Channel: api.Alipay, Amount: 1},
		"trace long":    {Trace: "0000001", Channel: api.Alipay, Amount: 1},
		"card channel":  {Trace: "000001", Channel: api.Card, Amount: 1},
		"no channel":    {Trace: "000001", Amount: 1},
		"zero":          {Trace: "000001", Channel: api.Alipay, Amount: 0},
		"negative":      {Trace: "000001", Channel: api.Alipay, Amount: -5},
		"above max":     {Trace: "000001", Channel: api.Alipay, Amount: int64(money.Max) + 1},
	} {
		_, err := c.CreateWalletOrder(context.Background(), req)
		if e := apiErr(t, err); e.Code != api.CodeBadRequest || e.Status != http.StatusBadRequest {
			t.Errorf("%s: %+v", name, e)
		}
	}
	if n := r.ali.Calls("precreate"); n != 0 {
		t.Fatalf("%d invalid orders reached the wallet", n)
	}
	if _, err := c.WaitOrder(context.Background(), "missing", 0, 0); apiErr(t, err).Code != api.CodeNotFound {
		t.Fatalf("unknown id: %v", err)
	}
}
