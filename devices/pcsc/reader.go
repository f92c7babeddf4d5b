package pcsc

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ebfe/scard"

	"github.com/multipos/multipos/cards/emv"
	"github.com/multipos/multipos/devices"
)

// PnPReader is the pseudo-reader whose state changes when a reader is
// plugged in or out.
const PnPReader = `\\?PnP?\Notification`

// EventBuffer is how many events a Reader holds for a slow consumer; past
// that the oldest is dropped, as the simulated reader does.
const EventBuffer = 16

// Options configure a Reader. The zero value watches every reader.
type Options struct {
	// Filter keeps the readers whose name contains it; "" keeps all.
	Filter string
	// Terminal is what the terminal tells the card during the read; the
	// amount is usually still 0 when the card goes in.
	Terminal emv.TerminalData
	// OnRead, when set, gets the full result of each successful read (with
	// the ICC data for ISO 8583 field 55) before CardInserted is sent.
	// It runs on the watcher goroutine: return quickly.
	OnRead func(reader string, res emv.Result)
	// ReadTimeout bounds one card read; default 10 s.
	ReadTimeout time.Duration
	// Retry is how often to try pcscd again while it is not running;
	// default 2 s.
	Retry time.Duration
	// Poll bounds each wait for a status change, so that other users of
	// PC/SC in the process (Doctor) get a turn; default 500 ms. Changes
	// are reported as they happen, not at this pace.
	Poll time.Duration
}

// slot is what the watcher knows about one reader.
type slot struct {
	state   scard.StateFlag // last EventState, counter included, passed back as CurrentState
	present bool            // a card is in (read or not)
	read    bool            // it was read successfully
	mute    bool            // it was present but mute
}

// Reader watches PC/SC readers and reads the cards put in them. It is safe
// for concurrent use.
type Reader struct {
	opts   Options
	events chan devices.CardEvent
	quit   chan struct{}
	done   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	once   sync.Once

	mu     sync.Mutex
	sctx   *scard.Context // while connected to pcscd
	slots  map[string]*slot
	last   map[string]emv.Result
	err    error
	closed bool
}

var _ devices.CardReader = (*Reader)(nil)

// Open starts watching. It does not fail when pcscd is not running: the
// Reader keeps trying, Err says why it has no reader meanwhile, and the
// readers are announced with ReaderAdded once pcscd is up.
func Open(opts Options) *Reader {
	if opts.ReadTimeout <= 0 {
		opts.ReadTimeout = 10 * time.Second
	}
	if opts.Retry <= 0 {
		opts.Retry = 2 * time.Second
	}
	if opts.Poll <= 0 {
		opts.Poll = 500 * time.Millisecond
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Reader{
		opts: opts, events: make(chan devices.CardEvent, EventBuffer),
		quit: make(chan struct{}), done: make(chan struct{}), ctx: ctx, cancel: cancel,
		slots: map[string]*slot{}, last: map[string]emv.Result{},
	}
	go r.run()
	return r
}

// Name is the watched reader's name when there is one, else "PC/SC".
func (r *Reader) Name() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	names := r.namesLocked()
	if len(names) == 0 {
		return "PC/SC"
	}
	return names[0]
}

func (r *Reader) namesLocked() []string {
	names := make([]string, 0, len(r.slots))
	for n := range r.slots {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Readers lists the readers being watched.
func (r *Reader) Readers() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.namesLocked()
}

// State is ReaderNone without pcscd or a matching reader, ReaderCardPresent
// while a card that was read is in, ReaderError while one that could not be
// read is in, else ReaderReady.
func (r *Reader) State() devices.ReaderState {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || len(r.slots) == 0 {
		return devices.ReaderNone
	}
	st := devices.ReaderReady
	for _, s := range r.slots {
		switch {
		case s.present && s.read:
			return devices.ReaderCardPresent
		case s.present:
			st = devices.ReaderError
		}
	}
	return st
}

// Err is why the Reader has no readers (ErrNoService, ErrNoReader), or nil.
func (r *Reader) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil && len(r.slots) == 0 && !r.closed {
		return ErrNoReader
	}
	return r.err
}

// LastRead returns the full result of the read of the card now in reader,
// for the ICC data (field 55) the card model does not carry. ok is false
// when no card that was read is in it.
func (r *Reader) LastRead(reader string) (res emv.Result, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	res, ok = r.last[reader]
	return res, ok
}

// Events returns the event channel; Close closes it.
func (r *Reader) Events() <-chan devices.CardEvent { return r.events }

// Close stops watching and closes the event channel. It interrupts a wait
// in pcscd with SCardCancel; a card read in progress is finished first.
func (r *Reader) Close() error {
	r.once.Do(func() {
		close(r.quit)
		r.cancel()
	})
	for {
		r.mu.Lock()
		if r.sctx != nil {
			_ = r.sctx.Cancel()
		}
		r.mu.Unlock()
		select {
		case <-r.done:
			return nil
		case <-time.After(50 * time.Millisecond):
			// The cancel may have come between two waits: send it again.
		}
	}
}

func (r *Reader) stopping() bool {
	select {
	case <-r.quit:
		return true
	default:
		return false
	}
}

// emit sends ev from the watcher goroutine, the only sender, dropping the
// oldest event when the consumer is EventBuffer behind.
func (r *Reader) emit(ev devices.CardEvent) {
	for {
		select {
		case r.events <- ev:
			return
		default:
		}
		select {
		case <-r.events:
		default:
		}
	}
}

func (r *Reader) run() {
	defer close(r.done)
	defer close(r.events)
	defer func() {
		r.mu.Lock()
		r.closed = true
		r.mu.Unlock()
	}()
	reported := ""
	for !r.stopping() {
		sc, err := scard.EstablishContext()
		if err == nil {
			r.mu.Lock()
			r.sctx, r.err = sc, nil
			r.mu.Unlock()
			err = r.watch(sc)
			r.mu.Lock()
			r.sctx = nil
			r.mu.Unlock()
			_ = sc.Release()
			if r.stopping() {
				return
			}
		}
		err = serviceErr("watch readers", err)
		if msg := err.Error(); msg != reported {
			slog.Warn("pcsc: no card reader service", "err", err)
			reported = msg
		}
		r.forgetAll()
		r.mu.Lock()
		r.err = err
		r.mu.Unlock()
		select {
		case <-r.quit:
			return
		case <-time.After(r.opts.Retry):
		}
	}
}

// forgetAll drops every reader after pcscd went away.
func (r *Reader) forgetAll() {
	r.mu.Lock()
	names := r.namesLocked()
	r.mu.Unlock()
	for _, n := range names {
		r.removeReader(n)
	}
}

func (r *Reader) removeReader(name string) {
	r.mu.Lock()
	s := r.slots[name]
	delete(r.slots, name)
	delete(r.last, name)
	r.mu.Unlock()
	if s == nil {
		return
	}
	if s.present {
		r.emit(devices.CardEvent{Kind: devices.CardRemoved, Reader: name})
	}
	r.emit(devices.CardEvent{Kind: devices.ReaderRemoved, Reader: name})
}

// relist brings the watched readers in line with pcscd's list.
func (r *Reader) relist(sc *scard.Context) error {
	names, err := sc.ListReaders()
	if errors.Is(err, scard.ErrNoReadersAvailable) {
		names, err = nil, nil
	}
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, n := range names {
		if strings.Contains(n, r.opts.Filter) {
			want[n] = true
		}
	}
	r.mu.Lock()
	have := r.namesLocked()
	r.mu.Unlock()
	for _, n := range have {
		if !want[n] {
			r.removeReader(n)
		}
	}
	for _, n := range names {
		r.mu.Lock()
		_, ok := r.slots[n]
		if want[n] && !ok {
			r.slots[n] = &slot{state: scard.StateUnaware}
		}
		r.mu.Unlock()
		if want[n] && !ok {
			r.emit(devices.CardEvent{Kind: devices.ReaderAdded, Reader: n})
		}
	}
	return nil
}

// watch reports changes until pcscd goes away or Close.
func (r *Reader) watch(sc *scard.Context) error {
	pnp := scard.ReaderState{Reader: PnPReader, CurrentState: scard.StateUnaware}
	usePnP := true
	relist := true
	for !r.stopping() {
		if relist {
			if err := r.relist(sc); err != nil {
				return err
			}
			relist = false
		}
		r.mu.Lock()
		names := r.namesLocked()
		rs := make([]scard.ReaderState, 0, len(names)+1)
		if usePnP {
			rs = append(rs, pnp)
		}
		for _, n := range names {
			rs = append(rs, scard.ReaderState{Reader: n, CurrentState: r.slots[n].state})
		}
		r.mu.Unlock()
		if len(rs) == 0 {
			// Nothing to wait on without PnP support: poll the list.
			select {
			case <-r.quit:
				return nil
			case <-time.After(r.opts.Poll):
			}
			relist = true
			continue
		}
		err := getStatusChange(sc, rs, r.opts.Poll)
		switch {
		case err == nil:
		case errors.Is(err, scard.ErrTimeout), errors.Is(err, scard.ErrCancelled):
			continue
		case errors.Is(err, scard.ErrUnknownReader), errors.Is(err, scard.ErrReaderUnavailable):
			relist = true
			continue
		default:
			return err
		}
		if usePnP {
			ev := rs[0].EventState
			rs = rs[1:]
			switch {
			case ev&scard.StateUnknown != 0:
				// This pcscd has no PnP notification: fall back to
				// listing the readers after every wait.
				usePnP = false
				relist = true
			case ev&scard.StateChanged != 0:
				pnp.CurrentState = ev
				relist = true
			}
		} else {
			relist = true
		}
		if r.changed(sc, names, rs) {
			relist = true
		}
	}
	return nil
}

// changed turns the readers' states after a wait (rs, in the order of
// names) into events. It reports whether the readers must be listed again
// (one went away or cannot be used).
func (r *Reader) changed(sc *scard.Context, names []string, rs []scard.ReaderState) bool {
	relist := false
	for i, n := range names {
		ev := rs[i].EventState
		if ev&scard.StateChanged == 0 {
			continue
		}
		r.mu.Lock()
		s := r.slots[n]
		if s != nil {
			s.state = ev &^ scard.StateChanged
		}
		r.mu.Unlock()
		if s == nil {
			continue
		}
		if ev&(scard.StateUnknown|scard.StateUnavailable) != 0 {
			relist = true
			continue
		}
		r.update(sc, n, s, ev)
	}
	return relist
}

// update turns one reader's new state into events.
func (r *Reader) update(sc *scard.Context, name string, s *slot, ev scard.StateFlag) {
	present := ev&scard.StatePresent != 0
	mute := ev&scard.StateMute != 0
	switch {
	case !present && s.present:
		r.mu.Lock()
		s.present, s.read, s.mute = false, false, false
		delete(r.last, name)
		r.mu.Unlock()
		r.emit(devices.CardEvent{Kind: devices.CardRemoved, Reader: name})
	case present && mute && !s.mute && !s.read:
		r.mu.Lock()
		s.present, s.mute = true, true
		r.mu.Unlock()
		r.emit(devices.CardEvent{Kind: devices.CardReadError, Reader: name, Err: ErrCardMute})
	case present && !mute && (!s.present || s.mute):
		// A mute card that starts answering (a slow ATR) is read now.
		ctx, cancel := context.WithTimeout(r.ctx, r.opts.ReadTimeout)
		start := time.Now()
		res, err := readCard(ctx, sc, name, r.opts.Terminal)
		cancel()
		r.mu.Lock()
		s.present, s.mute, s.read = true, false, err == nil
		if err == nil {
			r.last[name] = res
		}
		r.mu.Unlock()
		if err != nil {
			slog.Info("pcsc: card read failed", "reader", name, "err", err)
			r.emit(devices.CardEvent{Kind: devices.CardReadError, Reader: name, Err: err})
			return
		}
		slog.Info("pcsc: card read", "reader", name, "card", res, "took", time.Since(start))
		if r.opts.OnRead != nil {
			r.opts.OnRead(name, res)
		}
		r.emit(devices.CardEvent{Kind: devices.CardInserted, Reader: name, Card: res.Card()})
	}
}
