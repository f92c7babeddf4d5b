package sim

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/multipos/multipos/cards"
	"github.com/multipos/multipos/cards/emv"
	"github.com/multipos/multipos/devices"
	"github.com/multipos/multipos/devices/magstripe"
)

// EventBuffer is how many events a Reader holds for a slow consumer.
const EventBuffer = 16

// Errors the Reader returns for actions a physical reader would not allow.
var (
	ErrClosed      = errors.New("reader closed")
	ErrCardPresent = errors.New("a card is already in the reader")
	ErrNoCard      = errors.New("no card in the reader")
	ErrCardRead    = errors.New("card could not be read")
)

// Reader is a simulated chip and magstripe reader. It is safe for
// concurrent use. Events are buffered; when the consumer falls
// EventBuffer events behind, the oldest event is dropped, so the actions
// of a trainer or a test never block, and what the app sees last is what
// happened last.
type Reader struct {
	name   string
	events chan devices.CardEvent

	mu      sync.Mutex
	state   devices.ReaderState
	closed  bool
	dropped int
	last    *emv.Result // the chip read by InsertChip, while it is in
}

var _ devices.CardReader = (*Reader)(nil)

// NewReader returns a ready reader with no card in it.
func NewReader(name string) *Reader {
	return &Reader{name: name, state: devices.ReaderReady, events: make(chan devices.CardEvent, EventBuffer)}
}

// Name returns the name given to NewReader.
func (r *Reader) Name() string { return r.name }

// State reports ReaderReady, ReaderCardPresent, or ReaderNone once closed.
func (r *Reader) State() devices.ReaderState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state
}

// Events returns the event channel; it is closed by Close.
func (r *Reader) Events() <-chan devices.CardEvent { return r.events }

// Insert puts a chip card in the reader: CardInserted, then ReaderCardPresent.
func (r *Reader) Insert(c cards.Card) error {
	return r.do(func() (devices.CardEvent, error) {
		if r.state == devices.ReaderCardPresent {
			return devices.CardEvent{}, ErrCardPresent
		}
		r.state = devices.ReaderCardPresent
		return devices.CardEvent{Kind: devices.CardInserted, Card: c}, nil
	})
}

// InsertChip puts a virtual chip card (sandbox/emvcard, or any emv.Card)
// in the reader and reads it with emv.Read, the code a PC/SC reader runs:
// CardInserted with the card read, or CardReadError wrapping ErrCardRead
// and the reason. Either way the card stays in until Remove. The reader is
// busy during the read, as a real one is.
func (r *Reader) InsertChip(ctx context.Context, c emv.Card, td emv.TerminalData) error {
	return r.do(func() (devices.CardEvent, error) {
		if r.state == devices.ReaderCardPresent {
			return devices.CardEvent{}, ErrCardPresent
		}
		res, err := emv.Read(ctx, c, td)
		r.state = devices.ReaderCardPresent
		if err != nil {
			return devices.CardEvent{Kind: devices.CardReadError, Err: fmt.Errorf("%w: %w", ErrCardRead, err)}, nil
		}
		r.last = &res
		return devices.CardEvent{Kind: devices.CardInserted, Card: res.Card()}, nil
	})
}

// LastRead returns the full result of InsertChip's read, with the ICC data
// for field 55, while that card is in the reader.
func (r *Reader) LastRead() (emv.Result, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last == nil {
		return emv.Result{}, false
	}
	return *r.last, true
}

// SwipeTracks reads a magstripe from the raw text of its tracks, as a
// keyboard-wedge reader types them ("%B…^…^…?" and ";…=…?"; either may be
// "" when the reader did not read it), through the same parser the wedge
// driver uses: CardSwiped with the parsed card, or CardReadError with the
// parser's error (which never contains the card data).
func (r *Reader) SwipeTracks(track1, track2 string) error {
	var typed []string
	for _, t := range []string{track1, track2} {
		if t != "" {
			typed = append(typed, t)
		}
	}
	sw, err := magstripe.Parse(strings.Join(typed, "\r"))
	return r.do(func() (devices.CardEvent, error) {
		if err != nil {
			return devices.CardEvent{Kind: devices.CardReadError, Err: fmt.Errorf("%w: %w", ErrCardRead, err)}, nil
		}
		return devices.CardEvent{Kind: devices.CardSwiped, Card: sw.Card()}, nil
	})
}

// Remove takes the card out: CardRemoved, then ReaderReady.
func (r *Reader) Remove() error {
	return r.do(func() (devices.CardEvent, error) {
		if r.state != devices.ReaderCardPresent {
			return devices.CardEvent{}, ErrNoCard
		}
		r.state = devices.ReaderReady
		r.last = nil
		return devices.CardEvent{Kind: devices.CardRemoved}, nil
	})
}

// Swipe reads a magstripe: CardSwiped. The chip slot is separate, so the
// state does not change.
func (r *Reader) Swipe(c cards.Card) error {
	return r.do(func() (devices.CardEvent, error) {
		return devices.CardEvent{Kind: devices.CardSwiped, Card: c}, nil
	})
}

// Fail reports a card that was presented but could not be read:
// CardReadError carrying err (ErrCardRead when err is nil).
func (r *Reader) Fail(err error) error {
	if err == nil {
		err = ErrCardRead
	}
	return r.do(func() (devices.CardEvent, error) {
		return devices.CardEvent{Kind: devices.CardReadError, Err: err}, nil
	})
}

// Dropped reports how many events were dropped because nobody read them.
func (r *Reader) Dropped() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dropped
}

// Close closes the event channel; later actions return ErrClosed. Closing
// twice is harmless.
func (r *Reader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed {
		r.closed = true
		r.state = devices.ReaderNone
		close(r.events)
	}
	return nil
}

// do changes the state and emits the event under the lock, so that events
// arrive in the order the state changed.
func (r *Reader) do(change func() (devices.CardEvent, error)) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	ev, err := change()
	if err != nil {
		return err
	}
	ev.Reader = r.name
	for {
		select {
		case r.events <- ev:
			return nil
		default:
		}
		select { // full: drop the oldest (unless the consumer just took it)
		case <-r.events:
			r.dropped++
		default:
		}
	}
}
