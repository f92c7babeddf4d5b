package pcsc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ebfe/scard"

	"github.com/multipos/multipos/cards/emv"
)

// statusMu serialises SCardGetStatusChange across the process: ebfe/scard
// keeps the C copies of reader names alive in a package map it writes
// without a lock, so two concurrent calls corrupt it.
var statusMu sync.Mutex

func getStatusChange(ctx *scard.Context, rs []scard.ReaderState, timeout time.Duration) error {
	statusMu.Lock()
	defer statusMu.Unlock()
	return ctx.GetStatusChange(rs, timeout)
}

// Card adapts a connected PC/SC card to emv.Card.
type Card struct{ c *scard.Card }

var _ emv.Card = Card{}

// NewCard wraps a card connected with scard.Context.Connect.
func NewCard(c *scard.Card) Card { return Card{c: c} }

// Transmit sends one APDU. SCardTransmit cannot be interrupted, so ctx is
// checked before it only.
func (c Card) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	resp, err := c.c.Transmit(apdu)
	if err != nil {
		return nil, fmt.Errorf("pcsc: transmit: %w", err)
	}
	return resp, nil
}

// readCard connects to the card in reader and runs emv.Read.
func readCard(ctx context.Context, sc *scard.Context, reader string, td emv.TerminalData) (emv.Result, error) {
	c, err := sc.Connect(reader, scard.ShareShared, scard.ProtocolT0|scard.ProtocolT1)
	if err != nil {
		if errors.Is(err, scard.ErrUnresponsiveCard) || errors.Is(err, scard.ErrUnpoweredCard) {
			return emv.Result{}, fmt.Errorf("%w: connect: %w", ErrCardMute, err)
		}
		return emv.Result{}, fmt.Errorf("%w: connect: %w", ErrCardRead, err)
	}
	// Leave the card powered: the cashier app may read it again (doctor,
	// retry) and a reset costs another ATR exchange.
	defer func() { _ = c.Disconnect(scard.LeaveCard) }()
	if td.Interface == emv.AnyInterface {
		td.Interface = emv.Contact
		if st, err := c.Status(); err == nil && ContactlessATR(st.Atr) {
			td.Interface = emv.Contactless
		}
	}
	res, err := emv.Read(ctx, NewCard(c), td)
	if err != nil {
		return emv.Result{}, fmt.Errorf("%w: %w", ErrCardRead, err)
	}
	return res, nil
}

// WaitCard waits until pcscd reports a card in reader (present) or the
// reader empty (!present). Tests use it to know that pcscd has seen a
// virtual card come or go before the next step.
func WaitCard(ctx context.Context, reader string, present bool) error {
	sc, err := scard.EstablishContext()
	if err != nil {
		return serviceErr("connect to pcscd", err)
	}
	defer func() { _ = sc.Release() }()
	rs := []scard.ReaderState{{Reader: reader, CurrentState: scard.StateUnaware}}
	for {
		// Short waits: the lock is shared with every watcher in the
		// process.
		err := getStatusChange(sc, rs, 100*time.Millisecond)
		if err != nil && !errors.Is(err, scard.ErrTimeout) {
			return serviceErr("reader state", err)
		}
		ev := rs[0].EventState
		has := ev&scard.StatePresent != 0 && ev&scard.StateMute == 0
		if err == nil && has == present {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("pcsc: waiting for %q to be %s: %w", reader, map[bool]string{true: "present", false: "empty"}[present], err)
		}
		rs[0].CurrentState = ev &^ scard.StateChanged
	}
}

// ContactlessATR reports whether atr is the ATR a PC/SC reader makes up for
// a contactless card (PC/SC part 3, 3.1.3.2.3: 3B 8n 80 01 …): the card was
// tapped, so its directory is the PPSE. Anything else was inserted.
func ContactlessATR(atr []byte) bool {
	return len(atr) >= 4 && atr[0] == 0x3B && atr[1]&0xF0 == 0x80 && atr[2] == 0x80 && atr[3] == 0x01
}
