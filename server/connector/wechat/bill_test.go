package wechat_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/multipos/multipos/server/connector"
	"github.com/multipos/multipos/server/connector/wechat"
)

// TestParseTradeBillFromSandbox reads a bill the sandbox cut from its own
// books: a payment, a paid QR order and a partial refund of it.
func TestParseTradeBillFromSandbox(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	a, b := no("P"), no("P")
	if _, err := r.conn.Pay(ctx, connector.BarcodePay{OutTradeNo: a, AuthCode: authCode, Amount: 1234, Subject: "a", TerminalID: "T9"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.conn.Precreate(ctx, connector.Precreate{OutTradeNo: b, Amount: 5000, Subject: "b"}); err != nil {
		t.Fatal(err)
	}
	if err := r.sb.Pay(b); err != nil {
		t.Fatal(err)
	}
	if _, err := r.conn.Refund(ctx, connector.Refund{OutTradeNo: b, OutRefundNo: b + "-R1", Amount: 1000, Total: 5000}); err != nil {
		t.Fatal(err)
	}
	toBillReady(r.sb)
	data, err := r.conn.TradeBill(ctx, time.Now(), "ALL")
	if err != nil {
		t.Fatal(err)
	}
	rows, sum, err := wechat.ParseTradeBill(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows: %+v", len(rows), rows)
	}
	by := map[string]wechat.BillRow{}
	for _, row := range rows {
		by[row.OutTradeNo+"/"+row.State] = row
	}
	pa, pb, rf := by[a+"/SUCCESS"], by[b+"/SUCCESS"], by[b+"/REFUND"]
	if pa.Total != 1234 || pa.Settlement != 1234 || pa.TxnID == "" || pa.DeviceID != "T9" || pa.RefundID != "" ||
		pa.OutRefundNo != "" || pa.Fee != 1234*6 || pa.Time.IsZero() || pa.MchID != mchID {
		t.Fatalf("payment %+v", pa)
	}
	if pb.Total != 5000 {
		t.Fatalf("QR payment %+v", pb)
	}
	if rf.Refund != 1000 || rf.OutRefundNo != b+"-R1" || rf.RefundID == "" || rf.TxnID != pb.TxnID || rf.Settlement != 0 ||
		rf.Fee != -1000*6 || rf.RefundState == "" {
		t.Fatalf("refund %+v", rf)
	}
	if sum.Count != 3 || sum.Settlement != 6234 || sum.Refunds != 1000 || sum.Fees != (6234-1000)*6 {
		t.Fatalf("summary %+v", sum)
	}
}

const handHeader = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类," +
	"应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"

// handBill is a two-row bill in today's ALL layout, as in WeChat Pay's format page.
var handBill = handHeader + "\r\n" +
	"`2026-12-06 23:59:59,`wx2421b1c4370ec43b,`10000100,`0,`T1,`4200000001202612060000000001,`S1,`oUp,`MICROPAY,`SUCCESS,`OTHERS,`CNY,`100.00,`0.00,`0,`0,`0.00,`0.00,`,`,`咖啡,`,`0.60000,`0.60%,`100.00,`0.00,`\r\n" +
	"`2026-12-06 12:00:00,`wx2421b1c4370ec43b,`10000100,`0,`T1,`4200000001202612060000000002,`S2,`oUp,`NATIVE,`REFUND,`OTHERS,`CNY,`0.00,`0.00,`50000000012026120600000000001,`S2-R1,`20.50,`0.00,`ORIGINAL,`PROCESSING,`茶,`,`-0.12300,`0.60%,`80.00,`20.50,`\r\n" +
	"总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n" +
	"`2,`100.00,`20.50,`0.00,`0.47700,`180.00,`20.50\r\n"

func checkHand(t *testing.T, name, bill string) {
	t.Helper()
	rows, sum, err := wechat.ParseTradeBill([]byte(bill))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(rows) != 2 {
		t.Fatalf("%s: %d rows", name, len(rows))
	}
	p, r := rows[0], rows[1]
	if p.OutTradeNo != "S1" || p.State != "SUCCESS" || p.Total != 10000 || p.Settlement != 10000 || p.Fee != 60000 ||
		p.Time.Format(time.DateTime) != "2026-12-06 23:59:59" || p.Time.Format("-0700") != "+0800" {
		t.Fatalf("%s: payment %+v", name, p)
	}
	if r.OutTradeNo != "S2" || r.State != "REFUND" || r.Refund != 2050 || r.OutRefundNo != "S2-R1" ||
		r.RefundID != "50000000012026120600000000001" || r.RefundState != "PROCESSING" || r.Fee != -12300 {
		t.Fatalf("%s: refund %+v", name, r)
	}
	if sum.Count != 2 || sum.Settlement != 10000 || sum.Refunds != 2050 || sum.Fees != 47700 {
		t.Fatalf("%s: summary %+v", name, sum)
	}
}

func TestParseTradeBillLenient(t *testing.T) {
	checkHand(t, "as documented", handBill)
	checkHand(t, "BOM", "\xef\xbb\xbf"+handBill)
	checkHand(t, "LF only", strings.ReplaceAll(handBill, "\r\n", "\n"))
	// A bill saved again by a spreadsheet: a tab or a comma after each line.
	checkHand(t, "trailing tab", strings.ReplaceAll(handBill, "\r\n", "\t\r\n"))
	checkHand(t, "trailing comma", strings.ReplaceAll(handBill, "\r\n", ",\r\n"))
	checkHand(t, "blank lines", strings.ReplaceAll(handBill, "\r\n", "\r\n\r\n"))
}

// TestParseTradeBillOlderLayout reads the pre-免充值券 layout: 总金额 and
// 企业红包金额 instead of 应结订单金额/订单金额, other columns moved, the
// optional ones missing.
func TestParseTradeBillOlderLayout(t *testing.T) {
	bill := "交易时间,公众账号ID,商户号,子商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,总金额,企业红包金额," +
		"微信退款单号,商户退款单号,退款金额,企业红包退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率\n" +
		"`2018-03-01 10:00:00,`wx1,`1,`0,`,`4200001,`OLD1,`o1,`NATIVE,`SUCCESS,`CMB_CREDIT,`CNY,`0.01,`0.00,`0,`0,`0.00,`0.00,`,`,`x,`,`0.00000,`0.60%\n" +
		"`2018-03-01 11:00:00,`wx1,`1,`0,`,`4200001,`OLD1,`o1,`NATIVE,`REFUND,`CMB_CREDIT,`CNY,`0.00,`0.00,`5001,`OLD1R,`0.01,`0.00,`ORIGINAL,`SUCCESS,`x,`,`0.00000,`0.60%\n" +
		"总交易单数,总交易额,总退款金额,总企业红包退款金额,手续费总金额\n" +
		"`2,`0.01,`0.01,`0.00,`0.00000\n"
	rows, sum, err := wechat.ParseTradeBill([]byte(bill))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Total != 1 || rows[0].Settlement != 1 || rows[1].Refund != 1 || rows[1].OutRefundNo != "OLD1R" {
		t.Fatalf("rows %+v", rows)
	}
	if sum.Count != 2 || sum.Settlement != 1 || sum.Refunds != 1 {
		t.Fatalf("summary %+v", sum)
	}
	// Columns in another order are found by name all the same.
	reordered := "商户订单号,交易状态,交易时间,订单金额\n`X1,`SUCCESS,`2026-12-06 10:00:00,`3.00\n"
	rows, _, err = wechat.ParseTradeBill([]byte(reordered))
	if err != nil || len(rows) != 1 || rows[0].Total != 300 || rows[0].OutTradeNo != "X1" {
		t.Fatalf("reordered: %+v, %v", rows, err)
	}
}

func TestParseTradeBillRefusesGarbage(t *testing.T) {
	for name, bill := range map[string]string{
		"empty":      "",
		"no header":  "`2026-12-06 10:00:00,`x\n",
		"bad amount": "商户订单号,交易状态,交易时间,订单金额\n`X1,`SUCCESS,`2026-12-06 10:00:00,`3.001\n",
		"bad time":   "商户订单号,交易状态,交易时间,订单金额\n`X1,`SUCCESS,`yesterday,`3.00\n",
		"no keys":    "商户订单号,交易状态,交易时间,订单金额\n`,`SUCCESS,`2026-12-06 10:00:00,`3.00\n",
	} {
		if rows, _, err := wechat.ParseTradeBill([]byte(bill)); err == nil {
			t.Errorf("%s: took it: %+v", name, rows)
		}
	}
}

// BenchmarkParseTradeBill100k parses a 100,000-row ALL bill (about 27 MB).
func BenchmarkParseTradeBill100k(b *testing.B) {
	var buf strings.Builder
	buf.WriteString(handHeader + "\r\n")
	for i := range 100_000 {
		fmt.Fprintf(&buf, "`2026-12-06 10:00:00,`wx2421b1c4370ec43b,`10000100,`0,`T1,`42000000012026120%011d,`M%09d,`oUp,`MICROPAY,"+
			"`SUCCESS,`OTHERS,`CNY,`12.34,`0.00,`0,`0,`0.00,`0.00,`,`,`咖啡,`,`0.07404,`0.60%%,`12.34,`0.00,`\r\n", i, i)
	}
	buf.WriteString("总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n`100000,`1234000.00,`0.00,`0.00,`7404.00000,`1234000.00,`0.00\r\n")
	data := []byte(buf.String())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rows, _, err := wechat.ParseTradeBill(data)
		if err != nil || len(rows) != 100_000 {
			b.Fatal(len(rows), err)
		}
	}
}
