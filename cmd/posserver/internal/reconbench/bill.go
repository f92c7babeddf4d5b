package reconbench

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"strconv"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// The 业务明细 as sandbox/alipay writes it (its billZipLocked): # comment
// lines, the 25-column header, one line a payment with IDs ending in a
// tab, the end marker and the totals. Only the lines' values are made
// here; the layout is the sandbox's, which follows real bills.
const (
	billAccount = "20880211096256330156"
	billHeader  = "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户," +
		"订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称," +
		"商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注"
	timeLayout = "2006-01-02 15:04:05"
)

// AlipayBill returns the day's trade bill as Alipay ships it: a zip
// holding the 业务明细 CSV and its 汇总, both GBK, file names in GBK with
// the zip's UTF-8 flag clear.
func (d Day) AlipayBill(exported time.Time) ([]byte, error) {
	dates := d.Date.Format("20060102")
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	// Fast deflate: the file is made once per benchmark, read many times.
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestSpeed)
	})
	files := []struct {
		name  string
		write func(w io.Writer) error
	}{
		{billAccount + "_" + dates + "_业务明细.csv", func(w io.Writer) error { return d.writeDetail(w, exported) }},
		{billAccount + "_" + dates + "_业务明细(汇总).csv", func(w io.Writer) error { return d.writeSummary(w, exported) }},
	}
	for _, f := range files {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: string(gbk(f.name)), NonUTF8: true, Method: zip.Deflate, Modified: exported})
		if err != nil {
			return nil, fmt.Errorf("reconbench: bill zip: %w", err)
		}
		if err := f.write(w); err != nil {
			return nil, fmt.Errorf("reconbench: bill zip: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("reconbench: bill zip: %w", err)
	}
	return buf.Bytes(), nil
}

// gbk encodes constant text; the lines' variable parts are ASCII, which
// GBK leaves as it is, so they are written as they are.
func gbk(s string) []byte {
	b, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(s))
	if err != nil {
		panic(fmt.Sprintf("reconbench: %q is not GBK: %v", s, err)) // constants only
	}
	return b
}

func cnTime(t time.Time) string { return t.In(cst).Format("2006年01月02日 15:04:05") }

func (d Day) period() string {
	return fmt.Sprintf("#起始日期：[%s]   终止日期：[%s]\n", cnTime(d.Date), cnTime(d.Date.AddDate(0, 0, 1)))
}

// writeDetail writes the 业务明细, GBK.
func (d Day) writeDetail(w io.Writer, exported time.Time) error {
	bw := &errWriter{w: w}
	bw.write(gbk("#支付宝业务明细查询\n#账号：[" + billAccount + "]\n" + d.period() +
		"#-----------------------------------------业务明细列表----------------------------------------\n" + billHeader + "\n"))
	kind, subject, buyer := gbk("交易\t,"), gbk("商品,"), gbk("**客(159****")
	var sum int64
	b := make([]byte, 0, 512)
	for i := range d.N {
		l := d.line(i)
		sum += l.amount
		at := l.at.In(cst).Format(timeLayout)
		b = append(b[:0], l.tradeNo...)
		b = append(b, "\t,"...)
		b = append(b, l.outTradeNo...)
		b = append(b, "\t,"...)
		b = append(b, kind...)
		b = append(b, subject...)
		b = append(b, at...)
		b = append(b, ',')
		b = append(b, at...)
		b = append(b, ",S01\t,\t,\t,"...)
		b = append(b, l.terminal...)
		b = append(b, "\t,"...)
		b = append(b, buyer...)
		b = strconv.AppendInt(b, int64(1000+i%9000), 10)
		b = append(b, ")\t,"...)
		b = appendYuan(b, l.amount)
		b = append(b, ',')
		b = appendYuan(b, l.amount)
		b = append(b, ",0.00,0.00,0.00,0.00,0.00,,0.00\t,0.00,\t,"...)
		b = appendYuan(b, -l.fee)
		b = append(b, ",0.00,\n"...)
		bw.write(b)
	}
	bw.write(gbk("#-----------------------------------------业务明细列表结束------------------------------------\n" +
		fmt.Sprintf("#交易合计：%d笔，商家实收共%s元，商家优惠共0.00元\n", d.N, yuan(sum)) +
		"#退款合计：0笔，商家实收退款共0.00元，商家优惠退款共0.00元\n" +
		fmt.Sprintf("#导出时间：[%s]\n", cnTime(exported))))
	return bw.err
}

// writeSummary writes the 业务明细(汇总), GBK.
func (d Day) writeSummary(w io.Writer, exported time.Time) error {
	var sum, fees int64
	for i := range d.N {
		l := d.line(i)
		sum += l.amount
		fees += l.fee
	}
	bw := &errWriter{w: w}
	bw.write(gbk("#支付宝业务汇总查询\n#账号：[" + billAccount + "]\n" + d.period() +
		"#-----------------------------------------业务汇总列表----------------------------------------\n" +
		"门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,支付宝优惠（元）,商家优惠（元）,卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）\n" +
		fmt.Sprintf("\t,合计,%d,0,%s,%s,0.00,0.00,0.00,%s,0.00,%s\n", d.N, yuan(sum), yuan(sum), yuan(-fees), yuan(sum-fees)) +
		"#-----------------------------------------业务汇总列表结束------------------------------------\n" +
		fmt.Sprintf("#导出时间：[%s]\n", cnTime(exported))))
	return bw.err
}

func yuan(fen int64) string { return string(appendYuan(nil, fen)) }

// appendYuan appends fen as yuan with two decimals, "-0.37" for -37.
func appendYuan(b []byte, fen int64) []byte {
	if fen < 0 {
		b = append(b, '-')
		fen = -fen
	}
	b = strconv.AppendInt(b, fen/100, 10)
	b = append(b, '.', byte('0'+fen%100/10), byte('0'+fen%10))
	return b
}

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) write(b []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(b)
	}
}
