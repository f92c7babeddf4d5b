package api

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// IdempotencyHeader carries the client's request id on every call that
// can move money (creating, paying, cancelling). The server keeps the first
// answer to each (terminal, request id) and returns it to a replay; the
// same id with other parameters is refused (CodeIdempotencyConflict). A
// request id is 8 to 64 letters, digits, '-' or '_'.
const IdempotencyHeader = "Idempotency-Key"

// MaxWait caps the long-poll wait of GET /v1/orders/{id}.
const MaxWait = 30 * time.Second

// Channel is a payment channel of the multi-channel unit.
type Channel string

const (
	Alipay Channel = "alipay"
	WeChat Channel = "wechat"
	Card   Channel = "card"
)

// Channels lists the channels in the order the terminal numbers them (1, 2, 3).
var Channels = []Channel{Alipay, WeChat, Card}

// Wallet reports whether the channel pays by QR code.
func (c Channel) Wallet() bool { return c == Alipay || c == WeChat }

// Valid reports whether c is a known channel.
func (c Channel) Valid() bool { return c == Alipay || c == WeChat || c == Card }

// Kind is the kind of transaction.
type Kind string

const (
	KindWalletQR      Kind = "wallet_qr"      // merchant-presented QR code (扫码支付)
	KindWalletBarcode Kind = "wallet_barcode" // customer-presented payment code (付款码)
	KindCardSale      Kind = "card_sale"      // bank card sale (消费)
	KindCardVoid      Kind = "card_void"      // void of a card sale of the open batch (消费撤销)
	KindCardRefund    Kind = "card_refund"    // refund of part or all of a card sale (退货)
)

// State is where a transaction stands. CREATED is journaled before anything
// is sent to the channel; SUCCESS, FAILED and CLOSED are final and never
// change. The server's package doc has the whole state table: what moves
// each state, its deadline and what happens then.
type State string

const (
	StateCreated State = "CREATED" // journaled, not yet answered by the channel
	StatePending State = "PENDING" // QR shown, or a scanned code waiting for the customer to confirm on the phone
	StateUnknown State = "UNKNOWN" // sent, outcome not known (timeout); resolved later
	// StateCancelling: the order is being closed at its wallet (the
	// cashier's cancel, an expired code, a code never confirmed, another
	// amount charged). From here it ends CLOSED, with the reason saying
	// whether the wallet gave back money the customer paid meanwhile
	// (ReasonRefunded); a payment that arrives now never makes it SUCCESS.
	StateCancelling State = "CANCELLING"
	StateSuccess    State = "SUCCESS" // paid / approved
	StateFailed     State = "FAILED"  // declined or refused by the channel or the customer
	StateClosed     State = "CLOSED"  // nothing kept by the channel: cancelled, expired, reversed or refunded in full
)

// Final reports whether s can no longer change.
func (s State) Final() bool { return s == StateSuccess || s == StateFailed || s == StateClosed }

// Reasons for FAILED and CLOSED orders (Order.Reason). Card declines carry the
// ISO 8583 response code in Order.ResponseCode as well.
const (
	ReasonCustomerDeclined = "customer_declined" // the customer refused on the phone
	ReasonCancelled        = "cancelled"         // closed by the cashier
	ReasonExpired          = "expired"           // the QR code expired unpaid
	ReasonDeclined         = "declined"          // the bank declined (see ResponseCode)
	ReasonChannelError     = "channel_error"     // the channel refused the request
	ReasonUnknownOutcome   = "unknown_outcome"   // the channel never answered; closed so it cannot be paid
	ReasonReversed         = "reversed"          // a card sale whose answer was lost, undone at the bank
	ReasonClosedAtChannel  = "closed_at_channel" // the wallet closed it before its code expired (not this server)
	// ReasonRefunded: the customer paid while the order was being closed
	// (the cashier's cancel, the code's expiry); the wallet gave the whole
	// amount back, so the order is CLOSED and nothing is kept.
	ReasonRefunded = "refunded"
	// ReasonAmountMismatch: the wallet charged another amount than the
	// order's; it was given back in full and the order closed.
	ReasonAmountMismatch = "amount_mismatch"
	// ReasonDoublePayment: the sale was already paid by another attempt;
	// this payment was given back in full.
	ReasonDoublePayment = "double_payment"
	// ReasonNotBooked: a card message whose answer was lost; the bank says
	// it never booked it (its reversal found nothing), so nothing is kept.
	ReasonNotBooked = "not_booked"
	// Payment codes (付款码).
	ReasonNotConfirmed     = "not_confirmed"      // the customer never confirmed on the phone; reversed, nothing charged
	ReasonCodeInvalid      = "code_invalid"       // the code expired or was used: the customer refreshes it
	ReasonInsufficientFund = "insufficient_funds" // the customer's balance does not cover it: another method
	ReasonPaymentFailed    = "payment_failed"     // the wallet refused the payment for another reason
)

// CreateBarcodeOrder charges a code the customer shows on the phone. The
// code is one wallet's (see package paycode): Channel must be that
// wallet. The code itself is never stored or logged.
type CreateBarcodeOrder struct {
	SaleID   string  `json:"sale_id,omitempty"`
	Trace    string  `json:"trace"`
	Channel  Channel `json:"channel"`
	Amount   int64   `json:"amount"`
	Subject  string  `json:"subject,omitempty"`
	AuthCode string  `json:"auth_code"`
}

// CreateWalletOrder asks for a QR-code order on a wallet channel.
type CreateWalletOrder struct {
	SaleID  string  `json:"sale_id,omitempty"` // pay this open sale again (after a failed attempt); empty: a new sale
	Trace   string  `json:"trace"`             // terminal trace number, 6 digits, unique per terminal
	Channel Channel `json:"channel"`           // alipay or wechat
	Amount  int64   `json:"amount"`            // fen
	Subject string  `json:"subject,omitempty"`
}

// CardSale asks for a bank card sale. PAN and Track2 travel to the acquirer
// and are never stored; PINBlock is the ISO 9564 format 0 block encrypted under
// the terminal's PIN key, hex-encoded.
type CardSale struct {
	SaleID   string `json:"sale_id,omitempty"` // as in CreateWalletOrder
	Trace    string `json:"trace"`
	Amount   int64  `json:"amount"`
	PAN      string `json:"pan"`
	Expiry   string `json:"expiry"` // YYMM
	Track2   string `json:"track2,omitempty"`
	Entry    string `json:"entry"` // chip, swipe, contactless
	PINBlock string `json:"pin_block"`
	CardSeq  string `json:"card_seq,omitempty"` // PAN sequence number, chip cards
	ICC      string `json:"icc,omitempty"`      // chip data for field 55, hex TLV
	// MAC is the X9.19 MAC of MACData under the terminal's MAC working
	// key from its last sign-on, 16 hex digits: the server refuses a card
	// request without the right one (CodeBadMAC).
	MAC string `json:"mac"`
}

// MACData is what a card sale's MAC covers: every field, in a fixed order.
func (c CardSale) MACData() []byte {
	return macData("sale", c.SaleID, c.Trace, strconv.FormatInt(c.Amount, 10), c.PAN, c.Expiry, c.Track2,
		c.Entry, c.PINBlock, c.CardSeq, c.ICC)
}

// CardAdjust is a void (消费撤销, POST /v1/card/voids) or a refund (退货,
// POST /v1/card/refunds) of the terminal's card sale Original. The card is
// read again and must be the sale's; no PIN. A void undoes the whole sale
// and only in the sale's day; refunds may be partial and add up to at most
// the sale's amount.
type CardAdjust struct {
	Original string `json:"original"` // the sale's order id
	Trace    string `json:"trace"`
	Amount   int64  `json:"amount"` // fen: a refund's; a void's must be the sale's
	PAN      string `json:"pan"`
	Expiry   string `json:"expiry"`
	Track2   string `json:"track2,omitempty"`
	Entry    string `json:"entry"`
	CardSeq  string `json:"card_seq,omitempty"`
	ICC      string `json:"icc,omitempty"`
	MAC      string `json:"mac"`
}

// MACData is what a void's or refund's MAC covers; kind tells them apart.
func (c CardAdjust) MACData(kind Kind) []byte {
	return macData(string(kind), c.Original, c.Trace, strconv.FormatInt(c.Amount, 10), c.PAN, c.Expiry, c.Track2,
		c.Entry, c.CardSeq, c.ICC)
}

// CardBalance is a balance inquiry (余额查询, POST /v1/card/balance): the
// card and its PIN, no money moved.
type CardBalance struct {
	Trace    string `json:"trace"`
	PAN      string `json:"pan"`
	Expiry   string `json:"expiry"`
	Track2   string `json:"track2,omitempty"`
	Entry    string `json:"entry"`
	PINBlock string `json:"pin_block"`
	CardSeq  string `json:"card_seq,omitempty"`
	ICC      string `json:"icc,omitempty"`
	MAC      string `json:"mac"`
}

// MACData is what a balance inquiry's MAC covers.
func (c CardBalance) MACData() []byte {
	return macData("balance", c.Trace, c.PAN, c.Expiry, c.Track2, c.Entry, c.PINBlock, c.CardSeq, c.ICC)
}

// Balance is the answer to a balance inquiry.
type Balance struct {
	Trace        string `json:"trace"`
	MaskedPAN    string `json:"masked_pan"`
	ResponseCode string `json:"response_code"`
	Balance      int64  `json:"balance"` // fen, when ResponseCode is 00
	MAC          string `json:"mac,omitempty"`
}

// MACData is what a balance answer's MAC covers.
func (b Balance) MACData() []byte {
	return macData("balance-answer", b.Trace, b.MaskedPAN, b.ResponseCode, strconv.FormatInt(b.Balance, 10))
}

// SignOn is a terminal's card sign-on (签到): it asks for its PIN and MAC
// working keys. Trace is a trace number of the terminal's own, as for a
// sale. A terminal's stations share its keys: without Renew the keys the
// terminal signed on with today are given again (a station starting up, a
// second PC with the same bundle); with Renew, or when there are none of
// today, the bank issues fresh ones (the cashier's own 签到, or keys the
// bank no longer takes), and a station with the old ones is told to sign
// on again (CodeBadMAC) at its next card request.
type SignOn struct {
	Trace string `json:"trace"`
	Renew bool   `json:"renew,omitempty"`
}

// SignedOn is the answer to a sign-on.
type SignedOn struct {
	// Keys is 80 hex digits: the PIN key encrypted under the terminal
	// master key (16 bytes), its check value (4), the MAC key likewise
	// (16 + 4); the layout of field 62 of a CUP 0810.
	Keys       string    `json:"keys"`
	SignedOnAt time.Time `json:"signed_on_at"`
}

// macData joins fields with a separator that none of them contains, so
// that no two different requests have the same MAC input.
func macData(fields ...string) []byte {
	return []byte(strings.Join(fields, "\x1f"))
}

// Order is a transaction as the server knows it. Version rises by one at every
// state change; long-polls wait for it to pass a known value.
type Order struct {
	ID         string    `json:"id"`
	SaleID     string    `json:"sale_id"` // the sale this attempt pays; at most one attempt of a sale succeeds
	TerminalID string    `json:"terminal_id"`
	Trace      string    `json:"trace"`
	Channel    Channel   `json:"channel"`
	Kind       Kind      `json:"kind"`
	Amount     int64     `json:"amount"`
	State      State     `json:"state"`
	Reason     string    `json:"reason,omitempty"`
	Version    int       `json:"version"`
	OutTradeNo string    `json:"out_trade_no,omitempty"` // our order number at the channel
	TradeNo    string    `json:"trade_no,omitempty"`     // the channel's transaction number
	QRContent  string    `json:"qr_content,omitempty"`
	ExpiresAt  time.Time `json:"expires_at,omitzero"`
	// Card sales.
	MaskedPAN    string `json:"masked_pan,omitempty"`
	Entry        string `json:"entry,omitempty"`
	ResponseCode string `json:"response_code,omitempty"`
	AuthCode     string `json:"auth_code,omitempty"`
	RRN          string `json:"rrn,omitempty"`
	Batch        string `json:"batch,omitempty"`    // the terminal's batch the trace belongs to (field 60.2)
	CardSeq      string `json:"card_seq,omitempty"` // PAN sequence number (field 23), chip cards
	// Original is the sale a void or refund undoes.
	Original string `json:"original,omitempty"`
	// Refunded and Voided, on a card sale: what has been undone of it so
	// far (approved refunds in fen, and whether an approved void exists),
	// so that the station says at the lookup what is left.
	Refunded int64 `json:"refunded,omitempty"`
	Voided   bool  `json:"voided,omitempty"`

	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`

	// MAC, on card orders, is the X9.19 MAC of MACData under the
	// terminal's MAC working key: the terminal believes an approval only
	// when it checks.
	MAC string `json:"mac,omitempty"`
}

// MACData is what an order's MAC covers: what the cashier and the receipt
// go by.
func (o Order) MACData() []byte {
	return macData("order", o.ID, o.TerminalID, o.Trace, string(o.Kind), strconv.FormatInt(o.Amount, 10),
		string(o.State), o.Reason, o.MaskedPAN, o.ResponseCode, o.AuthCode, o.RRN, o.Batch, o.Original)
}

// ChannelInfo is one channel as configured for a terminal.
type ChannelInfo struct {
	Channel     Channel `json:"channel"`
	Enabled     bool    `json:"enabled"`
	SingleLimit int64   `json:"single_limit"` // fen, per payment; 0 = none
	DailyLimit  int64   `json:"daily_limit"`  // fen, per terminal per day; 0 = none
	DailyUsed   int64   `json:"daily_used"`   // fen taken or in flight today on this terminal
	// DisabledReason says why a channel is off when no limit rule switched
	// it off: DisabledNotConfigured. "" otherwise.
	DisabledReason string `json:"disabled_reason,omitempty"`
	// The merchant's daily limit across all its terminals, and what they
	// have used of it (0 and 0 when there is none).
	MerchantDailyLimit int64 `json:"merchant_daily_limit,omitempty"`
	MerchantDailyUsed  int64 `json:"merchant_daily_used,omitempty"`
}

// DisabledNotConfigured is ChannelInfo.DisabledReason for a channel the
// server has no connection for (its configuration lacks the channel's
// section, outside demo mode): only the server's operator can turn it on.
const DisabledNotConfigured = "not_configured"

// TerminalInfo is what a terminal learns about itself at start-up.
type TerminalInfo struct {
	TerminalID   string        `json:"terminal_id"`
	MerchantID   string        `json:"merchant_id"`
	MerchantName string        `json:"merchant_name"`
	StoreID      string        `json:"store_id"`
	Channels     []ChannelInfo `json:"channels"`
	QRTTLSeconds int           `json:"qr_ttl_seconds"`
	Demo         bool          `json:"demo"`
	// Batch is the terminal's open batch and NextTrace the next trace
	// number free in it (also in every answer's headers).
	Batch      string    `json:"batch"`
	NextTrace  string    `json:"next_trace"`
	ServerTime time.Time `json:"server_time"`
	// BusinessZone is the IANA name of the zone the chain's business day
	// ends in (posserver's business_zone), and BusinessOffset its offset
	// east of UTC at ServerTime in seconds, for a station that does not
	// know the zone: "today", for a void, is that day. Empty from a server
	// before business zones: Beijing time.
	BusinessZone   string `json:"business_zone,omitempty"`
	BusinessOffset int    `json:"business_offset,omitempty"`
}

// Error codes of Error.Code.
const (
	CodeBadRequest          = "bad_request"
	CodeUnauthenticated     = "unauthenticated"     // no valid terminal certificate
	CodeUnknownTerminal     = "unknown_terminal"    // certificate of a terminal not registered
	CodeCertificateRetired  = "certificate_retired" // a newer certificate was issued for the terminal
	CodeTerminalDisabled    = "terminal_disabled"
	CodeNotFound            = "not_found"
	CodeOverLimit           = "over_limit"       // Limit holds the single-payment limit
	CodeOverDailyLimit      = "over_daily_limit" // Limit holds what is left today
	CodeChannelDisabled     = "channel_disabled"
	CodeIdempotencyConflict = "idempotency_conflict"
	CodeSalePaid            = "sale_paid"     // the sale was already paid by another attempt
	CodeSaleBusy            = "sale_busy"     // the sale has an attempt still open
	CodeChannelError        = "channel_error" // the channel refused or failed; Message says why
	CodeNotCancellable      = "not_cancellable"
	CodeWrongWallet         = "wrong_wallet" // a payment code of the other wallet than the channel chosen
	CodeInternal            = "internal"
	CodeSignOnRequired      = "sign_on_required" // no card working keys: the terminal must sign on (签到)
	CodeBadMAC              = "bad_mac"          // the card request's MAC does not check: sign on again
	CodeNotAdjustable       = "not_adjustable"   // a void or refund the sale does not allow; Message says why
	// CodeUnsupportedMediaType (415): a body sent without Content-Type
	// application/json (a charset parameter, if any, must be utf-8).
	CodeUnsupportedMediaType = "unsupported_media_type"
	// CodeTraceUsed: the trace was already used in the terminal's current
	// batch (by any message). Nothing was done; the answer's
	// BatchHeader and NextTraceHeader say what to use: send it again with
	// the next trace (and a new request id).
	CodeTraceUsed = "trace_used"
)

// Every answer of the terminal API carries the terminal's current batch
// (ISO 8583 field 60.2) and the next trace number free in it, as the
// server knows them: the server is the source of truth for both, and the
// terminal's own counter is a cache kept in step with these.
const (
	BatchHeader     = "Multipos-Batch"
	NextTraceHeader = "Multipos-Next-Trace"
)

// Error is the body of every non-2xx answer.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Limit   int64  `json:"limit,omitempty"`  // fen, for the limit codes
	Reason  string `json:"reason,omitempty"` // for CodeNotAdjustable: one of the Adjust* reasons
}

func (e *Error) Error() string {
	return fmt.Sprintf("posserver: %s: %s", e.Code, e.Message)
}

// Reasons of CodeNotAdjustable (Error.Reason), for the station to say why
// in the cashier's language.
const (
	AdjustNotApproved = "not_approved" // not an approved card sale
	AdjustOtherCard   = "other_card"   // the card read is not the sale's
	AdjustVoidAmount  = "void_amount"  // a void's amount is not the sale's
	AdjustNotToday    = "not_today"    // a void of a sale of another day or batch
	AdjustVoided      = "voided"       // the sale was voided already
	AdjustOverRefund  = "over_refund"  // more than is left to refund; Limit holds what is left
	// AdjustHasRefunds: a void of a sale with refunds (approved or still
	// in progress) would undo more than is left; Limit holds what is left
	// to refund.
	AdjustHasRefunds = "has_refunds"
)

// Heartbeat is what a terminal sends every few seconds: it keeps the
// terminal online in `posserver terminal list` and acknowledges results the
// terminal has shown (Acks: transaction ids).
type Heartbeat struct {
	AppVersion string   `json:"app_version,omitempty"`
	Acks       []string `json:"acks,omitempty"`
}

// HeartbeatAnswer carries the server's time and the final results the
// terminal has not acknowledged (a terminal that crashed or lost its link
// while waiting learns the outcome here, until it acknowledges it).
type HeartbeatAnswer struct {
	ServerTime  time.Time `json:"server_time"`
	Undelivered []Order   `json:"undelivered,omitempty"`
}
