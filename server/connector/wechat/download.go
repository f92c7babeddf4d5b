package wechat

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/go-pay/gopay"
	gopaywx "github.com/go-pay/gopay/wechat/v3"
	"github.com/wechatpay-apiv3/wechatpay-go/core/consts"
)

// ErrBillNotReady is returned for a day whose bill WeChat Pay is still
// cutting (STATEMENT_CREATING: today, or yesterday before about 10:00
// Beijing time): ask again later (WeChat Pay says every 30 minutes or so).
var ErrBillNotReady = errors.New("bill not ready yet")

// ErrBillDamaged is returned when a downloaded bill does not match the
// SHA1 of the signed tradebill answer: download it again.
var ErrBillDamaged = errors.New("bill file damaged")

// maxBillMB bounds a downloaded bill (gopay reads the whole answer).
const maxBillMB = 256

// newGopay builds the gopay client the bill download goes through: gopay
// has the tradebill and billdownload calls that wechatpay-go lacks. Same
// keys, same endpoint override (SetProxyHost), answers verified with the
// WeChat Pay public key.
func newGopay(cfg Config) (*gopaywx.ClientV3, error) {
	gp, err := gopaywx.NewClientV3(cfg.MchID, cfg.MerchantSerial, cfg.APIv3Key, string(cfg.MerchantPrivateKeyPEM))
	if err != nil {
		return nil, fmt.Errorf("wechat: gopay client: %w", err)
	}
	if err := gp.AutoVerifySignByPublicKey(cfg.WechatPayPublicKeyPEM, cfg.PublicKeyID); err != nil {
		return nil, fmt.Errorf("wechat: gopay client: %w", err)
	}
	if cfg.Endpoint != "" && cfg.Endpoint != consts.WechatPayAPIServer {
		gp.SetProxyHost(cfg.Endpoint)
	}
	gp.GetHttpClient().SetTimeout(cfg.Timeout).SetBodySize(maxBillMB)
	return gp, nil
}

// DownloadTradeBill fetches a past day's trade bill (bill_type ALL,
// GZIP) through gopay's V3BillTradeBill and V3BillDownLoadBill, and
// returns the file as downloaded (gzip) once its SHA1, which WeChat Pay
// gives of the uncompressed bill, matches. Read it with ParseTradeBill.
// Errors: ErrBillNotReady (ask later), ErrNoStatement (no trades that
// day: an empty bill), ErrBillDamaged (download again), *APIError.
func (c *Connector) DownloadTradeBill(ctx context.Context, day time.Time) ([]byte, error) {
	date := day.In(cst).Format("2006-01-02")
	bm := make(gopay.BodyMap).Set("bill_date", date).Set("bill_type", "ALL").Set("tar_type", "GZIP")
	rsp, err := c.gp.V3BillTradeBill(ctx, bm)
	if err != nil {
		return nil, fmt.Errorf("wechat trade bill %s: %w", date, err)
	}
	if rsp.Code != gopaywx.Success {
		return nil, billRefused(date, rsp)
	}
	meta := rsp.Response
	if meta == nil || meta.HashType != "SHA1" || meta.DownloadUrl == "" {
		return nil, fmt.Errorf("wechat trade bill %s: unexpected answer %+v", date, meta)
	}
	// The download's answer is not signed: the SHA1 from the signed
	// answer above vouches for the file instead.
	data, err := c.gp.V3BillDownLoadBill(ctx, meta.DownloadUrl)
	if err != nil {
		return nil, fmt.Errorf("wechat trade bill %s: download: %w", date, err)
	}
	plain, err := gunzipBill(data)
	if err != nil {
		return nil, fmt.Errorf("wechat trade bill %s: %w", date, err)
	}
	sum := sha1.Sum(plain)
	if got := hex.EncodeToString(sum[:]); !strings.EqualFold(got, meta.HashValue) {
		return nil, fmt.Errorf("wechat trade bill %s: SHA1 %s, WeChat Pay says %s: %w", date, got, meta.HashValue, ErrBillDamaged)
	}
	c.log.InfoContext(ctx, "trade bill downloaded", "date", date, "bytes", len(data))
	return data, nil
}

// billRefused turns a tradebill refusal into the connector's errors.
func billRefused(date string, rsp *gopaywx.BillRsp) error {
	e := &APIError{Status: rsp.Code, Code: rsp.ErrResponse.Code, Message: rsp.ErrResponse.Message}
	switch e.Code {
	case "STATEMENT_CREATING":
		return fmt.Errorf("wechat trade bill %s: %w (%w)", date, ErrBillNotReady, e)
	case "NO_STATEMENT_EXIST":
		return fmt.Errorf("wechat trade bill %s: %w (%w)", date, ErrNoStatement, e)
	}
	if e.Code == "" {
		e.Message = strings.TrimSpace(rsp.Error)
	}
	return fmt.Errorf("wechat trade bill %s: %w", date, e)
}

// gunzipBill returns a bill uncompressed: data itself unless it is gzip.
func gunzipBill(data []byte) ([]byte, error) {
	if len(data) < 2 || data[0] != 0x1f || data[1] != 0x8b {
		return data, nil
	}
	z, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("gunzip: %w", err)
	}
	plain, err := io.ReadAll(io.LimitReader(z, maxBillMB<<20+1))
	if err != nil {
		return nil, fmt.Errorf("gunzip: %w", err)
	}
	if len(plain) > maxBillMB<<20 {
		return nil, fmt.Errorf("gunzip: more than %d MB", maxBillMB)
	}
	return plain, nil
}
