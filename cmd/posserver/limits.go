package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/cmd/internal/cmdline"
	"github.com/multipos/multipos/config"
	"github.com/multipos/multipos/money"
	"github.com/multipos/multipos/server"
	"github.com/multipos/multipos/server/store"
)

func limitsCmd() *cobra.Command {
	return cmdline.Group(&cobra.Command{
		Use:   "limits",
		Short: "Set, clear or show the payment limits of a merchant or a terminal",
		Long: `limits manages rules that override the configuration's [limits] and
[merchant_limits] for one merchant (all its terminals) or one terminal, per
channel (alipay, wechat, card). Amounts are in yuan; "none" is no limit.`,
	}, limitsSetCmd(false), limitsSetCmd(true), limitsShowCmd())
}

// optionalAmount is a --single or --daily flag: yuan, "none" for no limit,
// unset to leave as inherited.
type optionalAmount struct{ v *int64 }

func (o *optionalAmount) String() string {
	if o.v == nil {
		return ""
	}
	return money.Fen(*o.v).String()
}

func (o *optionalAmount) Type() string { return "yuan" }

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

func (o *optionalBool) Type() string { return "true|false" }

func (o *optionalBool) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("want true or false: %w", err)
	}
	o.v = &b
	return nil
}

// limitRule is what the flags of `limits set` and `limits clear` say.
type limitRule struct {
	merchant, terminal, channel *string
	single, daily               optionalAmount
	enabled                     optionalBool
}

func limitsSetCmd(clear bool) *cobra.Command {
	verb := map[bool]string{true: "clear", false: "set"}[clear]
	cmd := &cobra.Command{
		Use:   verb + " (--merchant M | --terminal T) --channel C",
		Short: map[bool]string{true: "Remove a rule: the configuration's defaults apply again", false: "Set a rule for a channel"}[clear],
		Args:  cmdline.Args(cobra.NoArgs),
	}
	if !clear {
		cmd.Example = "  posserver limits set --terminal T001 --channel card --single 5000 --daily none\n" +
			"  posserver limits set --merchant 898310048160001 --channel wechat --enabled false"
	}
	c := configFlags(cmd)
	var r limitRule
	r.merchant = cmd.Flags().String("merchant", "", "the merchant the rule is for (all its terminals)")
	r.terminal = cmd.Flags().String("terminal", "", "the terminal the rule is for")
	r.channel = cmd.Flags().String("channel", "", "alipay, wechat or card")
	if !clear {
		cmd.Flags().Var(&r.single, "single", "limit per payment in yuan (e.g. 500.00; none = no limit); unset inherits")
		cmd.Flags().Var(&r.daily, "daily", "limit per day in yuan (for --merchant: all its terminals together); unset inherits")
		cmd.Flags().Var(&r.enabled, "enabled", "switch the channel on (true) or off (false); unset inherits")
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := c.load()
		if err != nil {
			return err
		}
		return limitsSet(cmd.Context(), cfg, clear, &r, cmd.OutOrStdout())
	}
	return cmd
}

// limitsSet sets or clears rule r.
func limitsSet(ctx context.Context, cfg config.Server, clear bool, r *limitRule, stdout io.Writer) error {
	verb := map[bool]string{true: "clear", false: "set"}[clear]
	merchant, terminal, channel := r.merchant, r.terminal, r.channel
	single, daily, enabled := r.single, r.daily, r.enabled
	scope, id := store.ScopeMerchant, *merchant
	switch {
	case (*merchant == "") == (*terminal == ""):
		return cmdline.Usagef("limits %s: name exactly one of --merchant and --terminal", verb)
	case *terminal != "":
		scope, id = store.ScopeTerminal, *terminal
	}
	ch := api.Channel(*channel)
	if !ch.Valid() {
		return cmdline.Usagef("limits %s: --channel must be alipay, wechat or card", verb)
	}
	if !clear && single.v == nil && daily.v == nil && enabled.v == nil {
		return cmdline.Usagef("limits set: give at least one of --single, --daily and --enabled")
	}
	if single.v != nil && daily.v != nil && *daily.v > 0 && *single.v > *daily.v {
		return fmt.Errorf("limits set: --single %s is above --daily %s", money.Fen(*single.v).Grouped(), money.Fen(*daily.v).Grouped())
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

func limitsShowCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "show --terminal T",
		Short: "Show a terminal's limits in effect, today's totals and the rules behind them",
		Args:  cmdline.Args(cobra.NoArgs),
	}
	c := configFlags(cmd)
	terminal := cmd.Flags().String("terminal", "", "the terminal whose limits to show")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := c.load()
		if err != nil {
			return err
		}
		if *terminal == "" {
			return cmdline.Usagef("limits show: --terminal is required")
		}
		return limitsShow(cmd.Context(), cfg, *terminal, cmd.OutOrStdout())
	}
	return cmd
}

// limitsShow prints terminal's limits.
func limitsShow(ctx context.Context, cfg config.Server, terminal string, stdout io.Writer) error {
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	t, err := st.Terminal(ctx, terminal)
	if err != nil {
		return fmt.Errorf("no terminal %s is registered", terminal)
	}
	rules, err := st.Limits(ctx, t.MerchantID, t.ID)
	if err != nil {
		return err
	}
	lim := server.EffectiveLimits(server.ChannelLimits(cfg.Limits), server.ChannelLimits(cfg.MerchantLimits), rules)
	zone, err := cfg.Zone()
	if err != nil {
		return err
	}
	day := time.Now().In(zone).Format("2006-01-02")
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
