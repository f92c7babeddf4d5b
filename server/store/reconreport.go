package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
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
// merchant, store, terminal and channel, in that order, from the totals
// each run kept per terminal.
func (s *Store) DailyReport(ctx context.Context, day string) ([]DayTotals, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT t.merchant_id, t.store_id, t.terminal_id, r.channel,
		SUM(t.payments), SUM(t.refunds), SUM(t.gross), SUM(t.refunded), SUM(t.fee_milli), SUM(t.settle)
		FROM reconcile_terminals t JOIN reconcile_runs r ON r.id = t.run_id
		WHERE r.day = ?
		GROUP BY t.merchant_id, t.store_id, t.terminal_id, r.channel
		ORDER BY t.merchant_id, t.store_id, t.terminal_id, r.channel`), day)
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

// ReconClassCounts counts a run's lines by class, without reading them.
func (s *Store) ReconClassCounts(ctx context.Context, runID string) (map[string]int, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT class, COUNT(*) FROM reconcile_lines WHERE run_id = ? GROUP BY class
		UNION ALL SELECT 'matched', COALESCE(SUM(lines), 0) FROM reconcile_matched WHERE run_id = ?`), runID, runID)
	if err != nil {
		return nil, fmt.Errorf("store: counts of %s: %w", runID, err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var class string
		var n int
		if err := rows.Scan(&class, &n); err != nil {
			return nil, fmt.Errorf("store: counts of %s: %w", runID, err)
		}
		out[class] += n
	}
	return out, rows.Err()
}

// ReconLines returns a run's lines in order: those stored a row each, and
// the matched lines packed, with their orders' keys and IDs read back
// from transactions.
func (s *Store) ReconLines(ctx context.Context, runID string) ([]ReconLine, error) {
	out, err := s.reconRows(ctx, runID)
	if err != nil {
		return nil, fmt.Errorf("store: lines of %s: %w", runID, err)
	}
	packed, err := s.matchedLines(ctx, runID)
	if err != nil {
		return nil, fmt.Errorf("store: lines of %s: %w", runID, err)
	}
	if len(packed) == 0 {
		return out, nil
	}
	out = append(out, packed...)
	slices.SortFunc(out, func(a, b ReconLine) int { return cmp.Compare(a.Seq, b.Seq) })
	return out, nil
}

func (s *Store) reconRows(ctx context.Context, runID string) ([]ReconLine, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT seq, class, kind, bill_row, out_trade_no, out_refund_no, trade_no,
		channel_amount, journal_amount, settle, fee_milli, tx_id, tx_day, cross_day, merchant_id, store_id, terminal_id, outcome, note
		FROM reconcile_lines WHERE run_id = ? ORDER BY seq`), runID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ReconLine
	for rows.Next() {
		var l ReconLine
		var cross int
		if err := rows.Scan(&l.Seq, &l.Class, &l.Kind, &l.BillRow, &l.OutTradeNo, &l.OutRefundNo, &l.TradeNo, &l.ChannelAmount,
			&l.JournalAmount, &l.Settle, &l.FeeMilli, &l.TxID, &l.TxDay, &cross, &l.MerchantID, &l.StoreID, &l.TerminalID,
			&l.Outcome, &l.Note); err != nil {
			return nil, err
		}
		l.CrossDay = cross == 1
		out = append(out, l)
	}
	return out, rows.Err()
}

// matchedLines reads a run's packed lines back as ReconLines.
func (s *Store) matchedLines(ctx context.Context, runID string) ([]ReconLine, error) {
	var out []ReconLine
	err := s.readMatched(ctx, `SELECT lines, data FROM reconcile_matched WHERE run_id = ? ORDER BY chunk`, []any{runID},
		func(p *packedLine) {
			out = append(out, ReconLine{Seq: p.Seq, Class: "matched", Kind: "payment", BillRow: p.BillRow, ChannelAmount: p.Amount,
				JournalAmount: p.Amount, Settle: p.Settle, FeeMilli: p.FeeMilli, TxID: p.TxID})
		})
	if err != nil || len(out) == 0 {
		return out, err
	}
	run, err := scanRun(s.r.QueryRowContext(ctx, s.q(`SELECT `+runColumns+` FROM reconcile_runs WHERE id = ?`), runID))
	if err != nil {
		return nil, err
	}
	// A packed line's order is of the run's own day and channel.
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT id, COALESCE(out_trade_no, ''), trade_no, merchant_id, store_id, terminal_id
		FROM transactions WHERE channel = ? AND day = ?`), run.Channel, run.Day)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	at := make(map[string]int, len(out))
	for i := range out {
		at[out[i].TxID] = i
	}
	for rows.Next() {
		var id, otn, tn, m, st, t string
		if err := rows.Scan(&id, &otn, &tn, &m, &st, &t); err != nil {
			return nil, err
		}
		if i, ok := at[id]; ok {
			l := &out[i]
			l.OutTradeNo, l.TradeNo, l.MerchantID, l.StoreID, l.TerminalID, l.TxDay = otn, tn, m, st, t, run.Day
		}
	}
	return out, rows.Err()
}
