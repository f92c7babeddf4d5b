package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/multipos/multipos/cmd/internal/cmdline"
	"github.com/multipos/multipos/config"
	"github.com/multipos/multipos/money"
	"github.com/multipos/multipos/server/store"
)

func checkFormat(f string) error {
	switch f {
	case "table", "csv", "json":
		return nil
	}
	return cmdline.Usagef("-format %q: want table, csv or json", f)
}

// exceptionRow is an exception as the listings show it; amounts in yuan.
type exceptionRow struct {
	ID            string `json:"id"`
	Day           string `json:"day"`
	Channel       string `json:"channel"`
	Class         string `json:"class"`
	Kind          string `json:"kind"`
	OutTradeNo    string `json:"out_trade_no"`
	OutRefundNo   string `json:"out_refund_no,omitempty"`
	ChannelAmount string `json:"channel_amount"`
	JournalAmount string `json:"journal_amount"`
	State         string `json:"state"`
	Note          string `json:"note"`
	ResolvedBy    string `json:"resolved_by,omitempty"`
	Resolution    string `json:"resolution,omitempty"`
}

func writeExceptions(w io.Writer, exs []store.Exception, format string) error {
	rows := make([]exceptionRow, len(exs))
	for i, e := range exs {
		rows[i] = exceptionRow{ID: e.ID, Day: e.Day, Channel: e.Channel, Class: e.Class, Kind: e.Kind, OutTradeNo: e.OutTradeNo,
			OutRefundNo: e.OutRefundNo, ChannelAmount: money.Fen(e.ChannelAmount).String(),
			JournalAmount: money.Fen(e.JournalAmount).String(), State: e.State, Note: e.Note, ResolvedBy: e.ResolvedBy, Resolution: e.Resolution}
	}
	head := []string{"ID", "DAY", "CHANNEL", "CLASS", "KIND", "OUT_TRADE_NO", "OUT_REFUND_NO", "CHANNEL_AMOUNT", "JOURNAL_AMOUNT",
		"STATE", "NOTE", "RESOLVED_BY", "RESOLUTION"}
	cells := func(r exceptionRow) []string {
		return []string{r.ID, r.Day, r.Channel, r.Class, r.Kind, r.OutTradeNo, r.OutRefundNo, r.ChannelAmount, r.JournalAmount,
			r.State, r.Note, r.ResolvedBy, r.Resolution}
	}
	if format == "table" && len(rows) == 0 {
		_, err := fmt.Fprintln(w, "无 none")
		return err
	}
	return writeRows(w, format, rows, head, func(i int) []string { return cells(rows[i]) }, len(rows))
}

// writeRows writes rows as a table, CSV (with a header) or JSON (v).
func writeRows(w io.Writer, format string, v any, head []string, cells func(int) []string, n int) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "csv":
		cw := csv.NewWriter(w)
		if err := cw.Write(head); err != nil {
			return err
		}
		for i := range n {
			if err := cw.Write(cells(i)); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, joinTab(head))
	for i := range n {
		fmt.Fprintln(tw, joinTab(cells(i)))
	}
	return tw.Flush()
}

func joinTab(s []string) string { return strings.Join(s, "\t") }

func reportCmd() *cobra.Command {
	return cmdline.Group(&cobra.Command{
		Use:   "report",
		Short: "Reports from the reconciled bills",
	}, reportDailyCmd())
}

func reportDailyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "daily [-date D] [-format table|csv|json]",
		Short: "A business day's takings per merchant, store, terminal and channel, as the channels' bills say",
		Long: `report daily sums the bill lines of a reconciled business day (posserver
reconcile, or the daily run) per merchant, store, terminal and channel:
payments and refunds counted, gross, refunded, fees and net (what the channel
settles). Lines the journal does not know are shown under the store and
terminal the bill names, with no merchant. Amounts in yuan.`,
		Args: cmdline.Args(cobra.NoArgs),
	}
	c := configFlags(cmd)
	date := cmd.Flags().String("date", "", "the business day, YYYY-MM-DD (default yesterday in business_zone)")
	format := cmd.Flags().String("format", "table", "table, csv or json")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := checkFormat(*format); err != nil {
			return err
		}
		cfg, err := c.load()
		if err != nil {
			return err
		}
		return reportDaily(cmd.Context(), cfg, *date, *format, cmd.OutOrStdout())
	}
	return cmd
}

// dailyRow is a line of the daily report; amounts in yuan.
type dailyRow struct {
	Merchant string `json:"merchant_id"`
	Store    string `json:"store_id"`
	Terminal string `json:"terminal_id"`
	Channel  string `json:"channel"`
	Payments int    `json:"payments"`
	Refunds  int    `json:"refunds"`
	Gross    string `json:"gross"`
	Refunded string `json:"refunded"`
	Fees     string `json:"fees"`
	Net      string `json:"net"`
}

func reportDaily(ctx context.Context, cfg config.Server, date, format string, w io.Writer) error {
	day, _, err := businessDay(cfg, date)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	rep, err := st.DailyReport(ctx, day)
	if err != nil {
		return err
	}
	rows := make([]dailyRow, len(rep))
	for i, t := range rep {
		fees := roundMilli(t.FeeMilli)
		rows[i] = dailyRow{Merchant: t.MerchantID, Store: t.StoreID, Terminal: t.TerminalID, Channel: t.Channel,
			Payments: t.Payments, Refunds: t.Refunds, Gross: money.Fen(t.Gross).String(), Refunded: money.Fen(t.Refunded).String(),
			Fees: money.Fen(fees).String(), Net: money.Fen(t.Settle - t.Refunded - fees).String()}
	}
	if format == "table" {
		fmt.Fprintf(w, "日报 Daily report %s（对账单 as the channels' bills say）\n", day)
		if len(rows) == 0 {
			_, err := fmt.Fprintln(w, "无对账结果 nothing reconciled for that day (posserver reconcile -date "+day+")")
			return err
		}
	}
	head := []string{"MERCHANT", "STORE", "TERMINAL", "CHANNEL", "PAYMENTS", "REFUNDS", "GROSS", "REFUNDED", "FEES", "NET"}
	return writeRows(w, format, rows, head, func(i int) []string {
		r := rows[i]
		return []string{r.Merchant, r.Store, r.Terminal, r.Channel, strconv.Itoa(r.Payments), strconv.Itoa(r.Refunds),
			r.Gross, r.Refunded, r.Fees, r.Net}
	}, len(rows))
}

// roundMilli rounds 0.001 fen to fen, half away from zero, as the
// channels' totals are.
func roundMilli(v int64) int64 {
	if v < 0 {
		return -((-v + 500) / 1000)
	}
	return (v + 500) / 1000
}
