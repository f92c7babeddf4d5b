package wedge

import (
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// feed types s (digits, and '\n' for Enter) with gap between keys, and
// returns the scans and the keys that came out as typed, in order.
func feed(d *Detector[rune], s string, gap time.Duration) (scans []string, typed string) {
	var out strings.Builder
	at := t0
	for _, r := range s {
		at = at.Add(gap)
		switch {
		case r >= '0' && r <= '9':
			for _, k := range d.Digit(r, r, at) {
				out.WriteRune(k)
			}
		case r == '\n':
			scan, ks := d.Enter(at)
			if scan != "" {
				scans = append(scans, scan)
				continue
			}
			for _, k := range ks {
				out.WriteRune(k)
			}
			out.WriteRune('\n')
		default:
			for _, k := range d.Other() {
				out.WriteRune(k)
			}
			out.WriteRune(r)
		}
	}
	for _, k := range d.Expire(d.Gen()) {
		out.WriteRune(k)
	}
	return scans, out.String()
}

func TestScannerBurstIsAScan(t *testing.T) {
	var d Detector[rune]
	scans, typed := feed(&d, "134567890123456789\n", 8*time.Millisecond)
	if !slices.Equal(scans, []string{"134567890123456789"}) || typed != "" {
		t.Fatalf("scans %q, typed %q", scans, typed)
	}
}

func TestTypingIsTyping(t *testing.T) {
	var d Detector[rune]
	// A person typing a long number, however fast a person types.
	scans, typed := feed(&d, "134567890123456789\n", 70*time.Millisecond)
	if len(scans) != 0 || typed != "134567890123456789\n" {
		t.Fatalf("scans %q, typed %q", scans, typed)
	}
	// An amount typed fast, then Enter: too short to be a code.
	scans, typed = feed(&d, "1234\n", 5*time.Millisecond)
	if len(scans) != 0 || typed != "1234\n" {
		t.Fatalf("short burst: scans %q, typed %q", scans, typed)
	}
}

func TestBurstWithoutEnterIsTyped(t *testing.T) {
	var d Detector[rune]
	at := t0
	for _, r := range "2812345678901234" {
		at = at.Add(5 * time.Millisecond)
		if typed := d.Digit(r, r, at); len(typed) != 0 {
			t.Fatalf("released early: %q", string(typed))
		}
	}
	if !d.Holding() {
		t.Fatal("not holding")
	}
	gen := d.Gen()
	if got := d.Expire(gen - 1); got != nil {
		t.Fatalf("a stale expiry released %q", string(got))
	}
	if got := string(d.Expire(gen)); got != "2812345678901234" {
		t.Fatalf("expired: %q", got)
	}
}

func TestSlowStartThenBurst(t *testing.T) {
	// A digit typed by hand, a pause, then a scan: the digit is typed, the
	// burst is a scan.
	var d Detector[rune]
	typed := d.Digit('5', '5', t0)
	at := t0.Add(500 * time.Millisecond)
	for _, r := range "281234567890123456" {
		at = at.Add(4 * time.Millisecond)
		typed = append(typed, d.Digit(r, r, at)...)
	}
	scan, more := d.Enter(at.Add(4 * time.Millisecond))
	if string(typed) != "5" || scan != "281234567890123456" || len(more) != 0 {
		t.Fatalf("typed %q, scan %q, more %q", string(typed), scan, string(more))
	}
}

func TestOtherKeyReleases(t *testing.T) {
	var d Detector[rune]
	scans, typed := feed(&d, "12a34\n", 3*time.Millisecond)
	if len(scans) != 0 || typed != "12a34\n" {
		t.Fatalf("scans %q, typed %q", scans, typed)
	}
}

// Whatever the keys and their timing, no key is lost or duplicated: the
// typed keys and the scans' digits are the input, in order.
func FuzzDetector(f *testing.F) {
	f.Add("134567890123456789\n", uint8(8))
	f.Add("12\n34a\n", uint8(80))
	f.Add("2812345678901234567890\n\n", uint8(1))
	f.Fuzz(func(t *testing.T, s string, gapMS uint8) {
		var d Detector[rune]
		scans, typed := feed(&d, s, time.Duration(gapMS)*time.Millisecond)
		// A scan takes its digits and its Enter out of the stream.
		n := len([]rune(typed))
		for _, sc := range scans {
			n += len(sc) + 1
			if len(sc) < DefaultMinLen {
				t.Fatalf("scan %q shorter than a code", sc)
			}
		}
		if n != len([]rune(s)) {
			t.Fatalf("input %q (gap %d ms): typed %q, scans %q: keys lost or doubled", s, gapMS, typed, scans)
		}
		if gapMS > uint8(DefaultMaxGap/time.Millisecond) && len(scans) != 0 {
			t.Fatalf("a scan at %d ms between keys", gapMS)
		}
	})
}
