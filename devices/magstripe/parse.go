package magstripe

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/multipos/multipos/cards"
)

// Errors Parse wraps (test with errors.Is). They say what is wrong, never
// with which data, so they are safe to log and to show the cashier.
var (
	ErrNoData        = errors.New("no card track in the swipe")
	ErrReadFailed    = errors.New("the reader could not read the stripe") // every track came as %E? / ;E?
	ErrStartSentinel = errors.New("track does not start with % or ;")
	ErrEndSentinel   = errors.New("track does not end with ?")
	ErrFormat        = errors.New("track 1 is not format B")
	ErrSeparator     = errors.New("field separator missing")
	ErrDigits        = errors.New("non-digit where digits belong")
	ErrPANLength     = errors.New("card number is not 13 to 19 digits")
	ErrLuhn          = errors.New("card number fails the Luhn check")
	ErrExpiry        = errors.New("expiry is not a valid YYMM")
	ErrNameLength    = errors.New("cardholder name is not 2 to 26 characters")
	ErrTooLong       = errors.New("track longer than the stripe holds")
	ErrMismatch      = errors.New("track 1 and track 2 disagree")
)

// Longest track contents between the sentinels (ISO/IEC 7813: 79 and 40
// characters including the sentinels and the LRC).
const (
	maxTrack1 = 76
	maxTrack2 = 37
)

// Swipe is what a swiped card's stripe says. The full PAN and Track2 are
// for the request to the acquirer only; print and log the Swipe itself,
// which masks them.
type Swipe struct {
	PAN         string // primary account number, digits only
	Expiry      string // YYMM
	ServiceCode string // 3 digits
	Name        string // cardholder name from track 1 (SURNAME/GIVEN), "" without track 1
	// Track2 is the track 2 equivalent data as ISO 8583 field 35 and EMV
	// tag 57 carry it: the digits between the sentinels with '=' as 'D'.
	// It is "" when only track 1 was read: track 1's discretionary data is
	// not track 2's, so it cannot be made up from it.
	Track2 string
}

// ChipCard reports whether the service code says the card has a chip
// (cards.HasChip): it must be inserted rather than swiped.
func (s Swipe) ChipCard() bool {
	return cards.HasChip(s.ServiceCode)
}

// Card returns the swipe as the terminal's card record.
func (s Swipe) Card() cards.Card {
	return cards.Card{
		PAN:         s.PAN,
		Expiry:      s.Expiry,
		ServiceCode: s.ServiceCode,
		Track2:      s.Track2,
		Holder:      s.Name,
		Entry:       cards.EntrySwipe,
	}
}

// Masked returns the PAN masked as 621234******0001.
func (s Swipe) Masked() string { return cards.Mask(s.PAN) }

// String keeps the full number and the track out of fmt output.
func (s Swipe) String() string { return fmt.Sprintf("swipe %s", s.Masked()) }

// GoString keeps the full number and the track out of %#v output.
func (s Swipe) GoString() string { return s.String() }

// LogValue keeps the full number and the track out of slog output.
func (s Swipe) LogValue() slog.Value {
	return slog.GroupValue(slog.String("pan", s.Masked()), slog.String("entry", string(cards.EntrySwipe)))
}

// track is one track's contents between its sentinels.
type track struct {
	sentinel byte // '%' or ';'
	body     string
}

// Parse reads what a keyboard-wedge reader typed for one swipe: track 1,
// track 2 or both (track 1 first), each "%…?" or ";…?", each optionally
// followed by its LRC character and/or Enter ("\r", "\n" or "\r\n"). A
// second ';' track is track 3, which carries nothing Parse returns; it is
// skipped. Track 2, when read, gives the PAN, expiry and service code, and
// must agree with track 1; track 1 gives the name. A track the reader
// reports as failed (%E? or ;E?) is left out, and the swipe stands on the
// others.
func Parse(s string) (Swipe, error) {
	tracks, err := split(s)
	if err != nil {
		return Swipe{}, err
	}
	var t1, t2 *track
	failed := 0
	for i := range tracks {
		t := &tracks[i]
		switch {
		case t.body == "E":
			failed++
		case t.sentinel == '%' && t1 == nil && t2 == nil:
			t1 = t
		case t.sentinel == ';' && t2 == nil:
			t2 = t
		case t.sentinel == ';':
			// track 3: not used
		default:
			return Swipe{}, fmt.Errorf("magstripe: track 1 after track 1 or 2: %w", ErrStartSentinel)
		}
	}
	if t1 == nil && t2 == nil {
		if failed > 0 {
			return Swipe{}, fmt.Errorf("magstripe: %w", ErrReadFailed)
		}
		return Swipe{}, fmt.Errorf("magstripe: %w", ErrNoData)
	}
	var out, one Swipe
	if t2 != nil {
		if out, err = parseTrack2(t2.body); err != nil {
			return Swipe{}, fmt.Errorf("magstripe: track 2: %w", err)
		}
	}
	if t1 != nil {
		if one, err = parseTrack1(t1.body); err != nil {
			return Swipe{}, fmt.Errorf("magstripe: track 1: %w", err)
		}
		if t2 != nil && (one.PAN != out.PAN || one.Expiry != out.Expiry || one.ServiceCode != out.ServiceCode) {
			return Swipe{}, fmt.Errorf("magstripe: %w", ErrMismatch)
		}
		out.PAN, out.Expiry, out.ServiceCode, out.Name = one.PAN, one.Expiry, one.ServiceCode, one.Name
	}
	return out, nil
}

// split cuts the typed text into tracks, dropping Enters and LRCs.
func split(s string) ([]track, error) {
	var tracks []track
	for i := 0; i < len(s); {
		c := s[i]
		if isEnter(rune(c)) {
			i++
			continue
		}
		if !isSentinel(rune(c)) {
			return nil, fmt.Errorf("magstripe: %w", ErrStartSentinel)
		}
		end := strings.IndexByte(s[i+1:], '?')
		if end < 0 {
			return nil, fmt.Errorf("magstripe: %w", ErrEndSentinel)
		}
		tracks = append(tracks, track{sentinel: c, body: s[i+1 : i+1+end]})
		i += end + 2
		// One character after '?' that is not Enter is the LRC, unless it
		// is a sentinel with more track after it: then it starts the next
		// track. (The detector draws the same line.)
		if i < len(s) && !isEnter(rune(s[i])) {
			if !isSentinel(rune(s[i])) || i+1 == len(s) || isEnter(rune(s[i+1])) || isSentinel(rune(s[i+1])) {
				i++
			}
		}
	}
	if len(tracks) == 0 {
		return nil, fmt.Errorf("magstripe: %w", ErrNoData)
	}
	return tracks, nil
}

// parseTrack1 reads B<PAN>^<NAME>^<YYMM><SVC><discretionary>.
func parseTrack1(b string) (Swipe, error) {
	if len(b) > maxTrack1 {
		return Swipe{}, ErrTooLong
	}
	if len(b) == 0 || b[0] != 'B' {
		return Swipe{}, ErrFormat
	}
	for i := 0; i < len(b); i++ {
		// Track 1 is 6-bit: space to '_'. Anything else was not read off a
		// stripe.
		if b[i] < 0x20 || b[i] > 0x5F {
			return Swipe{}, ErrFormat
		}
	}
	pan, rest, ok := strings.Cut(b[1:], "^")
	if !ok {
		return Swipe{}, ErrSeparator
	}
	name, rest, ok := strings.Cut(rest, "^")
	if !ok {
		return Swipe{}, ErrSeparator
	}
	if err := checkPAN(pan); err != nil {
		return Swipe{}, err
	}
	if len(name) < 2 || len(name) > 26 {
		return Swipe{}, ErrNameLength
	}
	exp, svc, err := expirySVC(rest)
	if err != nil {
		return Swipe{}, err
	}
	return Swipe{PAN: pan, Expiry: exp, ServiceCode: svc, Name: strings.TrimSpace(name)}, nil
}

// parseTrack2 reads <PAN>=<YYMM><SVC><discretionary>.
func parseTrack2(b string) (Swipe, error) {
	if len(b) > maxTrack2 {
		return Swipe{}, ErrTooLong
	}
	pan, rest, ok := strings.Cut(b, "=")
	if !ok {
		return Swipe{}, ErrSeparator
	}
	if err := checkPAN(pan); err != nil {
		return Swipe{}, err
	}
	if !digits(rest) {
		return Swipe{}, ErrDigits
	}
	exp, svc, err := expirySVC(rest)
	if err != nil {
		return Swipe{}, err
	}
	return Swipe{PAN: pan, Expiry: exp, ServiceCode: svc, Track2: pan + "D" + rest}, nil
}

func checkPAN(pan string) error {
	if !digits(pan) {
		return ErrDigits
	}
	if len(pan) < 13 || len(pan) > 19 {
		return ErrPANLength
	}
	if !cards.Luhn(pan) {
		return ErrLuhn
	}
	return nil
}

// expirySVC reads the YYMM and service code that start s.
func expirySVC(s string) (exp, svc string, err error) {
	if len(s) < 7 {
		return "", "", ErrExpiry
	}
	exp, svc = s[:4], s[4:7]
	if !digits(exp) || exp[2:] < "01" || exp[2:] > "12" {
		return "", "", ErrExpiry
	}
	if !digits(svc) {
		return "", "", ErrDigits
	}
	return exp, svc, nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isSentinel(r rune) bool { return r == '%' || r == ';' }

func isEnter(r rune) bool { return r == '\r' || r == '\n' }
