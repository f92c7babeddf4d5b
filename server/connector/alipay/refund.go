package alipay

import (
	"context"
	"errors"
	"fmt"

	sdk "github.com/smartwalle/alipay/v3"

	"github.com/multipos/multipos/server/connector"
)

// Refund gives back part or all of a paid trade (alipay.trade.refund).
// OutRefundNo is Alipay's out_request_no: the same one retries the same
// refund, which Alipay answers with fund_change N and moves nothing twice.
// Refunded is Alipay's cumulative refund_fee.
func (c *Connector) Refund(ctx context.Context, r connector.Refund) (connector.RefundResult, error) {
	amount, err := yuan(r.Amount)
	if err != nil {
		return connector.RefundResult{}, fmt.Errorf("alipay refund %s/%s: %w", r.OutTradeNo, r.OutRefundNo, err)
	}
	if r.OutRefundNo == "" {
		return connector.RefundResult{}, fmt.Errorf("alipay refund %s: no OutRefundNo", r.OutTradeNo)
	}
	if r.Total > 0 && r.Amount > r.Total {
		return connector.RefundResult{}, fmt.Errorf("alipay refund %s/%s: %d fen is more than the order's %d",
			r.OutTradeNo, r.OutRefundNo, r.Amount, r.Total)
	}
	rsp, err := c.client.TradeRefund(ctx, sdk.TradeRefund{OutTradeNo: r.OutTradeNo, RefundAmount: amount,
		RefundReason: r.Reason, OutRequestNo: r.OutRefundNo})
	if err != nil {
		return connector.RefundResult{}, c.sdkErr(methodRefund, r.OutTradeNo, err)
	}
	if rsp.Code == sdk.CodeBusinessFailed && rsp.SubCode == "ACQ.TRADE_NOT_EXIST" {
		return connector.RefundResult{}, fmt.Errorf("alipay refund %s/%s: %w", r.OutTradeNo, r.OutRefundNo, connector.ErrNotFound)
	}
	if err := c.check(methodRefund, r.OutTradeNo, rsp.Error); err != nil {
		return connector.RefundResult{}, err
	}
	if rsp.OutTradeNo != r.OutTradeNo {
		return connector.RefundResult{}, c.unknown(methodRefund, r.OutTradeNo, fmt.Errorf("answer for out_trade_no %q", rsp.OutTradeNo))
	}
	refunded, err := fen(rsp.RefundFee)
	if err != nil {
		return connector.RefundResult{}, c.unknown(methodRefund, r.OutTradeNo, fmt.Errorf("refund_fee: %w", err))
	}
	res := connector.RefundResult{OutRefundNo: r.OutRefundNo, State: connector.RefundSuccess, Amount: r.Amount, Refunded: refunded}
	if rsp.FundChange != "Y" {
		// Nothing moved this time: a retry of a refund made before, or one
		// Alipay has not finished. Its refund query tells which.
		q, err := c.QueryRefund(ctx, r.OutTradeNo, r.OutRefundNo)
		switch {
		case err == nil:
			res.State, res.Amount = q.State, q.Amount
		case errors.Is(err, connector.ErrNotFound), errors.Is(err, connector.ErrUnknownOutcome):
			res.State = connector.RefundProcessing
		default:
			return connector.RefundResult{}, err
		}
	}
	c.log.Info("refund", "out_trade_no", r.OutTradeNo, "out_request_no", r.OutRefundNo, "amount", r.Amount,
		"refunded", refunded, "fund_change", rsp.FundChange, "state", string(res.State))
	return res, nil
}

// QueryRefund asks for a refund's state (alipay.trade.fastpay.refund.query).
// A refund Alipay never received is connector.ErrNotFound, as Alipay
// answers it with success and no refund_status.
func (c *Connector) QueryRefund(ctx context.Context, outTradeNo, outRefundNo string) (connector.RefundResult, error) {
	rsp, err := c.client.TradeFastPayRefundQuery(ctx, sdk.TradeFastPayRefundQuery{OutTradeNo: outTradeNo, OutRequestNo: outRefundNo})
	if err != nil {
		return connector.RefundResult{}, c.sdkErr(methodRefundQuery, outTradeNo, err)
	}
	if rsp.Code == sdk.CodeBusinessFailed && rsp.SubCode == "ACQ.TRADE_NOT_EXIST" {
		return connector.RefundResult{}, fmt.Errorf("alipay refund query %s/%s: %w", outTradeNo, outRefundNo, connector.ErrNotFound)
	}
	if err := c.check(methodRefundQuery, outTradeNo, rsp.Error); err != nil {
		return connector.RefundResult{}, err
	}
	if rsp.RefundStatus == "" {
		return connector.RefundResult{}, fmt.Errorf("alipay refund query %s/%s: no such refund: %w", outTradeNo, outRefundNo, connector.ErrNotFound)
	}
	if rsp.OutTradeNo != outTradeNo || rsp.OutRequestNo != outRefundNo {
		return connector.RefundResult{}, c.unknown(methodRefundQuery, outTradeNo,
			fmt.Errorf("answer for %q/%q", rsp.OutTradeNo, rsp.OutRequestNo))
	}
	res := connector.RefundResult{OutRefundNo: outRefundNo, State: connector.RefundProcessing}
	if rsp.RefundStatus == "REFUND_SUCCESS" {
		res.State = connector.RefundSuccess
	}
	if res.Amount, err = fen(rsp.RefundAmount); err != nil {
		return connector.RefundResult{}, c.unknown(methodRefundQuery, outTradeNo, fmt.Errorf("refund_amount: %w", err))
	}
	return res, nil
}
