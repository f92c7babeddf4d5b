package emv

import (
	"errors"
	"fmt"
)

// ErrBadAFL reports an application file locator the terminal must reject
// (EMV Book 3, 10.2: the transaction is terminated).
var ErrBadAFL = errors.New("emv: bad AFL")

// AFLEntry is one 4-byte AFL entry: records First..Last of short file SFI,
// of which the first Offline records take part in offline data
// authentication.
type AFLEntry struct {
	SFI     byte
	First   byte
	Last    byte
	Offline byte
}

// Bytes encodes the entry as it appears in tag 94.
func (e AFLEntry) Bytes() []byte { return []byte{e.SFI << 3, e.First, e.Last, e.Offline} }

// ParseAFL parses tag 94. It rejects what EMV Book 3 calls an invalid AFL: a
// length that is zero or not a multiple of 4, an SFI outside 1..30 or with
// the low 3 bits set, a first record of 0, a last record before the first,
// and more offline records than the range holds.
func ParseAFL(b []byte) ([]AFLEntry, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrBadAFL)
	}
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("%w: length %d is not a multiple of 4", ErrBadAFL, len(b))
	}
	out := make([]AFLEntry, 0, len(b)/4)
	for i := 0; i < len(b); i += 4 {
		e := AFLEntry{SFI: b[i] >> 3, First: b[i+1], Last: b[i+2], Offline: b[i+3]}
		n := i/4 + 1
		switch {
		case b[i]&0x07 != 0:
			return nil, fmt.Errorf("%w: entry %d: low bits of SFI byte %02X are set", ErrBadAFL, n, b[i])
		case e.SFI == 0 || e.SFI > 30:
			return nil, fmt.Errorf("%w: entry %d: SFI %d outside 1..30", ErrBadAFL, n, e.SFI)
		case e.First == 0:
			return nil, fmt.Errorf("%w: entry %d: first record is 0", ErrBadAFL, n)
		case e.Last < e.First:
			return nil, fmt.Errorf("%w: entry %d: last record %d before first %d", ErrBadAFL, n, e.Last, e.First)
		case int(e.Offline) > int(e.Last)-int(e.First)+1:
			return nil, fmt.Errorf("%w: entry %d: %d offline records in a range of %d", ErrBadAFL, n, e.Offline, int(e.Last)-int(e.First)+1)
		}
		out = append(out, e)
	}
	return out, nil
}
