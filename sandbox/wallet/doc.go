// Package wallet is an in-process stand-in for the Alipay and WeChat Pay
// services behind connector.Wallet and connector.BarcodeWallet, so that
// the server's unit tests and the load test (through demo/standins) can
// run a whole wallet payment with no account, no network and no signing
// cost. The demo and `posserver sandbox` run the protocol-faithful HTTP
// sandboxes instead (sandbox/alipay, sandbox/wechat).
//
// It behaves the way the real services do where the server's logic depends
// on it: trades move WAITING → PAID / DECLINED / CLOSED, an unpaid code
// expires, a precreate replayed with the same out_trade_no and amount gives
// the same code, closing a paid trade answers ErrAlreadyPaid, an unknown
// trade answers ErrNotFound, and results reach the server as asynchronous
// notifications retried until acknowledged. The QR content has each wallet's
// real shape. Pay and Decline play the customer; the fault hooks play a bad
// network.
package wallet
