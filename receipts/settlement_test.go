package receipts

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/multipos/multipos/i18n"
)

func settlementSlip() Receipt {
	r := cardSale()
	r.Time = when.Add(time.Minute)
	return NewSettlementSlip(r, Settlement{
		Batch: "000001", NextBatch: "000002",
		From: time.Date(2026, 11, 25, 8, 3, 11, 0, time.UTC), To: when,
		Totals: []KindTotal{
			{Type: Sale, Count: 3, Amount: 1234567 + 8800 + 100},
			{Type: Void, Count: 1, Amount: 100},
			{Type: Refund, Count: 1, Amount: 2000},
		},
		DebitCount: 3, DebitAmount: 1243467, CreditCount: 2, CreditAmount: 2100, Net: 1241367,
		Balanced: true, Reversals: 1,
	})
}

func TestSettlementGolden(t *testing.T) {
	outOfBalance := func() Receipt {
		r := settlementSlip()
		s := *r.Settlement
		s.Balanced, s.Uploaded, s.Cutoff, s.Reversals = false, 5, true, 0
		r.Settlement, r.Operator = &s, ""
		return r
	}
	for _, c := range []struct {
		name string
		r    func() Receipt
	}{
		{"settlement", settlementSlip},
		{"settlement-cutoff-unbalanced", outOfBalance},
	} {
		for _, lang := range []i18n.Lang{i18n.ZH, i18n.EN} {
			for _, w := range []int{Width58, Width80} {
				name := fmt.Sprintf("%s-%s-%d", c.name, lang, w)
				t.Run(name, func(t *testing.T) {
					r := c.r()
					r.Lang = lang
					got := Text(r, w)
					textGolden(t, name, got)
					checkLines(t, got, w)
					p := profile58
					if w == Width80 {
						p = profile80
					}
					paperGolden(t, "paper-"+name, r, p)
				})
			}
		}
	}
	demo := settlementSlip()
	demo.Demo, demo.Reprint = true, true
	t.Run("demo-reprint", func(t *testing.T) { textGolden(t, "settlement-demo-reprint-zh-32", Text(demo, Width58)) })
}

func textGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./receipts -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("slip differs from %s (go test ./receipts -update after checking):\n%s", path, got)
	}
}

func TestSettlementContent(t *testing.T) {
	r := settlementSlip()
	r.MaskedPAN = "6212340000000000001" // a card number that should never reach a settlement slip
	r = NewSettlementSlip(r, *r.Settlement)
	zh := Text(r, Width58)
	for _, want := range []string{"结算单(SETTLEMENT)", "000001", "000002", "消费(SALE)", "撤销(VOID)", "退货(REFUND)",
		"12,434.67", "RMB 12,413.67", "对账平 BALANCED", "2026/11/25 08:03:11", "2026/11/25 16:54:07", "2026/11/25 16:55:07"} {
		if !strings.Contains(zh, want) {
			t.Errorf("settlement slip lacks %q:\n%s", want, zh)
		}
	}
	if strings.Contains(zh, "621234") || strings.Contains(zh, "持卡人") || strings.Contains(zh, "CARD NO") {
		t.Errorf("a settlement slip has no card and no cardholder:\n%s", zh)
	}
	// Net below zero (more refunded than sold) keeps its sign.
	s := *r.Settlement
	s.Net = -2100
	r.Settlement = &s
	if out := Text(r, Width80); !strings.Contains(out, "RMB -21.00") {
		t.Errorf("negative net:\n%s", out)
	}
	// No cash drawer for a settlement slip.
	p := profile80
	p.DrawerPin = 2
	r.Copy = MerchantCopy
	if b := ESCPOS(r, p); strings.Contains(string(b), "\x1bp") {
		t.Errorf("settlement slip kicks the drawer")
	}
}
