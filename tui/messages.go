package tui

import (
	"github.com/multipos/multipos/receipts/spool"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/devices"
)

// Results of async work. Those about a payment carry its id (pay); the
// router drops any whose payment is no longer the one on screen.
type tagged interface{ payID() int }

type (
	terminalMsg struct {
		info api.TerminalInfo
		err  error
	}
	pingMsg struct {
		rtt    time.Duration
		acked  []string    // results acknowledged by this heartbeat
		unseen []api.Order // final results the server has not seen acknowledged
		err    error
	}
	clockMsg  time.Time
	powerMsg  struct{ text [2]string }
	deviceMsg struct {
		printer devices.PrinterState
		reader  devices.ReaderState
	}
	readerMsg       struct{ ev devices.CardEvent }
	readerClosedMsg struct{}

	// balanceMsg answers a balance inquiry.
	balanceMsg struct {
		pay   int
		trace string
		res   api.Balance
		err   error
	}
	// orderMsg answers create, wait, cancel and card-sale calls.
	orderMsg struct {
		pay   int
		op    orderOp
		trace string
		reqID string
		order api.Order
		err   error
	}
	tickMsg struct {
		pay int
		at  time.Time
	}
	retryMsg struct {
		pay int
		op  orderOp
	}
	trainerMsg struct {
		pay int
		err error
	}
	// scanMsg is a code read by the barcode scanner (a keyboard wedge),
	// told from typing by devices/wedge.
	scanMsg struct{ code string }
	// wedgeMsg comes one gap after a digit was held: if nothing followed,
	// it was typed.
	wedgeMsg struct{ gen int }
	// swipeMsg is a magstripe burst from a keyboard-wedge reader, told
	// from typing by devices/magstripe; stripeMsg ends a quiet burst.
	swipeMsg  struct{ raw string }
	stripeMsg struct{ gen int }
	// shownCodeMsg is the test code a trainer's customer shows (demo).
	shownCodeMsg struct {
		pay  int
		code string
		err  error
	}
	// queuedMsg says a receipt copy is in the print queue (job), or why
	// not; job is "" when there is no printer.
	queuedMsg struct {
		pay    int
		copy   int
		job    string
		queued int // jobs in the queue, this one included
		err    error
	}
	// printEventMsg is news from the print queue, for whichever screen
	// waits on that job.
	printEventMsg struct{ ev spool.Event }
)

type orderOp int

const (
	opCreate orderOp = iota + 1
	opWait
	opCancel
	opSale
	opLookup
	opOriginal // finding the sale a void or refund undoes
)

func (m orderMsg) payID() int     { return m.pay }
func (m tickMsg) payID() int      { return m.pay }
func (m retryMsg) payID() int     { return m.pay }
func (m trainerMsg) payID() int   { return m.pay }
func (m shownCodeMsg) payID() int { return m.pay }
func (m queuedMsg) payID() int    { return m.pay }

// signOnMsg is the answer to a card sign-on (签到).
type signOnMsg struct {
	trace string
	res   api.SignedOn
	err   error
}

func (m balanceMsg) payID() int { return m.pay }

// openBatchMsg answers the settlement screen's question for the open batch.
type openBatchMsg struct {
	pay   int
	batch string
	err   error
}

// settledMsg answers a settlement (结算), or the question how a batch
// settled already was (fetched).
type settledMsg struct {
	pay     int
	res     api.Settlement
	fetched bool
	err     error
}

func (m openBatchMsg) payID() int { return m.pay }
func (m settledMsg) payID() int   { return m.pay }
