package store

import (
	"context"
	"database/sql"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// MatchedLine is a bill's payment line that matched a paid order of the
// run's own day exactly: the same amount and trade number, nothing to
// note. All a stored line says of it besides its bill row, settle and fee
// is the order's (out_trade_no, trade_no, merchant, store, terminal), so
// a run's matched lines are packed into a few blobs (reconcile_matched)
// instead of a row each: they are nearly all of a day's lines, and a row
// each is what made storing a million-line day cost more than matching it.
// ReconLines reads them back as ReconLines, with the order's keys.
type MatchedLine struct {
	Seq      int // place among the run's lines, 1-based, shared with ReconLine.Seq
	BillRow  int
	Amount   int64 // fen, the bill's and the journal's
	Settle   int64 // fen
	FeeMilli int64 // 0.001 fen
	Ref      *JournalRef
}

// matchedChunk is how many matched lines one blob holds (a few MB).
const matchedChunk = 1 << 16

// matchedFormat is the blob's first byte: the layout below.
const matchedFormat = 1

// encodeMatched packs lines: per line, varints of the seq and bill row
// (as steps from the line before), the amount, amount − settle and the
// fee, then the order's id: 0 and the 16 bytes of an id as the store makes
// them ("tx" and 26 letters and digits of base32, canonical), else its
// length + 1 and the id as it is.
func encodeMatched(buf []byte, lines []MatchedLine) []byte {
	buf = append(buf[:0], matchedFormat)
	var seq, row int64
	for i := range lines {
		l := &lines[i]
		buf = binary.AppendVarint(buf, int64(l.Seq)-seq)
		buf = binary.AppendVarint(buf, int64(l.BillRow)-row)
		buf = binary.AppendVarint(buf, l.Amount)
		buf = binary.AppendVarint(buf, l.Amount-l.Settle)
		buf = binary.AppendVarint(buf, l.FeeMilli)
		buf = appendTxID(buf, l.Ref.ID)
		seq, row = int64(l.Seq), int64(l.BillRow)
	}
	return buf
}

// idText is the base32 of the store's ids (internal/ids).
var idText = base32.StdEncoding.WithPadding(base32.NoPadding)

// appendTxID appends id as encodeMatched writes it.
func appendTxID(buf []byte, id string) []byte {
	if raw, ok := txIDBytes(id); ok {
		return append(append(buf, 0), raw[:]...)
	}
	buf = binary.AppendUvarint(buf, uint64(len(id))+1)
	return append(buf, id...)
}

// txIDBytes reads an id the store made: "tx" and 26 lowercase base32
// digits holding 128 bits, the last two bits of the last digit zero (so
// that the bytes give the id back).
func txIDBytes(id string) (raw [16]byte, ok bool) {
	if len(id) != 28 || id[:2] != "tx" {
		return raw, false
	}
	var acc uint64
	bits, n := 0, 0
	for i := 2; i < 28; i++ {
		c := id[i]
		var v byte
		switch {
		case c >= 'a' && c <= 'z':
			v = c - 'a'
		case c >= '2' && c <= '7':
			v = c - '2' + 26
		default:
			return raw, false
		}
		acc, bits = acc<<5|uint64(v), bits+5
		if bits >= 8 {
			bits -= 8
			raw[n] = byte(acc >> bits)
			n++
		}
	}
	return raw, n == 16 && acc&(1<<bits-1) == 0
}

// packedLine is a matched line as read back: its order by ID only.
type packedLine struct {
	Seq, BillRow             int
	Amount, Settle, FeeMilli int64
	TxID                     string
}

var errPacked = errors.New("damaged matched lines")

// decodeMatched unpacks n lines packed by encodeMatched, calling each.
func decodeMatched(data []byte, n int, each func(*packedLine)) error {
	if len(data) == 0 || data[0] != matchedFormat {
		return errPacked
	}
	data = data[1:]
	var p packedLine
	next := func() int64 {
		v, k := binary.Varint(data)
		if k <= 0 {
			data = nil
			return 0
		}
		data = data[k:]
		return v
	}
	for range n {
		if len(data) == 0 {
			return errPacked
		}
		p.Seq += int(next())
		p.BillRow += int(next())
		p.Amount = next()
		p.Settle = p.Amount - next()
		p.FeeMilli = next()
		k, w := binary.Uvarint(data)
		switch {
		case w <= 0:
			return errPacked
		case k == 0 && len(data)-w >= 16:
			p.TxID = "tx" + strings.ToLower(idText.EncodeToString(data[w:w+16]))
			data = data[w+16:]
		case k > 0 && uint64(len(data)-w) >= k-1:
			p.TxID = string(data[w : w+int(k-1)])
			data = data[w+int(k-1):]
		default:
			return errPacked
		}
		each(&p)
	}
	return nil
}

// packMatched packs lines, matchedChunk to a blob.
func packMatched(lines []MatchedLine) [][]byte {
	var blobs [][]byte
	for start := 0; start < len(lines); start += matchedChunk {
		part := lines[start:min(start+matchedChunk, len(lines))]
		blobs = append(blobs, encodeMatched(make([]byte, 0, len(part)*32), part))
	}
	return blobs
}

// insertMatched writes a run's matched lines as packMatched packed them.
func (s *Store) insertMatched(ctx context.Context, tx *sql.Tx, runID string, blobs [][]byte, lines []MatchedLine) error {
	for chunk, blob := range blobs {
		n := min(matchedChunk, len(lines)-chunk*matchedChunk)
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO reconcile_matched (run_id, chunk, lines, data) VALUES (?, ?, ?, ?)`),
			runID, chunk, n, blob); err != nil {
			return fmt.Errorf("matched lines %d…: %w", chunk*matchedChunk+1, err)
		}
	}
	return nil
}

// readMatched calls each for every matched line of the runs the query's
// rows (lines, data of reconcile_matched) name.
func (s *Store) readMatched(ctx context.Context, query string, args []any, each func(*packedLine)) error {
	rows, err := s.r.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var n int
		var data []byte
		if err := rows.Scan(&n, &data); err != nil {
			return err
		}
		if err := decodeMatched(data, n, each); err != nil {
			return err
		}
	}
	return rows.Err()
}

// terminalKey names a row of a run's per-terminal totals.
type terminalKey struct{ merchant, store, terminal string }

// terminalTotals sums a run's bill lines by the merchant, store and
// terminal that took them (the journal's; else the bill's), for the daily
// report: stored with the run, so the report need not read its lines.
func terminalTotals(lines []ReconLine, matched []MatchedLine) map[terminalKey]*DayTotals {
	out := map[terminalKey]*DayTotals{}
	at := func(m, s, t string) *DayTotals {
		k := terminalKey{m, s, t}
		d := out[k]
		if d == nil {
			d = &DayTotals{MerchantID: m, StoreID: s, TerminalID: t}
			out[k] = d
		}
		return d
	}
	for i := range matched {
		l := &matched[i]
		d := at(l.Ref.MerchantID, l.Ref.StoreID, l.Ref.TermID)
		d.Payments++
		d.Gross += l.Amount
		d.FeeMilli += l.FeeMilli
		d.Settle += l.Settle
	}
	for i := range lines {
		l := &lines[i]
		if l.BillRow <= 0 {
			continue
		}
		d := at(l.MerchantID, l.StoreID, l.TerminalID)
		if l.Kind == "refund" {
			d.Refunds++
			d.Refunded += l.ChannelAmount
		} else {
			d.Payments++
			d.Gross += l.ChannelAmount
		}
		d.FeeMilli += l.FeeMilli
		d.Settle += l.Settle
	}
	return out
}

// insertTerminals writes a run's per-terminal totals, many to a statement.
func (s *Store) insertTerminals(ctx context.Context, tx *sql.Tx, runID string, totals map[terminalKey]*DayTotals) error {
	const per, cols = 500, 10
	head := `INSERT INTO reconcile_terminals (run_id, merchant_id, store_id, terminal_id, payments, refunds, gross, refunded,
		fee_milli, settle) VALUES `
	args := make([]any, 0, min(len(totals), per)*cols)
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, s.q(head+placeholders(len(args)/cols, cols)), args...); err != nil {
			return fmt.Errorf("terminal totals: %w", err)
		}
		args = args[:0]
		return nil
	}
	for _, d := range totals {
		args = append(args, runID, d.MerchantID, d.StoreID, d.TerminalID, d.Payments, d.Refunds, d.Gross, d.Refunded,
			d.FeeMilli, d.Settle)
		if len(args) == per*cols {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}
