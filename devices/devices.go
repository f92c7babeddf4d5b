package devices

import (
	"context"
	"errors"

	"github.com/multipos/multipos/cards"
	"github.com/multipos/multipos/receipts"
)

// CardEventKind says what happened at a card reader.
type CardEventKind int

const (
	CardInserted  CardEventKind = iota + 1 // a chip card was inserted and read
	CardRemoved                            // the card left the reader
	CardSwiped                             // a magstripe was read
	CardReadError                          // a card was presented but could not be read (Err says why)
	ReaderAdded                            // a reader was plugged in
	ReaderRemoved                          // a reader was unplugged
)

// CardEvent is one event from a card reader.
type CardEvent struct {
	Kind   CardEventKind
	Reader string     // reader name
	Card   cards.Card // for CardInserted and CardSwiped
	Err    error      // for CardReadError
}

// ReaderState is a card reader's state for the status bar.
type ReaderState int

const (
	ReaderNone        ReaderState = iota // no reader configured or found
	ReaderReady                          // present, no card
	ReaderCardPresent                    // a card is in the reader
	ReaderError                          // present but failing
)

// CardReader delivers card events. Events returns the same channel every time;
// it is closed when the reader is closed.
type CardReader interface {
	Name() string
	State() ReaderState
	Events() <-chan CardEvent
	Close() error
}

// PrinterState is a printer's state for the status bar and before each print.
type PrinterState int

const (
	PrinterNone      PrinterState = iota // no printer configured
	PrinterReady                         // ready to print
	PrinterPaperOut                      // out of paper
	PrinterCoverOpen                     // cover open
	PrinterOffline                       // not answering
	PrinterPaperLow                      // ready, but the roll is nearly out
)

// ErrPaperOut, ErrCoverOpen and ErrOffline are what Print wraps when it cannot print.
var (
	ErrPaperOut  = errors.New("printer out of paper")
	ErrCoverOpen = errors.New("printer cover open")
	ErrOffline   = errors.New("printer offline")
)

// Printed says where a receipt went, for the cashier (e.g. a saved file in demo mode).
type Printed struct {
	Location string
}

// Printer prints receipts. Print either prints the whole copy or returns an
// error saying why not (wrapping one of the Err* values where one applies).
type Printer interface {
	Name() string
	Status(ctx context.Context) (PrinterState, error)
	Print(ctx context.Context, r receipts.Receipt) (Printed, error)
}
