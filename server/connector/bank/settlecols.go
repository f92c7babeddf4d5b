package bank

import (
	"errors"
	"fmt"
	"strings"
)

// Columns of a settlement file, found by header name.
type settleCol int

const (
	colDate settleCol = iota
	colMerchant
	colTerminal
	colBatch
	colTrace
	colRRN
	colAuth
	colType
	colTime
	colAmount
	colFee
	colNet
	colCard
	colResult
	colStatus
	numCols
)

// settleNames are the header names each column goes by, normalised
// (normName): ours (sandbox/acquirer writes the first English one), other
// English spellings, and the Chinese ones acquirers' files use.
var settleNames = [numCols][]string{
	colDate:     {"settledate", "settlementdate", "clearingdate", "清算日期", "结算日期", "对账日期", "清算日"},
	colMerchant: {"merchant", "merchantid", "merchantno", "mid", "商户号", "商户编号", "商户代码"},
	colTerminal: {"terminal", "terminalid", "terminalno", "tid", "终端号", "终端编号", "终端代码"},
	colBatch:    {"batch", "batchno", "批次号", "批次"},
	colTrace:    {"trace", "traceno", "stan", "voucherno", "凭证号", "流水号", "终端流水号", "系统跟踪号", "凭证号/流水号"},
	colRRN:      {"rrn", "refno", "referenceno", "retrievalreferencenumber", "参考号", "检索参考号", "系统参考号", "交易参考号"},
	colAuth:     {"authcode", "auth", "authno", "approvalcode", "授权码", "授权号"},
	colType:     {"type", "txntype", "transtype", "transactiontype", "交易类型", "交易名称"},
	colTime:     {"txntime", "transtime", "time", "datetime", "transactiontime", "交易时间", "交易日期时间"},
	colAmount:   {"amount", "txnamount", "transamount", "transactionamount", "交易金额", "金额", "交易本金"},
	colFee:      {"fee", "mdr", "commission", "手续费", "商户手续费"},
	colNet:      {"net", "netamount", "settleamount", "settlementamount", "结算金额", "清算金额", "入账金额", "净额"},
	colCard:     {"cardno", "card", "pan", "maskedpan", "卡号", "交易卡号"},
	colResult:   {"result", "交易结果", "交易状态", "结果"},
	colStatus:   {"settlestatus", "settlementstatus", "batchstatus", "结算状态", "批结算状态", "清算状态"},
}

// settleCols is where each column is in a file (-1: absent), what the
// header calls it, and whether its amounts are fen.
type settleCols struct {
	sep   rune
	at    [numCols]int
	names [numCols]string
	fen   [numCols]bool
}

// normName reduces a header name to what settleNames lists: lower case,
// without spaces, underscores, dashes and a unit in brackets ("金额(元)",
// "amount (fen)").
func normName(s string) (name string, fen bool) {
	s = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(s, "\uFEFF")))
	for _, open := range []string{"(", "（", "["} {
		if i := strings.Index(s, open); i > 0 {
			unit := s[i:]
			fen = strings.Contains(unit, "分") || strings.Contains(unit, "fen")
			s = s[:i]
		}
	}
	s = strings.NewReplacer(" ", "", "_", "", "-", "", ".", "", "\t", "").Replace(s)
	if base, ok := strings.CutSuffix(s, "fen"); ok && base != "" {
		s, fen = base, true
	}
	return s, fen
}

func lookupCol(name string) (settleCol, bool) {
	for c := range numCols {
		for _, n := range settleNames[c] {
			if n == name {
				return c, true
			}
		}
	}
	return 0, false
}

// headerCols maps a candidate header line; ok when it names the required
// columns.
func headerCols(fields []string, sep rune) (settleCols, bool) {
	cols := settleCols{sep: sep}
	for i := range cols.at {
		cols.at[i] = -1
	}
	for i, f := range fields {
		parts := []string{f}
		if strings.ContainsAny(f, "/|") { // bilingual names: "终端号/terminal"
			parts = append(parts, strings.FieldsFunc(f, func(r rune) bool { return r == '/' || r == '|' })...)
		}
		for _, p := range parts {
			name, fen := normName(p)
			if c, ok := lookupCol(name); ok && cols.at[c] < 0 {
				cols.at[c], cols.names[c], cols.fen[c] = i, strings.TrimSpace(f), fen
				break
			}
		}
	}
	ok := cols.at[colTerminal] >= 0 && cols.at[colType] >= 0 && cols.at[colAmount] >= 0 &&
		(cols.at[colTrace] >= 0 || cols.at[colRRN] >= 0)
	return cols, ok
}

// findHeader finds the header among the first lines: titles and the
// merchant's name may come first.
func findHeader(lines []string) (int, settleCols, error) {
	for i := 0; i < len(lines) && i < 50; i++ {
		sep := ','
		if strings.Contains(lines[i], "\t") && !strings.Contains(lines[i], ",") {
			sep = '\t'
		}
		fields, err := splitLine(lines[i], sep)
		if err != nil || len(fields) == 0 {
			continue
		}
		if cols, ok := headerCols(fields, sep); ok {
			return i, cols, nil
		}
	}
	first := ""
	if len(lines) > 0 {
		first = lines[0][:min(len(lines[0]), 120)]
	}
	return 0, settleCols{}, fmt.Errorf("settlement file: no header line naming the terminal, trace (or RRN), type and amount columns (line 1: %q)", first)
}

func (c *settleCols) get(f []string, col settleCol) string {
	if i := c.at[col]; i >= 0 && i < len(f) {
		return f[i]
	}
	return ""
}

// colErr names the column as the header does.
func (c *settleCols) colErr(col settleCol, err error) error {
	return fmt.Errorf("column %d %q: %w", c.at[col]+1, c.names[col], err)
}

var errEmpty = errors.New("empty")

// row reads one transaction line.
func (c *settleCols) row(f []string) (SettleRow, error) {
	r := SettleRow{Merchant: c.get(f, colMerchant), Terminal: c.get(f, colTerminal), Batch: c.get(f, colBatch),
		Trace: c.get(f, colTrace), RRN: c.get(f, colRRN), AuthCode: c.get(f, colAuth), Result: c.get(f, colResult),
		Status: c.get(f, colStatus), MaskedPAN: c.get(f, colCard)}
	if r.Terminal == "" {
		return r, c.colErr(colTerminal, errEmpty)
	}
	if r.Trace == "" && r.RRN == "" {
		return r, c.colErr(colTrace, errors.New("empty, and no RRN either"))
	}
	if isDigits(r.MaskedPAN) && len(r.MaskedPAN) >= 13 {
		r.MaskedPAN = MaskPAN(r.MaskedPAN) // never keep a full card number
	}
	t, ok := txnType(c.get(f, colType))
	if !ok {
		return r, c.colErr(colType, fmt.Errorf("%q is not a sale, void or refund", c.get(f, colType)))
	}
	r.Type = t
	var err error
	if r.Amount, err = parseAmount(c.get(f, colAmount), c.fen[colAmount]); err != nil {
		return r, c.colErr(colAmount, err)
	}
	r.Amount = max(r.Amount, -r.Amount) // some files write refunds negative
	if s := c.get(f, colFee); s != "" {
		if r.Fee, err = parseAmount(s, c.fen[colFee]); err != nil {
			return r, c.colErr(colFee, err)
		}
	}
	r.Net = r.Amount - r.Fee
	if r.Type != "sale" {
		r.Net = -r.Amount - r.Fee
	}
	if s := c.get(f, colNet); s != "" {
		if r.Net, err = parseAmount(s, c.fen[colNet]); err != nil {
			return r, c.colErr(colNet, err)
		}
	}
	if s := c.get(f, colTime); s != "" {
		if r.At, err = parseTime(s); err != nil {
			return r, c.colErr(colTime, err)
		}
	}
	if s := c.get(f, colDate); s != "" {
		if r.SettleDate, err = parseDate(s); err != nil {
			return r, c.colErr(colDate, err)
		}
	}
	return r, nil
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}
