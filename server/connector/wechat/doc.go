// Package wechat is posserver's WeChat Pay channel: API v3 through the
// official SDK, github.com/wechatpay-apiv3/wechatpay-go, in public-key
// mode (WeChat Pay's PUB_KEY_ID_… key verifies every answer and
// notification).
//
// A Connector is a connector.Wallet (Precreate places a native order and
// returns its code_url; Query; Close), a connector.BarcodeWallet (Pay is
// POST /v3/pay/transactions/codepay and Reverse POST …/reverse, sent
// through the SDK's core.Client because the SDK has no codepay service)
// and a connector.Refunder (refunddomestic). NotifyHandler serves the
// notify_url.
//
// Bills: DownloadTradeBill fetches a day's ALL bill through gopay
// (github.com/go-pay/gopay/wechat/v3: V3BillTradeBill, then
// V3BillDownLoadBill on the download_url, which wechatpay-go has no
// service for), with the same keys and endpoint (gopay's SetProxyHost), and
// returns the gzip as downloaded once the SHA1 of its uncompressed bytes
// matches the signed answer's hash_value (else ErrBillDamaged).
// STATEMENT_CREATING (the day's bill is cut after 09:00 the next day) is
// ErrBillNotReady, NO_STATEMENT_EXIST (no trades) ErrNoStatement. TradeBill
// does the same through wechatpay-go and returns the plain file.
// ParseTradeBill reads gzip or plain bytes, a bill downloaded or one saved
// from the merchant portal (byte-order mark, trailing tabs, the older
// 总金额 layout): columns by header name, exact amounts in fen and fees in
// 0.00001 yuan.
//
// How WeChat Pay's answers map:
//
//	trade_state NOTPAY → WAITING; USERPAYING (and ACCEPT) → PAYING;
//	SUCCESS, REFUND → PAID; CLOSED, REVOKED → CLOSED;
//	PAYERROR → DECLINED, Reason "PAYERROR: <trade_state_desc>".
//	A code payment refused with a 4xx → DECLINED, Reason "<code>: <message>".
//	5xx, SYSTEM_ERROR, BANK_ERROR, timeouts, dropped connections, answers
//	whose signature does not verify → wraps connector.ErrUnknownOutcome.
//	ORDER_NOT_EXIST, RESOURCE_NOT_EXISTS → wraps connector.ErrNotFound.
//	ORDER_PAID (closing a paid order) → wraps connector.ErrAlreadyPaid.
//	Other refusals wrap *APIError (status, code, message).
//
// Keys come as PEM bytes in Config, not paths. Config.Endpoint other than
// https://api.mch.weixin.qq.com (the local sandbox in sandbox/wechat, a
// test double) is reached by rewriting scheme and host in the HTTP
// transport; the SDK signs only the path and query, so the signature
// stays valid.
package wechat
