package store

import (
	"context"
	"fmt"
)

// DayTotals is one row of the daily report: what the channels' bills of a
// business day say for one terminal on one channel. Lines matched with the
// journal are counted where the journal took them; others where the bill
// says (MerchantID then empty).
type DayTotals struct {
	MerchantID, StoreID, TerminalID, Channel string
	Payments, Refunds                        int
	Gross, Refunded                          int64 // fen
	FeeMilli                                 int64 // 0.001 fen
	Settle                                   int64 // fen the channel takes in for the payments
}

// DailyReport sums the bill lines of a day's reconciliation runs by
// merchant, store, terminal and channel, in that order.
func (s *Store) DailyReport(ctx context.Context, day string) ([]DayTotals, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT l.merchant_id, l.store_id, l.terminal_id, r.channel,
		SUM(CASE WHEN l.kind = 'payment' THEN 1 ELSE 0 END), SUM(CASE WHEN l.kind = 'refund' THEN 1 ELSE 0 END),
		SUM(CASE WHEN l.kind = 'payment' THEN l.channel_amount ELSE 0 END),
		SUM(CASE WHEN l.kind = 'refund' THEN l.channel_amount ELSE 0 END),
		SUM(l.fee_milli), SUM(l.settle)
		FROM reconcile_lines l JOIN reconcile_runs r ON r.id = l.run_id
		WHERE r.day = ? AND l.bill_row > 0
		GROUP BY l.merchant_id, l.store_id, l.terminal_id, r.channel
		ORDER BY l.merchant_id, l.store_id, l.terminal_id, r.channel`), day)
	if err != nil {
		return nil, fmt.Errorf("store: daily report %s: %w", day, err)
	}
	defer rows.Close()
	var out []DayTotals
	for rows.Next() {
		var t DayTotals
		if err := rows.Scan(&t.MerchantID, &t.StoreID, &t.TerminalID, &t.Channel, &t.Payments, &t.Refunds,
			&t.Gross, &t.Refunded, &t.FeeMilli, &t.Settle); err != nil {
			return nil, fmt.Errorf("store: daily report %s: %w", day, err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// ReconLines returns a run's lines in order.
func (s *Store) ReconLines(ctx context.Context, runID string) ([]ReconLine, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT class, kind, bill_row, out_trade_no, out_refund_no, trade_no,
		channel_amount, journal_amount, settle, fee_milli, tx_id, tx_day, cross_day, merchant_id, store_id, terminal_id, outcome, note
		FROM reconcile_lines WHERE run_id = ? ORDER BY seq`), runID)
	if err != nil {
		return nil, fmt.Errorf("store: lines of %s: %w", runID, err)
	}
	defer rows.Close()
	var out []ReconLine
	for rows.Next() {
		var l ReconLine
		var cross int
		if err := rows.Scan(&l.Class, &l.Kind, &l.BillRow, &l.OutTradeNo, &l.OutRefundNo, &l.TradeNo, &l.ChannelAmount, &l.JournalAmount,
			&l.Settle, &l.FeeMilli, &l.TxID, &l.TxDay, &cross, &l.MerchantID, &l.StoreID, &l.TerminalID, &l.Outcome, &l.Note); err != nil {
			return nil, fmt.Errorf("store: lines of %s: %w", runID, err)
		}
		l.CrossDay = cross == 1
		out = append(out, l)
	}
	return out, rows.Err()
}
