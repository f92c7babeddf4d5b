package wechat_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	sandbox "github.com/multipos/multipos/sandbox/wechat"
	"github.com/multipos/multipos/server/connector"
	"github.com/multipos/multipos/server/connector/wechat"
)

var cst = time.FixedZone("CST", 8*3600)

// toBillReady moves the sandbox's clock to 10:05 tomorrow, Beijing time,
// when today's bill can be fetched.
func toBillReady(sb *sandbox.Sandbox) {
	now := sb.Now().In(cst)
	sb.Advance(time.Date(now.Year(), now.Month(), now.Day()+1, 10, 5, 0, 0, cst).Sub(now))
}

// TestDownloadTradeBill fetches a day's bill through gopay against the
// sandbox: payments, a refund and fees; each planted difference shows in
// the parsed rows; today's bill is not ready; a damaged download is caught.
func TestDownloadTradeBill(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	now := r.sb.Now()
	day := now.In(cst).Format("2006-01-02")
	a, b, c, d := no("B"), no("B"), no("B"), no("B")
	for _, p := range []struct {
		no     string
		amount int64
	}{{a, 1234}, {b, 5000}, {c, 700}, {d, 900}} {
		if _, err := r.conn.Pay(ctx, connector.BarcodePay{OutTradeNo: p.no, AuthCode: authCode, Amount: p.amount, Subject: "s", TerminalID: "T9"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.conn.Refund(ctx, connector.Refund{OutTradeNo: b, OutRefundNo: b + "-R1", Amount: 1000, Total: 5000}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.conn.DownloadTradeBill(ctx, now); !errors.Is(err, wechat.ErrBillNotReady) {
		t.Fatalf("today's bill: %v, want ErrBillNotReady", err)
	}
	unknown := no("X")
	for _, ch := range []sandbox.BillChange{
		{Kind: sandbox.BillUnknownPayment, Day: day, OutTradeNo: unknown, Amount: 888, At: now},
		{Kind: sandbox.BillDrop, Day: day, OutTradeNo: c},
		{Kind: sandbox.BillAmount, Day: day, OutTradeNo: d, Amount: 990},
		{Kind: sandbox.BillRefund, Day: day, OutTradeNo: a, OutRefundNo: a + "-P", Amount: 234, At: now},
		{Kind: sandbox.BillFee, Day: day, OutTradeNo: a, Fee: 9},
	} {
		if err := r.sb.PlantInBill(ch); err != nil {
			t.Fatalf("plant %+v: %v", ch, err)
		}
	}
	toBillReady(r.sb)
	data, err := r.conn.DownloadTradeBill(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
		t.Fatalf("not the gzip as downloaded: % x", data[:min(len(data), 8)])
	}
	rows, sum, err := wechat.ParseTradeBill(data)
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]wechat.BillRow{}
	for _, row := range rows {
		by[row.OutTradeNo+"/"+row.State] = row
	}
	if len(rows) != 6 || sum.Count != 6 {
		t.Fatalf("%d rows (summary %d): %+v", len(rows), sum.Count, rows)
	}
	checks := []struct {
		key string
		ok  func(wechat.BillRow) bool
	}{
		{a + "/SUCCESS", func(x wechat.BillRow) bool { return x.Total == 1234 && x.Fee == 9000 }},
		{b + "/SUCCESS", func(x wechat.BillRow) bool { return x.Total == 5000 && x.Fee == 5000*6 }},
		{b + "/REFUND", func(x wechat.BillRow) bool { return x.Refund == 1000 && x.OutRefundNo == b+"-R1" && x.Fee == -6000 }},
		{d + "/SUCCESS", func(x wechat.BillRow) bool { return x.Total == 990 && x.Settlement == 990 }},
		{unknown + "/SUCCESS", func(x wechat.BillRow) bool { return x.Total == 888 && x.TxnID != "" }},
		{a + "/REFUND", func(x wechat.BillRow) bool {
			return x.Refund == 234 && x.OutRefundNo == a+"-P" && x.RefundState == "SUCCESS"
		}},
	}
	for _, ch := range checks {
		if row, found := by[ch.key]; !found || !ch.ok(row) {
			t.Errorf("%s: %+v (found %v)", ch.key, row, found)
		}
	}
	if _, found := by[c+"/SUCCESS"]; found {
		t.Errorf("dropped payment %s still in the bill", c)
	}

	r.sb.CorruptNextBill()
	if _, err := r.conn.DownloadTradeBill(ctx, now); !errors.Is(err, wechat.ErrBillDamaged) {
		t.Fatalf("corrupted download: %v, want ErrBillDamaged", err)
	}
	if _, err := r.conn.DownloadTradeBill(ctx, now.AddDate(0, 0, -1)); !errors.Is(err, wechat.ErrNoStatement) {
		t.Fatalf("a day without trades: %v, want ErrNoStatement", err)
	}
	var apiErr *wechat.APIError
	if _, err := r.conn.DownloadTradeBill(ctx, now.AddDate(0, 0, 5)); !errors.As(err, &apiErr) || apiErr.Code != "INVALID_REQUEST" {
		t.Fatalf("a future day: %v, want INVALID_REQUEST", err)
	}
}

// TestParseTradeBillGzip reads a bill gzipped, as downloaded, and plain.
func TestParseTradeBillGzip(t *testing.T) {
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	_, _ = w.Write([]byte("\xef\xbb\xbf" + handBill))
	_ = w.Close()
	checkHand(t, "gzip with BOM", z.String())
	if _, _, err := wechat.ParseTradeBill(z.Bytes()[:z.Len()/2]); err == nil || !strings.Contains(err.Error(), "gunzip") {
		t.Fatalf("truncated gzip: %v", err)
	}
}
