// Package wallet is an in-process stand-in for the Alipay and WeChat Pay
// services behind connector.Wallet, so that posserver, its tests and the
// trainer's demo can run a whole wallet payment with no account and no
// network.
//
// It behaves the way the real services do where the server's logic depends
// on it: trades move WAITING → PAID / DECLINED / CLOSED, an unpaid code
// expires, a precreate replayed with the same out_trade_no and amount gives
// the same code, closing a paid trade answers ErrAlreadyPaid, an unknown
// trade answers ErrNotFound, and results reach the server as asynchronous
// notifications retried until acknowledged. The QR content has each wallet's
// real shape. Pay and Decline play the customer; the fault hooks play a bad
// network. A later issue replaces this with protocol-faithful HTTP sandboxes.
package wallet
