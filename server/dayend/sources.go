package dayend

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/multipos/multipos/server/connector/alipay"
	"github.com/multipos/multipos/server/connector/bank"
	"github.com/multipos/multipos/server/connector/wechat"
	"github.com/multipos/multipos/server/reconcile"
)

// ErrNotReady is what a BillSource's Fetch wraps when the channel has not
// cut the day's bill yet: the run waits and tries again.
var ErrNotReady = errors.New("the channel's bill of that day is not ready yet")

// BillSource is one channel's bills: fetched as the channel serves them,
// read into lines. Each channel plugs in with one.
type BillSource interface {
	Channel() reconcile.Channel
	// Fetch returns a business day's bill, as received (to be kept for
	// disputes); an error wrapping ErrNotReady when it is not cut yet.
	Fetch(ctx context.Context, day time.Time) ([]byte, error)
	// Parse reads a bill as Fetch returns it (or as downloaded by hand).
	Parse(raw []byte) ([]reconcile.Line, error)
	// Recognise says whether raw looks like this channel's bill, for a
	// bill imported without its channel named.
	Recognise(raw []byte) bool
	// Ext is the file name extension raw is kept under (".csv.zip").
	Ext(raw []byte) string
}

// AlipayBills is Alipay's trade bill (业务明细, a GBK .csv.zip), through
// the connector's bill download.
type AlipayBills struct{ Conn *alipay.Connector }

func (AlipayBills) Channel() reconcile.Channel { return reconcile.Alipay }
func (AlipayBills) Ext([]byte) string          { return ".csv.zip" }

func (a AlipayBills) Fetch(ctx context.Context, day time.Time) ([]byte, error) {
	if a.Conn == nil {
		return nil, errors.New("alipay: no [alipay] section in the configuration to fetch bills with; import the bill instead (-bill FILE)")
	}
	raw, err := a.Conn.DownloadBill(ctx, day)
	if errors.Is(err, alipay.ErrBillNotReady) {
		// Alipay cuts a day's bill some hours after it ends.
		return nil, fmt.Errorf("%w: %w", ErrNotReady, err)
	}
	return raw, err
}

func (AlipayBills) Parse(raw []byte) ([]reconcile.Line, error) { return reconcile.AlipayBill(raw) }

// Recognise: a zip (its file names are GBK); of the channels' bills only
// Alipay's is one.
func (AlipayBills) Recognise(raw []byte) bool {
	return bytes.HasPrefix(raw, []byte("PK\x03\x04"))
}

// WeChatBills is WeChat Pay's trade bill (bill_type ALL): gzip as
// fetched, or the plain CSV the merchant portal saves.
type WeChatBills struct{ Conn *wechat.Connector }

func (WeChatBills) Channel() reconcile.Channel { return reconcile.WeChat }

func (WeChatBills) Ext(raw []byte) string {
	if isGzip(raw) {
		return ".csv.gz"
	}
	return ".csv"
}

func (w WeChatBills) Fetch(ctx context.Context, day time.Time) ([]byte, error) {
	if w.Conn == nil {
		return nil, errors.New("wechat: no [wechat] section in the configuration to fetch bills with; import the bill instead (-bill FILE)")
	}
	raw, err := w.Conn.DownloadTradeBill(ctx, day)
	switch {
	case errors.Is(err, wechat.ErrBillNotReady):
		return nil, fmt.Errorf("%w: %w", ErrNotReady, err)
	case errors.Is(err, wechat.ErrNoStatement):
		// No trades that day: an empty bill, against which every payment
		// the journal has that day is missing.
		return []byte{}, nil
	}
	return raw, err
}

func (WeChatBills) Parse(raw []byte) ([]reconcile.Line, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	rows, _, err := wechat.ParseTradeBill(raw)
	if err != nil {
		return nil, err
	}
	return reconcile.FromWeChat(rows), nil
}

// Recognise: gzip (only WeChat Pay's bill is), or the CSV that starts
// with its header's first column.
func (WeChatBills) Recognise(raw []byte) bool {
	raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
	return isGzip(raw) || bytes.HasPrefix(raw, []byte("交易时间"))
}

func isGzip(raw []byte) bool { return bytes.HasPrefix(raw, []byte{0x1f, 0x8b}) }

// CardBills is the acquirer's daily settlement file (对账文件), from
// where [bank] settlement_files says (a folder the acquirer drops it in,
// or an https URL), or imported by hand.
type CardBills struct {
	Source string       // settlement_files: a path or URL with {date}; "" = import only
	Client *http.Client // for an URL; nil = http.DefaultClient
}

func (CardBills) Channel() reconcile.Channel { return reconcile.Card }
func (CardBills) Ext([]byte) string          { return ".csv" }

func (c CardBills) Fetch(ctx context.Context, day time.Time) ([]byte, error) {
	if c.Source == "" {
		return nil, errors.New("card: no [bank] settlement_files in the configuration to fetch the acquirer's file from; import it instead (-bill FILE)")
	}
	client := c.Client
	if client == nil {
		client = http.DefaultClient
	}
	raw, err := bank.FetchSettlementFile(ctx, client, c.Source, day)
	if errors.Is(err, bank.ErrSettlementFileNotReady) {
		return nil, fmt.Errorf("%w: %w", ErrNotReady, err)
	}
	return raw, err
}

func (CardBills) Parse(raw []byte) ([]reconcile.Line, error) {
	rows, err := bank.ParseSettlementFile(raw)
	if err != nil {
		return nil, err
	}
	return reconcile.FromSettlementFile(rows), nil
}

// Recognise: neither wallet's, and a settlement file's header is found.
func (c CardBills) Recognise(raw []byte) bool {
	if (AlipayBills{}).Recognise(raw) || (WeChatBills{}).Recognise(raw) {
		return false
	}
	_, err := bank.ParseSettlementFile(raw)
	return err == nil
}
