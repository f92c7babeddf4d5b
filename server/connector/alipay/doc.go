// Package alipay is posserver's Alipay channel: face-to-face payment
// (当面付) through the open platform gateway, on
// github.com/smartwalle/alipay/v3. It implements connector.Wallet (QR
// orders: precreate, query, close), connector.BarcodeWallet (customer
// codes: pay, and cancel as the reversal) and connector.Refunder, receives
// Alipay's asynchronous notifications (NotifyHandler), and fetches and
// reads the daily trade bill for reconciliation (DownloadBill, ParseBill).
//
// What the server relies on is how answers map to outcomes:
//
//   - Only code 10000 is success; the SDK's IsSuccess also takes 10003,
//     which for a barcode payment means the customer still has to confirm
//     on the phone (WalletPaying).
//   - trade_status WAIT_BUYER_PAY is WalletWaiting (WalletPaying for a
//     barcode payment this process sent), TRADE_SUCCESS and TRADE_FINISHED
//     are WalletPaid, TRADE_CLOSED is WalletClosed.
//   - A 40004 business failure of a barcode payment is WalletDeclined with
//     the reason "sub_code: sub_msg"; ACQ.TRADE_HAS_SUCCESS is answered
//     with the trade's state as queried, ACQ.TRADE_HAS_CLOSE with
//     WalletClosed.
//   - 20000, ACQ.SYSTEM_ERROR, timeouts, broken connections, and answers
//     that are unsigned, do not verify against Alipay's public key or do
//     not parse all wrap connector.ErrUnknownOutcome: query before deciding.
//   - ACQ.TRADE_NOT_EXIST is connector.ErrNotFound; closing a paid trade is
//     connector.ErrAlreadyPaid. Other refusals are *APIError.
//
// The trade bill: BillDownloadURL asks through smartwalle's
// BillDownloadURLQuery (bill_type trade); DownloadBill fetches the
// .csv.zip from that 30-second link and returns it as served, checked to
// be a whole zip. A day not over yet is refused by Alipay with
// isv.invalid-arguments (spelled INVAILID_ARGUMENTS in the 2016 docs; the
// current code is unconfirmed): ErrBillNotReady, ask again later.
// BILL_NOT_EXIST is ErrNoBill; a day without business is an empty bill.
// ParseBill takes the zip or the 业务明细 CSV alone (a file a clerk saved
// from the merchant portal), GBK or UTF-8 with or without a byte-order
// mark, finds columns by header name (older layouts lack 门店编号 and
// others, or use half-width brackets) and trims the tabs Alipay puts after
// IDs. Refunds are rows with 业务类型 退款 and negative amounts; 服务费 is
// negative when charged. A million-line bill is read streaming: the zip
// entry is inflated on one goroutine while another splits lines and cells
// in place, decoding only the cells it keeps (neither ',' nor a newline
// can be part of a GBK character). A file that reading is unsure of
// (quoted cells, a line over 1 MB, any refusal) is read again the simple
// way, whole, with encoding/csv, so rows and errors are the same either
// way (a differential test and fuzz target hold the two to it).
//
// Alipay creates a precreated trade only when the customer scans the code,
// so Query and Close of a QR order nobody scanned yet answer ErrNotFound.
//
// Amounts cross the wire as yuan strings with two decimals and are parsed
// exactly into int64 fen (money.Parse); no float is involved.
//
// The sandbox in package sandbox/alipay plays Alipay for tests and
// training: set Config.Gateway to its URL + "/gateway.do" and
// Config.AlipayPublicKeyPEM to its PublicKeyPEM().
package alipay
