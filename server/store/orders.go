package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/multipos/multipos/api"
)

// Transition is one row of a transaction's history.
type Transition struct {
	Seq    int // the transaction's version after the change; 1 is the creation
	From   api.State
	To     api.State
	Reason string
	Actor  string // who made the change: "terminal", "notification", "sweeper", …
	At     time.Time
}

const orderColumns = `id, sale_id, terminal_id, trace, channel, kind, amount, state, reason, version,
	COALESCE(out_trade_no, ''), trade_no, qr_content, expires_at, masked_pan, entry,
	response_code, auth_code, rrn, batch, card_seq, created_at, updated_at`

// queryer is what both *sql.DB and *sql.Tx offer, so reads can run inside
// a write transaction or on the reader pool.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

type scanner interface{ Scan(dest ...any) error }

func orderDest(o *api.Order, channel, kind, state *string, expires, created, updated *int64) []any {
	return []any{&o.ID, &o.SaleID, &o.TerminalID, &o.Trace, channel, kind, &o.Amount, state, &o.Reason, &o.Version,
		&o.OutTradeNo, &o.TradeNo, &o.QRContent, expires, &o.MaskedPAN, &o.Entry,
		&o.ResponseCode, &o.AuthCode, &o.RRN, &o.Batch, &o.CardSeq, created, updated}
}

func scanOrder(row scanner, extra ...any) (api.Order, error) {
	var (
		o                         api.Order
		expires, created, updated int64
		channel, kind, state      string
	)
	err := row.Scan(append(orderDest(&o, &channel, &kind, &state, &expires, &created, &updated), extra...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return api.Order{}, ErrNotFound
	}
	if err != nil {
		return api.Order{}, err
	}
	o.Channel, o.Kind, o.State = api.Channel(channel), api.Kind(kind), api.State(state)
	o.ExpiresAt, o.CreatedAt, o.UpdatedAt = fromMicros(expires), fromMicros(created), fromMicros(updated)
	return o, nil
}

func (s *Store) getOrder(ctx context.Context, q queryer, where string, args ...any) (api.Order, error) {
	return scanOrder(q.QueryRowContext(ctx, s.q(`SELECT `+orderColumns+` FROM transactions WHERE `+where), args...))
}

// Request is a terminal's mutating call as remembered for idempotency.
type Request struct {
	TerminalID string
	RequestID  string
	Op         string // "wallet_order", "card_sale", "cancel", …
	Hash       string // fingerprint of the call's parameters
	TxID       string // the transaction it created or acted on
	Status     int    // HTTP status of the first answer; 0 while unanswered
	Answer     []byte // the first answer's body
	CreatedAt  time.Time
}

// NewTx is a payment attempt to journal.
type NewTx struct {
	// Order holds TerminalID, Trace, Channel, Kind, Amount, OutTradeNo (wallets),
	// MaskedPAN and Entry (cards), CreatedAt, and SaleID when the attempt pays
	// a sale that already exists (empty: a new sale of Amount).
	Order      api.Order
	MerchantID string
	StoreID    string
	Day        string    // the business day the amount counts toward, "2006-01-02"
	CheckAfter time.Time // when the sweeper resolves it if it is still CREATED then
	Request    Request   // the idempotency record (RequestID, Op, Hash)
	// Daily limits in fen, 0 for none. The terminal's total is always kept;
	// the merchant's only while it has a limit.
	TerminalDaily, MerchantDaily int64
	Actor                        string
}

// OverLimit is returned (wrapping ErrOverLimit) when a daily limit would be
// passed.
type OverLimit struct {
	Scope string // "terminal" or "merchant"
	Limit int64
	Used  int64 // taken or in flight today
}

func (e *OverLimit) Error() string {
	return fmt.Sprintf("%s daily limit %d fen: %d already used today", e.Scope, e.Limit, e.Used)
}

func (e *OverLimit) Unwrap() error { return ErrOverLimit }

// Create journals a payment attempt in state CREATED (version 1) with its
// first history row and its request record, in one database transaction,
// before anything is sent to the channel.
//
// Create is the idempotency point. When the terminal already used the
// request id, nothing is written and the first request's record comes back
// as replay (with ErrRequestMismatch if its parameters differ). Of
// concurrent duplicates exactly one creates.
//
// It guards the sale: an attempt on an existing sale is refused when the
// sale is paid (ErrSalePaid), has an attempt still open (ErrSaleBusy), or
// is another terminal's or of another amount (ErrSaleMismatch). The daily
// totals are raised in the same transaction (*OverLimit when a limit would
// be passed).
func (s *Store) Create(ctx context.Context, n NewTx) (o api.Order, replay *Request, err error) {
	if err := checkNew(n); err != nil {
		return api.Order{}, nil, err
	}
	o = n.Order
	o.ID = newID("tx")
	now := micros(o.CreatedAt)
	if s.dialect == Postgres && o.SaleID == "" && n.MerchantDaily == 0 {
		err := s.createPipelined(ctx, n, &o, now)
		if err == nil {
			o.State, o.Version = api.StateCreated, 1
			o.CreatedAt, o.UpdatedAt = fromMicros(now), fromMicros(now)
			return o, nil, nil
		}
		if !errors.Is(err, errFallback) {
			return api.Order{}, nil, err
		}
		o.SaleID = "" // a replay: the portable path finds the first request
	}
	tx, err := s.begin(ctx)
	if err != nil {
		return api.Order{}, nil, fmt.Errorf("store: create: %w", err)
	}
	defer tx.Rollback()

	res, err := tx.ExecContext(ctx, s.q(`INSERT INTO requests (terminal_id, request_id, op, request_hash, tx_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`),
		o.TerminalID, n.Request.RequestID, n.Request.Op, n.Request.Hash, o.ID, now)
	if err != nil {
		return api.Order{}, nil, fmt.Errorf("store: create %s request %s: %w", o.TerminalID, n.Request.RequestID, err)
	}
	if rows, err := res.RowsAffected(); err != nil {
		return api.Order{}, nil, fmt.Errorf("store: create %s request %s: %w", o.TerminalID, n.Request.RequestID, err)
	} else if rows == 0 {
		prev, err := s.request(ctx, tx, o.TerminalID, n.Request.RequestID)
		if err != nil {
			return api.Order{}, nil, fmt.Errorf("store: create: %w", err)
		}
		if prev.Op != n.Request.Op || prev.Hash != n.Request.Hash {
			return api.Order{}, &prev, fmt.Errorf("store: request %s of %s: %w", prev.RequestID, prev.TerminalID, ErrRequestMismatch)
		}
		return api.Order{}, &prev, nil
	}

	if err := s.claimSale(ctx, tx, &o, n, now); err != nil {
		return api.Order{}, nil, err
	}
	merchantCounted, err := s.raiseTotals(ctx, tx, n)
	if err != nil {
		return api.Order{}, nil, err
	}
	if o.Batch, err = s.claimTrace(ctx, tx, o.TerminalID, o.Trace, string(o.Kind), o.ID, now); err != nil {
		return api.Order{}, nil, err
	}
	if err := s.insertTx(ctx, tx, o, n, merchantCounted, now); err != nil {
		return api.Order{}, nil, err
	}
	if err := tx.Commit(); err != nil {
		return api.Order{}, nil, fmt.Errorf("store: commit %s: %w", o.ID, err)
	}
	o.State, o.Version, o.UpdatedAt = api.StateCreated, 1, o.CreatedAt
	o.CreatedAt, o.UpdatedAt = fromMicros(now), fromMicros(now)
	return o, nil, nil
}

// insertTx writes a new transaction and its first history row.
func (s *Store) insertTx(ctx context.Context, tx *sql.Tx, o api.Order, n NewTx, merchantCounted bool, now int64) error {
	var outTradeNo any // NULL when none, so that UNIQUE(channel, out_trade_no) ignores it
	if o.OutTradeNo != "" {
		outTradeNo = o.OutTradeNo
	}
	res, err := tx.ExecContext(ctx, s.q(`INSERT INTO transactions
		(id, sale_id, terminal_id, merchant_id, store_id, trace, channel, kind, amount, state, version,
		 out_trade_no, masked_pan, entry, batch, card_seq, day, merchant_counted, check_after, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`),
		o.ID, o.SaleID, o.TerminalID, n.MerchantID, n.StoreID, o.Trace, string(o.Channel), string(o.Kind), o.Amount,
		string(api.StateCreated), outTradeNo, o.MaskedPAN, o.Entry, o.Batch, o.CardSeq, n.Day, boolInt(merchantCounted),
		micros(n.CheckAfter), now, now)
	if err != nil {
		return fmt.Errorf("store: create %s/%s: %w", o.TerminalID, o.Trace, err)
	}
	if rows, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: create %s/%s: %w", o.TerminalID, o.Trace, err)
	} else if rows == 0 {
		// The out_trade_no is taken (it is made of the terminal, the
		// second and the trace): a new trace makes a new one.
		return fmt.Errorf("store: %s out_trade_no %s: %w", o.Channel, o.OutTradeNo, ErrTraceUsed)
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO transaction_history (tx_id, seq, from_state, to_state, reason, actor, at)
		VALUES (?, 1, '', ?, '', ?, ?)`), o.ID, string(api.StateCreated), n.Actor, now); err != nil {
		return fmt.Errorf("store: create %s history: %w", o.ID, err)
	}
	return nil
}

// claimSale makes the sale the attempt pays: a new one, or an existing one
// that is open, the terminal's, of the same amount and with no attempt open.
func (s *Store) claimSale(ctx context.Context, tx *sql.Tx, o *api.Order, n NewTx, now int64) error {
	if o.SaleID == "" {
		o.SaleID = newID("sa")
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO sales (id, terminal_id, merchant_id, store_id, amount, state, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, 'OPEN', ?, ?)`), o.SaleID, o.TerminalID, n.MerchantID, n.StoreID, o.Amount, now, now); err != nil {
			return fmt.Errorf("store: create sale: %w", err)
		}
		return nil
	}
	// The update takes the sale's row lock (PostgreSQL), so two attempts on
	// one sale are checked one after the other.
	res, err := tx.ExecContext(ctx, s.q(`UPDATE sales SET updated_at = ? WHERE id = ? AND terminal_id = ? AND amount = ? AND state = 'OPEN'`),
		now, o.SaleID, o.TerminalID, o.Amount)
	if err != nil {
		return fmt.Errorf("store: sale %s: %w", o.SaleID, err)
	}
	if rows, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: sale %s: %w", o.SaleID, err)
	} else if rows == 0 {
		var terminal, state string
		var amount int64
		err := tx.QueryRowContext(ctx, s.q(`SELECT terminal_id, amount, state FROM sales WHERE id = ?`), o.SaleID).Scan(&terminal, &amount, &state)
		switch {
		case errors.Is(err, sql.ErrNoRows), err == nil && terminal != o.TerminalID:
			return fmt.Errorf("store: sale %s: %w", o.SaleID, ErrNotFound)
		case err != nil:
			return fmt.Errorf("store: sale %s: %w", o.SaleID, err)
		case state == "PAID":
			return fmt.Errorf("store: sale %s: %w", o.SaleID, ErrSalePaid)
		default:
			return fmt.Errorf("store: sale %s is %d fen, not %d: %w", o.SaleID, amount, o.Amount, ErrSaleMismatch)
		}
	}
	var open int
	if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM transactions WHERE sale_id = ? AND state IN ('CREATED', 'PENDING', 'UNKNOWN', 'CANCELLING')`),
		o.SaleID).Scan(&open); err != nil {
		return fmt.Errorf("store: sale %s: %w", o.SaleID, err)
	}
	if open > 0 {
		return fmt.Errorf("store: sale %s: %w", o.SaleID, ErrSaleBusy)
	}
	return nil
}

func checkNew(n NewTx) error {
	o := n.Order
	switch {
	case o.TerminalID == "" || o.Trace == "":
		return errors.New("store: create: terminal id and trace are required")
	case n.MerchantID == "" || n.StoreID == "":
		return errors.New("store: create: merchant and store are required")
	case !o.Channel.Valid():
		return fmt.Errorf("store: create: unknown channel %q", o.Channel)
	case o.Amount <= 0:
		return fmt.Errorf("store: create: amount %d is not positive", o.Amount)
	case n.Request.RequestID == "" || n.Request.Hash == "" || n.Request.Op == "":
		return errors.New("store: create: request id, operation and hash are required")
	case o.CreatedAt.IsZero() || n.CheckAfter.IsZero():
		return errors.New("store: create: creation time and check time are required")
	case n.Day == "":
		return errors.New("store: create: business day is required")
	case o.MaskedPAN != "" && !masked(o.MaskedPAN):
		// Defence in depth: the caller must mask; a clear number never gets in.
		return errors.New("store: create: card number is not masked")
	}
	return nil
}

// masked reports whether a card number shows at most the first six and
// last four digits (PCI DSS), the rest starred.
func masked(pan string) bool {
	digits, stars := 0, 0
	for _, r := range pan {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '*':
			stars++
		default:
			return false
		}
	}
	return stars > 0 && digits <= 10
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Get returns the transaction with that id.
func (s *Store) Get(ctx context.Context, id string) (api.Order, error) {
	o, err := s.getOrder(ctx, s.r, `id = ?`, id)
	if err != nil {
		return api.Order{}, fmt.Errorf("store: get %s: %w", id, err)
	}
	return o, nil
}

// ByTrace returns the transaction a terminal created with a trace: in
// batch when it is given, else the one in the terminal's open batch, or
// failing that the latest (a trace comes round again in each batch).
func (s *Store) ByTrace(ctx context.Context, terminalID, batch, trace string) (api.Order, error) {
	var (
		o   api.Order
		err error
	)
	if batch != "" {
		o, err = s.getOrder(ctx, s.r, `terminal_id = ? AND trace = ? AND batch = ?`, terminalID, trace, batch)
	} else {
		o, err = s.getOrder(ctx, s.r, `terminal_id = ? AND trace = ? `+openBatchFirst+` LIMIT 1`, terminalID, trace, terminalID)
	}
	if err != nil {
		return api.Order{}, fmt.Errorf("store: terminal %s trace %s: %w", terminalID, trace, err)
	}
	return o, nil
}

// openBatchFirst orders a terminal's transactions with one trace: the one
// in its open batch first, then the latest.
const openBatchFirst = `ORDER BY CASE WHEN batch = (SELECT batch FROM terminals WHERE id = ?) THEN 0 ELSE 1 END, created_at DESC`

// ByOutTradeNo returns the transaction known to a channel by out_trade_no.
func (s *Store) ByOutTradeNo(ctx context.Context, ch api.Channel, outTradeNo string) (api.Order, error) {
	o, err := s.getOrder(ctx, s.r, `channel = ? AND out_trade_no = ?`, string(ch), outTradeNo)
	if err != nil {
		return api.Order{}, fmt.Errorf("store: %s out_trade_no %s: %w", ch, outTradeNo, err)
	}
	return o, nil
}

// BySale returns a sale's attempts, oldest first.
func (s *Store) BySale(ctx context.Context, saleID string) ([]api.Order, error) {
	return s.listOrders(ctx, s.r, `sale_id = ? ORDER BY created_at, trace`, saleID)
}

func (s *Store) listOrders(ctx context.Context, q queryer, where string, args ...any) ([]api.Order, error) {
	rows, err := q.QueryContext(ctx, s.q(`SELECT `+orderColumns+` FROM transactions WHERE `+where), args...)
	if err != nil {
		return nil, fmt.Errorf("store: list transactions: %w", err)
	}
	defer rows.Close()
	var out []api.Order
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list transactions: %w", err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list transactions: %w", err)
	}
	return out, nil
}

// History returns the state changes of a transaction, oldest first.
func (s *Store) History(ctx context.Context, id string) ([]Transition, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT seq, from_state, to_state, reason, actor, at
		FROM transaction_history WHERE tx_id = ? ORDER BY seq`), id)
	if err != nil {
		return nil, fmt.Errorf("store: history of %s: %w", id, err)
	}
	defer rows.Close()
	var out []Transition
	for rows.Next() {
		var (
			t        Transition
			from, to string
			at       int64
		)
		if err := rows.Scan(&t.Seq, &from, &to, &t.Reason, &t.Actor, &at); err != nil {
			return nil, fmt.Errorf("store: history of %s: %w", id, err)
		}
		t.From, t.To, t.At = api.State(from), api.State(to), fromMicros(at)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: history of %s: %w", id, err)
	}
	return out, nil
}
