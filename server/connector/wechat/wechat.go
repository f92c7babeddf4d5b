package wechat

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/validators"
	"github.com/wechatpay-apiv3/wechatpay-go/core/consts"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/native"
	"github.com/wechatpay-apiv3/wechatpay-go/services/refunddomestic"

	"github.com/multipos/multipos/server/connector"
)

var (
	_ connector.Wallet        = (*Connector)(nil)
	_ connector.BarcodeWallet = (*Connector)(nil)
	_ connector.Refunder      = (*Connector)(nil)
)

// ErrNoStatement is returned by TradeBill and DownloadTradeBill for a day
// without a bill (NO_STATEMENT_EXIST: no trades that day; WeChat Pay
// cuts no empty bills).
var ErrNoStatement = errors.New("no bill for that day")

// APIError is WeChat Pay's answer to a call it refused.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// cst is Beijing time, in which WeChat Pay dates orders and bills.
var cst = time.FixedZone("CST", 8*3600)

// Precreate places a native order (merchant-presented QR) and returns its code_url.
func (c *Connector) Precreate(ctx context.Context, req connector.Precreate) (string, error) {
	if req.Amount <= 0 {
		return "", fmt.Errorf("wechat precreate %s: amount %d fen is not positive", req.OutTradeNo, req.Amount)
	}
	pr := native.PrepayRequest{
		Appid: core.String(c.cfg.AppID), Mchid: core.String(c.cfg.MchID),
		Description: core.String(description(req.Subject, req.OutTradeNo)),
		OutTradeNo:  core.String(req.OutTradeNo), NotifyUrl: core.String(c.cfg.NotifyURL),
		Amount: &native.Amount{Total: core.Int64(req.Amount), Currency: core.String("CNY")},
	}
	if req.TerminalID != "" {
		pr.Attach = core.String("terminal=" + req.TerminalID)
	}
	if !req.ExpiresAt.IsZero() {
		// Whole seconds: WeChat Pay's format is yyyy-MM-DDTHH:mm:ss+08:00.
		t := req.ExpiresAt.Truncate(time.Second).In(cst)
		pr.TimeExpire = &t
	}
	svc := native.NativeApiService{Client: c.client}
	resp, result, err := svc.Prepay(ctx, pr)
	if err != nil {
		return "", c.fail("precreate", req.OutTradeNo, result, err)
	}
	if resp.CodeUrl == nil || *resp.CodeUrl == "" {
		return "", fmt.Errorf("wechat precreate %s: answer has no code_url: %w", req.OutTradeNo, connector.ErrUnknownOutcome)
	}
	return *resp.CodeUrl, nil
}

// Query asks for an order by out_trade_no.
func (c *Connector) Query(ctx context.Context, outTradeNo string) (connector.WalletStatus, error) {
	svc := native.NativeApiService{Client: c.client}
	resp, result, err := svc.QueryOrderByOutTradeNo(ctx, native.QueryOrderByOutTradeNoRequest{
		OutTradeNo: core.String(outTradeNo), Mchid: core.String(c.cfg.MchID)})
	if err != nil {
		return connector.WalletStatus{}, c.fail("query", outTradeNo, result, err)
	}
	return c.status("query", outTradeNo, resp)
}

// Close closes an unpaid order; connector.ErrAlreadyPaid when it was paid.
func (c *Connector) Close(ctx context.Context, outTradeNo string) error {
	svc := native.NativeApiService{Client: c.client}
	result, err := svc.CloseOrder(ctx, native.CloseOrderRequest{OutTradeNo: core.String(outTradeNo), Mchid: core.String(c.cfg.MchID)})
	if err != nil {
		return c.fail("close", outTradeNo, result, err)
	}
	return nil
}

// codepayRequest is POST /v3/pay/transactions/codepay's body, which
// wechatpay-go has no model for.
type codepayRequest struct {
	AppID       string `json:"appid"`
	MchID       string `json:"mchid"`
	Description string `json:"description"`
	OutTradeNo  string `json:"out_trade_no"`
	Attach      string `json:"attach,omitempty"`
	Payer       struct {
		AuthCode string `json:"auth_code"`
	} `json:"payer"`
	Amount struct {
		Total    int64  `json:"total"`
		Currency string `json:"currency"`
	} `json:"amount"`
	SceneInfo *codepayScene `json:"scene_info,omitempty"`
}

type codepayScene struct {
	DeviceID  string `json:"device_id,omitempty"`
	StoreInfo *struct {
		OutID string `json:"out_id"`
	} `json:"store_info,omitempty"`
}

// Pay charges a payment code the customer shows (付款码).
func (c *Connector) Pay(ctx context.Context, req connector.BarcodePay) (connector.WalletStatus, error) {
	if req.Amount <= 0 {
		return connector.WalletStatus{}, fmt.Errorf("wechat pay %s: amount %d fen is not positive", req.OutTradeNo, req.Amount)
	}
	var body codepayRequest
	body.AppID, body.MchID, body.OutTradeNo = c.cfg.AppID, c.cfg.MchID, req.OutTradeNo
	body.Description = description(req.Subject, req.OutTradeNo)
	body.Payer.AuthCode = req.AuthCode
	body.Amount.Total, body.Amount.Currency = req.Amount, "CNY"
	if req.TerminalID != "" || req.StoreID != "" {
		body.SceneInfo = &codepayScene{DeviceID: req.TerminalID}
		if req.StoreID != "" {
			body.SceneInfo.StoreInfo = &struct {
				OutID string `json:"out_id"`
			}{req.StoreID}
		}
	}
	result, err := c.client.Request(ctx, http.MethodPost, consts.WechatPayAPIServer+"/v3/pay/transactions/codepay",
		nil, nil, body, "")
	if err != nil {
		var apiErr *core.APIError
		if errors.As(err, &apiErr) && c.verifyError(apiErr) == nil {
			switch {
			case apiErr.Code == "USERPAYING":
				return connector.WalletStatus{OutTradeNo: req.OutTradeNo, State: connector.WalletPaying, Amount: req.Amount}, nil
			case declines(apiErr):
				return connector.WalletStatus{OutTradeNo: req.OutTradeNo, State: connector.WalletDeclined,
					Reason: apiErr.Code + ": " + apiErr.Message}, nil
			}
		}
		return connector.WalletStatus{}, c.fail("pay", req.OutTradeNo, result, err)
	}
	var t struct {
		payments.Transaction
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if err := core.UnMarshalResponse(result.Response, &t); err != nil {
		return connector.WalletStatus{}, fmt.Errorf("wechat pay %s: read answer: %v: %w", req.OutTradeNo, err, connector.ErrUnknownOutcome)
	}
	if t.TradeState == nil && t.Code == "USERPAYING" {
		return connector.WalletStatus{OutTradeNo: req.OutTradeNo, State: connector.WalletPaying, Amount: req.Amount}, nil
	}
	st, err := c.status("pay", req.OutTradeNo, &t.Transaction)
	if err == nil && st.State == connector.WalletPaying && st.Amount == 0 {
		st.Amount = req.Amount // USERPAYING answers carry only trade_state
	}
	return st, err
}

// declines tells a refused code payment (nothing charged, the customer
// must be told why) from a call that went wrong: anything 4xx except
// signature, rate limits and questions about order numbers.
func declines(e *core.APIError) bool {
	if e.StatusCode < 400 || e.StatusCode >= 500 {
		return false
	}
	switch e.StatusCode {
	case http.StatusUnauthorized, http.StatusNotFound, http.StatusTooManyRequests:
		return false
	}
	switch e.Code {
	case "SIGN_ERROR", "ORDER_PAID", "ORDERPAID", "OUT_TRADE_NO_USED", "FREQUENCY_LIMITED", "SYSTEM_ERROR", "SYSTEMERROR", "BANK_ERROR":
		return false
	}
	return true
}

// Reverse undoes a code payment (撤销): money taken goes back, an
// unconfirmed payment can no longer be confirmed. Repeating it is safe.
// WeChat's answer does not say whether money had been taken.
func (c *Connector) Reverse(ctx context.Context, outTradeNo string) (connector.Reversed, error) {
	body := map[string]string{"appid": c.cfg.AppID, "mchid": c.cfg.MchID}
	result, err := c.client.Request(ctx, http.MethodPost,
		consts.WechatPayAPIServer+"/v3/pay/transactions/out-trade-no/"+url.PathEscape(outTradeNo)+"/reverse", nil, nil, body, "")
	if err != nil {
		return connector.Reversed{}, c.fail("reverse", outTradeNo, result, err)
	}
	_ = result.Response.Body.Close()
	return connector.Reversed{}, nil
}

// Refund refunds part or all of a paid order; the same OutRefundNo
// retries the same refund.
func (c *Connector) Refund(ctx context.Context, r connector.Refund) (connector.RefundResult, error) {
	if r.Amount <= 0 || r.Total <= 0 || r.Amount > r.Total {
		return connector.RefundResult{}, fmt.Errorf("wechat refund %s: refund %d of %d fen is out of range", r.OutRefundNo, r.Amount, r.Total)
	}
	req := refunddomestic.CreateRequest{
		OutTradeNo: core.String(r.OutTradeNo), OutRefundNo: core.String(r.OutRefundNo),
		NotifyUrl: core.String(c.cfg.NotifyURL),
		Amount:    &refunddomestic.AmountReq{Refund: core.Int64(r.Amount), Total: core.Int64(r.Total), Currency: core.String("CNY")},
	}
	if r.Reason != "" {
		req.Reason = core.String(truncate(r.Reason, 80))
	}
	svc := refunddomestic.RefundsApiService{Client: c.client}
	resp, result, err := svc.Create(ctx, req)
	if err != nil {
		return connector.RefundResult{}, c.fail("refund", r.OutRefundNo, result, err)
	}
	return c.refundResult("refund", r.OutTradeNo, r.OutRefundNo, resp)
}

// QueryRefund asks for a refund by out_refund_no.
func (c *Connector) QueryRefund(ctx context.Context, outTradeNo, outRefundNo string) (connector.RefundResult, error) {
	svc := refunddomestic.RefundsApiService{Client: c.client}
	resp, result, err := svc.QueryByOutRefundNo(ctx, refunddomestic.QueryByOutRefundNoRequest{OutRefundNo: core.String(outRefundNo)})
	if err != nil {
		return connector.RefundResult{}, c.fail("refund query", outRefundNo, result, err)
	}
	return c.refundResult("refund query", outTradeNo, outRefundNo, resp)
}

func (c *Connector) refundResult(op, outTradeNo, outRefundNo string, r *refunddomestic.Refund) (connector.RefundResult, error) {
	if r.OutRefundNo == nil || *r.OutRefundNo != outRefundNo {
		return connector.RefundResult{}, fmt.Errorf("wechat %s %s: answer is about refund %q: %w", op, outRefundNo, deref(r.OutRefundNo), connector.ErrUnknownOutcome)
	}
	if outTradeNo != "" && r.OutTradeNo != nil && *r.OutTradeNo != outTradeNo {
		return connector.RefundResult{}, fmt.Errorf("wechat %s %s: the refund belongs to order %s, not %s", op, outRefundNo, *r.OutTradeNo, outTradeNo)
	}
	res := connector.RefundResult{OutRefundNo: outRefundNo, RefundID: deref(r.RefundId)}
	if r.Amount != nil && r.Amount.Refund != nil {
		res.Amount = *r.Amount.Refund
	}
	if r.Status == nil {
		return connector.RefundResult{}, fmt.Errorf("wechat %s %s: answer has no status: %w", op, outRefundNo, connector.ErrUnknownOutcome)
	}
	switch *r.Status {
	case refunddomestic.STATUS_SUCCESS:
		res.State = connector.RefundSuccess
	case refunddomestic.STATUS_PROCESSING:
		res.State = connector.RefundProcessing
	case refunddomestic.STATUS_ABNORMAL, refunddomestic.STATUS_CLOSED:
		res.State = connector.RefundFailed
	default:
		return connector.RefundResult{}, fmt.Errorf("wechat %s %s: unknown refund status %q", op, outRefundNo, *r.Status)
	}
	return res, nil
}

// TradeBill downloads the day's trade bill (bill_type ALL, SUCCESS or
// REFUND; "" is ALL) through wechatpay-go and checks it against its SHA1.
// The bill is the backtick CSV WeChat Pay writes, UTF-8, amounts in yuan,
// uncompressed. Errors as DownloadTradeBill's.
func (c *Connector) TradeBill(ctx context.Context, day time.Time, billType string) ([]byte, error) {
	if billType == "" {
		billType = "ALL"
	}
	date := day.In(cst).Format("2006-01-02")
	q := url.Values{"bill_date": {date}, "bill_type": {billType}, "tar_type": {"GZIP"}}
	result, err := c.client.Request(ctx, http.MethodGet, consts.WechatPayAPIServer+"/v3/bill/tradebill", nil, q, nil, "")
	if err != nil {
		var apiErr *core.APIError
		if errors.As(err, &apiErr) && apiErr.Code == "NO_STATEMENT_EXIST" {
			return nil, fmt.Errorf("wechat trade bill %s: %w", date, ErrNoStatement)
		}
		if errors.As(err, &apiErr) && apiErr.Code == "STATEMENT_CREATING" {
			return nil, fmt.Errorf("wechat trade bill %s: %w", date, ErrBillNotReady)
		}
		return nil, c.fail("trade bill", date, result, err)
	}
	var meta struct {
		HashType    string `json:"hash_type"`
		HashValue   string `json:"hash_value"`
		DownloadURL string `json:"download_url"`
	}
	if err := core.UnMarshalResponse(result.Response, &meta); err != nil {
		return nil, fmt.Errorf("wechat trade bill %s: %w", date, err)
	}
	if meta.HashType != "SHA1" || meta.DownloadURL == "" {
		return nil, fmt.Errorf("wechat trade bill %s: unexpected answer (hash_type %q, download_url %q)", date, meta.HashType, meta.DownloadURL)
	}
	// The download is a signed request whose answer is not signed: the
	// SHA1 from the signed answer above vouches for the file instead.
	result, err = c.download.Request(ctx, http.MethodGet, meta.DownloadURL, nil, nil, nil, "")
	if err != nil {
		return nil, c.fail("trade bill download", date, result, err)
	}
	defer result.Response.Body.Close()
	data, err := io.ReadAll(io.LimitReader(result.Response.Body, 1<<30))
	if err != nil {
		return nil, fmt.Errorf("wechat trade bill %s: download: %w", date, err)
	}
	if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
		z, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("wechat trade bill %s: gunzip: %w", date, err)
		}
		if data, err = io.ReadAll(z); err != nil {
			return nil, fmt.Errorf("wechat trade bill %s: gunzip: %w", date, err)
		}
	}
	sum := sha1.Sum(data)
	if got := hex.EncodeToString(sum[:]); !strings.EqualFold(got, meta.HashValue) {
		return nil, fmt.Errorf("wechat trade bill %s: SHA1 %s, WeChat Pay says %s: %w", date, got, meta.HashValue, ErrBillDamaged)
	}
	return data, nil
}

// status maps a transaction to a wallet status.
func (c *Connector) status(op, outTradeNo string, t *payments.Transaction) (connector.WalletStatus, error) {
	if t.OutTradeNo != nil && *t.OutTradeNo != outTradeNo || t.Mchid != nil && *t.Mchid != c.cfg.MchID {
		return connector.WalletStatus{}, fmt.Errorf("wechat %s %s: answer is about order %q of merchant %q: %w",
			op, outTradeNo, deref(t.OutTradeNo), deref(t.Mchid), connector.ErrUnknownOutcome)
	}
	if t.TradeState == nil {
		return connector.WalletStatus{}, fmt.Errorf("wechat %s %s: answer has no trade_state: %w", op, outTradeNo, connector.ErrUnknownOutcome)
	}
	state, known := walletState(*t.TradeState)
	if !known {
		return connector.WalletStatus{}, fmt.Errorf("wechat %s %s: unknown trade_state %q", op, outTradeNo, *t.TradeState)
	}
	st := connector.WalletStatus{OutTradeNo: outTradeNo, TradeNo: deref(t.TransactionId), State: state}
	if t.Amount != nil && t.Amount.Total != nil {
		st.Amount = *t.Amount.Total
	}
	if t.SuccessTime != nil {
		if at, err := time.Parse(time.RFC3339, *t.SuccessTime); err == nil {
			st.PaidAt = at
		}
	}
	// A closed or revoked order with a payment of its own was paid, then
	// given back in full (a reversal of a confirmed code).
	st.Refunded = state == connector.WalletClosed && st.TradeNo != "" && !st.PaidAt.IsZero()
	if state == connector.WalletDeclined {
		st.Reason = *t.TradeState
		if d := deref(t.TradeStateDesc); d != "" {
			st.Reason += ": " + d
		}
	}
	return st, nil
}

// walletState maps trade_state. REFUND was paid (then refunded, perhaps
// in part); ACCEPT (received, not yet charged) is still in the customer's hands.
func walletState(s string) (connector.WalletState, bool) {
	switch s {
	case "NOTPAY":
		return connector.WalletWaiting, true
	case "USERPAYING", "ACCEPT":
		return connector.WalletPaying, true
	case "SUCCESS", "REFUND":
		return connector.WalletPaid, true
	case "CLOSED", "REVOKED":
		return connector.WalletClosed, true
	case "PAYERROR":
		return connector.WalletDeclined, true
	}
	return "", false
}

// fail turns an SDK error into the connector's: ErrUnknownOutcome when
// WeChat Pay may have acted (the request left and no trustworthy answer
// came back, or it said SYSTEM_ERROR / 5xx), ErrNotFound and
// ErrAlreadyPaid for those answers, a plain error otherwise.
func (c *Connector) fail(op, no string, result *core.APIResult, err error) error {
	var apiErr *core.APIError
	if errors.As(err, &apiErr) {
		e := &APIError{Status: apiErr.StatusCode, Code: apiErr.Code, Message: apiErr.Message}
		if verr := c.verifyError(apiErr); verr != nil {
			c.log.Warn("answer not signed by WeChat Pay", "op", op, "no", no, "status", apiErr.StatusCode, "err", verr)
			return fmt.Errorf("wechat %s %s: %w, with a signature that does not verify: %w", op, no, e, connector.ErrUnknownOutcome)
		}
		switch {
		case apiErr.StatusCode >= 500, apiErr.Code == "SYSTEM_ERROR", apiErr.Code == "SYSTEMERROR", apiErr.Code == "BANK_ERROR":
			return fmt.Errorf("wechat %s %s: %w: %w", op, no, e, connector.ErrUnknownOutcome)
		case apiErr.Code == "ORDER_NOT_EXIST", apiErr.Code == "ORDERNOTEXIST", apiErr.Code == "RESOURCE_NOT_EXISTS":
			return fmt.Errorf("wechat %s %s: %w: %w", op, no, e, connector.ErrNotFound)
		case apiErr.Code == "ORDER_PAID", apiErr.Code == "ORDERPAID":
			return fmt.Errorf("wechat %s %s: %w: %w", op, no, e, connector.ErrAlreadyPaid)
		}
		return fmt.Errorf("wechat %s %s: %w", op, no, e)
	}
	if result == nil {
		// Failed before anything was sent (request building, signing).
		return fmt.Errorf("wechat %s %s: %w", op, no, err)
	}
	if result.Response != nil {
		c.log.Warn("answer refused", "op", op, "no", no, "status", result.Response.StatusCode, "err", err)
	}
	return fmt.Errorf("wechat %s %s: %v: %w", op, no, err, connector.ErrUnknownOutcome)
}

// verifyError checks an error answer's signature when it carries one. The
// SDK checks only 2xx answers; a refusal decides as much as a success
// (DECLINED, not found, paid), so a forged one must not pass either. An
// unsigned one is taken as is: gateways in front of WeChat Pay answer
// some failures without a signature.
func (c *Connector) verifyError(e *core.APIError) error {
	if e.Header.Get("Wechatpay-Signature") == "" {
		return nil
	}
	v := validators.NewWechatPayResponseValidator(c.verifier)
	return v.Validate(context.Background(), &http.Response{Header: e.Header, Body: io.NopCloser(strings.NewReader(e.Body))})
}

// description is the order's description: the subject, or the order
// number when there is none, cut to WeChat Pay's 127.
func description(subject, outTradeNo string) string {
	if strings.TrimSpace(subject) == "" {
		subject = outTradeNo
	}
	return truncate(subject, 127)
}

// truncate cuts s to at most n bytes on a character boundary, which also
// keeps it within n characters whichever WeChat Pay counts.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
