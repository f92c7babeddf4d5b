package reconcile

import (
	"github.com/multipos/multipos/server/connector/alipay"
	"github.com/multipos/multipos/server/connector/wechat"
)

// FromAlipay turns the rows of an Alipay trade bill (alipay.ParseBill) into
// lines, in the bill's order. Alipay writes refunds and the fees it charges
// negative; lines carry amounts positive and fees charged positive. A
// refund sent without out_request_no is known by the out_trade_no, as
// Alipay's refund query does.
func FromAlipay(rows []alipay.BillRow) []Line {
	lines := alipayLines(make([]Line, 0, len(rows)))
	for i := range rows {
		lines.Add(&rows[i])
	}
	return lines
}

// AlipayBill reads an Alipay trade bill (as alipay.ParseBill takes it)
// straight into lines, as FromAlipay would make them of its rows.
func AlipayBill(data []byte) ([]Line, error) {
	var lines alipayLines
	if err := alipay.ParseBillTo(data, &lines); err != nil {
		return nil, err
	}
	return lines, nil
}

// alipayLines takes a bill's rows as lines (alipay.BillRows).
type alipayLines []Line

func (ls *alipayLines) Reset(n int) { *ls = make([]Line, 0, n) }

func (ls *alipayLines) Add(r *alipay.BillRow) {
	l := Line{Channel: Alipay, Row: len(*ls) + 1, At: r.Finished, Store: r.StoreID, Terminal: r.TerminalID,
		OutTradeNo: r.OutTradeNo, TradeNo: r.TradeNo, Amount: r.Amount, Settle: r.Received, FeeMilli: -r.Fee * 1000}
	if r.Refund {
		l.Kind, l.Amount, l.Settle, l.OutRefundNo = Refund, -r.Amount, 0, r.OutRequestNo
		if l.OutRefundNo == "" {
			l.OutRefundNo = r.OutTradeNo
		}
	}
	*ls = append(*ls, l)
}

// FromWeChat turns the rows of a WeChat Pay trade bill (wechat.ParseTradeBill,
// bill_type ALL) into lines, in the bill's order. SUCCESS rows are payments;
// REFUND and REVOKED rows refunds. The fee is 手续费 as billed (0.00001
// yuan is 0.001 fen).
func FromWeChat(rows []wechat.BillRow) []Line {
	lines := make([]Line, len(rows))
	for i := range rows {
		r := &rows[i]
		l := Line{Channel: WeChat, Row: i + 1, At: r.Time, Terminal: r.DeviceID, OutTradeNo: r.OutTradeNo, TradeNo: r.TxnID,
			Amount: r.Total, Settle: r.Settlement, FeeMilli: r.Fee}
		if r.State != "SUCCESS" {
			l.Kind, l.Amount, l.Settle = Refund, r.Refund, 0
			l.OutRefundNo, l.RefundNo, l.RefundState = r.OutRefundNo, r.RefundID, r.RefundState
			if r.State == "REVOKED" && l.Amount == 0 {
				l.Amount = r.Total // a revocation gives back the whole order
			}
		}
		lines[i] = l
	}
	return lines
}
