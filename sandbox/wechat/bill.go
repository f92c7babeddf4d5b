package wechat

import (
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/multipos/multipos/money"
)

type bill struct {
	data    []byte // uncompressed
	gzip    bool   // served gzipped (tar_type=GZIP)
	expires time.Time
}

// billHeader is the ALL bill's 27 columns.
const billHeader = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类," +
	"应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"

const billSummaryHeader = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"

// feeUnitsPerFen is the sandbox's 0.6% fee: on n fen it is n*6 units of
// 0.00001 yuan (the bill's precision), so it stays exact in integers.
const feeUnitsPerFen = 6

// tradeBill is GET /v3/bill/tradebill?bill_date=&bill_type=&tar_type=.
func (s *Sandbox) tradeBill(c *call) reply {
	q := c.r.URL.Query()
	day, err := time.ParseInLocation("2006-01-02", q.Get("bill_date"), cst)
	if err != nil {
		return reply{status: http.StatusBadRequest, body: apiError{Code: "PARAM_ERROR", Message: "参数错误",
			Detail: map[string]string{"field": "bill_date", "location": "query", "issue": "格式须为yyyy-MM-DD"}}}
	}
	if rep := billReady(day, c.now); rep != nil {
		return *rep
	}
	billType := q.Get("bill_type")
	if billType == "" {
		billType = "ALL"
	}
	if billType != "ALL" && billType != "SUCCESS" && billType != "REFUND" {
		return reply{status: http.StatusBadRequest, body: apiError{Code: "PARAM_ERROR", Message: "参数错误",
			Detail: map[string]string{"field": "bill_type", "location": "query", "issue": "须为ALL、SUCCESS或REFUND"}}}
	}
	tar := q.Get("tar_type")
	if tar != "" && tar != "GZIP" {
		return reply{status: http.StatusBadRequest, body: apiError{Code: "PARAM_ERROR", Message: "参数错误",
			Detail: map[string]string{"field": "tar_type", "location": "query", "issue": "须为GZIP"}}}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	file, rows := s.billLocked(day, billType)
	if rows == 0 {
		return fail(http.StatusBadRequest, "NO_STATEMENT_EXIST", "账单文件不存在")
	}
	sum := sha1.Sum(file) // of the file itself, before any compression
	b := bill{data: file, gzip: tar == "GZIP", expires: c.now.Add(5 * time.Minute)}
	token := randomString(40)
	s.bills[token] = b
	// The real shape, on WeChat Pay's own host: a client reaches it
	// through the same endpoint override as every other call (gopay's
	// V3BillDownLoadBill keeps only what follows ".com").
	link := strings.TrimSuffix(s.opts.BaseURL, "/") + "/v3/billdownload/file?token=" + token
	if b.gzip {
		link += "&tartype=gzip"
	}
	return ok(map[string]string{"hash_type": "SHA1", "hash_value": hex.EncodeToString(sum[:]), "download_url": link})
}

// billReady refuses a day whose bill WeChat Pay has not cut yet: it makes
// day D's bill from 09:00 on D+1 and says to fetch it after 10:00. The
// answer for today itself is not documented: the sandbox says
// STATEMENT_CREATING, as for yesterday before 10:00.
func billReady(day, now time.Time) *reply {
	today := now.In(cst)
	today = time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, cst)
	switch {
	case day.After(today):
		return refuse(fail(http.StatusBadRequest, "INVALID_REQUEST", "账单日期不能晚于当前日期"))
	case day.Before(today.AddDate(0, -3, 0)):
		return refuse(fail(http.StatusBadRequest, "INVALID_REQUEST", "只能下载三个月以内的账单"))
	case now.Before(day.AddDate(0, 0, 1).Add(billReadyAt)):
		return refuse(fail(http.StatusBadRequest, "STATEMENT_CREATING", "账单生成中"))
	}
	return nil
}

// billReadyAt is when, on the next day, a day's bill can be fetched.
const billReadyAt = 10 * time.Hour

// billDownload is GET /v3/billdownload/file?token=: a signed request whose
// answer, the file, is not signed.
func (s *Sandbox) billDownload(c *call) reply {
	s.mu.Lock()
	b, found := s.bills[c.r.URL.Query().Get("token")]
	s.mu.Unlock()
	if !found || c.now.After(b.expires) {
		return fail(http.StatusBadRequest, "INVALID_REQUEST", "下载链接无效或已过期")
	}
	data := b.data
	if c.fault == FaultBadSignature {
		// The file carries no signature to spoil: the fault damages the
		// file instead, so that only its SHA1 can tell.
		data = append([]byte(nil), data...)
		data[len(data)/2] ^= 0x01
	}
	if !b.gzip {
		return reply{status: http.StatusOK, raw: data, ctype: "text/plain; charset=utf-8"}
	}
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	_, _ = w.Write(data)
	_ = w.Close()
	return reply{status: http.StatusOK, raw: z.Bytes(), ctype: "application/x-gzip"}
}

// billEntry is one detail row before it is written.
type billEntry struct {
	at     time.Time
	o      *order
	state  string
	settle int64 // 应结订单金额
	total  int64 // 订单金额
	r      *refund
	fee    int64
}

// billLocked writes a day's bill: payments dated when paid, refunds when
// accepted, every field prefixed with a backtick, amounts in yuan; with
// the planted changes to payment rows. Called with s.mu held.
func (s *Sandbox) billLocked(day time.Time, billType string) ([]byte, int) {
	next := day.AddDate(0, 0, 1)
	on := func(t time.Time) bool { return !t.IsZero() && !t.Before(day) && t.Before(next) }
	var rows []billEntry
	for _, o := range s.orders {
		if o.txnID == "" {
			continue
		}
		if billType != "REFUND" && on(o.successAt) {
			if e, ok := s.paymentEntryLocked(o, day); ok {
				rows = append(rows, e)
			}
		}
		if billType == "SUCCESS" {
			continue
		}
		for _, r := range o.refunds {
			if !on(r.createdAt) {
				continue
			}
			state := StateRefund
			if r.revoke {
				state = StateRevoked
			}
			rows = append(rows, billEntry{at: r.createdAt, o: o, state: state, total: o.total, r: r, fee: -r.amount * feeUnitsPerFen})
		}
	}
	slices.SortStableFunc(rows, func(a, b billEntry) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return strings.Compare(a.o.outTradeNo, b.o.outTradeNo)
	})
	var settled, refunded, fees, ordered, asked int64
	var buf bytes.Buffer
	buf.WriteString(billHeader + "\r\n")
	for _, e := range rows {
		buf.WriteString(s.billLine(e) + "\r\n")
		settled += e.settle
		fees += e.fee
		ordered += e.total
		if e.r != nil {
			refunded += e.r.amount
			asked += e.r.amount
		}
	}
	buf.WriteString(billSummaryHeader + "\r\n")
	buf.WriteString(strings.Join(backticked(fmt.Sprint(len(rows)), yuan(settled), yuan(refunded), "0.00",
		feeYuan(fees), yuan(ordered), yuan(asked)), ",") + "\r\n")
	return buf.Bytes(), len(rows)
}

// paymentEntryLocked is an order's payment row in day's bill, as planted
// changes leave it; false when dropped. Called with s.mu held.
func (s *Sandbox) paymentEntryLocked(o *order, day time.Time) (billEntry, bool) {
	e := billEntry{at: o.successAt, o: o, state: StateSuccess, settle: o.total, total: o.total, fee: o.total * feeUnitsPerFen}
	edit, found := s.billEdits[day.Format("2006-01-02")+"/"+o.outTradeNo]
	if !found {
		return e, true
	}
	if edit.amount > 0 {
		e.settle, e.total = edit.amount, edit.amount
	}
	if edit.feeSet {
		e.fee = edit.fee
	}
	return e, !edit.drop
}

// billLine is one detail row.
func (s *Sandbox) billLine(e billEntry) string {
	o, r := e.o, e.r
	refundID, outRefundNo, refundAmt, refundType, refundStatus, asked := "0", "0", "0.00", "", "", "0.00"
	if r != nil {
		refundID, outRefundNo, refundAmt, refundType, refundStatus, asked =
			r.refundID, r.outRefundNo, yuan(r.amount), "ORIGINAL", r.status, yuan(r.amount)
	}
	return strings.Join(backticked(e.at.In(cst).Format("2006-01-02 15:04:05"), o.appID, s.opts.MchID, "0", o.deviceID,
		o.txnID, o.outTradeNo, o.openID, o.tradeType, e.state, "OTHERS", "CNY", yuan(e.settle), "0.00",
		refundID, outRefundNo, refundAmt, "0.00", refundType, refundStatus, o.description, o.attach,
		feeYuan(e.fee), "0.60%", yuan(e.total), asked, ""), ",")
}

func backticked(fields ...string) []string {
	for i, f := range fields {
		fields[i] = "`" + f
	}
	return fields
}

func yuan(fen int64) string { return money.Fen(fen).String() }

// feeYuan prints units of 0.00001 yuan with the bill's five decimals.
func feeYuan(units int64) string {
	sign := ""
	if units < 0 {
		sign, units = "-", -units
	}
	return fmt.Sprintf("%s%d.%05d", sign, units/100_000, units%100_000)
}
