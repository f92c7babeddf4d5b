// Package wechat is a local stand-in for WeChat Pay API v3, faithful to
// the protocol, so that the real SDKs (wechatpay-go, gopay) and posserver's
// WeChat connector run end to end with no merchant account and no network:
// WeChat Pay has no sandbox for v3. Trainers drive it by hand; tests drive
// it from Go.
//
// # What it does as WeChat Pay does
//
//   - Authorization: WECHATPAY2-SHA256-RSA2048 with mchid, nonce_str,
//     timestamp, serial_no and signature; the message
//     METHOD\nURI\ntimestamp\nnonce\nbody\n is rebuilt from the request
//     target as sent and verified with the merchant's key. A bad or stale
//     (±5 min) signature, unknown mchid or serial gets 401 SIGN_ERROR.
//   - Every answer, errors included, is signed in public-key mode:
//     Wechatpay-Timestamp, -Nonce, -Serial (the PUB_KEY_ID_…), -Signature
//     over timestamp\nnonce\nbody\n, and a Request-ID. Errors are
//     {"code","message","detail"} with WeChat Pay's statuses: 400
//     PARAM_ERROR / INVALID_REQUEST / ORDER_PAID / ORDER_CLOSED /
//     APPID_MCHID_NOT_MATCH / AUTH_CODE_INVALID / NO_STATEMENT_EXIST, 401
//     SIGN_ERROR, 403 for a refused code payment, 404 ORDER_NOT_EXIST /
//     RESOURCE_NOT_EXISTS, 500 SYSTEM_ERROR.
//   - POST /v3/pay/transactions/native → {"code_url":"weixin://wxpay/bizpayurl?pr=…"};
//     POST /v3/pay/transactions/codepay (payer.auth_code: 18 digits
//     starting 10–15) → the transaction (SUCCESS), {"trade_state":"USERPAYING"},
//     or 403 with the refusal's code (the order is then PAYERROR);
//     GET …/out-trade-no/{no}?mchid= and …/id/{transaction_id}?mchid=;
//     POST …/out-trade-no/{no}/close → 204; POST …/out-trade-no/{no}/reverse
//     → {appid,mchid,out_trade_no}, REVOKED, money taken given back;
//     POST /v3/refund/domestic/refunds and GET …/refunds/{out_refund_no};
//     GET /v3/bill/tradebill → {hash_type:"SHA1",hash_value,download_url},
//     and the download (a signed GET whose answer is not signed) serves the
//     backtick CSV: the 27-column ALL header, rows, the summary header and
//     row, amounts in yuan (GZIP with tar_type=GZIP; the SHA1 is of the
//     uncompressed file). The download_url has the real shape,
//     https://api.mch.weixin.qq.com/v3/billdownload/file?token=…
//     (&tartype=gzip), on WeChat Pay's own host (Options.BaseURL): clients
//     reach it through the same endpoint override as every other call,
//     and gopay's V3BillDownLoadBill, which keeps what follows ".com",
//     accepts it. Day D's bill is 400 STATEMENT_CREATING until 10:00 on
//     D+1 (WeChat Pay cuts it after 09:00 and says to fetch after 10:00),
//     a later day INVALID_REQUEST, a day without trades NO_STATEMENT_EXIST.
//   - trade_state moves NOTPAY → SUCCESS → REFUND (native), or
//     SUCCESS / USERPAYING → SUCCESS | PAYERROR (codepay), → CLOSED by
//     close, → REVOKED by reverse. An out_trade_no replayed with the same
//     parameters gets the same code_url, or the code payment as it stands;
//     with other parameters 400 INVALID_REQUEST (OUT_TRADE_NO_USED). A paid
//     order cannot be closed (400 ORDER_PAID). A native order unpaid at its
//     time_expire (default 2 h) can no longer be paid and stays NOTPAY
//     until closed. Amounts are integer fen on the wire; anything else is
//     a PARAM_ERROR.
//   - Refunds: out_refund_no is idempotent, partial refunds add up to at
//     most the total, a refund answers PROCESSING and becomes SUCCESS
//     (or ABNORMAL) after Options.RefundDelay.
//   - Notifications: TRANSACTION.SUCCESS to a native order's notify_url,
//     REFUND.SUCCESS / REFUND.ABNORMAL to a refund's; the resource is
//     AEAD_AES_256_GCM under the APIv3 key with a 12-character nonce and
//     associated_data "transaction" / "refund"; signed like answers (afresh
//     on every attempt); retried on anything but 2xx on
//     Options.NotifySchedule (WeChat Pay's 15s … 6h by default).
//
// Where WeChat Pay's behaviour is not published, the sandbox chooses, and
// says so here: USERPAYING is a 200 carrying only trade_state (as WeChat
// Pay's community reports); a refused code payment is 403 with code
// NOTENOUGH unless told otherwise; a bad auth code is 400
// AUTH_CODE_INVALID; code payments send no notifications; today's bill is
// STATEMENT_CREATING (not documented); http notify_urls are accepted as well as https.
//
// # Control API
//
// Go methods: Pay, Confirm, Decline, NextCodepay, CodepayFor, Orders,
// InjectFault, SetLatency, DuplicateNextNotification,
// BadSignatureNextNotification, HoldNotifications, ReleaseNotifications,
// AbnormalNextRefund, Order, Calls, AllCalls, Deliveries, PlantInBill,
// CorruptNextBill, Now, Advance. Advance moves the business clock (orders
// expire, days end, bills become ready); signatures stay on Options.Now,
// which the clients' clocks follow.
//
// The same over HTTP under /control/ on the sandbox's handler: JSON in,
// JSON out, no signature (never expose it beyond a test network). Success
// is 200 with a body or 204; errors are {"error":"…"} with 404 (no such
// order), 409 (wrong state, expired) or 400.
//
//	GET  /control/orders[?prefix=P…]             every order (whose out_trade_no starts with a P), oldest first
//	GET  /control/orders/{out_trade_no}          the order as held (OrderInfo)
//	POST /control/orders/{out_trade_no}/pay      customer pays a native order (or confirms a USERPAYING one)
//	POST /control/orders/{out_trade_no}/confirm  customer enters the password: USERPAYING → SUCCESS
//	POST /control/orders/{out_trade_no}/decline  customer refuses: USERPAYING → PAYERROR (native: stays NOTPAY)
//	POST /control/codepay        {"outcome":"paid|userpaying|payerror","auth_code":"…","code":"…","message":"…","confirm_after":"10s"}
//	                             without auth_code: the next code payment; with: every payment with that code
//	POST /control/faults         {"op":"native|codepay|query|close|reverse|refund|refund_query|tradebill|billdownload|any",
//	                              "kind":"system_error|lose_reply|delay|bad_signature","delay":"3s"}
//	                             for the next call of op (queued, one per call)
//	POST /control/latency        {"latency":"200ms"} on every call ("0s" ends it)
//	POST /control/notifications  {"action":"duplicate_next|bad_signature_next|hold|release|release_reversed"}
//	GET  /control/notifications  every delivery attempt (Delivery)
//	POST /control/refunds/abnormal_next   the next refund ends ABNORMAL
//	GET  /control/calls          call counters by op
//	POST /control/clock          {"advance":"25h"} move the business clock ahead → {"now":"…"}
//	POST /control/bills          {"kind":"unknown_payment|drop|amount|refund|fee","day":"2026-12-07",
//	                              "out_trade_no":"…","amount":500,"fee":9,"out_refund_no":"…","at":"RFC 3339"}
//	                             plant a difference in a day's bill (BillChange): unknown_payment
//	                             books a paid code payment the merchant never made, refund a
//	                             refund made outside the API (SUCCESS, no notification; both real
//	                             in the books, at "at", default 12:00 of day); drop, amount (fen)
//	                             and fee (fen) change only that day's payment row
//	POST /control/bills/corrupt_next   the next bill download is damaged after its SHA1 was given
//
// Example, a trainer paying a native order from a shell, with the
// sandbox's handler served on 127.0.0.1:8090:
//
//	curl -X POST http://127.0.0.1:8090/control/orders/T1-20240101-0001/pay
//	curl -X POST -d '{"outcome":"userpaying","confirm_after":"15s"}' http://127.0.0.1:8090/control/codepay
//
// # Pointing the SDKs at it
//
// wechatpay-go has no base-URL option; its paths are
// https://api.mch.weixin.qq.com/v3/…. Give it an http.Client whose
// Transport rewrites scheme and host to the sandbox: the request signature
// covers only the path and query, so the rewrite keeps it valid.
//
//	type toSandbox struct{ base *url.URL }
//
//	func (t toSandbox) RoundTrip(r *http.Request) (*http.Response, error) {
//		r = r.Clone(r.Context())
//		r.URL.Scheme, r.URL.Host, r.Host = t.base.Scheme, t.base.Host, ""
//		return http.DefaultTransport.RoundTrip(r)
//	}
//
//	client, err := core.NewClient(ctx,
//		option.WithWechatPayPublicKeyAuthCipher(mchID, merchantSerial, merchantKey, sb.PublicKeyID(), sb.PublicKey()),
//		option.WithHTTPClient(&http.Client{Transport: toSandbox{base}}))
//
// Notifications verify and decrypt with
// notify.NewNotifyHandler(apiV3Key, verifiers.NewSHA256WithRSAPubkeyVerifier(sb.PublicKeyID(), *sb.PublicKey())).
// server/connector/wechat does all this when its Config.Endpoint is the
// sandbox's URL.
//
// gopay's ClientV3 takes the sandbox's URL directly:
//
//	c, err := wechat.NewClientV3(mchID, merchantSerial, apiV3Key, merchantKeyPEM)
//	err = c.AutoVerifySignByPublicKey(sandboxPublicKeyPEM, sb.PublicKeyID())
//	c.SetProxyHost(srv.URL) // instead of https://api.mch.weixin.qq.com
//
// That is all its bill calls need too: V3BillTradeBill, then
// V3BillDownLoadBill(rsp.Response.DownloadUrl), which goes to the proxy
// host with the URL's path and query.
package wechat
