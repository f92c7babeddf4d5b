package reconbench

import (
	"context"
	"fmt"

	"github.com/multipos/multipos/server/reconcile"
)

const (
	merchantID = "898310048160001"
	storeID    = "S01"
)

// loadJournal writes the day's orders into the store's own tables (sales
// and transactions, as the hot path leaves them once paid or closed) in
// bulk, then has the engine gather statistics as it would have by then.
func (db *database) loadJournal(ctx context.Context, d Day) error {
	created := func(o order) int64 { return o.at.UnixMicro() }
	err := db.bulk(ctx, "sales", []string{"id", "terminal_id", "merchant_id", "store_id", "amount", "state", "paid_by",
		"created_at", "updated_at"}, d.N, func(i int, v []any) {
		o := d.order(i)
		state, paidBy := "PAID", any(o.id)
		if o.state != "SUCCESS" {
			state, paidBy = "OPEN", nil
		}
		v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8] = o.saleID, o.terminal, merchantID, storeID, o.amount,
			state, paidBy, created(o), created(o)+2_000_000
	})
	if err != nil {
		return err
	}
	day := d.Name()
	err = db.bulk(ctx, "transactions", []string{"id", "sale_id", "terminal_id", "merchant_id", "store_id", "trace",
		"channel", "kind", "amount", "state", "version", "out_trade_no", "trade_no", "day", "created_at", "updated_at"},
		d.N, func(i int, v []any) {
			o := d.order(i)
			v[0], v[1], v[2], v[3], v[4], v[5] = o.id, o.saleID, o.terminal, merchantID, storeID, o.trace
			v[6], v[7], v[8], v[9], v[10] = Channel, "wallet_qr", o.amount, o.state, 3
			v[11], v[12], v[13], v[14], v[15] = o.outTradeNo, o.tradeNo, day, created(o), created(o)+2_000_000
		})
	if err != nil {
		return err
	}
	return db.exec(ctx, "ANALYZE")
}

// Anchor tables: the bill's lines as a table, and what the join makes.
const (
	billTable = "reconbench_bill"
	joinTable = "reconbench_join"
)

// loadBillTable writes the parsed bill lines into a table of their own for
// the anchor join.
func (db *database) loadBillTable(ctx context.Context, lines []reconcile.Line) error {
	if err := db.exec(ctx, "CREATE TABLE "+billTable+
		" (line INTEGER PRIMARY KEY, out_trade_no TEXT NOT NULL, trade_no TEXT NOT NULL, amount BIGINT NOT NULL, fee_milli BIGINT NOT NULL)"); err != nil {
		return err
	}
	err := db.bulk(ctx, billTable, []string{"line", "out_trade_no", "trade_no", "amount", "fee_milli"}, len(lines),
		func(i int, v []any) {
			l := &lines[i]
			v[0], v[1], v[2], v[3], v[4] = l.Row, l.OutTradeNo, l.TradeNo, l.Amount, l.FeeMilli
		})
	if err != nil {
		return err
	}
	return db.exec(ctx, "ANALYZE "+billTable)
}

// joinSQL is the anchor: every bill line joined with its journal order on
// (channel, out_trade_no), the journal's unique key, classified and stored
// in a new table, all inside the database.
const joinSQL = `CREATE TABLE ` + joinTable + ` AS
SELECT b.line, b.out_trade_no, t.id AS tx_id, b.amount AS channel_amount, COALESCE(t.amount, 0) AS journal_amount,
	CASE WHEN t.id IS NULL THEN 'channel_only'
	     WHEN t.state <> 'SUCCESS' THEN 'state_differs'
	     WHEN t.amount <> b.amount THEN 'amount_differs'
	     ELSE 'matched' END AS class
FROM ` + billTable + ` b LEFT JOIN transactions t ON t.channel = '` + Channel + `' AND t.out_trade_no = b.out_trade_no`

// checkJoin compares what the join found with what the day holds.
func (db *database) checkJoin(ctx context.Context, d Day) error {
	want := d.Expected()
	for _, class := range []string{"matched", "amount_differs", "channel_only", "state_differs"} {
		n, err := db.count(ctx, "SELECT COUNT(*) FROM "+joinTable+" WHERE class = '"+class+"'")
		if err != nil {
			return err
		}
		if int(n) != want[class] {
			return fmt.Errorf("reconbench: the join found %d %s, want %d", n, class, want[class])
		}
	}
	return nil
}
