// Package alipay is a protocol-faithful local stand-in for the Alipay open
// platform gateway, face-to-face payment (当面付): the real SDKs, and
// posserver's Alipay connector, talk to it exactly as they talk to
// openapi.alipay.com, so that signatures, codes, the trade state machine,
// notifications and the bill can be exercised with no account, no network
// and no money.
//
// # What it implements
//
// One form-POST gateway, /gateway.do, dispatching on method:
// alipay.trade.precreate, .pay (scene bar_code), .query, .cancel, .close,
// .refund, .fastpay.refund.query and
// alipay.data.dataservice.bill.downloadurl.query. Each request's common
// parameters are checked (app_id, charset, sign_type=RSA2, timestamp
// "yyyy-MM-dd HH:mm:ss", version 1.0, biz_content JSON) and its RSA2
// signature verified the way Alipay does it: every parameter but sign,
// empty values dropped, sorted by key, k=v with raw values joined by &,
// SHA256withRSA. A bad signature answers 40002 isv.invalid-signature, with
// the string the gateway verified in sub_msg as Alipay gives it. Answers are
// {"<method with . as _>_response":{...},"sign":"..."}, signed over the
// exact bytes of the inner object; answers to an unknown method go under
// error_response, and those for an unknown app_id are not signed.
//
// Codes are Alipay's: 10000; 10003 for a barcode payment waiting for the
// customer; 20000 (unknown); 40001/40002 for bad requests; 40004 with ACQ.*
// sub codes (TRADE_NOT_EXIST, TRADE_HAS_SUCCESS, TRADE_HAS_CLOSE,
// CONTEXT_INCONSISTENT for an out_trade_no reused with other parameters,
// PAYMENT_AUTH_CODE_INVALID, BUYER_BALANCE_NOT_ENOUGH, TRADE_STATUS_ERROR,
// REFUND_AMT_NOT_EQUAL_TOTAL, SYSTEM_ERROR, ...). Amounts are yuan strings
// with two decimals on the wire and int64 fen inside.
//
// The trade state machine is Alipay's: WAIT_BUYER_PAY → TRADE_SUCCESS →
// TRADE_FINISHED once the refund window (Options.RefundWindow) is over;
// WAIT_BUYER_PAY → TRADE_CLOSED on close, cancel or expiry
// (timeout_express / time_expire, default 2h); TRADE_SUCCESS stays through
// partial refunds and becomes TRADE_CLOSED on a full refund or a cancel.
//
// Behaviours worth knowing, because the real Alipay has them:
//
//   - A precreated QR order does not exist for the API until the customer
//     scans it: query, close, refund answer ACQ.TRADE_NOT_EXIST before that
//     (Options.EagerQRTrades turns this off). A close answered so leaves the
//     QR code payable until it expires; whether Alipay does the same is
//     unconfirmed, and the sandbox takes the worse case. A cancel, by
//     contrast, spends the out_trade_no for good.
//   - alipay.trade.cancel of an out_trade_no Alipay has never seen succeeds
//     without an action, and a later pay with it answers
//     ACQ.TRADE_HAS_CLOSE: that is what makes cancel safe after a lost pay.
//   - A declined barcode payment leaves no trade behind (query answers
//     ACQ.TRADE_NOT_EXIST).
//   - A refund retried with the same out_request_no answers fund_change N
//     and moves nothing; a refund query for an out_request_no Alipay never
//     received answers 10000 without refund_status.
//   - Refunds are notified too (trade_status TRADE_SUCCESS after a partial
//     refund, TRADE_CLOSED after a full one, with refund_fee, gmt_refund and
//     out_biz_no), as Alipay does: a receiver must not take them for new
//     payments.
//   - The bill for a day (or a month) is available once it is over:
//     bill_download_url points at /downloadBillFile.resource and works for
//     30 seconds. It serves a .csv.zip holding 业务明细 and 业务明细(汇总),
//     GBK-encoded, with GBK file names: # comment lines, the 25-column
//     header, rows whose IDs end in a tab, refund rows negative, # summary
//     lines. A day or month not over yet is refused with
//     isv.invalid-arguments (参数不合法; Alipay's current code for this is
//     unconfirmed), one before 2016 with isp.bill_not_exist; a day without
//     business gets an empty bill and bill_file_code
//     EMPTY_DATA_WITH_BILL_FILE.
//
// Notifications (notify_type=trade_status_sync, the §1.8 fields, signed
// over every field but sign and sign_type, empty fields left out) go to the
// request's notify_url when a trade is paid, closed, cancelled, expires
// after a scan, finishes or is refunded. They are retried on
// Options.NotifySchedule (Alipay's 4m, 10m, 10m, 1h, 2h, 6h, 15h by
// default) until the receiver answers exactly "success", with the same
// notify_id every time.
//
// # Using it with the SDK
//
//	sb := alipay.New(alipay.Options{AppID: appID, AppPublicKey: &appKey.PublicKey})
//	defer sb.Close()
//	srv := httptest.NewServer(sb.Handler()) // or http.ListenAndServe(":8090", sb.Handler())
//
//	client, _ := smartwalle.New(appID, appPrivateKeyPEM, false,
//		smartwalle.WithSandboxGateway(srv.URL+"/gateway.do"))
//	client.LoadAliPayPublicKey(string(sb.PublicKeyPEM()))
//
// (smartwalle is github.com/smartwalle/alipay/v3; production=false matters:
// WithSandboxGateway applies only then.) posserver's connector
// (server/connector/alipay) takes the same URL as Config.Gateway and
// sb.PublicKeyPEM() as Config.AlipayPublicKeyPEM.
//
// # Control
//
// Trainers and tests play the customer and the network through Go methods
// (Scan, Pay, Confirm, Decline, NextPay, SetAuthCode, Inject,
// DuplicateNextNotification, BadSignNextNotification, HoldNotifications,
// ReleaseNotifications, Advance, Calls, Deliveries, Trades, PlantInBill,
// CorruptNextBill) or the same
// through a JSON API. The control API has no authentication: never expose
// it beyond the machine or the training network.
//
//	GET  /control/trades                     every trade
//	GET  /control/trades/{out_trade_no}      one trade
//	POST /control/trades/{out_trade_no}/scan     the customer scans the QR code
//	POST /control/trades/{out_trade_no}/pay      the customer pays (scanning first if need be)
//	POST /control/trades/{out_trade_no}/confirm  the customer confirms a 10003 payment
//	POST /control/trades/{out_trade_no}/decline  the customer refuses: the trade closes
//	POST /control/barcode   {"mode":"paid"|"confirm"|"decline","sub_code":"ACQ.…","sub_msg":"…","auth_code":"…"}
//	                        what the next barcode payment meets; with auth_code,
//	                        every payment with that code ("mode":"" forgets it)
//	POST /control/faults    {"method":"alipay.trade.pay","delay_ms":3000,
//	                         "answer":""|"20000"|"ACQ.SYSTEM_ERROR"|"lost"|"bad_sign","applied":false}
//	                        a one-shot fault on the next call of method (any
//	                        method when empty). 20000 and ACQ.SYSTEM_ERROR
//	                        leave the trade alone unless applied; lost
//	                        applies the call and closes the connection
//	                        without an answer; bad_sign spoils the
//	                        answer's signature
//	POST /control/notifications/duplicate    the next notification arrives twice
//	POST /control/notifications/bad-sign     the next notification's first attempt is badly signed
//	POST /control/notifications/hold         keep notifications back…
//	POST /control/notifications/release[?order=reverse]  …and send them, newest first if reverse
//	GET  /control/notifications              every delivery attempt and its answer
//	GET  /control/calls                      gateway calls per method
//	POST /control/clock     {"advance":"2h"} move the sandbox's clock ahead
//	POST /control/bills     {"kind":"unknown_payment|drop|amount|refund|fee","day":"2026-03-14",
//	                         "out_trade_no":"…","amount":500,"fee":9,"out_request_no":"…","at":"RFC 3339"}
//	                        plant a difference in a day's bill (PlantInBill, BillChange):
//	                        unknown_payment books a paid trade the merchant never made,
//	                        refund a refund made outside the API (both real in the
//	                        books, at "at", default 12:00 of day); drop, amount (fen)
//	                        and fee (fen charged) change only that day's payment row
//	POST /control/bills/corrupt_next         the next bill download is cut short (CorruptNextBill)
//
// Errors come back as {"error":"…"} with 400, 404 (no such order) or 409
// (the order cannot do that any more: paid, closed).
//
// Its scope is face-to-face payment in public-key mode with UTF-8 requests,
// as posserver uses Alipay: certificate mode (app_cert_sn, alipay_cert_sn),
// content encryption, GBK requests, ISV app_auth_token semantics, the
// signcustomer bill and other products are outside it.
package alipay
