package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/money"
	"github.com/multipos/multipos/server"
	"github.com/multipos/multipos/server/store"
)

func limitsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("limits: say set, clear or show")
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "set", "clear":
		return limitsSet(ctx, sub == "clear", args, stdout, stderr)
	case "show":
		return limitsShow(ctx, args, stdout, stderr)
	}
	return fmt.Errorf("limits: unknown subcommand %q (set, clear, show)", sub)
}

// optionalAmount is a -single or -daily flag: yuan, "none" for no limit,
// unset to leave as inherited.
type optionalAmount struct{ v *int64 }

func (o *optionalAmount) String() string {
	if o.v == nil {
		return ""
	}
	return money.Fen(*o.v).String()
}

func (o *optionalAmount) Set(s string) error {
	if s == "none" || s == "0" {
		var zero int64
		o.v = &zero
		return nil
	}
	f, err := money.Parse(s)
	if err != nil {
		return err
	}
	v := int64(f)
	o.v = &v
	return nil
}

type optionalBool struct{ v *bool }

func (o *optionalBool) String() string {
	if o.v == nil {
		return ""
	}
	return strconv.FormatBool(*o.v)
}

func (o *optionalBool) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("want true or false: %w", err)
	}
	o.v = &b
	return nil
}

func limitsSet(ctx context.Context, clear bool, args []string, stdout, stderr io.Writer) error {
	verb := map[bool]string{true: "clear", false: "set"}[clear]
	c := newFlags("limits "+verb, stderr)
	merchant := c.fl.String("merchant", "", "the merchant the rule is for (all its terminals)")
	terminal := c.fl.String("terminal", "", "the terminal the rule is for")
	channel := c.fl.String("channel", "", "alipay, wechat or card")
	var single, daily optionalAmount
	var enabled optionalBool
	if !clear {
		c.fl.Var(&single, "single", "limit per payment in yuan (e.g. 500.00; none = no limit); unset inherits")
		c.fl.Var(&daily, "daily", "limit per day in yuan (for -merchant: all its terminals together); unset inherits")
		c.fl.Var(&enabled, "enabled", "switch the channel on (true) or off (false); unset inherits")
	}
	cfg, err := c.parse(args)
	if err != nil {
		return err
	}
	scope, id := store.ScopeMerchant, *merchant
	switch {
	case (*merchant == "") == (*terminal == ""):
		return fmt.Errorf("limits %s: name exactly one of -merchant and -terminal", verb)
	case *terminal != "":
		scope, id = store.ScopeTerminal, *terminal
	}
	ch := api.Channel(*channel)
	if !ch.Valid() {
		return fmt.Errorf("limits %s: -channel must be alipay, wechat or card", verb)
	}
	if !clear && single.v == nil && daily.v == nil && enabled.v == nil {
		return errors.New("limits set: give at least one of -single, -daily and -enabled")
	}
	if single.v != nil && daily.v != nil && *daily.v > 0 && *single.v > *daily.v {
		return fmt.Errorf("limits set: -single %s is above -daily %s", money.Fen(*single.v).Grouped(), money.Fen(*daily.v).Grouped())
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if scope == store.ScopeTerminal {
		if _, err := st.Terminal(ctx, id); err != nil {
			return fmt.Errorf("no terminal %s is registered", id)
		}
	} else if _, err := st.Merchant(ctx, id); err != nil {
		return fmt.Errorf("no merchant %s is registered (it is created with its first terminal)", id)
	}
	if clear {
		if err := st.DeleteLimit(ctx, scope, id, ch); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s %s on %s: rule cleared; the configuration's defaults apply\n", scope, id, ch)
		return nil
	}
	if err := st.SetLimit(ctx, store.LimitRule{Scope: scope, ScopeID: id, Channel: ch, Enabled: enabled.v,
		Single: single.v, Daily: daily.v, UpdatedAt: time.Now()}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s %s on %s: rule set (servers apply it within %s)\n", scope, id, ch, server.DefaultCacheTTL)
	return nil
}

func limitsShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newFlags("limits show", stderr)
	terminal := c.fl.String("terminal", "", "the terminal whose limits to show")
	cfg, err := c.parse(args)
	if err != nil {
		return err
	}
	if *terminal == "" {
		return errors.New("limits show: -terminal is required")
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	t, err := st.Terminal(ctx, *terminal)
	if err != nil {
		return fmt.Errorf("no terminal %s is registered", *terminal)
	}
	rules, err := st.Limits(ctx, t.MerchantID, t.ID)
	if err != nil {
		return err
	}
	lim := server.EffectiveLimits(server.ChannelLimits(cfg.Limits), server.ChannelLimits(cfg.MerchantLimits), rules)
	day := time.Now().Format("2006-01-02")
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "terminal %s (merchant %s, store %s), today %s\n", t.ID, t.MerchantID, t.StoreID, day)
	fmt.Fprintln(tw, "CHANNEL\tON\tSINGLE\tDAILY\tUSED TODAY\tMERCHANT DAILY\tMERCHANT USED")
	show := func(f int64) string {
		if f == 0 {
			return "none"
		}
		return money.Fen(f).Grouped()
	}
	for _, ch := range api.Channels {
		l := lim[ch]
		used, err := st.DailyTotal(ctx, t.ID, ch, day)
		if err != nil {
			return err
		}
		mused, err := st.MerchantDailyTotal(ctx, t.MerchantID, ch, day)
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s\t%v\t%s\t%s\t%s\t%s\t%s\n", ch, l.Enabled, show(l.Single), show(l.Daily),
			money.Fen(used).Grouped(), show(l.MerchantDaily), money.Fen(mused).Grouped())
	}
	for _, r := range rules {
		fmt.Fprintf(tw, "rule: %s %s %s enabled=%s single=%s daily=%s\n", r.Scope, r.ScopeID, r.Channel,
			ptrBool(r.Enabled), ptrFen(r.Single), ptrFen(r.Daily))
	}
	return tw.Flush()
}

func ptrBool(b *bool) string {
	if b == nil {
		return "inherit"
	}
	return strconv.FormatBool(*b)
}

func ptrFen(f *int64) string {
	switch {
	case f == nil:
		return "inherit"
	case *f == 0:
		return "none"
	}
	return money.Fen(*f).Grouped()
}
