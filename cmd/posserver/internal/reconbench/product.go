package reconbench

import (
	"context"
	"fmt"
	"strconv"

	"github.com/multipos/multipos/server/reconcile"
)

// STAND-IN until the store's reconciliation calls (branch i13-recon-run:
// the journal of a day, the results of a run) are merged: the same work
// through the same drivers, in a table shaped like its reconcile_lines.
// Replace both functions with the store's calls then.

const linesTable = "reconbench_lines"

// prepareProduct creates what the stand-in writes into.
func (db *database) prepareProduct(ctx context.Context) error {
	return db.exec(ctx, `CREATE TABLE `+linesTable+` (
    run_id TEXT NOT NULL, seq INTEGER NOT NULL, class TEXT NOT NULL, kind TEXT NOT NULL,
    bill_row INTEGER NOT NULL DEFAULT 0, out_trade_no TEXT NOT NULL DEFAULT '', out_refund_no TEXT NOT NULL DEFAULT '',
    trade_no TEXT NOT NULL DEFAULT '', channel_amount BIGINT NOT NULL DEFAULT 0, journal_amount BIGINT NOT NULL DEFAULT 0,
    settle BIGINT NOT NULL DEFAULT 0, fee_milli BIGINT NOT NULL DEFAULT 0, tx_id TEXT NOT NULL DEFAULT '',
    tx_day TEXT NOT NULL DEFAULT '', cross_day INTEGER NOT NULL DEFAULT 0, merchant_id TEXT NOT NULL DEFAULT '',
    store_id TEXT NOT NULL DEFAULT '', terminal_id TEXT NOT NULL DEFAULT '', outcome TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '', PRIMARY KEY (run_id, seq))`)
}

var journalStates = map[string]reconcile.OrderState{
	"SUCCESS": reconcile.OrderPaid, "FAILED": reconcile.OrderFailed, "CLOSED": reconcile.OrderClosed,
}

// journalFor reads the channel's wallet orders of the day and its
// neighbours.
func (db *database) journalFor(ctx context.Context, d Day) (reconcile.Journal, []string, error) {
	q := `SELECT id, out_trade_no, trade_no, amount, state, day FROM transactions
		WHERE channel = ? AND kind IN ('wallet_qr', 'wallet_barcode') AND day >= ? AND day <= ?`
	if db.engine == "postgres" {
		q = `SELECT id, out_trade_no, trade_no, amount, state, day FROM transactions
		WHERE channel = $1 AND kind IN ('wallet_qr', 'wallet_barcode') AND day >= $2 AND day <= $3`
	}
	rows, err := db.db.QueryContext(ctx, q, Channel, d.Date.AddDate(0, 0, -1).Format("2006-01-02"),
		d.Date.AddDate(0, 0, 1).Format("2006-01-02"))
	if err != nil {
		return reconcile.Journal{}, nil, fmt.Errorf("reconbench: journal: %w", err)
	}
	defer rows.Close()
	j := reconcile.Journal{Orders: make([]reconcile.Order, 0, d.N)}
	ids := make([]string, 0, d.N)
	for rows.Next() {
		var id, state string
		o := reconcile.Order{Channel: reconcile.Alipay}
		if err := rows.Scan(&id, &o.OutTradeNo, &o.TradeNo, &o.Amount, &state, &o.Day); err != nil {
			return reconcile.Journal{}, nil, fmt.Errorf("reconbench: journal: %w", err)
		}
		o.State = journalStates[state] // the rest are in flight: OrderPending
		j.Orders = append(j.Orders, o)
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return reconcile.Journal{}, nil, fmt.Errorf("reconbench: journal: %w", err)
	}
	return j, ids, nil
}

// storeRun replaces the run's lines with the report's results.
func (db *database) storeRun(ctx context.Context, run string, lines []reconcile.Line, ids []string, rep reconcile.Report) error {
	del := "DELETE FROM " + linesTable + " WHERE run_id = ?"
	if db.engine == "postgres" {
		del = "DELETE FROM " + linesTable + " WHERE run_id = $1"
	}
	if _, err := db.db.ExecContext(ctx, del, run); err != nil {
		return fmt.Errorf("reconbench: results: %w", err)
	}
	cols := []string{"run_id", "seq", "class", "kind", "bill_row", "out_trade_no", "trade_no", "channel_amount",
		"journal_amount", "settle", "fee_milli", "tx_id", "note"}
	return insertBulk(ctx, db.db, db.engine == "postgres", linesTable, cols, len(rep.Results), func(i int, v []any) {
		r := &rep.Results[i]
		var row, settle, fee int64
		var trade, tx string
		if r.Line >= 0 {
			l := &lines[r.Line]
			row, settle, fee, trade = int64(l.Row), l.Settle, l.FeeMilli, l.TradeNo
		}
		if r.Order >= 0 {
			tx = ids[r.Order]
		}
		v[0], v[1], v[2], v[3], v[4], v[5], v[6] = run, i+1, r.Class.String(), r.Kind.String(), row, r.OutTradeNo, trade
		v[7], v[8], v[9], v[10], v[11], v[12] = r.ChannelAmount, r.JournalAmount, settle, fee, tx, r.Note
	})
}

// runID names a run of the benchmark.
func runID(d Day) string { return "rb-" + d.Name() + "-" + strconv.Itoa(d.N) }
