package emv

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// sameTLV compares parsed structure: tags, primitive values and, for
// templates, the children (a template's raw Value may differ after
// re-encoding because padding and long length forms are normalised).
func sameTLV(a, b TLVs) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Tag != b[i].Tag {
			return false
		}
		if len(a[i].Children) > 0 || len(b[i].Children) > 0 {
			if !sameTLV(a[i].Children, b[i].Children) {
				return false
			}
		} else if !bytes.Equal(a[i].Value, b[i].Value) {
			return false
		}
	}
	return true
}

func FuzzTLV(f *testing.F) {
	f.Add(h("6F1A840E325041592E5359532E4444463031A508BF0C05610387010100"))
	f.Add(h("770E82021C0094080801010010010200"))
	f.Add(h("5A820100"))
	f.Add(h("9F8181810100"))
	f.Add(h("0000700000"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ParseTLV(data)
		if err != nil {
			return
		}
		enc := l.Encode()
		l2, err := ParseTLV(enc)
		if err != nil {
			t.Fatalf("re-encoded data does not parse: %v\nin  %X\nenc %X", err, data, enc)
		}
		if !sameTLV(l, l2) {
			t.Fatalf("structure changed\nin  %X\nenc %X", data, enc)
		}
		if !bytes.Equal(l2.Encode(), enc) {
			t.Fatalf("encoding is not a fixed point: %X", enc)
		}
		for _, o := range l {
			if _, ok := l.Find(o.Tag); !ok {
				t.Fatalf("Find misses top-level tag %s", o.Tag)
			}
		}
		_, _ = ParseDOL(data)
	})
}

func FuzzAFL(f *testing.F) {
	f.Add(h("0801010010010200"))
	f.Add(h("18010502"))
	f.Add(h("080101"))
	f.Add(h("08030200"))
	f.Fuzz(func(t *testing.T, data []byte) {
		afl, err := ParseAFL(data)
		if err != nil {
			return
		}
		var enc []byte
		for _, e := range afl {
			if e.SFI < 1 || e.SFI > 30 || e.First < 1 || e.Last < e.First || int(e.Offline) > int(e.Last-e.First)+1 {
				t.Fatalf("accepted invalid entry %+v", e)
			}
			enc = append(enc, e.Bytes()...)
		}
		if !bytes.Equal(enc, data) {
			t.Fatalf("round trip: %X → %X", data, enc)
		}
	})
}

func FuzzTrack2(f *testing.F) {
	f.Add(h("6212340000000001D30122201234567890123F"))
	f.Add(h("4111111111111111D251210112"))
	f.Add(h("6212340000000001D3012F"))
	f.Add(h("D0"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ParseTrack2String(string(data))
		t2, err := ParseTrack2(data)
		if err != nil {
			if strings.Contains(err.Error(), strings.ToUpper(string(data))) && len(data) > 4 {
				t.Fatalf("error echoes the input: %v", err)
			}
			return
		}
		if !bytes.Equal(t2.Bytes(), data) {
			t.Fatalf("round trip: %X → %X", data, t2.Bytes())
		}
		if len(t2.PAN) < 12 || len(t2.PAN) > 19 || len(t2.Expiry) != 4 || len(t2.ServiceCode) != 3 {
			t.Fatalf("accepted %d-digit PAN / %q / %q", len(t2.PAN), t2.Expiry, t2.ServiceCode)
		}
		if again, err := ParseTrack2String(t2.Hex()); err != nil || again != t2 {
			t.Fatalf("hex form does not parse back: %v", err)
		}
		if strings.Contains(t2.String(), t2.PAN) {
			t.Fatal("String shows the full PAN")
		}
	})
}

// echoCard answers every command with the same data and 9000, so a fuzzer
// drives every parser Read uses.
type echoCard struct{ resp []byte }

func (c echoCard) Transmit(context.Context, []byte) ([]byte, error) { return ok(c.resp), nil }

func FuzzRead(f *testing.F) {
	f.Add(h("770E82021C0094080801010010010200"))
	f.Add(tlv(TagFCI, tlv(TagFCIProprietary, tlv(TagSFI, []byte{1}), tlv(TagDirectoryEntry, tlv(TagAID, h("A000000333010101"))))))
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		res, err := Read(ctx, echoCard{data}, traceTerminal())
		if err == nil && res.PAN == "" {
			t.Fatal("success without a PAN")
		}
	})
}
