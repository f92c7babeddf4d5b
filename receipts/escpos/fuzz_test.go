package escpos

import (
	"bytes"
	"testing"
)

// FuzzDecode: whatever reaches a printer peer, the decoder neither panics
// nor depends on how the bytes were split, and every status query is seen.
func FuzzDecode(f *testing.F) {
	f.Add(sample(ChineseFS), 7)
	f.Add(sample(ChineseAlways), 1)
	f.Add([]byte{GS, '(', 'k', 0xFF, 0xFF, 49}, 3)
	f.Add([]byte{DLE, EOT, 4, ESC, 'p', 0, 50}, 2)
	f.Fuzz(func(t *testing.T, b []byte, cut int) {
		var q1, q2 int
		whole := &Decoder{Chinese: ChineseAlways, OnQuery: func(byte) { q1++ }}
		whole.Write(b)
		split := &Decoder{Chinese: ChineseAlways, OnQuery: func(byte) { q2++ }}
		if len(b) > 0 {
			cut = (cut%len(b) + len(b)) % len(b)
		} else {
			cut = 0
		}
		split.Write(b[:cut])
		split.Write(b[cut:])
		if whole.String() != split.String() || q1 != q2 || whole.Garbled() != split.Garbled() {
			t.Fatalf("split at %d changes the result:\n%q\n%q", cut, whole.String(), split.String())
		}
		if bytes.Count(b, []byte{DLE, EOT}) < q1 {
			t.Fatalf("%d queries from %d DLE EOT", q1, bytes.Count(b, []byte{DLE, EOT}))
		}
	})
}
