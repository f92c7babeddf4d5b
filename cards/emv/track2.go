package emv

import (
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/multipos/multipos/cards"
)

// ErrBadTrack2 reports track 2 equivalent data (tag 57) that does not have
// the ISO 7813 layout. Its messages never include the data itself.
var ErrBadTrack2 = errors.New("emv: bad track 2 data")

// Track2 is the track 2 equivalent data of tag 57: PAN, separator D, expiry
// YYMM, service code and discretionary data, packed as BCD nibbles and padded
// with one F to a whole byte. It prints itself masked.
type Track2 struct {
	PAN           string
	Expiry        string // YYMM
	ServiceCode   string
	Discretionary string
}

// ParseTrack2 parses the value of tag 57.
func ParseTrack2(b []byte) (Track2, error) {
	if len(b) == 0 {
		return Track2{}, fmt.Errorf("%w: empty", ErrBadTrack2)
	}
	if len(b) > 19 {
		return Track2{}, fmt.Errorf("%w: %d bytes, at most 19", ErrBadTrack2, len(b))
	}
	s := strings.ToUpper(hex.EncodeToString(b))
	// One F pads an odd number of nibbles; anything else is malformed.
	s = strings.TrimSuffix(s, "F")
	return parseTrack2Digits(s, 'D')
}

// ParseTrack2String parses track 2 as text, either the hex form of tag 57
// (separator D) or the magnetic stripe form (separator '=', optionally
// between ';' and '?' sentinels).
func ParseTrack2String(s string) (Track2, error) {
	s = strings.TrimSuffix(strings.TrimPrefix(s, ";"), "?")
	if strings.Contains(s, "=") {
		return parseTrack2Digits(s, '=')
	}
	return parseTrack2Digits(strings.TrimSuffix(strings.ToUpper(s), "F"), 'D')
}

func parseTrack2Digits(s string, sep byte) (Track2, error) {
	i := strings.IndexByte(s, sep)
	if i < 0 {
		return Track2{}, fmt.Errorf("%w: no separator", ErrBadTrack2)
	}
	pan, rest := s[:i], s[i+1:]
	if len(pan) < 12 || len(pan) > 19 || !digits(pan) {
		return Track2{}, fmt.Errorf("%w: PAN must be 12 to 19 digits (got %d characters)", ErrBadTrack2, len(pan))
	}
	if len(rest) < 7 {
		return Track2{}, fmt.Errorf("%w: expiry and service code missing", ErrBadTrack2)
	}
	if !digits(rest) {
		return Track2{}, fmt.Errorf("%w: non-digit after the separator", ErrBadTrack2)
	}
	if len(pan)+1+len(rest) > 37 {
		return Track2{}, fmt.Errorf("%w: longer than 37 characters", ErrBadTrack2)
	}
	return Track2{PAN: pan, Expiry: rest[:4], ServiceCode: rest[4:7], Discretionary: rest[7:]}, nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Hex returns the data in the hex form used for ISO 8583 field 35 on many
// hosts: PAN "D" YYMM SVC discretionary, without padding. It is full track
// data: never log it.
func (t Track2) Hex() string {
	return t.PAN + "D" + t.Expiry + t.ServiceCode + t.Discretionary
}

// Bytes returns the tag 57 encoding, padded with F to a whole byte.
func (t Track2) Bytes() []byte {
	s := t.Hex()
	if len(s)%2 == 1 {
		s += "F"
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil // only for a Track2 not built by the parser
	}
	return b
}

// String keeps the PAN and discretionary data out of fmt output.
func (t Track2) String() string {
	return fmt.Sprintf("track2 %s exp %s svc %s", cards.Mask(t.PAN), t.Expiry, t.ServiceCode)
}

// GoString keeps the PAN out of %#v output.
func (t Track2) GoString() string { return t.String() }

// LogValue keeps the PAN and discretionary data out of slog output.
func (t Track2) LogValue() slog.Value {
	return slog.GroupValue(slog.String("pan", cards.Mask(t.PAN)), slog.String("svc", t.ServiceCode))
}
