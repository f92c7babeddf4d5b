package magstripe

import "time"

// Defaults: a wedge reader types a character every 1 to 20 ms, the fastest
// typists leave 60 ms or more between keys (the same line devices/wedge
// draws). Tracks 1, 2 and 3 with their sentinels, LRCs and Enters come to
// under 240 characters; a longer burst is no swipe.
const (
	DefaultMaxGap = 35 * time.Millisecond
	DefaultMaxLen = 256
)

// Where the detector is in a burst.
type state uint8

const (
	idle     state = iota // holding nothing
	inTrack               // after a start sentinel, before '?'
	ended                 // just after '?'
	maybeLRC              // after '?' and a sentinel: the LRC, or the next track's start
	lrc                   // after '?' and its LRC
	entered               // after the Enter that follows a track
)

// Detector picks magstripe swipes out of the keyboard. A swipe is a burst
// of keys, each within MaxGap of the one before, that starts with a start
// sentinel ('%' or ';'), ends with '?' (and maybe an LRC character), and
// maybe Enter; one swipe may hold several tracks. Keys from a sentinel on
// are held until the burst is told apart; any other key is handed back at
// once, so typing is never slowed down.
//
// K is the caller's key type, handed back untouched when keys turn out to
// be typed; give it the key's arrival time if the keys go on to another
// detector. The zero value uses the defaults. It is not safe for concurrent
// use (a UI's update loop owns it).
//
// Composing with devices/wedge: chain them, this one first. Every key goes
// to Key; the keys it hands back as typed go on, in order, to the
// wedge.Detector (digits to Digit, Enter to Enter, others to Other); the UI
// handles what wedge hands back. A digit outside a track passes through at
// once, so barcode timing is kept, and a track's digits never reach wedge,
// so a track is never taken for a payment code. Both detectors want their
// own Expire calls.
type Detector[K any] struct {
	MaxGap time.Duration // longest gap between a swipe's keys
	MaxLen int           // most keys a swipe has

	held []K
	text []rune
	last time.Time
	st   state
	gen  int
}

func (d *Detector[K]) maxGap() time.Duration {
	if d.MaxGap > 0 {
		return d.MaxGap
	}
	return DefaultMaxGap
}

func (d *Detector[K]) maxLen() int {
	if d.MaxLen > 0 {
		return d.MaxLen
	}
	return DefaultMaxLen
}

// Key takes key k, which typed r (Enter as '\r' or '\n'), at `at`. It
// returns a swipe that this key showed complete (the keys' text, for
// Parse), and the keys that turned out to be typed, to be handled now, in
// order, after the swipe. While Holding, the caller calls Expire MaxGap
// after the key, with Gen's value then, to end a burst that goes quiet.
func (d *Detector[K]) Key(k K, r rune, at time.Time) (swipe string, typed []K) {
	if d.st != idle && at.Sub(d.last) > d.maxGap() {
		swipe, typed = d.finish()
	}
	d.gen++
	switch d.st {
	case idle:
		if !isSentinel(r) {
			return swipe, append(typed, k)
		}
		d.st = inTrack
	case inTrack:
		switch {
		case r == '?':
			d.st = ended
		case isEnter(r):
			// Enter inside a track: no reader does that; it was typed.
			d.hold(k, r, at)
			return swipe, append(typed, d.release()...)
		}
	case ended:
		switch {
		case isEnter(r):
			d.st = entered
		case isSentinel(r):
			d.st = maybeLRC
		default:
			d.st = lrc
		}
	case maybeLRC:
		switch {
		case isEnter(r):
			d.st = entered // the sentinel was the LRC
		case r == '?':
			d.st = ended // an empty track; Parse will say so
		default:
			d.st = inTrack // a sentinel after it: it was the LRC, this starts a track; else it started one
		}
	case lrc, entered:
		switch {
		case isSentinel(r):
			d.st = inTrack
		case d.st == entered && r == '\n' && d.text[len(d.text)-1] == '\r':
			// "\r\n" is one Enter
		default:
			// The swipe is over; this key is the next thing.
			s, t := d.finish()
			_, t2 := d.Key(k, r, at) // idle now, so it makes no swipe
			return s, append(t, t2...)
		}
	}
	d.hold(k, r, at)
	if len(d.held) > d.maxLen() {
		return swipe, append(typed, d.release()...)
	}
	return swipe, typed
}

// Expire is called MaxGap after a key was held, with the Gen then. If no
// key came since, the burst is over: it was a swipe, or typed keys.
func (d *Detector[K]) Expire(gen int) (swipe string, typed []K) {
	if gen != d.gen || d.st == idle {
		return "", nil
	}
	return d.finish()
}

// Gen identifies the detector's state: an Expire for an older state is
// stale (more keys came since).
func (d *Detector[K]) Gen() int { return d.gen }

// Holding reports whether keys are held.
func (d *Detector[K]) Holding() bool { return len(d.held) > 0 }

func (d *Detector[K]) hold(k K, r rune, at time.Time) {
	d.held = append(d.held, k)
	d.text = append(d.text, r)
	d.last = at
}

// finish ends the burst: a swipe if it stopped after a track's end, else
// typed keys.
func (d *Detector[K]) finish() (swipe string, typed []K) {
	if d.st == inTrack {
		return "", d.release()
	}
	swipe = string(d.text)
	clear(d.text) // the runes are card data, and the keys may hold them too
	clear(d.held)
	d.reset()
	return swipe, nil
}

func (d *Detector[K]) release() []K {
	out := d.held
	clear(d.text)
	d.reset()
	return out
}

func (d *Detector[K]) reset() {
	d.held, d.text, d.st = nil, nil, idle
	d.gen++
}
