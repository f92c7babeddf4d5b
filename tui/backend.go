package tui

import (
	"context"
	"github.com/multipos/multipos/receipts/spool"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/config"
	"github.com/multipos/multipos/devices"
	"github.com/multipos/multipos/i18n"
	"github.com/multipos/multipos/posclient"
)

// Gateway is what the cashier app needs from posserver; posclient.Client is it.
type Gateway interface {
	// Heartbeat keeps the terminal online at the server, acknowledges the
	// results shown and returns those not yet seen; its round trip is the
	// link's.
	Heartbeat(ctx context.Context, hb api.Heartbeat) (api.HeartbeatAnswer, error)
	Terminal(ctx context.Context) (api.TerminalInfo, error)
	// CreateWalletOrder and CardSale are idempotent on requestID: a call
	// repeated with the same id gets the first answer, never a second charge.
	CreateWalletOrder(ctx context.Context, requestID string, req api.CreateWalletOrder) (api.Order, error)
	CreateBarcodeOrder(ctx context.Context, requestID string, req api.CreateBarcodeOrder) (api.Order, error)
	WaitOrder(ctx context.Context, id string, after int, wait time.Duration) (api.Order, error)
	CancelOrder(ctx context.Context, id string) (api.Order, error)
	CardSale(ctx context.Context, requestID string, req api.CardSale) (api.Order, error)
	// OrderByTrace finds what became of a request whose answer was lost.
	OrderByTrace(ctx context.Context, trace string) (api.Order, error)
	// CardSignOn (签到) gets the card working keys under the master key:
	// the terminal's of today, or with renew fresh ones.
	CardSignOn(ctx context.Context, trace string, renew bool) (api.SignedOn, error)
	// CardVoid and CardRefund undo all (same day) or part (later) of a card
	// sale; idempotent on requestID like a sale.
	CardVoid(ctx context.Context, requestID string, req api.CardAdjust) (api.Order, error)
	CardRefund(ctx context.Context, requestID string, req api.CardAdjust) (api.Order, error)
	// CardBalance asks a card's balance (余额查询).
	CardBalance(ctx context.Context, req api.CardBalance) (api.Balance, error)
	// Settle settles the terminal's open card batch (结算), idempotent on
	// requestID; Settlement returns a batch's settlement, for a batch
	// settled already (posclient.BatchMovedError).
	Settle(ctx context.Context, requestID string, req api.SettleBatch) (api.Settlement, error)
	Settlement(ctx context.Context, batch string) (api.Settlement, error)
}

// Traces hands out the terminal's trace numbers; posclient.Traces is it.
type Traces interface {
	Next() (string, error)
}

// Trainer plays the customer in demo mode: it pays or declines at the wallet
// stand-in and inserts test cards into the simulated reader.
type Trainer interface {
	CustomerPays(ctx context.Context, ch api.Channel, outTradeNo string) error
	CustomerDeclines(ctx context.Context, ch api.Channel, outTradeNo string) error
	TestCards() []TestCard
	InsertTestCard(ctx context.Context, id string) error
	// RemoveTestCard plays the cardholder taking the card back once the
	// reader is done with it; with no card in, it does nothing.
	RemoveTestCard(ctx context.Context) error
	// ShowCode plays the customer showing a payment code of the wallet:
	// paid at once, or with confirm only once the customer confirms.
	ShowCode(ctx context.Context, ch api.Channel, confirm bool) (string, error)
	// TogglePaper runs the demo printer out of paper, or refills it; it
	// returns whether the paper is now out.
	TogglePaper() (out bool, err error)
}

// DayEnder is a Trainer that can end the business day (the demo's 日结
// key on the channel list): the channels' bills become ready and the
// station shows the reconciliation command to run.
type DayEnder interface {
	EndDay(ctx context.Context) (DayEnded, error)
}

// DayEnded is what ending the day did.
type DayEnded struct {
	Day     string // YYYY-MM-DD
	Command string // the reconciliation to run in a second shell
	File    string // the planted differences, for the trainer
	Again   bool   // the day had been ended already
}

// TestCard is a demo card the trainer can insert.
type TestCard struct {
	ID      string
	LabelZH string
	LabelEN string
	Hint    string // e.g. "PIN 123456"
}

// Label returns the card's label in lang.
func (t TestCard) Label(lang i18n.Lang) string { return lang.Pick(t.LabelZH, t.LabelEN) }

// Options wire the cashier app to its server, devices and settings.
type Options struct {
	Gateway Gateway
	Traces  Traces
	Reader  devices.CardReader // nil: no card reader
	Printer devices.Printer    // nil: no printer
	// Prints is the print queue's worker, running; receipts go through
	// it (stored, then printed). nil: receipts on screen only.
	Prints     *spool.Worker
	Trainer    Trainer // nil outside demo mode
	Keys       config.Keys
	Lang       i18n.Lang
	TerminalID string
	// CardKeys holds the terminal master key and, once signed on, the PIN
	// and MAC working keys; the Gateway must sign card requests with the
	// same keys (posclient.Client.UseCardKeys). nil: no card payments.
	CardKeys *posclient.CardKeys
	// SupervisorPassword (主管密码) guards voids and refunds; "" refuses them.
	SupervisorPassword string
	PrinterWidth       int // receipt width in columns (32 or 48)
	Demo               bool
	Now                func() time.Time
	PowerRoot          string        // "/sys/class/power_supply"; "" hides power
	PingEvery          time.Duration // heartbeat period (link check); 0 = 2s
	AppVersion         string        // sent with heartbeats
	RequestWait        time.Duration // long-poll wait per request; 0 = 25s
	Timeout            time.Duration // per-request timeout for short calls; 0 = 15s
	PayTimeout         time.Duration // for calls that reach a channel (create, sale, cancel); 0 = 75s
}
