package emv

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Errors returned by the TLV parser. They are sentinels so that callers can
// tell malformed card data (errors.Is(err, ErrMalformedTLV)) from a
// transport failure.
var (
	ErrMalformedTLV = errors.New("emv: malformed TLV")
	ErrTruncated    = fmt.Errorf("%w: truncated", ErrMalformedTLV)
)

// maxDepth bounds template nesting. Real EMV data nests at most 4 levels
// (6F → A5 → BF0C → 61); the bound keeps hostile input from recursing
// deeply.
const maxDepth = 16

// Tag is a BER-TLV tag with its bytes packed big-endian, so that 0x9F02 is
// the two-byte tag 9F 02 and 0x5A is the one-byte tag 5A. Tags longer than 4
// bytes do not occur in EMV and are rejected.
type Tag uint32

// Tags used by this package.
const (
	TagAID                 Tag = 0x4F
	TagLabel               Tag = 0x50
	TagTrack2              Tag = 0x57
	TagPAN                 Tag = 0x5A
	TagFCI                 Tag = 0x6F
	TagRecordTemplate      Tag = 0x70
	TagRMTF2               Tag = 0x77 // response message template format 2
	TagRMTF1               Tag = 0x80 // response message template format 1
	TagAIP                 Tag = 0x82
	TagCommandTemplate     Tag = 0x83
	TagDFName              Tag = 0x84
	TagPriority            Tag = 0x87
	TagSFI                 Tag = 0x88
	TagAFL                 Tag = 0x94
	TagTVR                 Tag = 0x95
	TagTransactionDate     Tag = 0x9A
	TagTransactionType     Tag = 0x9C
	TagFCIProprietary      Tag = 0xA5
	TagDirectoryEntry      Tag = 0x61
	TagCardholderName      Tag = 0x5F20
	TagExpiry              Tag = 0x5F24
	TagCurrencyCode        Tag = 0x5F2A
	TagPANSequence         Tag = 0x5F34
	TagFCIDiscretionary    Tag = 0xBF0C
	TagAmount              Tag = 0x9F02
	TagAmountOther         Tag = 0x9F03
	TagIAD                 Tag = 0x9F10
	TagPreferredName       Tag = 0x9F12
	TagCountryCode         Tag = 0x9F1A
	TagIFDSerial           Tag = 0x9F1E
	TagAC                  Tag = 0x9F26
	TagCID                 Tag = 0x9F27
	TagTerminalCaps        Tag = 0x9F33
	TagCVMResults          Tag = 0x9F34
	TagTerminalType        Tag = 0x9F35
	TagATC                 Tag = 0x9F36
	TagUnpredictableNumber Tag = 0x9F37
	TagPDOL                Tag = 0x9F38
	TagAdditionalCaps      Tag = 0x9F40
	TagTTQ                 Tag = 0x9F66
)

// Bytes returns the tag's encoding (1 to 4 bytes).
func (t Tag) Bytes() []byte {
	switch {
	case t > 0xFFFFFF:
		return []byte{byte(t >> 24), byte(t >> 16), byte(t >> 8), byte(t)}
	case t > 0xFFFF:
		return []byte{byte(t >> 16), byte(t >> 8), byte(t)}
	case t > 0xFF:
		return []byte{byte(t >> 8), byte(t)}
	default:
		return []byte{byte(t)}
	}
}

// Constructed reports whether the tag's first byte has the constructed bit
// (0x20), i.e. whether its value is itself a sequence of TLVs.
func (t Tag) Constructed() bool { return t.Bytes()[0]&0x20 != 0 }

// String returns the tag in upper-case hex, as EMV documents write it.
func (t Tag) String() string { return strings.ToUpper(hex.EncodeToString(t.Bytes())) }

// TLV is one data object. For a constructed tag Children holds the parsed
// contents and Value holds the raw encoded contents.
type TLV struct {
	Tag      Tag
	Value    []byte
	Children TLVs
}

// TLVs is a sequence of data objects, e.g. a parsed response.
type TLVs []TLV

// ParseTLV parses a sequence of BER-TLV objects, descending into
// constructed templates. Truncated or malformed data is an error, never a
// panic. Zero bytes between objects are skipped: EMV Book 3 annex B allows
// 00 padding before, between and after objects.
func ParseTLV(b []byte) (TLVs, error) { return parseTLV(b, 0) }

func parseTLV(b []byte, depth int) (TLVs, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("%w: templates nested deeper than %d", ErrMalformedTLV, maxDepth)
	}
	var out TLVs
	for len(b) > 0 {
		if b[0] == 0x00 {
			b = b[1:]
			continue
		}
		tag, n, err := readTag(b)
		if err != nil {
			return nil, err
		}
		b = b[n:]
		l, n, err := readLength(b)
		if err != nil {
			return nil, fmt.Errorf("tag %s: %w", tag, err)
		}
		b = b[n:]
		if l > len(b) {
			return nil, fmt.Errorf("%w: tag %s needs %d bytes, %d left", ErrTruncated, tag, l, len(b))
		}
		obj := TLV{Tag: tag, Value: b[:l:l]}
		if tag.Constructed() {
			obj.Children, err = parseTLV(obj.Value, depth+1)
			if err != nil {
				return nil, fmt.Errorf("in template %s: %w", tag, err)
			}
		}
		out = append(out, obj)
		b = b[l:]
	}
	return out, nil
}

func readTag(b []byte) (Tag, int, error) {
	if len(b) == 0 {
		return 0, 0, fmt.Errorf("%w: missing tag", ErrTruncated)
	}
	t := Tag(b[0])
	if b[0]&0x1F != 0x1F {
		return t, 1, nil
	}
	// Multi-byte tag: subsequent bytes follow while bit 8 is set.
	for i := 1; ; i++ {
		if i >= len(b) {
			return 0, 0, fmt.Errorf("%w: multi-byte tag", ErrTruncated)
		}
		if i >= 4 {
			return 0, 0, fmt.Errorf("%w: tag longer than 4 bytes", ErrMalformedTLV)
		}
		t = t<<8 | Tag(b[i])
		if b[i]&0x80 == 0 {
			return t, i + 1, nil
		}
	}
}

func readLength(b []byte) (int, int, error) {
	if len(b) == 0 {
		return 0, 0, fmt.Errorf("%w: missing length", ErrTruncated)
	}
	if b[0] < 0x80 {
		return int(b[0]), 1, nil
	}
	n := int(b[0] & 0x7F)
	if n == 0 {
		return 0, 0, fmt.Errorf("%w: indefinite length is not allowed", ErrMalformedTLV)
	}
	if n > 3 {
		return 0, 0, fmt.Errorf("%w: %d-byte length field", ErrMalformedTLV, n)
	}
	if len(b) < 1+n {
		return 0, 0, fmt.Errorf("%w: length field", ErrTruncated)
	}
	l := 0
	for _, c := range b[1 : 1+n] {
		l = l<<8 | int(c)
	}
	return l, 1 + n, nil
}

// Find returns the first object with the tag, searching depth-first through
// nested templates, so that Find(0x9F38) finds the PDOL inside 6F → A5.
func (l TLVs) Find(tag Tag) (TLV, bool) {
	for _, o := range l {
		if o.Tag == tag {
			return o, true
		}
		if f, ok := o.Children.Find(tag); ok {
			return f, true
		}
	}
	return TLV{}, false
}

// Value is Find returning only the value (nil when absent).
func (l TLVs) Value(tag Tag) []byte {
	o, ok := l.Find(tag)
	if !ok {
		return nil
	}
	return o.Value
}

// FindAll returns every object with the tag at any depth, in order; used for
// the repeated 61 entries of a directory.
func (l TLVs) FindAll(tag Tag) []TLV {
	var out []TLV
	for _, o := range l {
		if o.Tag == tag {
			out = append(out, o)
		}
		out = append(out, o.Children.FindAll(tag)...)
	}
	return out
}

// Encode returns the object in BER-TLV with a minimal length. A constructed
// object with Children is encoded from them, so a template can be built in
// code; otherwise Value is used.
func (o TLV) Encode() []byte {
	v := o.Value
	if len(o.Children) > 0 {
		v = o.Children.Encode()
	}
	return EncodeTLV(o.Tag, v)
}

// Encode concatenates the encodings of the objects.
func (l TLVs) Encode() []byte {
	var buf bytes.Buffer
	for _, o := range l {
		buf.Write(o.Encode())
	}
	return buf.Bytes()
}

// EncodeTLV encodes one object with the minimal length form.
func EncodeTLV(tag Tag, value []byte) []byte {
	out := append([]byte(nil), tag.Bytes()...)
	out = appendLength(out, len(value))
	return append(out, value...)
}

func appendLength(b []byte, l int) []byte {
	switch {
	case l < 0x80:
		return append(b, byte(l))
	case l <= 0xFF:
		return append(b, 0x81, byte(l))
	case l <= 0xFFFF:
		return append(b, 0x82, byte(l>>8), byte(l))
	default:
		return append(b, 0x83, byte(l>>16), byte(l>>8), byte(l))
	}
}

// DOLEntry is one entry of a data object list (PDOL 9F38, CDOL 8C/8D): a
// tag and the length the card wants, without a value.
type DOLEntry struct {
	Tag    Tag
	Length int
}

// ParseDOL parses a data object list.
func ParseDOL(b []byte) ([]DOLEntry, error) {
	var out []DOLEntry
	for len(b) > 0 {
		tag, n, err := readTag(b)
		if err != nil {
			return nil, fmt.Errorf("DOL: %w", err)
		}
		b = b[n:]
		l, n, err := readLength(b)
		if err != nil {
			return nil, fmt.Errorf("DOL tag %s: %w", tag, err)
		}
		b = b[n:]
		out = append(out, DOLEntry{Tag: tag, Length: l})
	}
	return out, nil
}
