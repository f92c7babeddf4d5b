package alipay

import (
	"reflect"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// sameAsSlow checks that ParseBill gives what parseBillSlow, the simple
// reading, gives: the same rows, or an error with the same text; and, for
// wantFast, that the fast reading took the file itself.
func sameAsSlow(t *testing.T, name string, data []byte, wantFast bool) {
	t.Helper()
	want, wantErr := parseBillSlow(data)
	fast, ok := parseBillFast(data)
	if ok && (wantErr != nil || !reflect.DeepEqual(fast, want)) {
		t.Fatalf("%s: fast reading %d rows, slow %d rows, %v", name, len(fast), len(want), wantErr)
	}
	if wantFast && !ok {
		t.Fatalf("%s: the fast reading gave up", name)
	}
	got, err := ParseBill(data)
	if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() || !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: ParseBill %d rows, %v; slow %d rows, %v", name, len(got), err, len(want), wantErr)
	}
}

// TestParseBillFastSameAsSlow compares the two readings on generated
// bills in every form ParseBill takes, and on damaged ones.
func TestParseBillFastSameAsSlow(t *testing.T) {
	for seed := range int64(4) {
		detail := billDetailForTest(500, seed)
		gbk, err := simplifiedchinese.GBK.NewEncoder().String(detail)
		if err != nil {
			t.Fatal(err)
		}
		zipped, err := zipGBKForTest(map[string]string{"2088_20260314_业务明细.csv": detail})
		if err != nil {
			t.Fatal(err)
		}
		sameAsSlow(t, "zip", zipped, true)
		sameAsSlow(t, "GBK", []byte(gbk), true)
		sameAsSlow(t, "UTF-8", []byte(detail), true)
		sameAsSlow(t, "BOM", []byte("\xef\xbb\xbf"+detail), true)
		sameAsSlow(t, "CRLF", []byte(strings.ReplaceAll(gbk, "\n", "\r\n")), true)
		sameAsSlow(t, "no final newline", []byte(strings.TrimSuffix(gbk, "\n")), true)
		sameAsSlow(t, "no tabs", []byte(strings.ReplaceAll(detail, "\t", "")), true)
		if seed == 0 { // more rows than share one string of ids, and a late GBK line after them
			many := billDetailForTest(2*pendRows+7, seed)
			sameAsSlow(t, "many", []byte(many), true)
			sameAsSlow(t, "many, late GBK", []byte(many+"X1,O1,交易,\xc9\xcc\xc6\xb7,,,,,,,,1.00\n"), false)
		}
		// UTF-8 up to a late GBK line: GBK after all.
		sameAsSlow(t, "late GBK", []byte(detail+"X1,O1,交易,\xc9\xcc\xc6\xb7,,,,,,,,1.00\n"), false)
		for name, bad := range map[string]string{
			"quotes":       `"X1",O1,交易,"a,b",,,,,,,,1.00` + "\n",
			"bad amount":   "X1,O1,交易,s,,,,,,,,1.0.0\n",
			"big amount":   "X1,O1,交易,s,,,,,,,,100000000.00\n",
			"bad kind":     "X1,O1,转账,s,,,,,,,,1.00\n",
			"no numbers":   " , ,交易,s,,,,,,,,1.00\n",
			"odd amounts":  "X1,O1,交易,s,,,,,,,,- 1.5,+1,\n",
			"odd times":    "X1,O1,交易,s,2026-02-29 10:00:00,2024-02-29 24:00:00,,,,,,1.00\n",
			"ideographic":  "X1,O1,\u3000退款\u3000,s,,,,,,,,-1.00\n",
			"blank":        " , ,\t,\u3000\n",
			"short row":    "X1,O1,交易\n",
			"lone CR":      "\r\n\r",
			"comment":      "#X1,O1,转账\n",
			"leap seconds": "X1,O1,交易,s,2026-03-14 23:59:60,2026-03-31 10:00:00,,,,,,1.00\n",
		} {
			sameAsSlow(t, name, []byte(detail+bad), false)
		}
	}
}

// FuzzParseBillSame: wherever the fast reading takes a file, it gives
// what the simple reading gives.
func FuzzParseBillSame(f *testing.F) {
	f.Add([]byte(variantDetail))
	f.Add([]byte("\xef\xbb\xbf" + variantDetail))
	f.Add([]byte(billDetailForTest(5, 1)))
	f.Add([]byte("支付宝交易号,商户订单号,业务类型,订单金额(元),创建时间\nT1\t,O1\t,退款,-1.00,2026-01-31 10:00:00\n"))
	if z, err := zipGBKForTest(map[string]string{"2088_20190916_业务明细.csv": variantDetail}); err == nil {
		f.Add(z)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sameAsSlow(t, "fuzz", data, false)
	})
}

// parseBillFast is ParseBill when all goes well; false sends the caller
// to parseBillSlow.
func parseBillFast(data []byte) ([]BillRow, bool) {
	var rows rowSlice
	ok := parseBillFastTo(data, &rows)
	return rows, ok
}
