package alipay

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	sdk "github.com/smartwalle/alipay/v3"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/multipos/multipos/money"
)

// maxBill bounds a downloaded bill (zipped) and each file in it (unzipped).
const maxBill = 256 << 20

// BillDownloadURL asks Alipay where to fetch the trade bill (bill_type
// trade, the 当面付 业务明细) of a past day, in GMT+8. The link works for
// 30 seconds: fetch it at once (DownloadBill does both).
func (c *Connector) BillDownloadURL(ctx context.Context, day time.Time) (string, error) {
	date := day.In(cst).Format("2006-01-02")
	rsp, err := c.client.BillDownloadURLQuery(ctx, sdk.BillDownloadURLQuery{BillType: "trade", BillDate: date})
	if err != nil {
		return "", c.sdkErr(methodBill, date, err)
	}
	if err := c.check(methodBill, date, rsp.Error); err != nil {
		return "", err
	}
	if rsp.BillDownloadURL == "" {
		return "", fmt.Errorf("alipay bill %s: answer without bill_download_url", date)
	}
	return rsp.BillDownloadURL, nil
}

// DownloadBill fetches a past day's trade bill: the .csv.zip as Alipay
// serves it, to keep as it is and read with ParseBill.
func (c *Connector) DownloadBill(ctx context.Context, day time.Time) ([]byte, error) {
	link, err := c.BillDownloadURL(ctx, day)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
	if err != nil {
		return nil, fmt.Errorf("alipay bill download: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("alipay bill download: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBill+1))
	if err != nil {
		return nil, fmt.Errorf("alipay bill download: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("alipay bill download: %s: %s", resp.Status, gbkText(body[:min(len(body), 200)]))
	}
	if len(body) > maxBill {
		return nil, fmt.Errorf("alipay bill download: more than %d bytes", maxBill)
	}
	if !bytes.HasPrefix(body, []byte("PK")) {
		return nil, fmt.Errorf("alipay bill download: not a zip: %q", gbkText(body[:min(len(body), 200)]))
	}
	return body, nil
}

// BillRow is one line of the 业务明细: a payment or a refund.
type BillRow struct {
	TradeNo      string // 支付宝交易号
	OutTradeNo   string // 商户订单号
	Refund       bool   // 业务类型 退款 (else 交易)
	Subject      string
	Created      time.Time
	Finished     time.Time
	StoreID      string
	OperatorID   string
	TerminalID   string
	Buyer        string // 对方账户, masked
	Amount       int64  // fen, 订单金额; negative for a refund
	Received     int64  // fen, 商家实收; negative for a refund
	Fee          int64  // fen, 服务费 (negative: charged)
	OutRequestNo string // 退款批次号/请求号, for a refund
	Remark       string
}

// ParseBill reads the 业务明细 file of a trade bill zip: GBK text, with #
// comment lines around a 25-column header and rows whose fields may end in
// a tab. Amounts are parsed exactly into fen.
func ParseBill(zipData []byte) ([]BillRow, error) {
	zr, err := zip.NewReader(bytes.NewReader(zipData), int64(len(zipData)))
	if err != nil {
		return nil, fmt.Errorf("alipay bill: %w", err)
	}
	for _, f := range zr.File {
		name := f.Name
		if !utf8.ValidString(name) || f.NonUTF8 {
			name = gbkText([]byte(name))
		}
		if strings.HasSuffix(name, "业务明细.csv") {
			rc, err := f.Open()
			if err != nil {
				return nil, fmt.Errorf("alipay bill %s: %w", name, err)
			}
			raw, err := io.ReadAll(io.LimitReader(rc, maxBill))
			rc.Close()
			if err != nil {
				return nil, fmt.Errorf("alipay bill %s: %w", name, err)
			}
			rows, err := parseDetail(gbkText(raw))
			if err != nil {
				return nil, fmt.Errorf("alipay bill %s: %w", name, err)
			}
			return rows, nil
		}
	}
	return nil, errors.New("alipay bill: no 业务明细.csv in the zip")
}

func gbkText(b []byte) string {
	s, err := simplifiedchinese.GBK.NewDecoder().Bytes(b)
	if err != nil {
		return string(b)
	}
	return string(s)
}

func parseDetail(text string) ([]BillRow, error) {
	cr := csv.NewReader(strings.NewReader(text))
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if len(header) < 25 || strings.TrimSpace(header[0]) != "支付宝交易号" || strings.TrimSpace(header[11]) != "订单金额（元）" {
		return nil, fmt.Errorf("unexpected header %q", strings.Join(header, ","))
	}
	var rows []BillRow
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		if len(rec) < 25 {
			return nil, fmt.Errorf("line %d: %d fields, want 25", line, len(rec))
		}
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i]) // also the tab after IDs
		}
		row := BillRow{TradeNo: rec[0], OutTradeNo: rec[1], Subject: rec[3], StoreID: rec[6], OperatorID: rec[8],
			TerminalID: rec[9], Buyer: rec[10], OutRequestNo: rec[21], Remark: rec[24]}
		switch rec[2] {
		case "交易":
		case "退款":
			row.Refund = true
		default:
			return nil, fmt.Errorf("line %d: 业务类型 %q", line, rec[2])
		}
		row.Created = parseTime(rec[4])
		row.Finished = parseTime(rec[5])
		for _, a := range []struct {
			col int
			to  *int64
		}{{11, &row.Amount}, {12, &row.Received}, {22, &row.Fee}} {
			if *a.to, err = signedFen(rec[a.col]); err != nil {
				return nil, fmt.Errorf("line %d: %s: %w", line, header[a.col], err)
			}
		}
		rows = append(rows, row)
	}
}

// signedFen parses "-12.34" too: bills carry refunds and fees negative.
func signedFen(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	neg := strings.HasPrefix(s, "-")
	f, err := money.Parse(strings.TrimPrefix(s, "-"))
	if err != nil {
		return 0, err
	}
	if neg {
		return -int64(f), nil
	}
	return int64(f), nil
}
