package reconbench

import (
	"bytes"
	"context"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/multipos/multipos/server/connector/alipay"
	"github.com/multipos/multipos/server/reconcile"
	"github.com/multipos/multipos/server/store/storetest"
)

// TestBillParses: the generated bill is read by the product's parser into
// the day's lines, GBK text and all.
func TestBillParses(t *testing.T) {
	d := NewDay(2500)
	zipData, err := d.AlipayBill(d.Date.AddDate(0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	lines, err := parse(zipData)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != d.N {
		t.Fatalf("%d lines, want %d", len(lines), d.N)
	}
	for _, i := range []int{0, diffAmount, diffMissing, 1999} {
		l, want := lines[i], d.line(i)
		if l.OutTradeNo != want.outTradeNo || l.TradeNo != want.tradeNo || l.Amount != want.amount ||
			l.FeeMilli != want.fee*1000 || l.Terminal != want.terminal || l.Kind != reconcile.Payment || l.Row != i+1 {
			t.Errorf("line %d: %+v, want %+v", i, l, want)
		}
	}
}

// TestRun runs the benchmark small on both engines: the product's path
// and the join must find what the day holds (Run checks it on the first
// run). No timing is asserted.
func TestRun(t *testing.T) {
	var log bytes.Buffer
	res, err := Run(context.Background(), Options{N: 2000, Runs: 2, Engines: []string{"sqlite", "postgres"},
		PG: os.Getenv(storetest.EnvPG), Log: &log})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if len(res) != 2 || len(res[1].Runs) != 2 || res[1].Engine != "postgres" {
		t.Fatalf("results %+v", res)
	}
	var md bytes.Buffer
	Markdown(&md, res)
	for _, want := range []string{"dayend run ÷ join", "sqlite, N = 2000", "postgres, N = 2000", "load average"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, md.String())
		}
	}
}

// TestBillStraightToLines: the bill read straight into lines gives what
// its rows turned into lines give.
func TestBillStraightToLines(t *testing.T) {
	d := NewDay(3 * diffEvery)
	zipData, err := d.AlipayBill(d.Date.AddDate(0, 0, 1).Add(5 * time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := alipay.ParseBill(zipData)
	if err != nil {
		t.Fatal(err)
	}
	got, err := reconcile.AlipayBill(zipData)
	if err != nil || !reflect.DeepEqual(got, reconcile.FromAlipay(rows)) || len(got) != d.N {
		t.Fatalf("%d lines, %v; want the %d of its rows", len(got), err, len(rows))
	}
}
