package store

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
)

// TestMatchedPacking: what is packed is read back, over steps back and
// forth and extreme values; a damaged blob is an error, not a panic.
func TestMatchedPacking(t *testing.T) {
	refs := make([]JournalRef, 5)
	for i := range refs {
		refs[i].ID = "tx" + strconv.Itoa(i*7919)
	}
	refs[4].ID = ""
	refs[0].ID = "tx" + strings.ToLower(idText.EncodeToString([]byte("0123456789abcdef"))) // as ids.New makes them
	refs[2].ID = refs[0].ID[:27] + "b"                                                     // not canonical: kept as it is
	if _, ok := txIDBytes(refs[0].ID); !ok {
		t.Fatalf("%s not taken for an id", refs[0].ID)
	}
	if _, ok := txIDBytes(refs[2].ID); ok {
		t.Fatalf("%s taken for an id", refs[2].ID)
	}
	in := []MatchedLine{
		{Seq: 1, BillRow: 1, Amount: 1, Settle: 1, Ref: &refs[0]},
		{Seq: 9, BillRow: 3, Amount: math.MaxInt64, Settle: math.MinInt64 + 5, FeeMilli: math.MinInt64, Ref: &refs[1]},
		{Seq: 10, BillRow: 2, Amount: -5, Settle: 0, FeeMilli: math.MaxInt64, Ref: &refs[2]},
		{Seq: 1 << 40, BillRow: 1 << 33, Amount: 0, Ref: &refs[3]},
		{Seq: 1<<40 + 1, BillRow: 7, Ref: &refs[4]},
	}
	data := encodeMatched(nil, in)
	var out []packedLine
	if err := decodeMatched(data, len(in), func(p *packedLine) { out = append(out, *p) }); err != nil {
		t.Fatal(err)
	}
	for i, l := range in {
		p := out[i]
		if p.Seq != l.Seq || p.BillRow != l.BillRow || p.Amount != l.Amount || p.Settle != l.Settle || p.FeeMilli != l.FeeMilli ||
			p.TxID != l.Ref.ID {
			t.Errorf("line %d: %+v, want %+v", i, p, l)
		}
	}
	for _, bad := range [][]byte{nil, {2}, data[:len(data)-1], data[:len(data)/2], append([]byte{1}, 0xff, 0xff)} {
		if err := decodeMatched(bad, len(in), func(*packedLine) {}); !errors.Is(err, errPacked) {
			t.Errorf("damaged %x: %v", bad, err)
		}
	}
}
