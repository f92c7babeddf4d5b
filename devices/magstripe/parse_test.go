package magstripe

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// Real-shaped samples. The numbers pass Luhn and are test numbers, not cards.
const (
	upPAN    = "6212340000000001" // UnionPay debit, as the virtual EMV card in the notes
	upTrack1 = "%B6212340000000001^TEST/CARDHOLDER          ^3012220123456789000000?"
	upTrack2 = ";6212340000000001=30122201234567890123?"
	visaPAN  = "4111111111111111"
	visaT1   = "%B4111111111111111^SMITH/JOHN^28121010000000000000000?"
	visaT2   = ";4111111111111111=28121011234500000000?"
)

func TestParseUnionPayBothTracks(t *testing.T) {
	for name, in := range map[string]string{
		"plain":             upTrack1 + upTrack2,
		"enter after each":  upTrack1 + "\r" + upTrack2 + "\r",
		"crlf":              upTrack1 + "\r\n" + upTrack2 + "\r\n",
		"lrc after each":    upTrack1 + "5" + upTrack2 + "7\n",
		"sentinel as lrc":   upTrack1 + ";" + upTrack2 + ";",
		"sentinel lrc, cr":  upTrack1 + "%\r" + upTrack2 + ";\r",
		"with track 3":      upTrack1 + upTrack2 + ";996212340000000001=1561560000000000003000000000000000000030122200000000000000000000000000000?\n",
		"track 3, enter":    upTrack1 + "\n" + upTrack2 + "\n;99?\n",
		"track 1 error, t2": "%E?" + upTrack2,
	} {
		s, err := Parse(in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if s.PAN != upPAN || s.Expiry != "3012" || s.ServiceCode != "220" {
			t.Fatalf("%s: got %s %s %s", name, s.Masked(), s.Expiry, s.ServiceCode)
		}
		if s.Track2 != "6212340000000001D30122201234567890123" {
			t.Fatalf("%s: track 2 equivalent %q", name, s.Track2)
		}
		wantName := "TEST/CARDHOLDER"
		if name == "track 1 error, t2" {
			wantName = ""
		}
		if s.Name != wantName {
			t.Fatalf("%s: name %q", name, s.Name)
		}
		if !s.ChipCard() {
			t.Fatalf("%s: service code 220 is a chip card", name)
		}
	}
}

func TestParseVisaOneTrack(t *testing.T) {
	s, err := Parse(visaT2 + "\n")
	if err != nil {
		t.Fatal(err)
	}
	if s.PAN != visaPAN || s.Expiry != "2812" || s.ServiceCode != "101" || s.Name != "" ||
		s.Track2 != "4111111111111111D28121011234500000000" || s.ChipCard() {
		t.Fatalf("track 2 only: %+v / %q %q %q", s, s.Expiry, s.ServiceCode, s.Track2)
	}
	c := s.Card()
	if c.PAN != visaPAN || c.Entry != "swipe" || c.Track2 != s.Track2 || c.ExpiryText() != "12/28" {
		t.Fatalf("card %v", c)
	}

	s, err = Parse(visaT1 + "\r")
	if err != nil {
		t.Fatal(err)
	}
	if s.PAN != visaPAN || s.Expiry != "2812" || s.ServiceCode != "101" || s.Name != "SMITH/JOHN" || s.Track2 != "" {
		t.Fatalf("track 1 only: %v %q %q %q", s, s.Expiry, s.ServiceCode, s.Name)
	}
}

func TestChipCard(t *testing.T) {
	for svc, chip := range map[string]bool{
		"101": false, "120": false, "201": true, "220": true, "221": true,
		"501": false, "520": false, "601": true, "620": true, "701": false, "": false,
	} {
		if got := (Swipe{ServiceCode: svc}).ChipCard(); got != chip {
			t.Errorf("service code %q: ChipCard() = %v", svc, got)
		}
	}
	// Through Parse: the same Visa number with a chip (201) and without (101).
	s, err := Parse(";4111111111111111=28122011234500000000?")
	if err != nil || !s.ChipCard() {
		t.Fatalf("201: chip %v, %v", s.ChipCard(), err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct {
		name, in string
		want     error
	}{
		{"empty", "", ErrNoData},
		{"only enter", "\r\n", ErrNoData},
		{"no start sentinel", "6212340000000001=30122201234567890123?", ErrStartSentinel},
		{"junk before", "x" + upTrack2, ErrStartSentinel},
		{"junk between", upTrack1 + "xy" + upTrack2, ErrStartSentinel},
		{"no end sentinel", ";6212340000000001=30122201234567890123", ErrEndSentinel},
		{"track 1 after track 2", upTrack2 + upTrack1, ErrStartSentinel},
		{"track 1 format", "%A6212340000000001^TEST/CARDHOLDER^3012220?", ErrFormat},
		{"track 1 lowercase", "%B6212340000000001^test/cardholder^3012220?", ErrFormat},
		{"track 1 no separator", "%B6212340000000001TEST/CARDHOLDER3012220?", ErrSeparator},
		{"track 1 one separator", "%B6212340000000001^TEST/CARDHOLDER3012220?", ErrSeparator},
		{"track 2 no separator", ";621234000000000130122201234567890123?", ErrSeparator},
		{"track 2 letter in PAN", ";62123400000A0001=30122201234567890123?", ErrDigits},
		{"track 1 letter in PAN", "%B62123400000A0001^TEST/CARDHOLDER^3012220?", ErrDigits},
		{"track 2 letter after", ";6212340000000001=3012220123456789012A?", ErrDigits},
		{"track 2 second separator", ";6212340000000001=3012220=23456789012?", ErrDigits},
		{"service code", "%B6212340000000001^TEST/CARDHOLDER^30122X0?", ErrDigits},
		{"luhn track 2", ";6212340000000002=30122201234567890123?", ErrLuhn},
		{"luhn track 1", "%B6212340000000002^TEST/CARDHOLDER^3012220?", ErrLuhn},
		{"short PAN", ";621234000001=30122201234567890123?", ErrPANLength},
		{"long PAN", ";62123400000000000001=3012220123456?", ErrPANLength},
		{"month 13", ";6212340000000001=30132201234567890123?", ErrExpiry},
		{"short after separator", ";6212340000000001=301222?", ErrExpiry},
		{"name too short", "%B6212340000000001^T^3012220?", ErrNameLength},
		{"track 2 too long", ";6212340000000001=301222012345678901234?", ErrTooLong},
		{"tracks disagree", upTrack1 + visaT2, ErrMismatch},
		{"expiries disagree", upTrack1 + ";6212340000000001=31122201234567890123?", ErrMismatch},
		{"read failed", "%E?;E?\r", ErrReadFailed},
	} {
		_, err := Parse(c.in)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, "234000000") || strings.Contains(msg, "11111111") || strings.Contains(msg, "3012") {
			t.Errorf("%s: card data in the error %q", c.name, msg)
		}
	}
}

func TestSwipeNeverPrintsPAN(t *testing.T) {
	s, err := Parse(upTrack1 + upTrack2)
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("swiped", "card", s)
	out := fmt.Sprintf("%v %+v %#v %s %q", s, s, s, s, s) + fmt.Sprint(&s) + logged.String()
	if strings.Contains(out, "2340000000") || strings.Contains(out, "=3012") || strings.Contains(out, "D3012") {
		t.Fatalf("card data leaked in %q", out)
	}
	if !strings.Contains(out, "621234******0001") {
		t.Fatalf("no masked number in %q", out)
	}
}

// Whatever comes in, Parse does not panic, and what it accepts is a valid
// card whose details it never puts in an error.
func FuzzParse(f *testing.F) {
	for _, s := range []string{upTrack1 + upTrack2, upTrack1 + "\r" + upTrack2 + "\r", visaT1, visaT2 + "\n",
		upTrack1 + ";" + upTrack2 + ";", "%E?;E?", ";?", "%B^^?", ";;;", "?", "%B6212340000000001^AB^3012220\xff?"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := Parse(in)
		if err != nil {
			if s != (Swipe{}) {
				t.Fatalf("error %v with a swipe", err)
			}
			if run := digitRun(err.Error()); run >= 4 {
				t.Fatalf("digits from the input in the error %q", err)
			}
			return
		}
		if len(s.PAN) < 13 || len(s.PAN) > 19 || !digits(s.PAN) || len(s.Expiry) != 4 || len(s.ServiceCode) != 3 {
			t.Fatalf("accepted a bad card: %q %q %q", s.Masked(), s.Expiry, s.ServiceCode)
		}
		if s.Track2 != "" && !strings.HasPrefix(s.Track2, s.PAN+"D"+s.Expiry+s.ServiceCode) {
			t.Fatalf("track 2 equivalent does not match the card")
		}
	})
}

// digitRun is the longest run of digits in s: errors have none longer than
// "26", so a longer one would be card data.
func digitRun(s string) int {
	longest, n := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			n++
			longest = max(longest, n)
		} else {
			n = 0
		}
	}
	return longest
}
