package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/cmd/internal/cmdline"
	"github.com/multipos/multipos/config"
	"github.com/multipos/multipos/money"
	alipayconn "github.com/multipos/multipos/server/connector/alipay"
	wechatconn "github.com/multipos/multipos/server/connector/wechat"
	"github.com/multipos/multipos/server/dayend"
	"github.com/multipos/multipos/server/metrics"
	"github.com/multipos/multipos/server/reconcile"
	"github.com/multipos/multipos/server/store"
)

func reconcileCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "reconcile [-date D] [-channel C] [-bill FILE]",
		Short: "Reconcile (核销) a business day: match the channels' bills with the journal",
		Long: `reconcile fetches each configured channel's bill of a business day (default
yesterday, in business_zone), keeps it as received in bills_dir, matches every
line with the journal and prints, per channel, the count of each class, the
fees and the net to be settled, and the open exceptions. A payment the journal
has in flight that the bill shows paid is settled (audited); every other
difference is an exception until resolved (reconcile resolve). Running a day
again replaces its results and keeps the resolutions.

A bill downloaded by hand is imported with -bill FILE; its channel is
recognised from the file, or named with -channel. serve runs the previous day
by itself each day at reconcile_at.`,
		Example: `  posserver reconcile -date 2026-12-06
  posserver reconcile -date 2026-12-06 -channel alipay -bill 20881234_20261206.csv.zip
  posserver reconcile exceptions -format csv
  posserver reconcile resolve ex3k… -note "refunded to the customer by hand"`,
		Args: cmdline.Args(cobra.NoArgs),
	}
	c := configFlags(cmd)
	date := cmd.Flags().String("date", "", "the business day, YYYY-MM-DD (default yesterday in business_zone)")
	channel := cmd.Flags().String("channel", "", "only this channel: alipay, wechat or card (default every configured one)")
	bill := cmd.Flags().String("bill", "", "import this bill file (as downloaded from the channel) instead of fetching it")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := c.load()
		if err != nil {
			return err
		}
		return reconcileRun(cmd.Context(), cfg, *date, *channel, *bill, cmd.OutOrStdout())
	}
	cmd.AddCommand(exceptionsCmd(), resolveCmd())
	return cmd
}

// billSources are the channels' bills the configuration gives access to;
// a channel without its section can still have a bill imported.
func billSources(ctx context.Context, cfg config.Server) ([]dayend.BillSource, error) {
	var (
		ali *alipayconn.Connector
		wx  *wechatconn.Connector
		err error
	)
	quiet := slog.New(slog.DiscardHandler)
	if cfg.Alipay != nil {
		if ali, err = alipayConnector(cfg.Alipay, quiet); err != nil {
			return nil, err
		}
	}
	if cfg.WeChat != nil {
		if wx, err = wechatConnector(ctx, cfg.WeChat, quiet); err != nil {
			return nil, err
		}
	}
	return []dayend.BillSource{dayend.AlipayBills{Conn: ali}, dayend.WeChatBills{Conn: wx}, cardBills(cfg)}, nil
}

// cardBills is the acquirer's file where [bank] settlement_files says.
func cardBills(cfg config.Server) dayend.CardBills {
	if cfg.Bank == nil {
		return dayend.CardBills{}
	}
	return dayend.CardBills{Source: cfg.Bank.SettlementFiles}
}

// businessDay is -date checked (default yesterday) and the business zone
// it is a day of.
func businessDay(cfg config.Server, date string) (string, *time.Location, error) {
	zone, err := cfg.Zone()
	if err != nil {
		return "", nil, err
	}
	day, err := parseDay(date, zone)
	return day, zone, err
}

// parseDay reads -date, default yesterday in the business zone.
func parseDay(date string, zone *time.Location) (string, error) {
	if date == "" {
		return time.Now().In(zone).AddDate(0, 0, -1).Format("2006-01-02"), nil
	}
	if _, err := time.ParseInLocation("2006-01-02", date, zone); err != nil {
		return "", cmdline.Usagef("-date %q: want YYYY-MM-DD, e.g. 2026-12-06", date)
	}
	return date, nil
}

func reconcileRun(ctx context.Context, cfg config.Server, date, channel, bill string, stdout io.Writer) error {
	day, zone, err := businessDay(cfg, date)
	if err != nil {
		return err
	}
	if channel != "" && channel != "alipay" && channel != "wechat" && channel != "card" {
		return cmdline.Usagef("-channel %q: want alipay, wechat or card", channel)
	}
	var raw []byte
	if bill != "" {
		if raw, err = os.ReadFile(bill); err != nil {
			return fmt.Errorf("bill: %w", err)
		}
	}
	srcs, err := billSources(ctx, cfg)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	r, err := dayend.New(dayend.Options{Store: st, Sources: srcs, Dir: cfg.BillsDir, Zone: zone, Owner: commandOwner()})
	if err != nil {
		return err
	}
	chans, err := runChannels(r, channel, raw)
	if err != nil {
		return err
	}
	var failed error
	for _, ch := range chans {
		res, err := r.Run(ctx, dayend.Request{Day: day, Channel: ch, Bill: raw, Force: true})
		if err != nil {
			failed = errors.Join(failed, err)
		}
		if res.Run.ID == "" {
			continue
		}
		if perr := printRun(ctx, st, res.Run, stdout); perr != nil {
			return perr
		}
	}
	return failed
}

// runChannels are the channels a run covers: the named one, the one an
// imported bill is of, or all those with bills.
func runChannels(r *dayend.Runner, channel string, raw []byte) ([]reconcile.Channel, error) {
	have := r.Channels()
	if channel != "" {
		for _, ch := range have {
			if string(ch) == channel {
				return []reconcile.Channel{ch}, nil
			}
		}
		return nil, fmt.Errorf("no reconciliation of %s bills yet in this build (have %v)", channel, have)
	}
	if raw != nil {
		ch, err := r.Recognise(raw)
		if err != nil {
			return nil, cmdline.Usagef("%v", err)
		}
		return []reconcile.Channel{ch}, nil
	}
	return have, nil
}

// commandOwner names a command run in the claims: who, where.
func commandOwner() string {
	host, _ := os.Hostname()
	return "command:" + operator() + "@" + host
}

// operator is who runs the command, for the audit.
func operator() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "operator"
}

// classText are the result classes as operators read them.
var classText = map[string]string{
	"matched":        "已勾对 matched",
	"channel_only":   "长款 at the channel only",
	"journal_only":   "短款 in the journal only",
	"amount_differs": "金额不符 amount differs",
	"state_differs":  "状态不符 state differs",
	"refund_differs": "退款不符 refund differs",
}

var statusText = map[string]string{
	store.RunDone: "完成 done", store.RunWaiting: "等待账单 waiting for the bill",
	store.RunFailed: "失败 failed", store.RunRunning: "进行中 running",
}

// printRun prints a run's summary and its day's open exceptions.
func printRun(ctx context.Context, st *store.Store, run store.ReconRun, w io.Writer) error {
	fmt.Fprintf(w, "核销 Reconciliation %s · %s: %s\n", run.Day, run.Channel, statusText[run.Status])
	if run.Error != "" {
		fmt.Fprintf(w, "  原因 reason: %s\n", run.Error)
	}
	if run.Status == store.RunWaiting {
		fmt.Fprintf(w, "  下次 next try: %s\n", run.RetryAt.Local().Format(time.DateTime))
	}
	if run.Status != store.RunDone {
		return nil
	}
	fmt.Fprintf(w, "  账单 bill (%s): %s\n  sha256 %s\n", run.Source, run.BillPath, run.BillSHA256)
	counts, err := st.ReconClassCounts(ctx, run.ID)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range []string{"matched", "channel_only", "journal_only", "amount_differs", "state_differs", "refund_differs"} {
		fmt.Fprintf(tw, "  %s\t%d\n", classText[c], counts[c])
	}
	tw.Flush()
	t := run.Totals
	fmt.Fprintf(w, "  收款 payments %d  金额 gross %s  退款 refunds %d / %s  手续费 fees %s  净额 net %s\n",
		t.Payments, money.Fen(t.Gross).Grouped(), t.Refunds, money.Fen(t.Refunded).Grouped(), money.Fen(t.Fees).Grouped(),
		money.Fen(t.Net).Grouped())
	fmt.Fprintf(w, "  自动处理 settled %d  差异 exceptions %d\n", run.Settled, run.Differences)
	exs, err := st.DayExceptions(ctx, run.Day, run.Channel)
	if err != nil {
		return err
	}
	var open []store.Exception
	for _, e := range exs {
		if e.State == store.ExceptionOpen {
			open = append(open, e)
		}
	}
	if len(open) == 0 {
		fmt.Fprintln(w, "  无未处理差异 no open exceptions")
		return nil
	}
	fmt.Fprintln(w, "  未处理差异 open exceptions:")
	return writeExceptions(w, open, "table")
}

func exceptionsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "exceptions [-all] [-format table|csv|json]",
		Short: "List the reconciliation differences left open (with -all, the resolved ones too)",
		Args:  cmdline.Args(cobra.NoArgs),
	}
	c := configFlags(cmd)
	all := cmd.Flags().Bool("all", false, "the resolved exceptions too, with who resolved them and why")
	format := cmd.Flags().String("format", "table", "table, csv or json")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := checkFormat(*format); err != nil {
			return err
		}
		return c.withStore(cmd.Context(), func(_ config.Server, st *store.Store) error {
			exs, err := st.Exceptions(cmd.Context(), *all)
			if err != nil {
				return err
			}
			return writeExceptions(cmd.OutOrStdout(), exs, *format)
		})
	}
	return cmd
}

func resolveCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "resolve ID -note TEXT",
		Short:   "Resolve a reconciliation exception, saying how it was settled (audited)",
		Example: `  posserver reconcile resolve exk2… -note "customer refunded in the merchant platform"`,
		Args:    cmdline.Args(cobra.ExactArgs(1)),
	}
	c := configFlags(cmd)
	note := cmd.Flags().String("note", "", "how the difference was settled (required)")
	by := cmd.Flags().String("by", "", "who resolves it, for the audit (default the user running the command)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if strings.TrimSpace(*note) == "" {
			return cmdline.Usagef("reconcile resolve: -note is required: say how the difference was settled")
		}
		who := *by
		if who == "" {
			who = operator()
		}
		return c.withStore(cmd.Context(), func(_ config.Server, st *store.Store) error {
			e, err := st.ResolveException(cmd.Context(), args[0], who, strings.TrimSpace(*note), time.Now())
			switch {
			case errors.Is(err, store.ErrNotFound):
				return fmt.Errorf("no exception %s (posserver reconcile exceptions lists them)", args[0])
			case errors.Is(err, store.ErrResolved):
				return fmt.Errorf("exception %s was resolved already by %s: %s", args[0], e.ResolvedBy, e.Resolution)
			case err != nil:
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "已处理 resolved %s (%s %s %s) by %s: %s\n", e.ID, e.Day, e.Channel, classText[e.Class], who, e.Resolution)
			return nil
		})
	}
	return cmd
}

// startReconcile exposes reconciliation's gauges and, unless reconcile_at
// is off, runs the daily reconciliation of the wallets served here until
// ctx ends; stop waits for a run under way. Every instance runs it; the
// database lets one of them do each day and channel.
func startReconcile(ctx context.Context, cfg config.Server, ws *walletSet, st *store.Store, owner string,
	met *metrics.Metrics, log *slog.Logger) (stop func(), err error) {
	stop = func() {}
	zone, err := cfg.Zone()
	if err != nil {
		return stop, err
	}
	met.Registry().MustRegister(&dayend.Collector{Store: st, Channels: []string{"alipay", "wechat", "card"}, Zone: zone})
	at, on, err := dayend.ParseAt(cfg.ReconcileAt)
	if err != nil {
		return stop, err
	}
	srcs := walletBills(ws)
	if c := cardBills(cfg); c.Source != "" {
		srcs = append(srcs, c)
	}
	if !on || len(srcs) == 0 {
		log.Info("daily reconciliation off", "reconcile_at", cfg.ReconcileAt, "channels", len(srcs))
		return stop, nil
	}
	r, err := dayend.New(dayend.Options{Store: st, Sources: srcs, Dir: cfg.BillsDir, Zone: zone, Owner: owner, Logger: log})
	if err != nil {
		return stop, err
	}
	dctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Daily(dctx, at)
	}()
	log.Info("daily reconciliation", "at", cfg.ReconcileAt, "zone", zone.String(), "channels", r.Channels(), "bills_dir", cfg.BillsDir)
	return func() { cancel(); <-done }, nil
}

// walletBills are the bills of the wallets the server charges through: the
// configured connectors', or in demo mode the sandboxes'.
func walletBills(ws *walletSet) []dayend.BillSource {
	var srcs []dayend.BillSource
	if c, ok := ws.conns[api.Alipay].(*alipayconn.Connector); ok {
		srcs = append(srcs, dayend.AlipayBills{Conn: c})
	} else if ws.sandbox != nil && ws.sandbox.AlipayConn != nil {
		srcs = append(srcs, dayend.AlipayBills{Conn: ws.sandbox.AlipayConn})
	}
	if c, ok := ws.conns[api.WeChat].(*wechatconn.Connector); ok {
		srcs = append(srcs, dayend.WeChatBills{Conn: c})
	} else if ws.sandbox != nil && ws.sandbox.WeChatConn != nil {
		srcs = append(srcs, dayend.WeChatBills{Conn: ws.sandbox.WeChatConn})
	}
	return srcs
}
