// Package wechat is posserver's WeChat Pay channel: API v3 through the
// official SDK, github.com/wechatpay-apiv3/wechatpay-go, in public-key
// mode (WeChat Pay's PUB_KEY_ID_… key verifies every answer and
// notification).
//
// A Connector is a connector.Wallet (Precreate places a native order and
// returns its code_url; Query; Close), a connector.BarcodeWallet (Pay is
// POST /v3/pay/transactions/codepay and Reverse POST …/reverse, sent
// through the SDK's core.Client because the SDK has no codepay service)
// and a connector.Refunder (refunddomestic). TradeBill fetches a day's
// bill for reconciliation and checks its SHA1; ParseTradeBill reads it
// (columns by header name, exact amounts in fen and fees in 0.00001 yuan).
// NotifyHandler serves the notify_url.
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
