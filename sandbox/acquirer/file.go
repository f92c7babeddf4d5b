package acquirer

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/multipos/multipos/money"
	"github.com/multipos/multipos/server/connector/bank"
)

// The daily settlement file (对账/清算文件): what the host settled each
// day, batch by batch. The layout is ours (see the package doc); real
// acquirers each have their own, which the server maps by header name.

// DefaultMDR is the merchant discount rate when Options.MDR is 0: 0.60%,
// in basis points.
const DefaultMDR = 60

// Settle statuses of a file line: how its batch was settled.
const (
	StatusBalanced = "balanced" // the terminal settled and balanced (0500 flag 1, end 207)
	StatusUploaded = "uploaded" // out of balance, settled on the terminal's upload (end 202)
	StatusHostCut  = "host_cut" // left open by the terminal: settled on the host's books at its day cut (日切)
)

// FileHeader is the settlement file's header line. Amounts, fees and nets
// are yuan with two decimals; the fee is what the acquirer charges
// (negative: given back, on voids and refunds); net = amount - fee for a
// sale, -amount - fee for a void or refund.
var FileHeader = []string{"settle_date", "merchant", "terminal", "batch", "trace", "rrn", "auth_code", "type",
	"txn_time", "amount", "fee", "net", "card_no", "result", "settle_status"}

// fileLine is one settled transaction, as listed when its batch settled.
type fileLine struct {
	merchant, terminal, batch, trace, rrn, auth, typ string
	at                                               time.Time
	amount, fee                                      int64
	pan, result, status                              string
}

// settleFiles holds what the settlement files list, by day (YYYYMMDD).
type settleFiles struct {
	listed map[string][]fileLine
	frozen map[string][]byte   // days cut: the file as it was produced
	edits  map[string]FileEdit // by entry key: planted differences
}

// FileEdit plants a difference in the settlement file only: the entry of
// terminal, merchant, batch and trace is listed with another amount or
// fee (fen) than the host's books have, as when an acquirer's clearing
// disagrees with its own front-end. Nil fields are left as they are.
type FileEdit struct {
	TerminalID string `json:"terminal"`
	MerchantID string `json:"merchant"`
	Batch      string `json:"batch"`
	Trace      string `json:"trace"`
	Amount     *int64 `json:"amount,omitempty"` // fen, > 0
	Fee        *int64 `json:"fee,omitempty"`    // fen, charged (negative: given back)
}

// ErrListed is returned for a change to an entry a settlement file already lists.
var ErrListed = errors.New("acquirer: the entry is already in a settlement file")

// EditFileLine plants e, to show when the entry's batch settles.
func (h *Host) EditFileLine(e FileEdit) error {
	if e.Amount != nil && *e.Amount <= 0 {
		return errors.New("acquirer: a planted file amount is positive (fen)")
	}
	if e.Amount == nil && e.Fee == nil {
		return errors.New("acquirer: a file edit sets amount, fee or both")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	key := keyOf(e.TerminalID, e.MerchantID, e.Batch, e.Trace)
	i, ok := h.byKey[key]
	if !ok || !h.ledger[i].Approved {
		return fmt.Errorf("%w: %s/%s batch %s trace %s", ErrNoEntry, e.TerminalID, e.MerchantID, e.Batch, e.Trace)
	}
	if h.ledger[i].ListedOn != "" {
		return fmt.Errorf("%w: %s", ErrListed, h.ledger[i].ListedOn)
	}
	if h.files.edits == nil {
		h.files.edits = map[string]FileEdit{}
	}
	old := h.files.edits[key]
	if e.Amount == nil {
		e.Amount = old.Amount
	}
	if e.Fee == nil {
		e.Fee = old.Fee
	}
	h.files.edits[key] = e
	h.log.Info("control: settlement file line planted", "terminal", e.TerminalID, "batch", e.Batch, "trace", e.Trace)
	return nil
}

// fee is the acquirer's fee on amount, rounded half up to the fen.
func (h *Host) fee(t TxnType, amount int64) int64 {
	mdr := h.opts.MDR
	if mdr == 0 {
		mdr = DefaultMDR
	}
	if mdr < 0 {
		return 0
	}
	f := (amount*mdr + 5000) / 10000
	if t != Sale {
		return -f // given back, as acquirers do on voids and refunds
	}
	return f
}

// list puts entry i on day's file. Called with h.mu held.
func (h *Host) list(i int, day, status string) {
	e := &h.ledger[i]
	e.ListedOn = day
	l := fileLine{merchant: e.MerchantID, terminal: e.TerminalID, batch: e.Batch, trace: e.Trace, rrn: e.RRN,
		auth: e.AuthCode, typ: string(e.Type), at: e.At, amount: e.Amount, fee: h.fee(e.Type, e.Amount),
		pan: e.MaskedPAN, result: e.Result(), status: status}
	if ed, ok := h.files.edits[keyOf(e.TerminalID, e.MerchantID, e.Batch, e.Trace)]; ok {
		if ed.Amount != nil {
			l.amount = *ed.Amount
			l.fee = h.fee(e.Type, l.amount)
		}
		if ed.Fee != nil {
			l.fee = *ed.Fee
		}
	}
	h.addLine(day, l)
}

func (h *Host) addLine(day string, l fileLine) {
	if h.files.listed == nil {
		h.files.listed = map[string][]fileLine{}
	}
	h.files.listed[day] = append(h.files.listed[day], l)
}

// listBatch lists a batch the terminal has just closed on today's file:
// its entries in the books not listed yet (those the host's day cut
// settled are on an earlier day's), and the uploaded transactions the
// host never booked, which it settled on the terminal's detail. Called
// with h.mu held.
func (h *Host) listBatch(st *batchState) {
	now := h.opts.Now()
	day := now.Format("20060102")
	status := StatusBalanced
	if st.flag != bank.SettleBalanced {
		status = StatusUploaded
	}
	for i := range h.ledger {
		e := &h.ledger[i]
		if e.TerminalID == st.terminal && e.MerchantID == st.merchant && e.Batch == st.batch && e.counted() && e.ListedOn == "" {
			h.list(i, day, status)
		}
	}
	for _, trace := range st.unknown {
		x := st.uploads[trace]
		t := TxnType(x.Kind)
		h.addLine(day, fileLine{merchant: st.merchant, terminal: st.terminal, batch: st.batch, trace: trace, rrn: x.RRN,
			auth: x.AuthCode, typ: x.Kind, at: now, amount: x.Amount, fee: h.fee(t, x.Amount), result: "approved", status: status})
	}
}

// cutDay is the host's day cut of day: every entry in the books that no
// file lists yet, in a batch the terminal has not closed, is settled on
// the host's books and listed; then day's file is frozen. It returns the
// file. Called with h.mu held.
func (h *Host) cutDay(day time.Time) []byte {
	d := day.Format("20060102")
	for i := range h.ledger {
		e := &h.ledger[i]
		if e.counted() && e.ListedOn == "" && !h.closedBatch(e.TerminalID, e.MerchantID, e.Batch) {
			h.list(i, d, StatusHostCut)
		}
	}
	data := renderFile(d, h.files.listed[d])
	if h.files.frozen == nil {
		h.files.frozen = map[string][]byte{}
	}
	h.files.frozen[d] = data
	delete(h.files.listed, d)
	return data
}

// SettlementFileData returns day's settlement file, true once the host
// has closed that day (its clock is past it); false before.
func (h *Host) SettlementFileData(day time.Time) ([]byte, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closeDay()
	y, m, dd := day.Date()
	if !time.Date(y, m, dd, 0, 0, 0, 0, h.day.Location()).Before(h.day) {
		return nil, false
	}
	d := day.Format("20060102")
	if data, ok := h.files.frozen[d]; ok {
		return data, true
	}
	return renderFile(d, nil), true // a day the host saw no traffic
}

// WriteSettlement writes day's settlement file to SettlementDir (0600)
// and returns its path: the file as produced once the day is closed;
// before that, what it lists so far (the batches closed that day, not yet
// those the day cut will settle). The file is written whole or not at all.
func (h *Host) WriteSettlement(day time.Time) (string, error) {
	data, ok := h.SettlementFileData(day)
	if !ok {
		h.mu.Lock()
		d := day.Format("20060102")
		data = renderFile(d, h.files.listed[d])
		h.mu.Unlock()
	}
	dir := h.opts.SettlementDir
	if dir == "" {
		dir = "." // not os.TempDir: the rename must stay on one file system
	}
	return writeFile(dir, SettlementFile(day), data)
}

// renderFile is day's (YYYYMMDD) file: the header, then the lines by
// merchant, terminal, batch and trace.
func renderFile(day string, lines []fileLine) []byte {
	lines = slices.Clone(lines)
	slices.SortStableFunc(lines, func(a, b fileLine) int {
		return cmp.Or(cmp.Compare(a.merchant, b.merchant), cmp.Compare(a.terminal, b.terminal),
			cmp.Compare(a.batch, b.batch), cmp.Compare(a.trace, b.trace))
	})
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(FileHeader)
	for _, l := range lines {
		net := l.amount - l.fee
		if l.typ != string(Sale) {
			net = -l.amount - l.fee
		}
		_ = w.Write([]string{day, l.merchant, l.terminal, l.batch, l.trace, l.rrn, l.auth, l.typ,
			l.at.In(CST).Format("2006-01-02 15:04:05"), money.Fen(l.amount).String(), money.Fen(l.fee).String(),
			money.Fen(net).String(), l.pan, l.result, l.status})
	}
	w.Flush() // a bytes.Buffer does not fail
	return buf.Bytes()
}

// writeFile writes data to dir/name through a temporary file (0600), so
// that a reader never sees half a file.
func writeFile(dir, name string, data []byte) (string, error) {
	path := filepath.Join(dir, name)
	tmp, err := os.CreateTemp(dir, ".settlement-*")
	if err != nil {
		return "", fmt.Errorf("acquirer: settlement file: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return "", fmt.Errorf("acquirer: settlement file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("acquirer: settlement file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("acquirer: settlement file: %w", err)
	}
	return path, nil
}

// parseFileName reads the day out of settlement-YYYYMMDD.csv.
func parseFileName(name string) (time.Time, bool) {
	ds, ok := strings.CutPrefix(name, "settlement-")
	ds, ok2 := strings.CutSuffix(ds, ".csv")
	if !ok || !ok2 || !validDigits(ds, 8) {
		return time.Time{}, false
	}
	t, err := time.ParseInLocation("20060102", ds, CST)
	return t, err == nil
}
