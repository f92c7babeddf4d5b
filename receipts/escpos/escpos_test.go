package escpos

import (
	"bytes"
	"strings"
	"testing"
)

func sample(c Chinese) []byte {
	e := NewEncoder(c).Init()
	e.Align(Center).Bold(true).Size(2, 2).Println("银联 UnionPay").Size(1, 1).Bold(false)
	e.Println("POS签购单(SALES SLIP)").Align(Left)
	e.Println("金额 RMB 1,234.56")
	e.QR("20261125A0001", 6, ECCM)
	e.Drawer(2)
	e.Cut(CutPartial, 4)
	return e.Bytes()
}

func TestRoundTrip(t *testing.T) {
	got := Decode(sample(ChineseFS), ChineseNone)
	want := `«init»
{center,bold,2x2} 银联 UnionPay
{center} POS签购单(SALES SLIP)
金额 RMB 1,234.56
«qr model=2 size=6 ecc=M 20261125A0001»
«drawer pin2 on=100ms off=500ms»
«cut partial feed=4»
`
	if got.String() != want {
		t.Errorf("decoded:\n%s\nwant:\n%s", got, want)
	}
	if got.Garbled() != 0 {
		t.Errorf("garbled = %d", got.Garbled())
	}
}

func TestChineseModes(t *testing.T) {
	fs := sample(ChineseFS)
	if !bytes.Contains(fs, []byte{FS, '&', 0xD2, 0xF8}) { // 银 in GBK, after FS &
		t.Errorf("FS mode stream lacks FS & before GBK: % x", fs[:40])
	}
	always := sample(ChineseAlways)
	if bytes.Contains(always, []byte{FS, '&'}) {
		t.Error("always mode switches Chinese mode")
	}
	// A printer in Chinese mode reads the always stream; one that is not,
	// the FS stream. The other way round is garbled, and the decoder says so.
	if d := Decode(always, ChineseAlways); d.Garbled() != 0 || !strings.Contains(d.String(), "银联") {
		t.Errorf("always/always: %d garbled\n%s", d.Garbled(), d)
	}
	if d := Decode(always, ChineseNone); d.Garbled() == 0 || strings.Contains(d.String(), "银联") {
		t.Errorf("GBK without Chinese mode decoded cleanly:\n%s", d)
	}
	none := Decode(sample(ChineseNone), ChineseNone)
	if none.Garbled() != 0 || !strings.Contains(none.String(), "?? UnionPay") {
		t.Errorf("none mode:\n%s", none)
	}
}

func TestTextCannotCarryCommands(t *testing.T) {
	b := NewEncoder(ChineseFS).Println("A\x1bd\x05\x1dV\x00😀B").Bytes()
	d := Decode(b, ChineseNone)
	if d.String() != "A d  V ?B\n" || d.Garbled() != 0 {
		t.Errorf("got %q (garbled %d)", d.String(), d.Garbled())
	}
}

// A peer reads a socket in whatever pieces arrive: the result must not
// depend on where the stream was split.
func TestSplitWrites(t *testing.T) {
	b := append(sample(ChineseFS), Query(StatusPaper)...)
	whole := Decode(b, ChineseNone).String()
	for cut := 1; cut < len(b); cut++ {
		var queries []byte
		d := &Decoder{OnQuery: func(n byte) { queries = append(queries, n) }}
		d.Write(b[:cut])
		d.Write(b[cut:])
		if d.String() != whole || d.Garbled() != 0 || len(queries) != 1 || queries[0] != StatusPaper {
			t.Fatalf("split at %d: %q, garbled %d, queries %v", cut, d.String(), d.Garbled(), queries)
		}
	}
}

func TestTruncatedAndUnknown(t *testing.T) {
	d := Decode([]byte{'x', LF, GS, '(', 'k', 10, 0, 49}, ChineseNone)
	if d.Garbled() != 1 || d.String() != "x\n" {
		t.Errorf("truncated: %q garbled %d", d.String(), d.Garbled())
	}
	d = Decode([]byte{ESC, 'Z', 'y', LF}, ChineseNone)
	if d.Garbled() != 1 || !strings.Contains(d.String(), "unknown ESC") {
		t.Errorf("unknown: %q", d.String())
	}
}

func TestStatus(t *testing.T) {
	cases := []Status{{}, {PaperOut: true}, {PaperLow: true}, {CoverOpen: true}, {Offline: true}, {Error: true}, {Unrecovered: true}}
	for _, want := range cases {
		var got Status
		for _, n := range []byte{StatusPrinter, StatusOffline, StatusError, StatusPaper} {
			if err := got.Apply(n, want.Answer(n)); err != nil {
				t.Fatal(err)
			}
		}
		// A printer out of paper is offline too; what matters is the cause.
		if got.String() != want.String() || got.Ready() != want.Ready() {
			t.Errorf("%v read back as %v", want, got)
		}
	}
	var s Status
	if err := s.Apply(StatusPaper, 0x72); err != nil || !s.PaperOut {
		t.Errorf("0x72 = %v %v, want paper out", s, err)
	}
	if err := s.Apply(StatusPaper, 'A'); err == nil {
		t.Error("0x41 accepted as a status byte")
	}
}
