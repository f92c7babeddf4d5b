package alipay

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// ParseBill reads the 业务明细 of a trade bill: the .csv.zip as
// DownloadBill returns it, or the detail CSV alone, as a clerk saves it
// from the merchant portal. Lenient where real files differ: GBK or UTF-8
// (with or without a byte-order mark), # comment lines around the header,
// cells ending in a tab, columns found by their header names so that
// older layouts (without 门店编号, 终端号 …) and reordered ones read too.
// Amounts are parsed exactly into fen.
//
// The usual file is read by parseBillFast, streaming; anything it is unsure
// of is read again by parseBillSlow, the reference.
func ParseBill(data []byte) ([]BillRow, error) {
	var rows rowSlice
	if err := ParseBillTo(data, &rows); err != nil {
		return nil, err
	}
	return rows, nil
}

// BillRows takes the rows of a bill as ParseBillTo reads them, for a
// caller that turns them into something of its own without a million
// BillRows in between.
type BillRows interface {
	// Reset begins the rows again: drop any given before; about n follow
	// (0: not known).
	Reset(n int)
	// Add is the next row; r is the parser's, not to be kept.
	Add(r *BillRow)
}

// ParseBillTo reads a bill as ParseBill does, handing its rows to to. On
// an error, what to was given is not the bill's.
func ParseBillTo(data []byte, to BillRows) error {
	if parseBillFastTo(data, to) {
		return nil
	}
	rows, err := parseBillSlow(data)
	if err != nil {
		return err
	}
	to.Reset(len(rows))
	for i := range rows {
		to.Add(&rows[i])
	}
	return nil
}

// rowSlice is BillRows keeping them all.
type rowSlice []BillRow

func (s *rowSlice) Reset(n int) { *s = make([]BillRow, 0, n) }

func (s *rowSlice) Add(r *BillRow) { *s = append(*s, *r) }

// parseBillSlow reads the whole file, decodes it whole and reads it with
// encoding/csv: simple, the reference parseBillFast is held to.
func parseBillSlow(data []byte) ([]BillRow, error) {
	if !bytes.HasPrefix(data, []byte("PK")) {
		rows, err := parseDetail(billText(data))
		if err != nil {
			return nil, fmt.Errorf("alipay bill: %w", err)
		}
		return rows, nil
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("alipay bill: %w", err)
	}
	if f, name := detailEntry(zr); f != nil {
		raw, err := readZipped(f)
		if err != nil {
			return nil, fmt.Errorf("alipay bill %s: %w", name, err)
		}
		rows, err := parseDetail(billText(raw))
		if err != nil {
			return nil, fmt.Errorf("alipay bill %s: %w", name, err)
		}
		return rows, nil
	}
	return nil, errors.New("alipay bill: no 业务明细.csv in the zip")
}

// detailEntry is the zip's 业务明细.csv (not the 业务明细(汇总).csv beside
// it), with its name decoded; nil if none.
func detailEntry(zr *zip.Reader) (*zip.File, string) {
	for _, f := range zr.File {
		name := f.Name
		if f.NonUTF8 || !utf8.ValidString(name) {
			name = gbkText([]byte(name))
		}
		if strings.HasSuffix(name, "业务明细.csv") {
			return f, name
		}
	}
	return nil, ""
}

func readZipped(f *zip.File) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	raw, err := io.ReadAll(io.LimitReader(rc, maxBill+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > maxBill {
		return nil, fmt.Errorf("more than %d bytes", maxBill)
	}
	return raw, nil
}

// billText decodes a bill file: UTF-8 when it has a byte-order mark or is
// valid UTF-8 (a file saved again by a spreadsheet), GBK otherwise (as
// Alipay serves it).
func billText(b []byte) string {
	if rest, found := bytes.CutPrefix(b, []byte("\xef\xbb\xbf")); found {
		return string(rest)
	}
	if utf8.Valid(b) {
		return string(b)
	}
	return gbkText(b)
}

func gbkText(b []byte) string {
	s, err := simplifiedchinese.GBK.NewDecoder().Bytes(b)
	if err != nil {
		return string(b)
	}
	return string(s)
}

// The detail columns ParseBill reads, each with the names it has gone by.
const (
	aTradeNo = iota
	aOutTradeNo
	aKind
	aSubject
	aCreated
	aFinished
	aStore
	aOperator
	aTerminal
	aBuyer
	aAmount
	aReceived
	aRequestNo
	aFee
	aRemark
	nAlipayCols
)

var alipayCols = [nAlipayCols][]string{
	{"支付宝交易号"}, {"商户订单号"}, {"业务类型"}, {"商品名称"}, {"创建时间"}, {"完成时间"}, {"门店编号"},
	{"操作员"}, {"终端号"}, {"对方账户"}, {"订单金额（元）", "订单金额"}, {"商家实收（元）", "商家实收"},
	{"退款批次号/请求号", "退款批次号", "退款请求号"}, {"服务费（元）", "服务费"}, {"备注"},
}

// colName folds a header cell: half-width brackets and spaces vary
// between exports.
func colName(s string) string {
	s = strings.TrimSpace(strings.TrimPrefix(s, "\ufeff"))
	return strings.NewReplacer("(", "（", ")", "）", " ", "").Replace(s)
}

// billCols maps a header to column positions; false unless it is the
// 业务明细 header.
func billCols(header []string) ([nAlipayCols]int, bool) {
	at := map[string]int{}
	for i, h := range header {
		if _, dup := at[colName(h)]; !dup {
			at[colName(h)] = i
		}
	}
	var cols [nAlipayCols]int
	for c, names := range alipayCols {
		cols[c] = -1
		for _, n := range names {
			if i, found := at[n]; found {
				cols[c] = i
				break
			}
		}
	}
	ok := cols[aKind] >= 0 && cols[aAmount] >= 0 && (cols[aTradeNo] >= 0 || cols[aOutTradeNo] >= 0)
	return cols, ok
}

func parseDetail(text string) ([]BillRow, error) {
	cr := csv.NewReader(strings.NewReader(text))
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	var (
		cols  [nAlipayCols]int
		found bool
		rows  []BillRow
	)
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		if !found {
			if cols, found = billCols(rec); !found && line > 20 {
				return nil, errors.New("no 业务明细 header (支付宝交易号, 业务类型, 订单金额（元）…) in the first 20 lines")
			}
			continue
		}
		if blank(rec) {
			continue
		}
		row, err := billRow(cols, rec)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		rows = append(rows, row)
	}
	if !found {
		return nil, errors.New("no 业务明细 header (支付宝交易号, 业务类型, 订单金额（元）…)")
	}
	return rows, nil
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

func billRow(cols [nAlipayCols]int, rec []string) (BillRow, error) {
	v := func(c int) string {
		if i := cols[c]; i >= 0 && i < len(rec) {
			return strings.TrimSpace(rec[i]) // also the tab after IDs
		}
		return ""
	}
	row := BillRow{TradeNo: v(aTradeNo), OutTradeNo: v(aOutTradeNo), Subject: v(aSubject), StoreID: v(aStore),
		OperatorID: v(aOperator), TerminalID: v(aTerminal), Buyer: v(aBuyer), OutRequestNo: v(aRequestNo),
		Remark: v(aRemark), Created: parseTime(v(aCreated)), Finished: parseTime(v(aFinished))}
	if row.TradeNo == "" && row.OutTradeNo == "" {
		return row, errors.New("row without 支付宝交易号 or 商户订单号")
	}
	switch kind := v(aKind); kind {
	case "交易", "支付":
	case "退款":
		row.Refund = true
	default:
		return row, fmt.Errorf("业务类型 %q", kind)
	}
	var err error
	if row.Amount, err = signedFen(v(aAmount)); err != nil {
		return row, fmt.Errorf("订单金额: %w", err)
	}
	row.Received = row.Amount
	if cols[aReceived] >= 0 {
		if row.Received, err = signedFen(v(aReceived)); err != nil {
			return row, fmt.Errorf("商家实收: %w", err)
		}
	}
	if row.Fee, err = signedFen(v(aFee)); err != nil {
		return row, fmt.Errorf("服务费: %w", err)
	}
	return row, nil
}
