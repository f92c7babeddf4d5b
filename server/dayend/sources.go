package dayend

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/multipos/multipos/server/connector/alipay"
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
	// Ext is the file name extension a bill is kept under (".csv.zip").
	Ext() string
}

// AlipayBills is Alipay's trade bill (业务明细, a GBK .csv.zip), through
// the connector's bill download.
type AlipayBills struct{ Conn *alipay.Connector }

func (AlipayBills) Channel() reconcile.Channel { return reconcile.Alipay }
func (AlipayBills) Ext() string                { return ".csv.zip" }

func (a AlipayBills) Fetch(ctx context.Context, day time.Time) ([]byte, error) {
	if a.Conn == nil {
		return nil, errors.New("alipay: no [alipay] section in the configuration to fetch bills with; import the bill instead (-bill FILE)")
	}
	raw, err := a.Conn.DownloadBill(ctx, day)
	var ae *alipay.APIError
	if errors.As(err, &ae) && (strings.EqualFold(ae.SubCode, "isp.bill_not_exist") ||
		ae.SubCode == "isv.invalid-arguments" && strings.Contains(ae.SubMsg, "当日")) {
		// Alipay cuts a day's bill some hours after it ends (by 09:00 the
		// next day, often later); the day itself it refuses as 参数不合法.
		return nil, fmt.Errorf("%w: %w", ErrNotReady, err)
	}
	return raw, err
}

func (AlipayBills) Parse(raw []byte) ([]reconcile.Line, error) {
	rows, err := alipay.ParseBill(raw)
	if err != nil {
		return nil, err
	}
	return reconcile.FromAlipay(rows), nil
}

// Recognise: a zip (its file names are GBK); of the channels' bills only
// Alipay's is one.
func (AlipayBills) Recognise(raw []byte) bool {
	return bytes.HasPrefix(raw, []byte("PK\x03\x04"))
}
