package alipay

import (
	"context"
	"fmt"

	sdk "github.com/smartwalle/alipay/v3"

	"github.com/multipos/multipos/money"
	"github.com/multipos/multipos/server/connector"
)

// Method names, as errors and logs show them.
const (
	methodPrecreate   = "alipay.trade.precreate"
	methodPay         = "alipay.trade.pay"
	methodQuery       = "alipay.trade.query"
	methodCancel      = "alipay.trade.cancel"
	methodClose       = "alipay.trade.close"
	methodRefund      = "alipay.trade.refund"
	methodRefundQuery = "alipay.trade.fastpay.refund.query"
	methodBill        = "alipay.data.dataservice.bill.downloadurl.query"
)

const productFaceToFace = "FACE_TO_FACE_PAYMENT"

func yuan(fen int64) (string, error) {
	if fen < 1 || fen > int64(money.Max) {
		return "", fmt.Errorf("amount %d fen is outside 0.01 to %s yuan", fen, money.Max.Grouped())
	}
	return money.Fen(fen).String(), nil
}

// fen parses a yuan amount from a verified answer exactly.
func fen(s string) (int64, error) {
	f, err := money.Parse(s)
	return int64(f), err
}

func subject(s, outTradeNo string) string {
	if s == "" {
		return "Order " + outTradeNo
	}
	return s
}

// Precreate creates a QR order (alipay.trade.precreate) and returns the
// qr_code the customer scans. Alipay creates the trade itself only when the
// customer scans: until then Query and Close answer connector.ErrNotFound.
func (c *Connector) Precreate(ctx context.Context, req connector.Precreate) (string, error) {
	amount, err := yuan(req.Amount)
	if err != nil {
		return "", fmt.Errorf("alipay precreate %s: %w", req.OutTradeNo, err)
	}
	p := sdk.TradePreCreate{Trade: sdk.Trade{NotifyURL: c.cfg.NotifyURL, Subject: subject(req.Subject, req.OutTradeNo),
		OutTradeNo: req.OutTradeNo, TotalAmount: amount, ProductCode: productFaceToFace}, TerminalId: req.TerminalID}
	if !req.ExpiresAt.IsZero() {
		p.TimeExpire = req.ExpiresAt.In(cst).Format(timeLayout)
	}
	rsp, err := c.client.TradePreCreate(ctx, p)
	if err != nil {
		return "", c.sdkErr(methodPrecreate, req.OutTradeNo, err)
	}
	if err := c.check(methodPrecreate, req.OutTradeNo, rsp.Error); err != nil {
		if rsp.SubCode == "ACQ.TRADE_HAS_SUCCESS" {
			return "", fmt.Errorf("%w: %w", connector.ErrAlreadyPaid, err)
		}
		return "", err
	}
	if rsp.OutTradeNo != req.OutTradeNo || rsp.QRCode == "" {
		return "", c.unknown(methodPrecreate, req.OutTradeNo,
			fmt.Errorf("answer for out_trade_no %q with qr_code %q", rsp.OutTradeNo, rsp.QRCode))
	}
	c.log.Info("precreated", "out_trade_no", req.OutTradeNo, "amount", req.Amount)
	return rsp.QRCode, nil
}

// Query asks for the trade's state (alipay.trade.query).
func (c *Connector) Query(ctx context.Context, outTradeNo string) (connector.WalletStatus, error) {
	rsp, err := c.client.TradeQuery(ctx, sdk.TradeQuery{OutTradeNo: outTradeNo})
	if err != nil {
		return connector.WalletStatus{}, c.sdkErr(methodQuery, outTradeNo, err)
	}
	if rsp.Code == sdk.CodeBusinessFailed && rsp.SubCode == "ACQ.TRADE_NOT_EXIST" {
		return connector.WalletStatus{}, fmt.Errorf("alipay query %s: %w", outTradeNo, connector.ErrNotFound)
	}
	if err := c.check(methodQuery, outTradeNo, rsp.Error); err != nil {
		return connector.WalletStatus{}, err
	}
	if rsp.OutTradeNo != outTradeNo {
		return connector.WalletStatus{}, c.unknown(methodQuery, outTradeNo, fmt.Errorf("answer for out_trade_no %q", rsp.OutTradeNo))
	}
	st := connector.WalletStatus{OutTradeNo: outTradeNo, TradeNo: rsp.TradeNo}
	switch rsp.TradeStatus {
	case sdk.TradeStatusWaitBuyerPay:
		st.State = connector.WalletWaiting
		if c.isBarcode(outTradeNo) {
			st.State = connector.WalletPaying
		}
	case sdk.TradeStatusSuccess, sdk.TradeStatusFinished:
		st.State = connector.WalletPaid
		st.PaidAt = parseTime(rsp.SendPayDate)
	case sdk.TradeStatusClosed:
		// A closed trade with a payment date was paid, then cancelled or
		// refunded in full: the money went back.
		st.State, st.Refunded = connector.WalletClosed, rsp.SendPayDate != ""
	default:
		return connector.WalletStatus{}, c.unknown(methodQuery, outTradeNo, fmt.Errorf("trade_status %q", rsp.TradeStatus))
	}
	if st.Amount, err = fen(rsp.TotalAmount); err != nil {
		return connector.WalletStatus{}, c.unknown(methodQuery, outTradeNo, fmt.Errorf("total_amount: %w", err))
	}
	return st, nil
}

// Close closes an unpaid trade (alipay.trade.close): nil when it is closed
// (also when it was already), connector.ErrAlreadyPaid when it was paid,
// connector.ErrNotFound when Alipay has no such trade (a QR code nobody
// scanned yet).
func (c *Connector) Close(ctx context.Context, outTradeNo string) error {
	rsp, err := c.client.TradeClose(ctx, sdk.TradeClose{OutTradeNo: outTradeNo, NotifyURL: c.cfg.NotifyURL})
	if err != nil {
		return c.sdkErr(methodClose, outTradeNo, err)
	}
	switch {
	case rsp.Code == sdk.CodeBusinessFailed && rsp.SubCode == "ACQ.TRADE_NOT_EXIST":
		return fmt.Errorf("alipay close %s: %w", outTradeNo, connector.ErrNotFound)
	case rsp.Code == sdk.CodeBusinessFailed && rsp.SubCode == "ACQ.TRADE_STATUS_ERROR":
		// Not waiting for payment any more: paid, or closed already. Only
		// a query tells which.
		st, qerr := c.Query(ctx, outTradeNo)
		switch {
		case qerr != nil:
			return fmt.Errorf("%s, and then: %w", apiError(methodClose, outTradeNo, rsp.Error), qerr)
		case st.State == connector.WalletPaid:
			return fmt.Errorf("alipay close %s: %w", outTradeNo, connector.ErrAlreadyPaid)
		case st.State == connector.WalletClosed:
			return nil
		}
	}
	if err := c.check(methodClose, outTradeNo, rsp.Error); err != nil {
		return err
	}
	c.log.Info("closed", "out_trade_no", outTradeNo)
	return nil
}

// Pay charges a customer-presented code (alipay.trade.pay, scene bar_code,
// product FACE_TO_FACE_PAYMENT). 10000 is PAID, 10003 is PAYING (the
// customer confirms on the phone: poll Query, then Reverse), a 40004
// business failure is DECLINED with Alipay's reason.
func (c *Connector) Pay(ctx context.Context, req connector.BarcodePay) (connector.WalletStatus, error) {
	amount, err := yuan(req.Amount)
	if err != nil {
		return connector.WalletStatus{}, fmt.Errorf("alipay pay %s: %w", req.OutTradeNo, err)
	}
	p := sdk.TradePay{Trade: sdk.Trade{NotifyURL: c.cfg.NotifyURL, Subject: subject(req.Subject, req.OutTradeNo),
		OutTradeNo: req.OutTradeNo, TotalAmount: amount, ProductCode: productFaceToFace, StoreId: req.StoreID},
		Scene: "bar_code", AuthCode: req.AuthCode, TerminalId: req.TerminalID}
	c.rememberBarcode(req.OutTradeNo)
	rsp, err := c.client.TradePay(ctx, p)
	if err != nil {
		return connector.WalletStatus{}, c.sdkErr(methodPay, req.OutTradeNo, err)
	}
	st := connector.WalletStatus{OutTradeNo: req.OutTradeNo, TradeNo: rsp.TradeNo}
	switch {
	case rsp.Code == sdk.CodeSuccess:
		st.State = connector.WalletPaid
		st.PaidAt = parseTime(rsp.GmtPayment)
	case rsp.Code == sdk.CodeOrderSuccessPayInProcess:
		st.State = connector.WalletPaying
	case rsp.Code == sdk.CodeBusinessFailed && rsp.SubCode == "ACQ.TRADE_HAS_SUCCESS":
		// Paid by an earlier attempt with this out_trade_no: say so as a query does.
		return c.Query(ctx, req.OutTradeNo)
	case rsp.Code == sdk.CodeBusinessFailed && rsp.SubCode == "ACQ.TRADE_HAS_CLOSE":
		st.State = connector.WalletClosed
		st.Reason = rsp.SubCode + ": " + rsp.SubMsg
		st.Amount = req.Amount
		return st, nil
	case rsp.Code == sdk.CodeBusinessFailed && rsp.SubCode != "ACQ.SYSTEM_ERROR" && rsp.SubCode != "AQC.SYSTEM_ERROR" &&
		rsp.SubCode != "ACQ.CONTEXT_INCONSISTENT":
		st.State = connector.WalletDeclined
		st.Reason = rsp.SubCode + ": " + rsp.SubMsg
		st.Amount = req.Amount
		c.log.Info("barcode payment declined", "out_trade_no", req.OutTradeNo, "reason", st.Reason)
		return st, nil
	default:
		// CONTEXT_INCONSISTENT (the out_trade_no was used with other
		// parameters) is a bug to fix, not the customer's refusal.
		if err := c.check(methodPay, req.OutTradeNo, rsp.Error); err != nil {
			return connector.WalletStatus{}, err
		}
		return connector.WalletStatus{}, c.unknown(methodPay, req.OutTradeNo, fmt.Errorf("code %q", rsp.Code))
	}
	if rsp.OutTradeNo != req.OutTradeNo {
		return connector.WalletStatus{}, c.unknown(methodPay, req.OutTradeNo, fmt.Errorf("answer for out_trade_no %q", rsp.OutTradeNo))
	}
	if st.Amount, err = fen(rsp.TotalAmount); err != nil {
		return connector.WalletStatus{}, c.unknown(methodPay, req.OutTradeNo, fmt.Errorf("total_amount: %w", err))
	}
	c.log.Info("barcode payment", "out_trade_no", req.OutTradeNo, "state", string(st.State), "trade_no", st.TradeNo)
	return st, nil
}

// Reverse undoes a barcode payment (alipay.trade.cancel): Alipay closes the
// trade if unpaid, refunds it if paid, and spends the out_trade_no if it
// never saw it. Repeating it is safe. Alipay accepts it within 24 hours of
// the payment; after that a refund is needed.
// The answer's action says what happened: close (nothing had been paid),
// refund (the payment went back to the customer).
func (c *Connector) Reverse(ctx context.Context, outTradeNo string) (connector.Reversed, error) {
	rsp, err := c.client.TradeCancel(ctx, sdk.TradeCancel{OutTradeNo: outTradeNo, NotifyURL: c.cfg.NotifyURL})
	if err != nil {
		return connector.Reversed{}, c.sdkErr(methodCancel, outTradeNo, err)
	}
	if rsp.Code != sdk.CodeSuccess && rsp.RetryFlag == "Y" {
		// retry_flag Y: Alipay asks for the cancel to be repeated.
		return connector.Reversed{}, c.unknown(methodCancel, outTradeNo, apiError(methodCancel, outTradeNo, rsp.Error))
	}
	if rsp.Code == sdk.CodeBusinessFailed && rsp.SubCode == "ACQ.TRADE_CANCEL_TIME_OUT" {
		return connector.Reversed{}, fmt.Errorf("%w: %w", connector.ErrTooLateToReverse, apiError(methodCancel, outTradeNo, rsp.Error))
	}
	if err := c.check(methodCancel, outTradeNo, rsp.Error); err != nil {
		return connector.Reversed{}, err
	}
	c.log.Info("reversed", "out_trade_no", outTradeNo, "action", rsp.Action, "trade_no", rsp.TradeNo)
	return connector.Reversed{Refunded: rsp.Action == "refund"}, nil
}
