package wechat

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// BillRow is one detail line of a trade bill: a payment (State SUCCESS) or
// a refund or revocation (State REFUND, REVOKED).
type BillRow struct {
	Time        time.Time // 交易时间: when paid, or when the refund was accepted
	AppID       string
	MchID       string
	DeviceID    string // 设备号
	TxnID       string // 微信订单号
	OutTradeNo  string // 商户订单号
	TradeType   string // MICROPAY, NATIVE…
	State       string // 交易状态: SUCCESS, REFUND, REVOKED
	Settlement  int64  // fen, 应结订单金额 (older bills: 总金额)
	Total       int64  // fen, 订单金额 (older bills: 总金额)
	RefundID    string // 微信退款单号
	OutRefundNo string // 商户退款单号
	Refund      int64  // fen, 退款金额
	RefundState string // 退款状态, as of when the bill was cut
	Subject     string // 商品名称
	Attach      string // 商户数据包
	// Fee is 手续费 in units of 0.00001 yuan, the bill's precision, so that
	// fees stay exact: positive on a payment, negative (given back) on a refund.
	Fee int64
}

// BillSummary is the trade bill's summary line.
type BillSummary struct {
	Count      int   // 总交易单数
	Settlement int64 // fen, 应结订单总金额 (older bills: 总交易额)
	Refunds    int64 // fen, 退款总金额
	Fees       int64 // 0.00001 yuan, 手续费总金额
}

// Trade bill column names; the older layout (before 免充值券) says 总金额
// and 总交易额 where the current one has 应结订单金额 and 订单金额.
const (
	colTime, colState, colTxn, colOut = "交易时间", "交易状态", "微信订单号", "商户订单号"
	colSettle, colTotal, colOldTotal  = "应结订单金额", "订单金额", "总金额"
)

// ParseTradeBill reads a trade bill: gzip as DownloadTradeBill returns it,
// or plain as TradeBill returns it or the merchant portal saves it (UTF-8, values
// prefixed with a backtick, the detail then a summary). Columns are found
// by their header names, never by position: WeChat Pay has served several
// layouts (27 columns for ALL today, 24 in the older format), and bills
// downloaded from the merchant portal may carry a byte-order mark or
// trailing tabs and commas.
func ParseTradeBill(data []byte) ([]BillRow, BillSummary, error) {
	data, err := gunzipBill(data)
	if err != nil {
		return nil, BillSummary{}, fmt.Errorf("wechat bill: %w", err)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var (
		rows    = make([]BillRow, 0, bytes.Count(data, []byte{'\n'}))
		sum     BillSummary
		cols    *detailCols
		summary colMap
		line    int
		fields  []string // reused: the values are substrings of the line
	)
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r\t ,")
		if strings.TrimSpace(text) == "" {
			continue
		}
		fields = splitBill(fields[:0], text)
		switch {
		case cols == nil:
			if cols = resolve(header(fields)); cols[dTime] < 0 || cols[dOut] < 0 || cols[dState] < 0 {
				return nil, sum, fmt.Errorf("wechat bill line %d: not a trade bill header: %q", line, text)
			}
		case summary != nil:
			if err := readSummary(&sum, summary, fields); err != nil {
				return nil, sum, fmt.Errorf("wechat bill line %d: %w", line, err)
			}
		case !strings.HasPrefix(fields[0], "`") && strings.HasPrefix(fields[0], "总"):
			summary = header(fields)
		default:
			row, err := readRow(cols, fields)
			if err != nil {
				return nil, sum, fmt.Errorf("wechat bill line %d: %w", line, err)
			}
			rows = append(rows, row)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, sum, fmt.Errorf("wechat bill: %w", err)
	}
	if cols == nil {
		return nil, sum, fmt.Errorf("wechat bill: no header")
	}
	return rows, sum, nil
}

// splitBill splits a line on commas into fields: the bill quotes nothing
// (the backtick is its guard), so encoding/csv would choke on a stray quote.
func splitBill(fields []string, text string) []string {
	for {
		f, rest, more := strings.Cut(text, ",")
		fields = append(fields, strings.TrimSpace(f))
		if !more {
			return fields
		}
		text = rest
	}
}

// header maps column names to their positions; a missing name reads -1.
type colMap map[string]int

func header(fields []string) colMap {
	m := colMap{}
	for i, f := range fields {
		m[strings.TrimSpace(f)] = i
	}
	return m
}

func (m colMap) idx(names ...string) int {
	for _, n := range names {
		if i, ok := m[n]; ok {
			return i
		}
	}
	return -1
}

// value is the field named by one of names, without its backtick, or "".
func value(m colMap, fields []string, names ...string) string {
	i := m.idx(names...)
	if i < 0 || i >= len(fields) {
		return ""
	}
	return strings.TrimSpace(strings.TrimPrefix(fields[i], "`"))
}

// The detail columns ParseTradeBill reads, found once per bill from the
// header; each with the names it has gone by, newest first.
const (
	dTime = iota
	dApp
	dMch
	dDev
	dTxn
	dOut
	dType
	dState
	dSettle
	dTotal
	dRefundID
	dOutRefund
	dRefund
	dRefundState
	dSubject
	dAttach
	dFee
	nDetail
)

var detailNames = [nDetail][]string{
	{colTime}, {"公众账号ID"}, {"商户号"}, {"设备号"}, {colTxn}, {colOut}, {"交易类型"}, {colState},
	{colSettle, colOldTotal}, {colTotal, colOldTotal}, {"微信退款单号"}, {"商户退款单号"}, {"退款金额"}, {"退款状态"},
	{"商品名称"}, {"商户数据包"}, {"手续费"},
}

// detailCols holds each detail column's position, -1 when the bill lacks it.
type detailCols [nDetail]int

func resolve(m colMap) *detailCols {
	var d detailCols
	for i, names := range detailNames {
		d[i] = m.idx(names...)
	}
	return &d
}

// get is column c of a row, without its backtick; "" when missing.
func (d *detailCols) get(f []string, c int) string {
	i := d[c]
	if i < 0 || i >= len(f) {
		return ""
	}
	return strings.TrimSpace(strings.TrimPrefix(f[i], "`"))
}

func readRow(d *detailCols, f []string) (BillRow, error) {
	v := func(c int) string { return d.get(f, c) }
	r := BillRow{AppID: v(dApp), MchID: v(dMch), DeviceID: v(dDev), TxnID: v(dTxn), OutTradeNo: v(dOut),
		TradeType: v(dType), State: v(dState), RefundID: v(dRefundID), OutRefundNo: v(dOutRefund),
		RefundState: v(dRefundState), Subject: v(dSubject), Attach: v(dAttach)}
	if r.OutTradeNo == "" && r.TxnID == "" {
		return r, fmt.Errorf("row without 商户订单号 or 微信订单号")
	}
	// A payment row says 0 where a refund number would be.
	if r.RefundID == "0" {
		r.RefundID = ""
	}
	if r.OutRefundNo == "0" {
		r.OutRefundNo = ""
	}
	t, err := time.ParseInLocation("2006-01-02 15:04:05", v(dTime), cst)
	if err != nil {
		return r, fmt.Errorf("交易时间: %w", err)
	}
	r.Time = t
	for _, a := range [...]struct {
		to  *int64
		col int
	}{{&r.Settlement, dSettle}, {&r.Total, dTotal}, {&r.Refund, dRefund}} {
		if *a.to, err = decimal(v(a.col), 2); err != nil {
			return r, fmt.Errorf("%s: %w", detailNames[a.col][0], err)
		}
	}
	if r.Fee, err = decimal(v(dFee), 5); err != nil {
		return r, fmt.Errorf("手续费: %w", err)
	}
	if d[dTotal] < 0 {
		r.Total = r.Settlement
	}
	return r, nil
}

func readSummary(sum *BillSummary, m colMap, f []string) error {
	v := func(names ...string) string { return value(m, f, names...) }
	n, err := strconv.Atoi(v("总交易单数"))
	if err != nil {
		return fmt.Errorf("总交易单数: %w", err)
	}
	sum.Count = n
	if sum.Settlement, err = decimal(v("应结订单总金额", "总交易额"), 2); err != nil {
		return fmt.Errorf("应结订单总金额: %w", err)
	}
	if sum.Refunds, err = decimal(v("退款总金额", "总退款金额"), 2); err != nil {
		return fmt.Errorf("退款总金额: %w", err)
	}
	if sum.Fees, err = decimal(v("手续费总金额"), 5); err != nil {
		return fmt.Errorf("手续费总金额: %w", err)
	}
	return nil
}

// decimal parses "-12.34" exactly into units of 10^-places yuan; "" is 0.
// More decimals than places are refused rather than rounded.
func decimal(s string, places int) (int64, error) {
	if s == "" {
		return 0, nil
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(frac) > places || strings.ContainsAny(whole+frac, "+-") {
		return 0, fmt.Errorf("amount %q", s)
	}
	frac += strings.Repeat("0", places-len(frac))
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil || len(whole) > 12 {
		return 0, fmt.Errorf("amount %q", s)
	}
	if neg {
		n = -n
	}
	return n, nil
}
