package tui

import (
	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/cards"
	"github.com/multipos/multipos/money"
)

// action is a menu item: what the cashier asked for. Its label is a text
// key, but the flow never looks at labels.
type action int

const (
	actQR action = iota + 1
	actBarcode
	actReprint
	actSale
	actVoid
	actReturn
	actBalance
	actSignOn
	actSettle
)

// label is the action's menu text key.
func (a action) label() string {
	return map[action]string{
		actQR: "menu.qr", actBarcode: "menu.barcode", actReprint: "menu.reprint",
		actSale: "menu.sale", actVoid: "menu.void", actReturn: "menu.return", actBalance: "menu.balance", actSignOn: "menu.signon",
		actSettle: "menu.settle",
	}[a]
}

// menuActions are a channel's main menu, in order.
func menuActions(ch api.Channel) []action {
	if ch == api.Card {
		return []action{actSale, actVoid, actReturn, actBalance, actSignOn, actReprint, actSettle}
	}
	return []action{actQR, actBarcode, actReprint}
}

// payment is one payment attempt from amount entry to receipt.
type payment struct {
	id      int
	channel api.Channel
	amount  money.Fen
	trace   string
	reqID   string // the request id the card sale is sent under, with trace
	order   api.Order
	expired bool // the terminal closed the order because its QR code expired

	// Card sales: the card is held in memory only until the sale is answered.
	card     cards.Card
	pinBlock [8]byte
	hasPIN   bool

	// Bank-card operations other than a sale: kind is api.KindCardVoid,
	// api.KindCardRefund or kindBalance ("" is a sale); original is the
	// sale a void or refund undoes; balance is a balance inquiry's answer.
	kind     api.Kind
	original api.Order
	balance  api.Balance
	batch    string // a settlement's (kindSettle): the open batch it closes
}

// kindBalance marks a balance inquiry (余额查询): it moves no money, so the
// server keeps no order of it.
const kindBalance api.Kind = "card_balance"

// action is the menu item a card payment is.
func (p *payment) action() action { return kindAction(p.kind) }

func kindAction(k api.Kind) action {
	switch k {
	case api.KindCardVoid:
		return actVoid
	case api.KindCardRefund:
		return actReturn
	case kindBalance:
		return actBalance
	case kindSettle:
		return actSettle
	}
	return actSale
}

// opLabel is the menu text key of the card operation a payment is.
func (p *payment) opLabel() string { return p.action().label() }

// forgetCard drops the full card data once it is no longer needed.
func (p *payment) forgetCard() {
	// Keep a masked PAN in the PAN field, so later screens and receipts can
	// only ever show the masked form (Mask of a masked number is itself).
	p.card = cards.Card{Entry: p.card.Entry, Expiry: p.card.Expiry, PAN: cards.Mask(p.card.PAN)}
	p.pinBlock = [8]byte{}
}
