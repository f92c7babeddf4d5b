package wedge

import "time"

// Defaults: scanners send a character every 2 to 20 ms; the fastest typists
// leave 60 ms or more between keys. Payment codes have 16 digits or more.
const (
	DefaultMaxGap = 35 * time.Millisecond
	DefaultMinLen = 16
)

// Detector groups keys into scans. K is the caller's key type, handed back
// untouched when keys turn out to be typed. The zero value uses the
// defaults. It is not safe for concurrent use (a UI's update loop owns it).
type Detector[K any] struct {
	MaxGap time.Duration // longest gap between a scan's keys
	MinLen int           // fewest digits a scan has

	held   []K
	digits []rune
	last   time.Time
	burst  bool // every held digit came within MaxGap of the one before
	gen    int
}

func (d *Detector[K]) maxGap() time.Duration {
	if d.MaxGap > 0 {
		return d.MaxGap
	}
	return DefaultMaxGap
}

func (d *Detector[K]) minLen() int {
	if d.MinLen > 0 {
		return d.MinLen
	}
	return DefaultMinLen
}

// Digit takes a digit key typed at `at` and holds it. It returns keys held
// before that turned out to be typed (to be handled now, in order). Once
// MaxGap has passed the caller calls Expire with Gen's value then, to learn
// whether the held keys were typed after all.
func (d *Detector[K]) Digit(k K, r rune, at time.Time) (typed []K) {
	if len(d.held) > 0 && at.Sub(d.last) > d.maxGap() {
		typed = d.release()
	}
	if len(d.held) == 0 {
		d.burst = true
	}
	d.held = append(d.held, k)
	d.digits = append(d.digits, r)
	d.last = at
	d.gen++
	return typed
}

// Enter takes Enter typed at `at`. When it ends a scan, the scan's digits
// come back and no key is typed; otherwise the held keys come back as
// typed, and Enter is the caller's to handle after them.
func (d *Detector[K]) Enter(at time.Time) (scan string, typed []K) {
	if len(d.held) >= d.minLen() && d.burst && at.Sub(d.last) <= d.maxGap() {
		scan = string(d.digits)
		d.held, d.digits = nil, nil
		d.gen++
		return scan, nil
	}
	return "", d.release()
}

// Other takes any other key: the held keys were typed, before it.
func (d *Detector[K]) Other() (typed []K) { return d.release() }

// Gen identifies the detector's state: an Expire for an older state is
// stale (more keys came since).
func (d *Detector[K]) Gen() int { return d.gen }

// Expire is called MaxGap after a key was held, with the Gen then. If
// nothing came since, the held keys were typed.
func (d *Detector[K]) Expire(gen int) (typed []K) {
	if gen != d.gen {
		return nil
	}
	return d.release()
}

// Holding reports whether keys are held.
func (d *Detector[K]) Holding() bool { return len(d.held) > 0 }

func (d *Detector[K]) release() []K {
	out := d.held
	d.held, d.digits, d.burst = nil, nil, false
	d.gen++
	return out
}
