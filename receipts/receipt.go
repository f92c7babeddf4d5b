package receipts

import (
	"time"

	"github.com/multipos/multipos/i18n"
	"github.com/multipos/multipos/money"
)

// Copy is which copy of a receipt this is.
type Copy int

const (
	MerchantCopy Copy = iota + 1 // 商户存根, printed first, kept by the merchant
	CustomerCopy                 // 持卡人存根 / 顾客联, handed to the customer
)

// Type is the transaction type printed on the receipt.
type Type string

const (
	Sale   Type = "sale"   // 消费
	Void   Type = "void"   // 消费撤销: the whole sale undone the same day
	Refund Type = "refund" // 退货: part or all of a sale given back later
)

// Receipt is everything printed on a receipt. It never holds a full card
// number: MaskedPAN is already masked (621234******0001).
type Receipt struct {
	Lang         i18n.Lang
	Copy         Copy
	Demo         bool // 演示 DEMO: printed in demo mode, not a real payment
	Reprint      bool // 重打印 REPRINT
	MerchantName string
	MerchantID   string
	TerminalID   string
	Operator     string
	Channel      string // "alipay", "wechat" or "card"
	Type         Type
	Amount       money.Fen
	// Wallet payments.
	OrderNo string // our out_trade_no
	TradeNo string // the wallet's transaction number
	// Card payments.
	MaskedPAN string
	Expiry    string // MM/YY
	Entry     string // chip, swipe, contactless
	AuthCode  string
	RRN       string
	Batch     string
	Trace     string
	// OrigTrace is the trace of the sale a void or refund undoes.
	OrigTrace string
	Time      time.Time
	// Settlement makes this a settlement slip (结算单, Type Settle; see
	// NewSettlementSlip): it prints the batch's totals instead of a payment.
	Settlement *Settlement `json:",omitempty"`
	// Retry marks a later attempt at the same copy (the paper ran out in
	// the first): printed the same, but the cash drawer is not kicked again.
	Retry bool `json:"-"`
}

// Sanitize returns r as it may be stored: on a card receipt, a card
// number that arrived unmasked, in the card field or typed into any other,
// is masked, so a queue or log file never holds one.
func Sanitize(r Receipt) Receipt {
	if r.Channel != "card" {
		return r
	}
	r.MaskedPAN = maskedPAN(r.MaskedPAN)
	for _, f := range []*string{&r.MerchantName, &r.MerchantID, &r.TerminalID, &r.Operator, &r.Expiry, &r.Entry,
		&r.AuthCode, &r.RRN, &r.Batch, &r.Trace, &r.OrigTrace, &r.OrderNo, &r.TradeNo} {
		*f = maskPANs(*f)
	}
	return r
}
