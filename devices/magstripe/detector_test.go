package magstripe

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/multipos/multipos/devices/wedge"
)

var t0 = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// feed types s with gap between keys ('\r' and '\n' are Enter), calling
// Expire once the last key has gone quiet, and returns the swipes and the
// text of the keys handed back as typed.
func feed(d *Detector[rune], s string, gap time.Duration) (swipes []string, typed string) {
	var out strings.Builder
	take := func(sw string, ks []rune) {
		if sw != "" {
			swipes = append(swipes, sw)
		}
		for _, k := range ks {
			out.WriteRune(k)
		}
	}
	at := t0
	for _, r := range s {
		at = at.Add(gap)
		take(d.Key(r, r, at))
	}
	take(d.Expire(d.Gen()))
	return swipes, out.String()
}

func TestSwipeBurstIsASwipe(t *testing.T) {
	for _, in := range []string{
		upTrack1 + upTrack2 + "\r",
		upTrack1 + "\r" + upTrack2 + "\r",
		upTrack1 + "\r\n" + upTrack2 + "\r\n",
		upTrack1 + "%" + upTrack2 + ";\r",
		upTrack1 + ";" + upTrack2 + ";",
		upTrack2,
		visaT1 + "\n",
	} {
		for _, gap := range []time.Duration{time.Millisecond, 8 * time.Millisecond, 30 * time.Millisecond} {
			var d Detector[rune]
			swipes, typed := feed(&d, in, gap)
			if !slices.Equal(swipes, []string{in}) || typed != "" {
				t.Fatalf("%q at %v: swipes %q, typed %q", in, gap, swipes, typed)
			}
			if _, err := Parse(swipes[0]); err != nil {
				t.Fatalf("%q: %v", in, err)
			}
			if d.Holding() {
				t.Fatal("still holding")
			}
		}
	}
}

func TestTypingIsTyping(t *testing.T) {
	var d Detector[rune]
	// A person typing a track, however fast a person types.
	in := upTrack2 + "\r"
	if swipes, typed := feed(&d, in, 70*time.Millisecond); len(swipes) != 0 || typed != in {
		t.Fatalf("swipes %q, typed %q", swipes, typed)
	}
	// Ordinary typing, fast: nothing is held, as no sentinel starts it.
	if swipes, typed := feed(&d, "12.50\r", time.Millisecond); len(swipes) != 0 || typed != "12.50\r" {
		t.Fatalf("swipes %q, typed %q", swipes, typed)
	}
}

func TestNoSentinelIsNeverHeld(t *testing.T) {
	var d Detector[rune]
	at := t0
	for _, r := range "6212340000000001=3012?\r" {
		at = at.Add(time.Millisecond)
		if sw, typed := d.Key(r, r, at); sw != "" || !slices.Equal(typed, []rune{r}) {
			t.Fatalf("key %q: swipe %q typed %q", r, sw, string(typed))
		}
	}
}

func TestBurstWithoutEndIsTyped(t *testing.T) {
	var d Detector[rune]
	at := t0
	for _, r := range ";6212340000000001=3012" {
		at = at.Add(5 * time.Millisecond)
		if sw, typed := d.Key(r, r, at); sw != "" || len(typed) != 0 {
			t.Fatalf("released early: %q %q", sw, string(typed))
		}
	}
	gen := d.Gen()
	if sw, got := d.Expire(gen - 1); sw != "" || got != nil {
		t.Fatalf("a stale expiry released %q %q", sw, string(got))
	}
	if sw, got := d.Expire(gen); sw != "" || string(got) != ";6212340000000001=3012" {
		t.Fatalf("expired: %q %q", sw, string(got))
	}
	// Enter inside a track: typed, Enter included, at once.
	if swipes, typed := feed(&d, ";12\r", time.Millisecond); len(swipes) != 0 || typed != ";12\r" {
		t.Fatalf("swipes %q, typed %q", swipes, typed)
	}
}

func TestTypedSemicolonThenSwipe(t *testing.T) {
	// The cashier types ';', pauses, then swipes: ';' is typed, the burst
	// is a swipe. Then typing resumes right after the swipe.
	var d Detector[rune]
	sw, typed := d.Key(';', ';', t0)
	if sw != "" || len(typed) != 0 {
		t.Fatalf("a lone ';' not held: swipe %q, typed %q", sw, string(typed))
	}
	at := t0.Add(400 * time.Millisecond)
	for _, r := range upTrack2 + "\r" {
		s, ks := d.Key(r, r, at)
		if s != "" {
			t.Fatalf("swipe %q too early", s)
		}
		typed = append(typed, ks...)
		at = at.Add(3 * time.Millisecond)
	}
	// The next key, 3 ms after the Enter, shows the swipe over.
	sw, more := d.Key('1', '1', at)
	typed = append(typed, more...)
	if sw != upTrack2+"\r" || string(typed) != ";1" {
		t.Fatalf("swipe %q, typed %q", sw, string(typed))
	}
}

func TestTooLongIsTyped(t *testing.T) {
	d := Detector[rune]{MaxLen: 20}
	in := upTrack2 + "\r"
	if swipes, typed := feed(&d, in, time.Millisecond); len(swipes) != 0 || typed != in {
		t.Fatalf("swipes %q, typed %q", swipes, typed)
	}
}

// The composition doc.go states: keys go through this detector first and
// what it hands back goes on to wedge. A payment code scan still scans, a
// swipe's digits never reach wedge, and typing comes through in order.
func TestChainedWithWedge(t *testing.T) {
	type key struct {
		r  rune
		at time.Time
	}
	var (
		ms            Detector[key]
		wd            wedge.Detector[key]
		swipes, scans []string
		out           strings.Builder
	)
	ui := func(ks []key) {
		for _, k := range ks {
			out.WriteRune(k.r)
		}
	}
	toWedge := func(ks []key) {
		for _, k := range ks {
			switch {
			case k.r >= '0' && k.r <= '9':
				ui(wd.Digit(k, k.r, k.at))
			case isEnter(k.r):
				scan, typed := wd.Enter(k.at)
				if scan != "" {
					scans = append(scans, scan)
					continue
				}
				ui(typed)
				out.WriteRune(k.r)
			default:
				ui(wd.Other())
				out.WriteRune(k.r)
			}
		}
	}
	take := func(sw string, ks []key) {
		if sw != "" {
			swipes = append(swipes, sw)
		}
		toWedge(ks)
	}
	at := t0
	typeAt := func(s string, gap time.Duration) {
		for _, r := range s {
			at = at.Add(gap)
			take(ms.Key(key{r, at}, r, at))
		}
		at = at.Add(time.Second) // quiet: both detectors' timers fire
		take(ms.Expire(ms.Gen()))
		ui(wd.Expire(wd.Gen()))
	}
	typeAt("12.5\r", 90*time.Millisecond)
	typeAt("281234567890123456\r", 5*time.Millisecond) // a payment code
	typeAt(upTrack1+"\r"+upTrack2+"\r", 4*time.Millisecond)
	typeAt("7\r", 90*time.Millisecond)
	if !slices.Equal(scans, []string{"281234567890123456"}) {
		t.Fatalf("scans %q", scans)
	}
	if !slices.Equal(swipes, []string{upTrack1 + "\r" + upTrack2 + "\r"}) {
		t.Fatalf("swipes %q", swipes)
	}
	if out.String() != "12.5\r7\r" {
		t.Fatalf("typed %q", out.String())
	}
}

// Whatever the keys and their timing, and whether a quiet burst is ended by
// Expire or by the next key, no key is lost or duplicated: the swipes and
// the typed keys, in the order they come back, are the input.
func FuzzDetector(f *testing.F) {
	f.Add(upTrack1+"\r"+upTrack2+"\r", []byte{4})
	f.Add(";1?;?%\r\n\n", []byte{1, 50, 2})
	f.Add("%B^?;;x?\r12;", []byte{40, 1, 1, 36})
	f.Add("?;;;%%?\n\r\r\n", []byte{0})
	f.Add("abc;12", []byte{200, 3})
	f.Fuzz(func(t *testing.T, s string, gaps []byte) {
		if len(gaps) == 0 {
			gaps = []byte{5}
		}
		in := []rune(s)
		d := Detector[int]{MaxLen: 64}
		var out []rune
		next, swipes := 0, 0 // the index the next typed key must have
		take := func(sw string, ks []int) {
			if sw != "" {
				if !isSentinel([]rune(sw)[0]) || !strings.Contains(sw, "?") {
					t.Fatalf("swipe %q does not go from a sentinel to '?'", sw)
				}
				out = append(out, []rune(sw)...)
				next += len([]rune(sw))
				swipes++
			}
			for _, k := range ks {
				if k != next {
					t.Fatalf("key %d came back where %d was due", k, next)
				}
				out = append(out, in[k])
				next++
			}
		}
		at := t0
		for i, r := range in {
			g := time.Duration(gaps[i%len(gaps)]) * time.Millisecond
			if g > DefaultMaxGap && gaps[i%len(gaps)]%2 == 0 {
				take(d.Expire(d.Gen())) // the timer fired before the key
			}
			at = at.Add(g)
			take(d.Key(i, r, at))
		}
		take(d.Expire(d.Gen()))
		if d.Holding() {
			t.Fatal("holding after the last expiry")
		}
		slow := true
		for _, g := range gaps {
			slow = slow && time.Duration(g)*time.Millisecond > DefaultMaxGap
		}
		if slow && swipes > 0 {
			t.Fatalf("%d swipes at a hand's pace", swipes)
		}
		if string(out) != string(in) {
			t.Fatalf("in %q, out %q", string(in), string(out))
		}
	})
}
