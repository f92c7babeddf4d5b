package alipay

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	sbx "github.com/multipos/multipos/sandbox/alipay"
	"github.com/multipos/multipos/server/connector"
)

// TestBillPlantedDifferences fetches a day's bill through smartwalle's
// BillDownloadURLQuery with payments, a refund and fees, and each
// difference planted in the sandbox shows in the parsed rows; the day's
// own bill is refused with ErrBillNotReady; a damaged download is caught.
func TestBillPlantedDifferences(t *testing.T) {
	r := newRig(t, fixedClock, func(_ *Config, o *sbx.Options) { o.FeeBasisPoints = 60 })
	r.pay(t, "PL_A", goodCode, 10000)
	r.pay(t, "PL_B", goodCode, 5000)
	r.pay(t, "PL_C", goodCode, 700)
	r.pay(t, "PL_D", goodCode, 900)
	if _, err := r.c.Refund(r.ctx, connector.Refund{OutTradeNo: "PL_B", OutRefundNo: "PL_B_r1", Amount: 1000}); err != nil {
		t.Fatal(err)
	}
	now := r.sb.Now()
	day := now.In(cst).Format("2006-01-02")
	var ae *APIError
	if _, err := r.c.DownloadBill(r.ctx, now); !errors.Is(err, ErrBillNotReady) || !errors.As(err, &ae) {
		t.Fatalf("the day's own bill: %v, want ErrBillNotReady wrapping the APIError", err)
	}
	if _, err := r.c.DownloadBill(r.ctx, now.AddDate(0, 0, 3)); !errors.Is(err, ErrBillNotReady) {
		t.Fatalf("a future day: %v, want ErrBillNotReady", err)
	}
	for _, ch := range []sbx.BillChange{
		{Kind: sbx.BillUnknownPayment, Day: day, OutTradeNo: "PL_X", Amount: 888, At: now},
		{Kind: sbx.BillDrop, Day: day, OutTradeNo: "PL_C"},
		{Kind: sbx.BillAmount, Day: day, OutTradeNo: "PL_D", Amount: 990},
		{Kind: sbx.BillRefund, Day: day, OutTradeNo: "PL_A", OutRequestNo: "PL_A_portal", Amount: 234, At: now},
		{Kind: sbx.BillFee, Day: day, OutTradeNo: "PL_A", Fee: 9},
	} {
		if err := r.sb.PlantInBill(ch); err != nil {
			t.Fatalf("plant %+v: %v", ch, err)
		}
	}
	if err := r.sb.PlantInBill(sbx.BillChange{Kind: sbx.BillRefund, Day: day, OutTradeNo: "PL_D", Amount: 100000}); !errors.Is(err, sbx.ErrBillChange) {
		t.Fatalf("refund beyond the amount: %v", err)
	}
	r.sb.Advance(24 * time.Hour)
	data, err := r.c.DownloadBill(r.ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := ParseBill(data)
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]BillRow{}
	for _, row := range rows {
		k := row.OutTradeNo
		if row.Refund {
			k += "/" + row.OutRequestNo
		}
		by[k] = row
	}
	if len(rows) != 6 {
		t.Fatalf("%d rows: %+v", len(rows), rows)
	}
	for k, ok := range map[string]func(BillRow) bool{
		"PL_A":             func(x BillRow) bool { return x.Amount == 10000 && x.Fee == -9 },
		"PL_B":             func(x BillRow) bool { return x.Amount == 5000 && x.Fee == -30 },
		"PL_B/PL_B_r1":     func(x BillRow) bool { return x.Amount == -1000 && x.Received == -1000 && x.Fee == 6 },
		"PL_D":             func(x BillRow) bool { return x.Amount == 990 && x.Received == 990 },
		"PL_X":             func(x BillRow) bool { return x.Amount == 888 && x.TradeNo != "" },
		"PL_A/PL_A_portal": func(x BillRow) bool { return x.Amount == -234 && x.Refund },
	} {
		if row, found := by[k]; !found || !ok(row) {
			t.Errorf("%s: %+v (found %v)", k, row, found)
		}
	}
	if _, found := by["PL_C"]; found {
		t.Error("dropped payment PL_C still in the bill")
	}
	if st, err := r.c.Query(r.ctx, "PL_X"); err != nil || st.State != connector.WalletPaid || st.Amount != 888 {
		t.Errorf("the unknown payment is not in Alipay's books: %+v, %v", st, err)
	}

	r.sb.CorruptNextBill()
	if _, err := r.c.DownloadBill(r.ctx, now); err == nil || !strings.Contains(err.Error(), "damaged zip") {
		t.Fatalf("truncated download: %v", err)
	}
}

// variantHeader is the current 25-column header.
const variantHeader = "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户," +
	"订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称," +
	"商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注"

const variantDetail = "#支付宝业务明细查询\r\n#账号：[20880211096256330156]\r\n" +
	"#起始日期：[2019年09月16日 00:00:00]   终止日期：[2019年09月17日 00:00:00]\r\n" +
	"#-----------------------------------------业务明细列表----------------------------------------\r\n" +
	variantHeader + "\r\n" +
	"2019091622001458860515315453\t,O1\t,交易\t,咖啡,2019-09-16 10:00:00,2019-09-16 10:00:05,S1\t,店,op\t,T1\t,*津水(602***@qq.com)\t,12.34,12.34,0.00,0.00,0.00,0.00,0.00,,0.00\t,0.00,\t,-0.07,0.00,\r\n" +
	"2019091622001458860515315453\t,O1\t,退款\t,咖啡,2019-09-16 10:00:00,2019-09-16 11:00:00,S1\t,店,op\t,T1\t,*津水(602***@qq.com)\t,-2.00,-2.00,0.00,0.00,0.00,0.00,0.00,,0.00\t,0.00,re_1\t,0.01,0.00,\r\n" +
	"#-----------------------------------------业务明细列表结束------------------------------------\r\n" +
	"#交易合计：1笔，商家实收共12.34元，商家优惠共0.00元\r\n#退款合计：1笔，商家实收退款共-2.00元，商家优惠退款共0.00元\r\n" +
	"#导出时间：[2019年09月17日 05:46:49]\r\n"

func checkVariant(t *testing.T, name string, data []byte, store string) {
	t.Helper()
	rows, err := ParseBill(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(rows) != 2 {
		t.Fatalf("%s: %d rows: %+v", name, len(rows), rows)
	}
	p, rf := rows[0], rows[1]
	if p.TradeNo != "2019091622001458860515315453" || p.OutTradeNo != "O1" || p.Refund || p.Amount != 1234 || p.Received != 1234 ||
		p.Fee != -7 || p.StoreID != store || p.Finished.IsZero() {
		t.Errorf("%s: payment %+v", name, p)
	}
	if !rf.Refund || rf.Amount != -200 || rf.OutRequestNo != "re_1" || rf.Fee != 1 {
		t.Errorf("%s: refund %+v", name, rf)
	}
}

// TestParseBillVariants reads bill files as clerks and older accounts
// have them: the detail CSV alone, in GBK or UTF-8 with a byte-order
// mark, with or without trailing tabs, LF or CRLF, and older layouts that
// lack columns or order them otherwise.
func TestParseBillVariants(t *testing.T) {
	gbk, err := simplifiedchinese.GBK.NewEncoder().String(variantDetail)
	if err != nil {
		t.Fatal(err)
	}
	checkVariant(t, "bare GBK CSV", []byte(gbk), "S1")
	checkVariant(t, "UTF-8 with BOM", []byte("\xef\xbb\xbf"+variantDetail), "S1")
	checkVariant(t, "UTF-8, LF", []byte(strings.ReplaceAll(variantDetail, "\r\n", "\n")), "S1")
	checkVariant(t, "no tabs", []byte(strings.ReplaceAll(variantDetail, "\t", "")), "S1")
	checkVariant(t, "trailing tab on every line", []byte(strings.ReplaceAll(variantDetail, "\r\n", "\t\r\n")), "S1")
	zipped, err := zipGBKForTest(map[string]string{"20880211096256330156_20190916_业务明细.csv": variantDetail,
		"20880211096256330156_20190916_业务明细(汇总).csv": "#支付宝业务汇总查询\n门店编号,门店名称\n"})
	if err != nil {
		t.Fatal(err)
	}
	checkVariant(t, "zip", zipped, "S1")

	// An older layout: no 门店编号/门店名称/终端号, half-width brackets,
	// and the columns in another order.
	older := "#支付宝业务明细查询\n" +
		"商户订单号,支付宝交易号,业务类型,商品名称,创建时间,完成时间,操作员,对方账户,订单金额(元),商家实收(元),退款批次号/请求号,服务费(元),备注\n" +
		"O1\t,2019091622001458860515315453\t,交易,咖啡,2019-09-16 10:00:00,2019-09-16 10:00:05,op,x,12.34,12.34,,-0.07,\n" +
		"O1\t,2019091622001458860515315453\t,退款,咖啡,2019-09-16 10:00:00,2019-09-16 11:00:00,op,x,-2.00,-2.00,re_1,0.01,\n" +
		"#交易合计：1笔\n"
	checkVariant(t, "older layout", []byte(older), "")
}

// TestParseBillRefusesGarbage: no header, bad amounts, unknown 业务类型.
func TestParseBillRefusesGarbage(t *testing.T) {
	for name, data := range map[string]string{
		"no header":    "a,b,c\n1,2,3\n",
		"bad amount":   "支付宝交易号,商户订单号,业务类型,订单金额（元）\nT1,O1,交易,12.3.4\n",
		"unknown kind": "支付宝交易号,商户订单号,业务类型,订单金额（元）\nT1,O1,转账,1.00\n",
		"no numbers":   "支付宝交易号,商户订单号,业务类型,订单金额（元）\n,,交易,1.00\n",
		"broken zip":   "PK\x03\x04 not really",
	} {
		if rows, err := ParseBill([]byte(data)); err == nil {
			t.Errorf("%s: accepted %+v", name, rows)
		}
	}
}

// zipGBKForTest zips files with GBK names and bodies, as Alipay does.
func zipGBKForTest(files map[string]string) ([]byte, error) {
	var buf bytes.Buffer
	zw := newGBKZip(&buf)
	for name, body := range files {
		if err := zw.add(name, body); err != nil {
			return nil, err
		}
	}
	if err := zw.close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

type gbkZip struct{ zw *zip.Writer }

func newGBKZip(w io.Writer) *gbkZip { return &gbkZip{zip.NewWriter(w)} }

func (z *gbkZip) add(name, body string) error {
	enc := simplifiedchinese.GBK.NewEncoder()
	n, err := enc.String(name)
	if err != nil {
		return err
	}
	b, err := enc.String(body)
	if err != nil {
		return err
	}
	w, err := z.zw.CreateHeader(&zip.FileHeader{Name: n, NonUTF8: true, Method: zip.Deflate})
	if err != nil {
		return err
	}
	_, err = w.Write([]byte(b))
	return err
}

func (z *gbkZip) close() error { return z.zw.Close() }
