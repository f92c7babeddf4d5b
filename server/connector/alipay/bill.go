package alipay

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	sdk "github.com/smartwalle/alipay/v3"

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
		return "", billErr(err)
	}
	if rsp.BillDownloadURL == "" {
		return "", fmt.Errorf("alipay bill %s: answer without bill_download_url", date)
	}
	return rsp.BillDownloadURL, nil
}

// ErrBillNotReady is returned for a day whose bill Alipay does not serve
// yet: today or later (Alipay answers 参数不合法, isv.invalid-arguments;
// the 2016 docs spell it INVAILID_ARGUMENTS), the bill of day D being cut
// on D+1, usually before 09:00. Ask again later.
var ErrBillNotReady = errors.New("bill not ready yet")

// ErrNoBill is returned when Alipay has no bill for the day (BILL_NOT_EXIST,
// e.g. before 2016). A day without business is no error: its bill is
// empty (newer answers say bill_file_code EMPTY_DATA_WITH_BILL_FILE).
var ErrNoBill = errors.New("no bill for that day")

// billErr adds ErrBillNotReady or ErrNoBill to a refused bill query; the
// *APIError stays reachable with errors.As. Which sub_codes Alipay uses
// today is unconfirmed: both spellings are recognised.
func billErr(err error) error {
	var ae *APIError
	if !errors.As(err, &ae) {
		return err
	}
	switch sub := strings.ToLower(ae.SubCode); {
	case strings.Contains(sub, "invalid-arguments"), strings.Contains(sub, "invailid_arguments"), strings.Contains(sub, "invalid_arguments"):
		return fmt.Errorf("%w: %w", ErrBillNotReady, err)
	case strings.Contains(sub, "bill_not_exist"):
		return fmt.Errorf("%w: %w", ErrNoBill, err)
	}
	return err
}

// DownloadBill fetches a past day's trade bill: the .csv.zip as Alipay
// serves it, to keep as it is and read with ParseBill. Errors:
// ErrBillNotReady (ask again later), ErrNoBill, *APIError, and a plain
// error when the download fails or is not a whole zip (fetch again).
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
	if _, err := zip.NewReader(bytes.NewReader(body), int64(len(body))); err != nil {
		return nil, fmt.Errorf("alipay bill download: damaged zip (%d bytes): %w", len(body), err)
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
