package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/server/reconcile"
)

// JournalRef is what the runner needs of a journal order beyond what
// matching uses: where it was taken, and its state and version for a
// compare-and-set.
type JournalRef struct {
	ID                          string
	State                       api.State
	Version                     int
	MerchantID, StoreID, TermID string
}

// ReconJournal loads a channel's wallet orders of the business day and its
// two neighbours (prev and next) as reconcile.Journal, with refs[i]
// describing Orders[i]. An order a line of another day's run matched
// across days is left out (reconcile's doc: never twice); one a
// neighbour's own bill matched is loaded, and found after matching
// (OwnDayMatched).
// Orders whose money went back on close (CLOSED, reason refunded,
// amount_mismatch or double_payment) are OrderReversed: the bill shows
// their refund (or reversal) for the whole amount.
func (s *Store) ReconJournal(ctx context.Context, channel, day, prev, next string) (reconcile.Journal, []JournalRef, error) {
	j, refs, err := s.reconJournal(ctx, channel, day, prev, next)
	if err != nil {
		return reconcile.Journal{}, nil, fmt.Errorf("store: journal of %s %s: %w", channel, day, err)
	}
	return j, refs, nil
}

func (s *Store) reconJournal(ctx context.Context, channel, day, prev, next string) (reconcile.Journal, []JournalRef, error) {
	taken, err := s.crossMatched(ctx, channel, day, prev, next)
	if err != nil {
		return reconcile.Journal{}, nil, err
	}
	// Sized once: growing a million-entry slice copies it twenty times.
	// The count walks transactions_by_day alone; it bounds the rows.
	var n int
	if err := s.r.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM transactions WHERE channel = ? AND day IN (?, ?, ?)`),
		channel, prev, day, next).Scan(&n); err != nil {
		return reconcile.Journal{}, nil, err
	}
	b := &journalBuilder{channel: reconcile.Channel(channel), taken: taken, intern: map[string]string{},
		orders: make([]reconcile.Order, 0, n), refs: make([]JournalRef, 0, n)}
	if s.dialect == Postgres {
		err = s.journalRaw(ctx, b, channel, prev, day, next)
	} else {
		err = s.journalRows(ctx, b, channel, prev, day, next)
	}
	if err != nil {
		return reconcile.Journal{}, nil, err
	}
	return reconcile.Journal{Orders: b.orders}, b.refs, nil
}

const journalQuery = `SELECT t.id, COALESCE(t.out_trade_no, ''), t.trade_no, t.amount, t.state, t.reason, t.day,
	t.version, t.merchant_id, t.store_id, t.terminal_id FROM transactions t
	WHERE t.channel = ? AND t.day IN (?, ?, ?) AND t.kind IN ('wallet_qr', 'wallet_barcode')`

// journalBuilder gathers the orders ReconJournal loads.
type journalBuilder struct {
	channel reconcile.Channel
	taken   map[string]bool
	// intern holds one copy of each state, reason, day, merchant, store and
	// terminal: a day has few of each, and a million copies are a million
	// strings for the garbage collector to walk.
	intern map[string]string
	orders []reconcile.Order
	refs   []JournalRef
	// Rows whose ID, out_trade_no and trade_no wait in text, to be made
	// substrings of one string per textRows rows: a million rows' three
	// strings each are three million objects for the garbage collector to
	// mark, over and over while a run grows the heap.
	ids     []byte
	pending []pendingRow
}

// textRows is how many rows' ids share a string.
const textRows = 4096

// pendingRow is a row added with its ids in journalBuilder.ids: the ends
// of its ID, out_trade_no and trade_no there.
type pendingRow struct {
	at             int
	id, out, trade int
}

func (b *journalBuilder) add(o reconcile.Order, ref JournalRef, why string) {
	if !b.taken[ref.ID] {
		b.push(o, ref, why)
	}
}

// push adds an order not taken by another day's run.
func (b *journalBuilder) push(o reconcile.Order, ref JournalRef, why string) {
	o.Channel = b.channel
	o.State = orderState(ref.State, why)
	b.orders = append(b.orders, o)
	b.refs = append(b.refs, ref)
}

// addRaw adds an order whose ID, out_trade_no and trade_no are bytes
// valid only during the call.
func (b *journalBuilder) addRaw(o reconcile.Order, ref JournalRef, why string, id, out, trade []byte) {
	if b.taken[string(id)] {
		return
	}
	b.ids = append(append(append(b.ids, id...), out...), trade...)
	n := len(b.ids)
	b.pending = append(b.pending, pendingRow{at: len(b.orders), trade: n, out: n - len(trade), id: n - len(trade) - len(out)})
	b.push(o, ref, why)
	if len(b.pending) == textRows {
		b.flush()
	}
}

// flush makes the pending rows' ids.
func (b *journalBuilder) flush() {
	s, start := string(b.ids), 0
	for _, p := range b.pending {
		b.refs[p.at].ID, b.orders[p.at].OutTradeNo, b.orders[p.at].TradeNo = s[start:p.id], s[p.id:p.out], s[p.out:p.trade]
		start = p.trade
	}
	b.ids, b.pending = b.ids[:0], b.pending[:0]
}

// text is v as a string, one copy of each value.
func (b *journalBuilder) text(v []byte) string {
	if s, ok := b.intern[string(v)]; ok {
		return s
	}
	s := string(v)
	b.intern[s] = s
	return s
}

// journalRows reads the orders on SQLite, whose driver's cost is per
// column: the six a day repeats (state, reason, day, merchant, store,
// terminal) come as one, joined by a unit separator, read apart once per
// distinct value (they hold none: states, reasons and days are the
// journal's own words, IDs are checked when set up, and a row where the
// parts do not come out six is refused).
func (s *Store) journalRows(ctx context.Context, b *journalBuilder, channel, prev, day, next string) error {
	rows, err := s.r.QueryContext(ctx, `SELECT t.id, COALESCE(t.out_trade_no, ''), t.trade_no, t.amount, t.version,
		t.state || char(31) || t.reason || char(31) || t.day || char(31) || t.merchant_id || char(31) || t.store_id || char(31) ||
		t.terminal_id FROM transactions t
		WHERE t.channel = ? AND t.day IN (?, ?, ?) AND t.kind IN ('wallet_qr', 'wallet_barcode')`, channel, prev, day, next)
	if err != nil {
		return err
	}
	defer rows.Close()
	seen := map[string]*[6]string{}
	for rows.Next() {
		var (
			o      reconcile.Order
			ref    JournalRef
			joined string
		)
		if err := rows.Scan(&ref.ID, &o.OutTradeNo, &o.TradeNo, &o.Amount, &ref.Version, &joined); err != nil {
			return err
		}
		parts := seen[joined]
		if parts == nil {
			split := strings.Split(joined, "\x1f")
			if len(split) != 6 {
				return fmt.Errorf("journal: transaction %s: a state, reason, day or ID holds a unit separator", ref.ID)
			}
			parts = (*[6]string)(split)
			seen[joined] = parts
		}
		o.Day, ref.State, ref.MerchantID, ref.StoreID, ref.TermID = parts[2], api.State(parts[0]), parts[3], parts[4], parts[5]
		b.add(o, ref, parts[1])
	}
	return rows.Err()
}

// journalRaw reads the orders as PostgreSQL sends them (QueryRaw): through
// database/sql each of a million rows' eleven columns was a value made,
// boxed and copied, most of a load's time in posserver.
func (s *Store) journalRaw(ctx context.Context, b *journalBuilder, channel, prev, day, next string) error {
	conn, err := s.r.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	err = s.pg.QueryRaw(ctx, conn, s.q(journalQuery), []any{channel, prev, day, next}, func(c [][]byte) error {
		if len(c) != 11 {
			return fmt.Errorf("journal: %d columns, want 11", len(c))
		}
		amount, err1 := strconv.ParseInt(string(c[3]), 10, 64)
		version, err2 := strconv.Atoi(string(c[7]))
		if err1 != nil || err2 != nil {
			return fmt.Errorf("journal: amount %q, version %q: want integers", c[3], c[7])
		}
		o := reconcile.Order{Amount: amount, Day: b.text(c[6])}
		ref := JournalRef{State: api.State(b.text(c[4])), Version: version,
			MerchantID: b.text(c[8]), StoreID: b.text(c[9]), TermID: b.text(c[10])}
		b.addRaw(o, ref, b.text(c[5]), c[0], c[1], c[2])
		return nil
	})
	if err != nil {
		return err
	}
	b.flush()
	return nil
}

// crossMatched returns the entries of day, prev and next that a line of
// another day's run matched across days (cross_day): not offered to day's
// run. (Neighbours matched on their own day's bill are found after
// matching: OwnDayMatched.)
func (s *Store) crossMatched(ctx context.Context, channel, day, prev, next string) (map[string]bool, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT l.tx_id FROM reconcile_lines l JOIN reconcile_runs r ON r.id = l.run_id
		WHERE l.cross_day = 1 AND l.tx_day IN (?, ?, ?) AND l.class = 'matched' AND r.day <> ? AND r.channel = ?`),
		day, prev, next, day, channel)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

// OwnDayMatched returns which of ids (entries of txDay) a line of txDay's
// own run of the channel matched: a neighbouring day's bill line that
// matched one of them too is a second line of a payment already billed.
// Called only for the few entries a bill matched across days.
func (s *Store) OwnDayMatched(ctx context.Context, channel, txDay string, ids []string) (map[string]bool, error) {
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	out := map[string]bool{}
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT l.tx_id FROM reconcile_lines l JOIN reconcile_runs r ON r.id = l.run_id
		WHERE r.day = ? AND r.channel = ? AND l.class = 'matched' AND l.cross_day = 0 AND l.tx_id <> ''`), txDay, channel)
	if err != nil {
		return nil, fmt.Errorf("store: lines of %s %s: %w", txDay, channel, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: lines of %s %s: %w", txDay, channel, err)
		}
		if want[id] {
			out[id] = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: lines of %s %s: %w", txDay, channel, err)
	}
	// And the packed ones: all matched on their own day.
	err = s.readMatched(ctx, `SELECT m.lines, m.data FROM reconcile_matched m JOIN reconcile_runs r ON r.id = m.run_id
		WHERE r.day = ? AND r.channel = ?`, []any{txDay, channel}, func(p *packedLine) {
		if want[p.TxID] {
			out[p.TxID] = true
		}
	})
	if err != nil {
		return nil, fmt.Errorf("store: matched lines of %s %s: %w", txDay, channel, err)
	}
	return out, nil
}

// orderState is a journal state as matching sees it.
func orderState(st api.State, reason string) reconcile.OrderState {
	switch st {
	case api.StateSuccess:
		return reconcile.OrderPaid
	case api.StateFailed:
		return reconcile.OrderFailed
	case api.StateClosed:
		switch reason {
		case api.ReasonRefunded, api.ReasonAmountMismatch, api.ReasonDoublePayment:
			return reconcile.OrderReversed
		}
		return reconcile.OrderClosed
	}
	return reconcile.OrderPending
}
