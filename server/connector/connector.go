package connector

import (
	"context"
	"errors"
	"time"
)

// ErrUnknownOutcome wraps errors after which the channel may or may not have
// acted (timeouts, dropped links, 5xx): the server must query before deciding.
var ErrUnknownOutcome = errors.New("outcome unknown")

// ErrNotFound is returned by Query and Close for an order the channel does not know.
var ErrNotFound = errors.New("order not found at the channel")

// ErrAlreadyPaid is returned by Close when the customer paid before the close.
var ErrAlreadyPaid = errors.New("order already paid")

// ErrTooLateToReverse is returned by Reverse for an order past the
// wallet's reversal window (Alipay: 24 hours): close or refund it instead.
var ErrTooLateToReverse = errors.New("too late to reverse the order")

// Precreate registers a merchant-presented QR order at a wallet.
type Precreate struct {
	OutTradeNo string // our order number, unique per channel
	Amount     int64  // fen
	Subject    string
	TerminalID string
	ExpiresAt  time.Time
}

// WalletState is a wallet order's state at the channel.
type WalletState string

const (
	WalletWaiting  WalletState = "WAITING"  // created, not paid (Alipay WAIT_BUYER_PAY, WeChat NOTPAY)
	WalletPaying   WalletState = "PAYING"   // barcode pay: the customer must confirm on the phone (Alipay 10003, WeChat USERPAYING)
	WalletPaid     WalletState = "PAID"     // TRADE_SUCCESS / TRADE_FINISHED / SUCCESS (and WeChat REFUND: it was paid)
	WalletClosed   WalletState = "CLOSED"   // TRADE_CLOSED / CLOSED / REVOKED
	WalletDeclined WalletState = "DECLINED" // the customer refused or the payment failed (PAYERROR, ACQ.* business failures)
)

// WalletStatus is the answer to a query or a barcode payment.
type WalletStatus struct {
	OutTradeNo string
	TradeNo    string // the channel's transaction id
	State      WalletState
	Amount     int64 // fen
	PaidAt     time.Time
	// Reason says why a payment was DECLINED, as the channel put it
	// (Alipay sub_code and sub_msg, WeChat code and message).
	Reason string
	// Refunded, on a CLOSED order, says the customer had paid it and the
	// wallet gave the money back in full (a cancel or a full refund), when
	// the wallet tells (Alipay: a closed trade with a payment date).
	Refunded bool
}

// BarcodePay charges a code the customer shows on the phone (付款码).
type BarcodePay struct {
	OutTradeNo string // a new one for every attempt
	AuthCode   string // the digits the cashier's scanner read
	Amount     int64  // fen
	Subject    string
	TerminalID string
	StoreID    string
}

// BarcodeWallet is a wallet that takes customer-presented codes.
type BarcodeWallet interface {
	// Pay charges the code: PAID, PAYING (the customer must confirm on the
	// phone: poll Query, then Reverse), or DECLINED with the reason.
	// ErrUnknownOutcome when the answer was lost: query, then reverse.
	Pay(ctx context.Context, req BarcodePay) (WalletStatus, error)
	// Reverse undoes a barcode payment whose outcome is unknown or never
	// confirmed: Alipay alipay.trade.cancel, WeChat .../reverse. Money
	// taken is given back; repeating it is safe.
	Reverse(ctx context.Context, outTradeNo string) (Reversed, error)
}

// Reversed is what a reversal did.
type Reversed struct {
	// Refunded: the customer had paid and the wallet gave the money back
	// (Alipay's cancel answering action=refund). False when the order was
	// closed unpaid, or when the wallet does not say (WeChat's reverse).
	Refunded bool
}

// Refund gives back part or all of a paid order.
type Refund struct {
	OutTradeNo  string
	OutRefundNo string // unique per refund; the same one retries the same refund
	Amount      int64  // fen, this refund
	Total       int64  // fen, the order's amount
	Reason      string
}

// RefundState is a refund's state at the channel.
type RefundState string

const (
	RefundProcessing RefundState = "PROCESSING"
	RefundSuccess    RefundState = "SUCCESS"
	RefundFailed     RefundState = "FAILED" // WeChat ABNORMAL / CLOSED
)

// RefundResult is the channel's answer to a refund or a refund query.
type RefundResult struct {
	OutRefundNo string
	RefundID    string // the channel's refund id, when it gives one
	State       RefundState
	Amount      int64 // fen, this refund
	Refunded    int64 // fen, refunded on the order so far, when the channel says
}

// Refunder is a wallet that refunds.
type Refunder interface {
	Refund(ctx context.Context, r Refund) (RefundResult, error)
	QueryRefund(ctx context.Context, outTradeNo, outRefundNo string) (RefundResult, error)
}

// Wallet is one wallet channel.
type Wallet interface {
	// Precreate creates the order and returns the QR content the customer scans.
	Precreate(ctx context.Context, req Precreate) (qrContent string, err error)
	// Query asks the channel for the order's state.
	Query(ctx context.Context, outTradeNo string) (WalletStatus, error)
	// Close closes an unpaid order; ErrAlreadyPaid when it was paid meanwhile.
	Close(ctx context.Context, outTradeNo string) error
}

// Notification is a verified asynchronous payment result from a wallet.
type Notification struct {
	Channel    string // "alipay" or "wechat"
	OutTradeNo string
	TradeNo    string
	State      WalletState
	Amount     int64 // fen, as the channel says; checked against the order
	At         time.Time
}

// Notifier receives notifications; posserver implements it. A nil error
// acknowledges the notification, an error asks the channel to send it again.
type Notifier interface {
	Notify(ctx context.Context, n Notification) error
}

// Sale is a card sale as sent to the acquirer.
type Sale struct {
	TerminalID string
	MerchantID string
	Trace      string
	Batch      string // the terminal's batch the trace belongs to (field 60.2)
	Amount     int64  // fen
	PAN        string
	Expiry     string // YYMM
	Track2     string
	Entry      string  // chip, swipe, contactless (or an ISO 8583 field 22 code)
	PINBlock   [8]byte // format 0, encrypted under the terminal's PIN working key
	CardSeq    string  // PAN sequence number (5F34), chip cards only
	ICC        []byte  // chip data for field 55 (EMV TLV), chip cards only
}

// SaleResult is the acquirer's answer. ResponseCode "00" approves; anything
// else declines (ISO 8583 field 39).
type SaleResult struct {
	ResponseCode string
	AuthCode     string // field 38
	RRN          string // field 37, retrieval reference number
	Batch        string
	Date         string // field 13, MMDD: the acquirer's date of the sale, which a refund names it by
}

// Approved reports whether the sale was approved.
func (r SaleResult) Approved() bool { return r.ResponseCode == "00" }

// Reversal undoes a card message whose answer was lost (ISO 8583 0400).
// It is a copy of the original request, as UnionPay POS send it: the same
// trace and batch, processing code, amount, entry mode, card sequence
// number and, for a void or refund, the same original in field 61, so
// that it names exactly one transaction at the bank. It carries no card
// number, track or PIN (the server never keeps them). The bank reverses
// the original if it booked it (nil), says it never had it
// (ErrNothingToReverse), or refuses a reversal that does not match its
// original: then it is sent again later, and an operator sees why.
type Reversal struct {
	TerminalID string
	MerchantID string
	// Kind is what is reversed: "" or "sale", "void", "refund".
	Kind    string
	Trace   string // the original's trace
	Batch   string // the original's batch
	Amount  int64  // fen, the original's amount
	Entry   string // chip, swipe, contactless: how the card was read
	PIN     bool   // a PIN was entered (sales)
	CardSeq string // field 23, chip cards
	// The sale a void or refund named (field 61).
	OrigBatch, OrigTrace, OrigRRN, OrigDate string
}

// ErrNothingToReverse is the bank's answer to a reversal of a message it
// never booked (response code 25): nothing stays charged.
var ErrNothingToReverse = errors.New("the bank has no such transaction to reverse")

// CardAdjustment is a void (消费撤销) or refund (退货) of a card sale as
// the acquirer needs it: the card read again (no PIN) and the original
// sale named by its batch, trace, RRN and date.
type CardAdjustment struct {
	TerminalID string
	MerchantID string
	Trace      string
	Batch      string // the terminal's batch the trace belongs to
	Amount     int64  // fen; a void's is the sale's whole amount
	PAN        string
	Expiry     string
	Track2     string
	Entry      string
	CardSeq    string
	ICC        []byte
	OrigBatch  string
	OrigTrace  string
	OrigRRN    string
	OrigDate   string // MMDD, China Standard Time
}

// BalanceResult is the answer to a balance inquiry.
type BalanceResult struct {
	ResponseCode string
	Balance      int64 // fen, when approved
}

// CardServices are the card transactions besides the sale.
type CardServices interface {
	Void(ctx context.Context, a CardAdjustment) (SaleResult, error)
	Refund(ctx context.Context, a CardAdjustment) (SaleResult, error)
	Balance(ctx context.Context, s Sale) (BalanceResult, error)
}

// Acquirer is the bank card channel.
type Acquirer interface {
	Sale(ctx context.Context, s Sale) (SaleResult, error)
	// Reverse sends a reversal; ErrUnknownOutcome when it may not have
	// arrived (then it is sent again).
	Reverse(ctx context.Context, r Reversal) error
}

// SignOn asks the acquirer for a terminal's working keys (签到).
type SignOn struct {
	TerminalID string
	MerchantID string
	Trace      string
	Batch      string
	MasterKey  []byte // the terminal master key the keys come encrypted under
}

// SignedOn is the acquirer's answer to a sign-on.
type SignedOn struct {
	// Keys is the PIN and MAC working keys under the terminal master key,
	// with their check values, exactly as the host sent them: what the
	// terminal decrypts, so the clear keys never travel.
	Keys []byte
	// PINKey and MACKey are the same keys in the clear, for the server's
	// side of the terminal's MACs. Keep them in memory or sealed only.
	PINKey []byte
	MACKey []byte
}

// KeyIssuer is an acquirer whose terminals sign on for working keys.
type KeyIssuer interface {
	IssueKeys(ctx context.Context, s SignOn) (SignedOn, error)
}
