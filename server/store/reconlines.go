package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Outcomes of a reconciliation line.
const (
	OutcomeSettled   = "settled"   // a difference reconciliation settled itself (audited)
	OutcomeException = "exception" // a difference left to an operator
)

// ReconLine is one result of a run: a bill line (BillRow > 0) or a journal
// entry no line matched (BillRow 0).
type ReconLine struct {
	Seq                              int    // place among the run's lines, 1-based; 0: its place in the slice
	Class, Kind                      string // reconcile.Class and reconcile.Kind names
	BillRow                          int
	OutTradeNo, OutRefundNo, TradeNo string
	ChannelAmount, JournalAmount     int64 // fen
	Settle                           int64 // fen the channel settles for a payment line
	FeeMilli                         int64 // 0.001 fen
	TxID, TxDay                      string
	CrossDay                         bool // matched with an entry of a neighbouring day
	MerchantID, StoreID, TerminalID  string
	Outcome                          string // "", OutcomeSettled, OutcomeException
	Note                             string
}

// lineBatch is how many lines go in one INSERT on SQLite: 20 parameters a
// line, under its 32766.
const lineBatch = 1600

const lineCols = 20

// lineColumns are reconcile_lines' columns in the order lines are written.
var lineColumns = []string{"run_id", "seq", "class", "kind", "bill_row", "out_trade_no", "out_refund_no", "trade_no",
	"channel_amount", "journal_amount", "settle", "fee_milli", "tx_id", "tx_day", "cross_day", "merchant_id", "store_id",
	"terminal_id", "outcome", "note"}

// FinishReconRun stores a run's results and marks it done, in one database
// transaction: the run's previous results (a rerun) are replaced by lines
// and matched (packed, see MatchedLine), ordered together by Seq (a line
// with Seq 0 takes its place in lines); the bill lines' totals per
// terminal are kept for the daily report; every line with Outcome
// exception is an exception, kept as it was (resolved or not) when the
// same difference is on file already; an open exception of the day and
// channel the rerun no longer finds is resolved by "reconcile"; an open
// journal_only exception of a neighbouring day whose entry a line of this
// run matched is resolved likewise; each such resolution is audited. run
// carries the totals, counts and bill. Lines are written by COPY on
// PostgreSQL, in large multi-row INSERTs of one prepared statement on
// SQLite.
func (s *Store) FinishReconRun(ctx context.Context, run ReconRun, lines []ReconLine, matched []MatchedLine, at time.Time) error {
	if err := s.finishReconRun(ctx, run, lines, matched, at); err != nil {
		return fmt.Errorf("store: finish reconciliation %s: %w", run.ID, err)
	}
	return nil
}

func (s *Store) finishReconRun(ctx context.Context, run ReconRun, lines []ReconLine, matched []MatchedLine, at time.Time) error {
	// The matched lines are packed and the totals per terminal summed
	// while the database takes the rest.
	type packing struct {
		blobs  [][]byte
		totals map[terminalKey]*DayTotals
	}
	packed := make(chan packing, 1)
	go func() { packed <- packing{packMatched(matched), terminalTotals(lines, matched)} }()
	pk := func() packing { p := <-packed; packed <- p; return p }
	defer pk() // not to return before the goroutine is done with the lines
	// One connection held throughout: PostgreSQL's COPY goes through its
	// native connection, inside the transaction begun on it.
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// A first run has none: each DELETE is one probe of a key.
	for _, table := range []string{"reconcile_lines", "reconcile_matched", "reconcile_terminals"} {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM `+table+` WHERE run_id = ?`), run.ID); err != nil {
			return err
		}
	}
	if s.dialect == Postgres {
		err = s.copyLines(ctx, conn, run.ID, lines)
	} else {
		err = s.insertLines(ctx, tx, run.ID, lines)
	}
	if err != nil {
		return err
	}
	if err := s.syncExceptions(ctx, tx, run, lines, at); err != nil {
		return err
	}
	p := pk()
	if err := s.insertMatched(ctx, tx, run.ID, p.blobs, matched); err != nil {
		return err
	}
	if err := s.insertTerminals(ctx, tx, run.ID, p.totals); err != nil {
		return err
	}
	t := run.Totals
	res, err := tx.ExecContext(ctx, s.q(`UPDATE reconcile_runs SET status = 'done', source = ?, bill_path = ?, bill_sha256 = ?,
		lease_until = 0, retry_at = 0, error = '', finished_at = ?, lines = ?, matched = ?, differences = ?, settled = ?,
		payments = ?, refunds = ?, gross = ?, settle = ?, refunded = ?, fee_milli = ?, fees = ?, net = ?
		WHERE id = ? AND owner = ? AND status = 'running'`),
		run.Source, run.BillPath, run.BillSHA256, micros(at), run.Lines, run.Matched, run.Differences, run.Settled,
		t.Payments, t.Refunds, t.Gross, t.Settled, t.Refunded, t.FeeMilli, t.Fees, t.Net, run.ID, run.Owner)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("no longer held by %s: %w", run.Owner, ErrRunBusy)
	}
	return tx.Commit()
}

// insertLines writes lines on SQLite: one prepared INSERT of lineBatch
// rows, reused, and one more for the rest.
func (s *Store) insertLines(ctx context.Context, tx *sql.Tx, runID string, lines []ReconLine) error {
	head := `INSERT INTO reconcile_lines (` + strings.Join(lineColumns, ", ") + `) VALUES `
	var full *sql.Stmt
	if len(lines) >= lineBatch {
		st, err := tx.PrepareContext(ctx, head+placeholders(lineBatch, lineCols))
		if err != nil {
			return err
		}
		defer st.Close()
		full = st
	}
	args := make([]any, 0, min(len(lines), lineBatch)*lineCols)
	for start := 0; start < len(lines); start += lineBatch {
		batch := lines[start:min(start+lineBatch, len(lines))]
		args = args[:0]
		for i := range batch {
			args = appendLine(args, runID, start+i+1, &batch[i])
		}
		var err error
		if len(batch) == lineBatch {
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, head+placeholders(len(batch), lineCols), args...)
		}
		if err != nil {
			return fmt.Errorf("lines %d…: %w", start+1, err)
		}
	}
	return nil
}

// appendLine appends a line's values in lineColumns' order. An empty
// string or a small number boxed in an interface allocates nothing.
func appendLine(args []any, runID string, seq int, l *ReconLine) []any {
	if l.Seq > 0 {
		seq = l.Seq
	}
	return append(args, runID, seq, l.Class, l.Kind, l.BillRow, l.OutTradeNo, l.OutRefundNo, l.TradeNo,
		l.ChannelAmount, l.JournalAmount, l.Settle, l.FeeMilli, l.TxID, l.TxDay, boolInt(l.CrossDay),
		l.MerchantID, l.StoreID, l.TerminalID, l.Outcome, l.Note)
}

// copyLines writes lines on PostgreSQL by COPY, on conn, inside the
// transaction open on it: binding a million lines' parameters costs more
// than the rows.
func (s *Store) copyLines(ctx context.Context, conn *sql.Conn, runID string, lines []ReconLine) error {
	n, err := s.pg.CopyFrom(ctx, conn, "reconcile_lines", lineColumns, &lineRows{runID: runID, lines: lines})
	if err != nil {
		return fmt.Errorf("copy lines: %w", err)
	}
	if n != int64(len(lines)) {
		return fmt.Errorf("copy lines: %d of %d copied", n, len(lines))
	}
	return nil
}

// lineRows hands lines to CopyFrom one row at a time, in one reused slice.
type lineRows struct {
	runID string
	lines []ReconLine
	seq   int
	vals  []any
}

func (r *lineRows) Next() bool { r.seq++; return r.seq <= len(r.lines) }

func (r *lineRows) Values() ([]any, error) {
	r.vals = appendLine(r.vals[:0], r.runID, r.seq, &r.lines[r.seq-1])
	return r.vals, nil
}

func (r *lineRows) Err() error { return nil }

// diffKey names a difference, the same on every rerun that finds it.
func diffKey(day, channel string, l *ReconLine) string {
	return day + "|" + channel + "|" + l.Class + "|" + l.Kind + "|" + l.OutTradeNo + "|" + l.OutRefundNo + "|" +
		strconv.FormatInt(l.ChannelAmount, 10) + "|" + strconv.FormatInt(l.JournalAmount, 10)
}

func (s *Store) syncExceptions(ctx context.Context, tx *sql.Tx, run ReconRun, lines []ReconLine, at time.Time) error {
	keys := map[string]bool{}
	// Many to a statement: a day can have thousands, and on PostgreSQL a
	// statement each is a round trip each.
	const per, cols = 500, 15
	head := `INSERT INTO reconcile_exceptions (id, diff_key, run_id, day, channel, class, kind, out_trade_no, out_refund_no,
		tx_id, channel_amount, journal_amount, note, state, created_at) VALUES `
	tail := ` ON CONFLICT (diff_key) DO UPDATE SET run_id = excluded.run_id, note = excluded.note`
	args := make([]any, 0, per*cols)
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, s.q(head+placeholders(len(args)/cols, cols)+tail), args...); err != nil {
			return fmt.Errorf("exceptions: %w", err)
		}
		args = args[:0]
		return nil
	}
	for i := range lines {
		l := &lines[i]
		if l.Outcome != OutcomeException {
			continue
		}
		k := diffKey(run.Day, run.Channel, l)
		for n := 2; keys[k]; n++ { // the same difference twice in one bill is two
			k = diffKey(run.Day, run.Channel, l) + "#" + strconv.Itoa(n)
		}
		keys[k] = true
		args = append(args, newID("ex"), k, run.ID, run.Day, run.Channel, l.Class, l.Kind, l.OutTradeNo, l.OutRefundNo, l.TxID,
			l.ChannelAmount, l.JournalAmount, l.Note, ExceptionOpen, micros(at))
		if len(args) == per*cols {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if err := s.resolveGone(ctx, tx, run, keys, at); err != nil {
		return err
	}
	return s.resolveCrossDay(ctx, tx, run, lines, at)
}

// resolveGone resolves the day's open exceptions a rerun no longer finds.
func (s *Store) resolveGone(ctx context.Context, tx *sql.Tx, run ReconRun, keys map[string]bool, at time.Time) error {
	open, err := s.exceptions(ctx, tx, `WHERE day = ? AND channel = ? AND state = 'open'`, run.Day, run.Channel)
	if err != nil {
		return err
	}
	for _, e := range open {
		if keys[e.key] {
			continue
		}
		if err := s.resolve(ctx, tx, e, "reconcile", "no longer found when the day was reconciled again", at); err != nil {
			return err
		}
	}
	return nil
}

// resolveCrossDay resolves a neighbouring day's journal_only exception of
// an entry this run found on its bill.
func (s *Store) resolveCrossDay(ctx context.Context, tx *sql.Tx, run ReconRun, lines []ReconLine, at time.Time) error {
	for i := range lines {
		l := &lines[i]
		if !l.CrossDay || l.Class != "matched" || l.TxID == "" {
			continue
		}
		open, err := s.exceptions(ctx, tx, `WHERE tx_id = ? AND day <> ? AND class = 'journal_only' AND state = 'open'`, l.TxID, run.Day)
		if err != nil {
			return err
		}
		for _, e := range open {
			if err := s.resolve(ctx, tx, e, "reconcile", "on the channel's bill of "+run.Day, at); err != nil {
				return err
			}
		}
	}
	return nil
}

// Exception is a difference left for an operator.
type Exception struct {
	ID, RunID, Day, Channel       string
	Class, Kind                   string
	OutTradeNo, OutRefundNo, TxID string
	ChannelAmount, JournalAmount  int64
	Note                          string
	State                         string // ExceptionOpen, ExceptionResolved
	Resolution, ResolvedBy        string
	ResolvedAt, CreatedAt         time.Time
	key                           string
}

const exceptionColumns = `id, diff_key, run_id, day, channel, class, kind, out_trade_no, out_refund_no, tx_id,
	channel_amount, journal_amount, note, state, resolution, resolved_by, resolved_at, created_at`

func (s *Store) exceptions(ctx context.Context, q queryer, where string, args ...any) ([]Exception, error) {
	rows, err := q.QueryContext(ctx, s.q(`SELECT `+exceptionColumns+` FROM reconcile_exceptions `+where+` ORDER BY day, channel, created_at, id`), args...)
	if err != nil {
		return nil, fmt.Errorf("exceptions: %w", err)
	}
	defer rows.Close()
	var out []Exception
	for rows.Next() {
		var e Exception
		var resolved, created int64
		if err := rows.Scan(&e.ID, &e.key, &e.RunID, &e.Day, &e.Channel, &e.Class, &e.Kind, &e.OutTradeNo, &e.OutRefundNo, &e.TxID,
			&e.ChannelAmount, &e.JournalAmount, &e.Note, &e.State, &e.Resolution, &e.ResolvedBy, &resolved, &created); err != nil {
			return nil, fmt.Errorf("exceptions: %w", err)
		}
		e.ResolvedAt, e.CreatedAt = fromMicros(resolved), fromMicros(created)
		out = append(out, e)
	}
	return out, rows.Err()
}

// Exceptions lists the open exceptions, or all of them with all, oldest
// day first.
func (s *Store) Exceptions(ctx context.Context, all bool) ([]Exception, error) {
	where := `WHERE state = 'open'`
	if all {
		where = ``
	}
	out, err := s.exceptions(ctx, s.r, where)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return out, nil
}

// DayExceptions lists a day's exceptions of a channel ("" for all).
func (s *Store) DayExceptions(ctx context.Context, day, channel string) ([]Exception, error) {
	out, err := s.exceptions(ctx, s.r, `WHERE day = ? AND (? = '' OR channel = ?)`, day, channel, channel)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return out, nil
}

// ErrResolved is returned when resolving an exception resolved already.
var ErrResolved = errors.New("exception already resolved")

// ResolveException resolves an open exception with a note saying why, by
// who, audited in the same database transaction.
func (s *Store) ResolveException(ctx context.Context, id, who, note string, at time.Time) (Exception, error) {
	if note == "" || who == "" {
		return Exception{}, errors.New("store: resolving an exception needs who and a note")
	}
	tx, err := s.begin(ctx)
	if err != nil {
		return Exception{}, fmt.Errorf("store: resolve %s: %w", id, err)
	}
	defer tx.Rollback()
	es, err := s.exceptions(ctx, tx, `WHERE id = ?`, id)
	switch {
	case err != nil:
		return Exception{}, fmt.Errorf("store: resolve %s: %w", id, err)
	case len(es) == 0:
		return Exception{}, fmt.Errorf("store: exception %s: %w", id, ErrNotFound)
	case es[0].State != ExceptionOpen:
		return es[0], fmt.Errorf("store: exception %s (by %s: %s): %w", id, es[0].ResolvedBy, es[0].Resolution, ErrResolved)
	}
	if err := s.resolve(ctx, tx, es[0], who, note, at); err != nil {
		return Exception{}, fmt.Errorf("store: resolve %s: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return Exception{}, fmt.Errorf("store: resolve %s: %w", id, err)
	}
	e := es[0]
	e.State, e.ResolvedBy, e.Resolution, e.ResolvedAt = ExceptionResolved, who, note, fromMicros(micros(at))
	return e, nil
}

func (s *Store) resolve(ctx context.Context, tx *sql.Tx, e Exception, who, note string, at time.Time) error {
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE reconcile_exceptions SET state = 'resolved', resolution = ?, resolved_by = ?, resolved_at = ?
		WHERE id = ? AND state = 'open'`), note, who, micros(at), e.ID); err != nil {
		return fmt.Errorf("resolve %s: %w", e.ID, err)
	}
	return s.audit(ctx, tx, AuditEntry{At: at, Actor: who, Action: "resolved", RunID: e.RunID, ExceptionID: e.ID, TxID: e.TxID,
		Day: e.Day, Channel: e.Channel, OutTradeNo: e.OutTradeNo, Detail: e.Class + ": " + note})
}

// OpenExceptions counts the open exceptions per channel.
func (s *Store) OpenExceptions(ctx context.Context) (map[string]int, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT channel, COUNT(*) FROM reconcile_exceptions WHERE state = 'open' GROUP BY channel`)
	if err != nil {
		return nil, fmt.Errorf("store: open exceptions: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var ch string
		var n int
		if err := rows.Scan(&ch, &n); err != nil {
			return nil, fmt.Errorf("store: open exceptions: %w", err)
		}
		out[ch] = n
	}
	return out, rows.Err()
}
