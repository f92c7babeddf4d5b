package emv

import (
	"bytes"
	"errors"
	"testing"
)

func TestParseTLVNested(t *testing.T) {
	// 6F { 84 .., A5 { 50 .., BF0C { 61 { 4F .., 87 01 } }, DF8101 (3-byte tag) } }
	data := tlv(TagFCI, tlv(TagDFName, PPSE), tlv(TagFCIProprietary,
		tlv(TagLabel, []byte("X")),
		tlv(TagFCIDiscretionary, tlv(TagDirectoryEntry, tlv(TagAID, h("A0000003330101")), tlv(TagPriority, []byte{1}))),
		tlv(0xDF8101, []byte{7})))
	l, err := ParseTLV(data)
	if err != nil {
		t.Fatal(err)
	}
	if aid := l.Value(TagAID); !bytes.Equal(aid, h("A0000003330101")) {
		t.Errorf("Find 4F = %X", aid)
	}
	if v := l.Value(0xDF8101); !bytes.Equal(v, []byte{7}) {
		t.Errorf("3-byte tag = %X", v)
	}
	if _, ok := l.Find(0x9F38); ok {
		t.Error("found absent tag")
	}
	if !bytes.Equal(l.Encode(), data) {
		t.Errorf("round trip: %X", l.Encode())
	}
	if Tag(0xBF0C).String() != "BF0C" || !Tag(0xBF0C).Constructed() || Tag(0x9F02).Constructed() {
		t.Error("tag helpers")
	}
}

func TestParseTLVLengths(t *testing.T) {
	long := bytes.Repeat([]byte{0xAB}, 300)
	for _, tc := range []struct {
		in   []byte
		want int
	}{
		{append(h("5A81 80"), long[:128]...), 128},
		{append(h("5A820100"), long[:256]...), 256},
		{append(h("9F1081FF"), long[:255]...), 255},
		{append(h("5A83000005"), long[:5]...), 5}, // non-minimal but legal BER
		{h("00 00 5A0112 00"), 1},                 // 00 padding
	} {
		l, err := ParseTLV(tc.in)
		if err != nil || len(l) != 1 || len(l[0].Value) != tc.want {
			t.Errorf("%X: %v %v", tc.in[:4], l, err)
		}
	}
	if got := EncodeTLV(0x5A, long); !bytes.Equal(got[:4], h("5A82012C")) {
		t.Errorf("encode length: %X", got[:4])
	}
}

func TestParseTLVErrors(t *testing.T) {
	for _, in := range []string{
		"5A",             // no length
		"5A05 0102",      // short value
		"9F",             // multi-byte tag cut
		"9F8181",         // still cut
		"9F81818101 00",  // tag longer than 4 bytes
		"5A81",           // long length cut
		"5A8201",         // long length cut
		"5A80",           // indefinite
		"5A8400000001AA", // 4-byte length field
		"6F03 5A0201",    // truncated inside a template
		"70 02 9F",       // truncated tag inside a template
	} {
		if _, err := ParseTLV(h(in)); !errors.Is(err, ErrMalformedTLV) {
			t.Errorf("%s: err = %v", in, err)
		}
	}
	if _, err := ParseTLV(h("5A05 0102")); !errors.Is(err, ErrTruncated) {
		t.Errorf("truncated is not ErrTruncated: %v", err)
	}
	deep := []byte{}
	for i := 0; i < 40; i++ {
		deep = EncodeTLV(0x70, deep)
	}
	if _, err := ParseTLV(deep); !errors.Is(err, ErrMalformedTLV) {
		t.Errorf("deep nesting: %v", err)
	}
}

func TestDOL(t *testing.T) {
	dol, err := ParseDOL(h("9F0206 9F1A02 5F2A02 9F3704 9F6604 DF6001 9F0204 9C02"))
	if err != nil {
		t.Fatal(err)
	}
	v := map[Tag][]byte{
		TagAmount: h("000000001234"), TagCountryCode: h("0156"), TagCurrencyCode: h("0156"),
		TagUnpredictableNumber: h("01020304"), TagTTQ: h("3600"), TagTransactionType: h("09"),
	}
	got, err := BuildDOLData(dol, v)
	if err != nil {
		t.Fatal(err)
	}
	// TTQ (binary) left-justified and zero padded; DF60 unknown → 00;
	// amount (numeric) cut from the left; 9C (numeric) padded on the left.
	want := h("000000001234 0156 0156 01020304 36000000 00 00001234 0009")
	if !bytes.Equal(got, want) {
		t.Errorf("got %X\nwant %X", got, want)
	}
	if _, err := ParseDOL(h("9F02")); err == nil {
		t.Error("DOL without length accepted")
	}
	if _, err := BuildDOLData([]DOLEntry{{TagAmount, 200}, {TagTTQ, 100}}, v); err == nil {
		t.Error("oversized DOL accepted")
	}
}

func TestAPDUs(t *testing.T) {
	for _, tc := range []struct{ got, want []byte }{
		{SelectCommand(PPSE), h("00A404000E325041592E5359532E444446303100")},
		{SelectCommand(h("A000000333010101")), h("00A4040008A00000033301010100")},
		{GPOCommand(nil), h("80A80000028300 00")},
		{ReadRecordCommand(2, 1), h("00B2011400")},
		{GetResponseCommand(0x1A), h("00C000001A")},
	} {
		if !bytes.Equal(tc.got, tc.want) {
			t.Errorf("got %X want %X", tc.got, tc.want)
		}
	}
}

func TestParseAFL(t *testing.T) {
	got, err := ParseAFL(h("08010100 10010200 18010502"))
	if err != nil {
		t.Fatal(err)
	}
	want := []AFLEntry{{1, 1, 1, 0}, {2, 1, 2, 0}, {3, 1, 5, 2}}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d: %+v want %+v", i, got[i], want[i])
		}
	}
	for _, in := range []string{
		"",                  // empty
		"080101",            // not a multiple of 4
		"0801010010",        // trailing byte
		"00010100",          // SFI 0
		"F8010100",          // SFI 31
		"09010100",          // low bits set
		"08000100",          // first record 0
		"08030200",          // last before first
		"08010203",          // 3 offline records in a range of 2
		"08010100 10000000", // second entry bad
	} {
		if _, err := ParseAFL(h(in)); !errors.Is(err, ErrBadAFL) {
			t.Errorf("%q: err = %v", in, err)
		}
	}
}

func TestParseTrack2(t *testing.T) {
	t2, err := ParseTrack2(h("6212340000000001D30122201234567890123F"))
	if err != nil {
		t.Fatal(err)
	}
	if t2.PAN != tracePAN || t2.Expiry != "3012" || t2.ServiceCode != "220" || t2.Discretionary != "1234567890123" {
		t.Errorf("parsed %#v", t2)
	}
	if t2.Hex() != traceTrack2 || !bytes.Equal(t2.Bytes(), h("6212340000000001D30122201234567890123F")) {
		t.Error("re-encode differs")
	}
	for _, s := range []string{";6212340000000001=30122201234567890123?", "6212340000000001d30122201234567890123", traceTrack2 + "F"} {
		if got, err := ParseTrack2String(s); err != nil || got != t2 {
			t.Errorf("%q: %v", s, err)
		}
	}
	even, err := ParseTrack2(h("4111111111111111D251210112"))
	if err != nil || even.Discretionary != "12" || len(even.Bytes()) != 13 {
		t.Errorf("even-length track: %v %v", even, err)
	}
	for _, in := range []string{
		"",
		"6212340000000001",             // no separator
		"621234D3012220",               // PAN too short
		"6212340000000001D3012F",       // no service code
		"6212340000000001D30122201FFF", // more than one F pad
		"6212340000000001D3012220A1",   // hex letter in discretionary
		"62123400000000010000D3012220", // PAN of 20 digits
		"6212340000000001D301222012345678901234567890", // over 19 bytes
	} {
		if _, err := ParseTrack2(h(in)); !errors.Is(err, ErrBadTrack2) {
			t.Errorf("%q: err = %v", in, err)
		}
	}
}
