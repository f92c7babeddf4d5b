package alipay

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	sbx "github.com/multipos/multipos/sandbox/alipay"
	"github.com/multipos/multipos/server/connector"
)

// fixedClock pins the sandbox to 2026-03-14 10:00 GMT+8 until moved.
func fixedClock(cfg *Config, o *sbx.Options) {
	at := time.Date(2026, 3, 14, 10, 0, 0, 0, cst)
	o.Now = func() time.Time { return at }
}

func TestBillDownload(t *testing.T) {
	r := newRig(t, fixedClock)
	r.precreate(t, "BL_QR", 1234)
	if err := r.sb.Pay(r.ctx, "BL_QR"); err != nil {
		t.Fatal(err)
	}
	r.pay(t, "BL_BC", goodCode, 10000)
	if _, err := r.c.Refund(r.ctx, connector.Refund{OutTradeNo: "BL_BC", OutRefundNo: "BL_BC_r1", Amount: 3050}); err != nil {
		t.Fatal(err)
	}
	r.precreate(t, "BL_UNPAID", 999) // never paid: not in the bill
	day := r.sb.Now()

	if _, err := r.c.DownloadBill(r.ctx, day); err == nil || !strings.Contains(err.Error(), "isv.invalid-arguments") {
		t.Fatalf("the day's own bill: %v, want refused until the day is over", err)
	}
	r.sb.Advance(24 * time.Hour)
	data, err := r.c.DownloadBill(r.ctx, day)
	if err != nil {
		t.Fatal(err)
	}

	// Read it by hand first: a zip of GBK files with GBK names.
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	var detail string
	for _, f := range zr.File {
		name, err := simplifiedchinese.GBK.NewDecoder().String(f.Name)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
		if strings.HasSuffix(name, "_业务明细.csv") {
			rc, _ := f.Open()
			raw, _ := io.ReadAll(rc)
			rc.Close()
			if detail, err = simplifiedchinese.GBK.NewDecoder().String(string(raw)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(names) != 2 || names[0] != "20880000000001560156_20260314_业务明细.csv" ||
		names[1] != "20880000000001560156_20260314_业务明细(汇总).csv" {
		t.Fatalf("files %q", names)
	}
	lines := strings.Split(strings.TrimSuffix(detail, "\n"), "\n")
	if lines[0] != "#支付宝业务明细查询" || !strings.HasPrefix(lines[2], "#起始日期：[2026年03月14日 00:00:00]") {
		t.Fatalf("head %q", lines[:3])
	}
	if got := strings.Split(lines[4], ","); len(got) != 25 || got[0] != "支付宝交易号" || got[11] != "订单金额（元）" ||
		got[24] != "备注" {
		t.Fatalf("header %q", lines[4])
	}
	if !strings.Contains(detail, ",BL_QR\t,交易\t,") || !strings.Contains(detail, ",BL_BC\t,退款\t,") ||
		!strings.Contains(detail, ",-30.50,-30.50,") || !strings.Contains(detail, ",BL_BC_r1\t,") {
		t.Fatalf("rows:\n%s", detail)
	}
	if !strings.Contains(detail, "#交易合计：2笔，商家实收共112.34元") || !strings.Contains(detail, "#退款合计：1笔，商家实收退款共-30.50元") {
		t.Fatalf("summary:\n%s", detail)
	}

	rows, err := ParseBill(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows: %+v", len(rows), rows)
	}
	var total int64
	byKey := map[string]BillRow{}
	for _, row := range rows {
		total += row.Received
		k := row.OutTradeNo
		if row.Refund {
			k += "/refund"
		}
		byKey[k] = row
	}
	qr, bc, rf := byKey["BL_QR"], byKey["BL_BC"], byKey["BL_BC/refund"]
	if qr.Amount != 1234 || qr.Received != 1234 || qr.TradeNo == "" || strings.ContainsAny(qr.TradeNo, "\t ") ||
		qr.Finished.IsZero() || qr.Subject != "测试 order BL_QR" {
		t.Fatalf("QR row %+v", qr)
	}
	if bc.Amount != 10000 || bc.StoreID != "S01" || bc.TerminalID != "T01" {
		t.Fatalf("barcode row %+v", bc)
	}
	if rf.Amount != -3050 || rf.Received != -3050 || rf.OutRequestNo != "BL_BC_r1" || rf.TradeNo != bc.TradeNo {
		t.Fatalf("refund row %+v", rf)
	}
	if total != 1234+10000-3050 {
		t.Fatalf("net %d", total)
	}
}

func TestBillLinkExpires(t *testing.T) {
	r := newRig(t, fixedClock)
	day := r.sb.Now().AddDate(0, 0, -1)
	link, err := r.c.BillDownloadURL(r.ctx, day)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(link, r.srv.URL+"/downloadBillFile.resource?") || !strings.Contains(link, "bizDates=20260313") {
		t.Fatalf("link %q", link)
	}
	r.sb.Advance(31 * time.Second)
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK || !strings.Contains(string(body), "下载超时") {
		t.Fatalf("expired link: %d %q", resp.StatusCode, body)
	}
	// An empty day is a bill all the same: no rows.
	data, err := r.c.DownloadBill(r.ctx, day)
	if err != nil {
		t.Fatal(err)
	}
	if rows, err := ParseBill(data); err != nil || len(rows) != 0 {
		t.Fatalf("empty day: %v, %v", rows, err)
	}
	if _, err := ParseBill([]byte("PK not a zip")); err == nil {
		t.Fatal("ParseBill took garbage")
	}
	var ae *APIError
	if _, err := r.c.BillDownloadURL(r.ctx, time.Date(2015, 6, 1, 0, 0, 0, 0, cst)); !errors.As(err, &ae) || ae.SubCode != "isp.bill_not_exist" {
		t.Fatalf("bill from before 2016: %v", err)
	}
}
