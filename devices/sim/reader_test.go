package sim

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/multipos/multipos/cards"
	"github.com/multipos/multipos/cards/emv"
	"github.com/multipos/multipos/devices"
	"github.com/multipos/multipos/devices/magstripe"
	"github.com/multipos/multipos/sandbox/emvcard"
)

var testCard = cards.Card{PAN: "6212345678900001", Expiry: "2812", Entry: cards.EntryChip}

func next(t *testing.T, r *Reader) devices.CardEvent {
	t.Helper()
	select {
	case ev, ok := <-r.Events():
		if !ok {
			t.Fatal("events closed")
		}
		return ev
	case <-time.After(time.Second):
		t.Fatal("no event")
	}
	return devices.CardEvent{}
}

func TestReaderLifecycle(t *testing.T) {
	r := NewReader("demo reader")
	if r.Name() != "demo reader" || r.State() != devices.ReaderReady {
		t.Fatalf("new reader: %q %v", r.Name(), r.State())
	}
	if err := r.Remove(); !errors.Is(err, ErrNoCard) {
		t.Errorf("Remove with no card: %v", err)
	}
	if err := r.Insert(testCard); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, r); ev.Kind != devices.CardInserted || ev.Reader != "demo reader" || ev.Card.PAN != testCard.PAN {
		t.Errorf("insert event %+v", ev)
	}
	if r.State() != devices.ReaderCardPresent {
		t.Errorf("state after insert %v", r.State())
	}
	if err := r.Insert(testCard); !errors.Is(err, ErrCardPresent) {
		t.Errorf("second insert: %v", err)
	}
	if err := r.Remove(); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, r); ev.Kind != devices.CardRemoved || r.State() != devices.ReaderReady {
		t.Errorf("remove: %+v, state %v", ev, r.State())
	}
	swiped := testCard
	swiped.Entry = cards.EntrySwipe
	if err := r.Swipe(swiped); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, r); ev.Kind != devices.CardSwiped || ev.Card.Entry != cards.EntrySwipe || r.State() != devices.ReaderReady {
		t.Errorf("swipe: %+v, state %v", ev, r.State())
	}
	boom := errors.New("chip mute")
	r.Fail(boom)
	if ev := next(t, r); ev.Kind != devices.CardReadError || !errors.Is(ev.Err, boom) {
		t.Errorf("fail: %+v", ev)
	}
	r.Fail(nil)
	if ev := next(t, r); !errors.Is(ev.Err, ErrCardRead) {
		t.Errorf("fail(nil): %+v", ev)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-r.Events(); ok {
		t.Error("events still open after Close")
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := r.Insert(testCard); !errors.Is(err, ErrClosed) {
		t.Errorf("insert after close: %v", err)
	}
	if r.State() != devices.ReaderNone {
		t.Errorf("state after close %v", r.State())
	}
}

// Nobody reading: actions still return at once, the newest events are kept.
func TestReaderDropsOldest(t *testing.T) {
	r := NewReader("r")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range EventBuffer + 5 {
			c := testCard
			c.Holder = string(rune('A' + i))
			r.Swipe(c)
		}
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Swipe blocked with a full buffer")
	}
	if r.Dropped() != 5 {
		t.Errorf("dropped %d, want 5", r.Dropped())
	}
	if ev := next(t, r); ev.Card.Holder != "F" {
		t.Errorf("oldest kept event is %q, want F", ev.Card.Holder)
	}
}

func TestReaderConcurrent(t *testing.T) {
	r := NewReader("r")
	var got sync.WaitGroup
	got.Add(1)
	n := 0
	go func() {
		defer got.Done()
		for range r.Events() {
			n++
		}
	}()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				if r.Insert(testCard) == nil {
					r.Remove()
				}
				r.Swipe(testCard)
				_ = r.State()
			}
		}()
	}
	wg.Wait()
	r.Close()
	got.Wait()
	if n+r.Dropped() < 8*200 {
		t.Errorf("received %d + dropped %d events, want at least %d swipes", n, r.Dropped(), 8*200)
	}
}

func TestInsertChipRunsEMVRead(t *testing.T) {
	r := NewReader("demo")
	ctx := context.Background()
	card := emvcard.MustNew(emvcard.Data{}, emvcard.Options{Protocol: emvcard.T0, Directory: emvcard.DirPSE})
	if err := r.InsertChip(ctx, card, emv.TerminalData{Amount: 100}); err != nil {
		t.Fatal(err)
	}
	ev := next(t, r)
	if ev.Kind != devices.CardInserted || ev.Reader != "demo" || ev.Card.PAN != emvcard.DefaultData.PAN ||
		ev.Card.Expiry != "3012" || ev.Card.AID != "A000000333010101" || ev.Card.Entry != cards.EntryChip {
		t.Errorf("event kind %v card %s aid %s", ev.Kind, ev.Card, ev.Card.AID)
	}
	res, ok := r.LastRead()
	if !ok || res.Source != emv.SourcePSE || len(res.ICC) == 0 {
		t.Errorf("LastRead ok %v source %s ICC %d bytes", ok, res.Source, len(res.ICC))
	}
	if r.State() != devices.ReaderCardPresent {
		t.Errorf("state %v", r.State())
	}
	if err := r.InsertChip(ctx, card, emv.TerminalData{}); !errors.Is(err, ErrCardPresent) {
		t.Errorf("second insert: %v", err)
	}
	if err := r.Remove(); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, r); ev.Kind != devices.CardRemoved {
		t.Errorf("remove event %v", ev.Kind)
	}
	if _, ok := r.LastRead(); ok {
		t.Error("LastRead kept after removal")
	}
}

func TestInsertChipContactless(t *testing.T) {
	r := NewReader("demo")
	if err := r.InsertChip(context.Background(), emvcard.MustNew(emvcard.Data{}, emvcard.Options{Directory: emvcard.DirPPSE}), emv.TerminalData{}); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, r); ev.Card.Entry != cards.EntryContactless {
		t.Errorf("entry %s", ev.Card.Entry)
	}
}

func TestInsertChipUnreadable(t *testing.T) {
	r := NewReader("demo")
	if err := r.InsertChip(context.Background(), emvcard.MustNew(emvcard.Data{}, emvcard.Options{Garbage: true}), emv.TerminalData{}); err != nil {
		t.Fatal(err)
	}
	ev := next(t, r)
	if ev.Kind != devices.CardReadError || !errors.Is(ev.Err, ErrCardRead) || !errors.Is(ev.Err, emv.ErrMalformedTLV) {
		t.Errorf("event %v err %v", ev.Kind, ev.Err)
	}
	// The card is physically in: the cashier has to take it out.
	if r.State() != devices.ReaderCardPresent {
		t.Errorf("state %v", r.State())
	}
	if err := r.Remove(); err != nil {
		t.Error(err)
	}
}

const (
	track1 = "%B6212340000000001^TEST/CARDHOLDER^3012220000000000000?"
	track2 = ";6212340000000001=30122201234567890?"
)

func TestSwipeTracks(t *testing.T) {
	r := NewReader("demo")
	if err := r.SwipeTracks(track1, track2); err != nil {
		t.Fatal(err)
	}
	ev := next(t, r)
	c := ev.Card
	if ev.Kind != devices.CardSwiped || c.PAN != "6212340000000001" || c.Expiry != "3012" || c.ServiceCode != "220" ||
		c.Holder != "TEST/CARDHOLDER" || c.Track2 != "6212340000000001D30122201234567890" || c.Entry != cards.EntrySwipe {
		t.Errorf("swipe %v: %s holder %q svc %q", ev.Kind, c, c.Holder, c.ServiceCode)
	}
	if err := r.SwipeTracks("", track2); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, r); ev.Kind != devices.CardSwiped || ev.Card.Holder != "" || ev.Card.PAN != "6212340000000001" {
		t.Errorf("track 2 only: %v %s", ev.Kind, ev.Card)
	}
	if r.State() != devices.ReaderReady {
		t.Errorf("a swipe changed the chip slot state: %v", r.State())
	}
}

func TestSwipeTracksBadStripe(t *testing.T) {
	r := NewReader("demo")
	bad := strings.Replace(track2, "0001=", "0002=", 1) // fails Luhn
	if err := r.SwipeTracks("", bad); err != nil {
		t.Fatal(err)
	}
	ev := next(t, r)
	if ev.Kind != devices.CardReadError || !errors.Is(ev.Err, ErrCardRead) || !errors.Is(ev.Err, magstripe.ErrLuhn) {
		t.Errorf("event %v err %v", ev.Kind, ev.Err)
	}
	if strings.Contains(ev.Err.Error(), "6212340000000002") {
		t.Error("error carries the card number")
	}
	if err := r.SwipeTracks("%E?", ";E?"); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, r); !errors.Is(ev.Err, magstripe.ErrReadFailed) {
		t.Errorf("failed tracks: %v", ev.Err)
	}
}
