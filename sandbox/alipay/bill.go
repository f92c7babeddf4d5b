package alipay

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/multipos/multipos/money"
)

// billLinkTTL is how long a bill_download_url works.
const billLinkTTL = 30 * time.Second

// billHeader is the 业务明细 header: 25 columns.
const billHeader = "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户," +
	"订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称," +
	"商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注"

type billFile struct {
	name    string // download file name
	data    []byte
	expires time.Time
}

// billURL is alipay.data.dataservice.bill.downloadurl.query. The bill is
// cut when it is asked for; the link to it works for 30 seconds.
func (s *Sandbox) billURL(rq *request) result {
	b := rq.biz
	if b.BillType != "trade" {
		return bizFail("isv.invalid-arguments", "参数不合法：沙箱只提供 bill_type=trade 的业务账单")
	}
	now := s.nowLocked().In(cst)
	from, to, dates, ok := billPeriod(b.BillDate)
	if !ok {
		return bizFail("isv.invalid-arguments", "参数不合法：bill_date 须为 yyyy-MM-dd 或 yyyy-MM")
	}
	if to.After(now) {
		// The day's (or month's) bill is cut after it ends: T+1.
		return bizFail("isv.invalid-arguments", "参数不合法：不支持下载当日或当月及以后的账单")
	}
	if from.Before(time.Date(2016, 1, 1, 0, 0, 0, 0, cst)) {
		return bizFail("isp.bill_not_exist", "账单不存在")
	}
	data, err := s.billZipLocked(from, to, dates, now)
	if err != nil {
		s.log.Error("bill", "err", err)
		return systemError()
	}
	idb := make([]byte, 16)
	_, _ = rand.Read(idb)
	id := hex.EncodeToString(idb)
	account := s.opts.SellerID + "0156"
	name := account + "_" + dates + ".csv.zip"
	s.bills[id] = &billFile{name: name, data: data, expires: now.Add(billLinkTTL)}
	q := url.Values{}
	q.Set("bizType", "trade")
	q.Set("userId", s.opts.SellerID)
	q.Set("fileType", "csv.zip")
	q.Set("bizDates", dates)
	q.Set("downloadFileName", name)
	q.Set("fileId", id)
	q.Set("timestamp", strconv.FormatInt(now.Unix(), 10))
	answer := obj{{"bill_download_url", rq.base + "/downloadBillFile.resource?" + q.Encode()}}
	if lines, _ := s.billLinesLocked(from, to); len(lines) == 0 {
		// A day without business still has its (empty) bill file; newer
		// answers say so (SDKs that predate the field ignore it).
		answer = append(answer, field{"bill_file_code", "EMPTY_DATA_WITH_BILL_FILE"})
	}
	return success(answer)
}

// billPeriod reads yyyy-MM-dd (a day) or yyyy-MM (a month).
func billPeriod(date string) (from, to time.Time, dates string, ok bool) {
	if d, err := time.ParseInLocation("2006-01-02", date, cst); err == nil {
		return d, d.AddDate(0, 0, 1), d.Format("20060102"), true
	}
	if m, err := time.ParseInLocation("2006-01", date, cst); err == nil {
		return m, m.AddDate(0, 1, 0), m.Format("200601"), true
	}
	return time.Time{}, time.Time{}, "", false
}

func (s *Sandbox) downloadBill(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("fileId")
	s.mu.Lock()
	f := s.bills[id]
	expired := f != nil && s.nowLocked().After(f.expires)
	if expired {
		delete(s.bills, id)
	}
	corrupt := f != nil && !expired && s.corruptBill > 0
	if corrupt {
		s.corruptBill--
	}
	s.mu.Unlock()
	switch {
	case f == nil:
		http.Error(w, "文件不存在", http.StatusNotFound)
	case expired:
		http.Error(w, "下载超时，请重新下载", http.StatusGone)
	default:
		data := f.data
		if corrupt {
			data = data[:len(data)*2/3]
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", `attachment; filename="`+f.name+`"`)
		_, _ = w.Write(data)
	}
}

type billLine struct {
	at      time.Time
	tradeNo string
	cols    []string
}

// billTotals sums a bill's lines.
type billTotals struct {
	nTrade, nRefund                        int
	sumTrade, sumRefund, sumFee, sumAmount money.Fen
}

// billZipLocked builds the bill as Alipay ships it: a zip holding the
// 业务明细 CSV and its 汇总, GBK-encoded, file names in GBK too (the zip's
// UTF-8 flag clear), IDs with a trailing tab so that spreadsheets keep them
// as text.
func (s *Sandbox) billZipLocked(from, to time.Time, dates string, now time.Time) ([]byte, error) {
	lines, tot := s.billLinesLocked(from, to)
	account := s.opts.SellerID + "0156"
	period := fmt.Sprintf("#起始日期：[%s]   终止日期：[%s]", cnTime(from), cnTime(to))
	var d strings.Builder
	d.WriteString("#支付宝业务明细查询\n#账号：[" + account + "]\n" + period + "\n")
	d.WriteString("#-----------------------------------------业务明细列表----------------------------------------\n")
	d.WriteString(billHeader + "\n")
	for _, l := range lines {
		d.WriteString(strings.Join(l.cols, ",") + "\n")
	}
	d.WriteString("#-----------------------------------------业务明细列表结束------------------------------------\n")
	fmt.Fprintf(&d, "#交易合计：%d笔，商家实收共%s元，商家优惠共0.00元\n", tot.nTrade, yuan(tot.sumTrade))
	fmt.Fprintf(&d, "#退款合计：%d笔，商家实收退款共%s元，商家优惠退款共0.00元\n", tot.nRefund, yuan(tot.sumRefund))
	fmt.Fprintf(&d, "#导出时间：[%s]\n", cnTime(now))

	var sum strings.Builder
	sum.WriteString("#支付宝业务汇总查询\n#账号：[" + account + "]\n" + period + "\n")
	sum.WriteString("#-----------------------------------------业务汇总列表----------------------------------------\n")
	sum.WriteString("门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,支付宝优惠（元）,商家优惠（元）,卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）\n")
	fmt.Fprintf(&sum, "\t,合计,%d,%d,%s,%s,0.00,0.00,0.00,%s,0.00,%s\n", tot.nTrade, tot.nRefund, yuan(tot.sumAmount), yuan(tot.sumAmount),
		yuan(tot.sumFee), yuan(tot.sumAmount+tot.sumFee))
	sum.WriteString("#-----------------------------------------业务汇总列表结束------------------------------------\n")
	fmt.Fprintf(&sum, "#导出时间：[%s]\n", cnTime(now))
	return zipGBK(now, [][2]string{
		{account + "_" + dates + "_业务明细.csv", d.String()},
		{account + "_" + dates + "_业务明细(汇总).csv", sum.String()},
	})
}

// billLinesLocked lists the payments and refunds of [from, to), in time
// order, and sums them. Called with s.mu held.
func (s *Sandbox) billLinesLocked(from, to time.Time) ([]billLine, billTotals) {
	var lines []billLine
	var tot billTotals
	in := func(t time.Time) bool { return !t.Before(from) && t.Before(to) }
	for _, t := range s.trades {
		if !t.visible || !t.wasPaid() {
			continue
		}
		common := func(kind string, finished time.Time, amount, fee money.Fen, reqNo string) []string {
			return []string{t.tradeNo + "\t", t.outTradeNo + "\t", kind + "\t", text(t.subject), fmtTime(t.created),
				fmtTime(finished), t.storeID + "\t", "\t", t.operatorID + "\t", t.terminalID + "\t",
				"**客(" + t.buyerLogonID + ")\t", yuan(amount), yuan(amount), "0.00", "0.00", "0.00", "0.00", "0.00", "",
				"0.00\t", "0.00", reqNo + "\t", yuan(fee), "0.00", text(t.body)}
		}
		if in(t.paidAt) {
			amount, fee, keep := t.amount, -s.fee(t.amount), true
			if e, found := s.billEdits[t.paidAt.In(cst).Format("2006-01-02")+"/"+t.outTradeNo]; found {
				amount, fee, keep = e.apply(amount, fee)
			}
			if keep {
				lines = append(lines, billLine{t.paidAt, t.tradeNo, common("交易", t.paidAt, amount, fee, "")})
				tot.nTrade++
				tot.sumTrade += amount
				tot.sumFee += fee
				tot.sumAmount += amount
			}
		}
		for _, r := range t.refunds {
			if in(r.at) {
				fee := s.fee(r.amount)
				lines = append(lines, billLine{r.at, t.tradeNo, common("退款", r.at, -r.amount, fee, r.outRequestNo)})
				tot.nRefund++
				tot.sumRefund -= r.amount
				tot.sumFee += fee
				tot.sumAmount -= r.amount
			}
		}
	}
	slices.SortFunc(lines, func(a, b billLine) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return strings.Compare(a.tradeNo, b.tradeNo)
	})
	return lines, tot
}

// apply is a planted change to a payment row: its amount, its fee (as
// the bill writes it, negative) and whether it stays.
func (e billEdit) apply(amount, fee money.Fen) (money.Fen, money.Fen, bool) {
	if e.amount > 0 {
		amount = e.amount
	}
	if e.feeSet {
		fee = -e.fee
	}
	return amount, fee, !e.drop
}

// zipGBK zips files (name, body), both in GBK, the zip's UTF-8 flag clear.
func zipGBK(modified time.Time, files [][2]string) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		name, err := gbk(f[0])
		if err != nil {
			return nil, err
		}
		body, err := gbk(f[1])
		if err != nil {
			return nil, err
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, NonUTF8: true, Method: zip.Deflate, Modified: modified})
		if err != nil {
			return nil, err
		}
		if _, err := w.Write([]byte(body)); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// fee is the service fee on an amount, rounded half up to the fen.
func (s *Sandbox) fee(amount money.Fen) money.Fen {
	if s.opts.FeeBasisPoints <= 0 {
		return 0
	}
	return (amount*money.Fen(s.opts.FeeBasisPoints) + 5000) / 10000
}

// text keeps free text from breaking the unquoted CSV line.
func text(s string) string {
	return strings.NewReplacer(",", "，", "\n", " ", "\r", " ").Replace(s)
}

func cnTime(t time.Time) string { return t.In(cst).Format("2006年01月02日 15:04:05") }

// gbk encodes to GBK; characters GBK lacks become '?', as a GBK export would.
func gbk(s string) (string, error) {
	return encoding.ReplaceUnsupported(simplifiedchinese.GBK.NewEncoder()).String(s)
}
