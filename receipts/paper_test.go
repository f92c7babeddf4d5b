package receipts

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/multipos/multipos/i18n"
	"github.com/multipos/multipos/receipts/escpos"
)

var profile58 = Profile{Width: Width58, Chinese: escpos.ChineseFS, Cut: escpos.CutNone}
var profile80 = Profile{Width: Width80, Chinese: escpos.ChineseFS, Cut: escpos.CutPartial, DrawerPin: 2}

// TestPaperGolden prints every channel and transaction type on both paper
// widths in both languages, and reads the bytes back as a printer would.
func TestPaperGolden(t *testing.T) {
	type kind struct {
		name string
		r    func() Receipt
	}
	kinds := []kind{
		{"card-sale", cardSale},
		{"card-void", func() Receipt { r := cardSale(); r.Type, r.OrigTrace, r.Trace = Void, "000123", "000124"; return r }},
		{"card-refund", func() Receipt {
			r := cardSale()
			r.Type, r.OrigTrace, r.Trace, r.Copy = Refund, "000123", "000125", CustomerCopy
			return r
		}},
		{"alipay-sale", func() Receipt { return walletSale("alipay") }},
		{"wechat-sale", func() Receipt { r := walletSale("wechat"); r.Copy = MerchantCopy; return r }},
	}
	for _, k := range kinds {
		for _, lang := range []i18n.Lang{i18n.ZH, i18n.EN} {
			for _, p := range []Profile{profile58, profile80} {
				name := fmt.Sprintf("paper-%s-%s-%d", k.name, lang, p.Width)
				t.Run(name, func(t *testing.T) {
					r := k.r()
					r.Lang = lang
					paperGolden(t, name, r, p)
				})
			}
		}
	}
	demo := cardSale()
	demo.Demo, demo.Reprint = true, true
	t.Run("demo-reprint", func(t *testing.T) { paperGolden(t, "paper-card-demo-reprint-zh-58", demo, profile58) })
	t.Run("no-chinese", func(t *testing.T) {
		p := profile80
		p.Chinese, p.Cut = escpos.ChineseNone, escpos.CutFull
		paperGolden(t, "paper-alipay-nochinese-48", walletSale("alipay"), p)
	})
}

func paperGolden(t *testing.T, name string, r Receipt, p Profile) {
	t.Helper()
	b := ESCPOS(r, p)
	d := escpos.Decode(b, escpos.ChineseNone)
	got := d.String()
	if d.Garbled() != 0 {
		t.Errorf("%d garbled bytes:\n%s", d.Garbled(), got)
	}
	items := d.Items()
	last := items[len(items)-1].Marker
	if p.Cut == escpos.CutNone && last != "feed 4" || p.Cut != escpos.CutNone && !strings.HasPrefix(last, "cut "+string(p.Cut)) {
		t.Errorf("ends with %q, want the profile's cut %q", last, p.Cut)
	}
	qr := 0
	for _, it := range items {
		if cw := paperWidth(it); cw > p.Width {
			t.Errorf("%q is %d cells on %d-cell paper", it.Text, cw, p.Width)
		}
		if strings.HasPrefix(it.Marker, "qr ") {
			qr++
			if !strings.HasSuffix(it.Marker, " "+r.OrderNo) {
				t.Errorf("QR %q is not of the order number %s", it.Marker, r.OrderNo)
			}
		}
	}
	if r.OrderNo != "" && qr != 1 {
		t.Errorf("%d QR codes, want 1", qr)
	}
	// What the paper says is what the screen says, line for line.
	var text []string
	for _, it := range items {
		if it.Marker == "" {
			text = append(text, it.Text)
		}
	}
	// (A printer without Chinese prints the merchant's name as '?'.)
	if p.Chinese != escpos.ChineseNone {
		screen := strings.Split(strings.TrimSuffix(Text(r, p.Width), "\n"), "\n")
		if len(screen) != len(text) {
			t.Fatalf("%d lines on paper, %d on screen", len(text), len(screen))
		}
		for i, l := range screen {
			if strings.TrimSpace(l) != strings.TrimSpace(text[i]) {
				t.Fatalf("paper line %d %q differs from the text receipt's %q", i+1, text[i], l)
			}
		}
	}
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
		t.Errorf("decoded receipt differs from %s (go test ./receipts -update after checking):\n%s", path, got)
	}
}

func TestPaperDrawerAndSizes(t *testing.T) {
	r := cardSale()
	withDrawer := escpos.Decode(ESCPOS(r, profile80), escpos.ChineseNone).String()
	if !strings.Contains(withDrawer, "«drawer pin2") {
		t.Error("a sale's merchant copy on a profile with a drawer does not kick it")
	}
	r.Copy = CustomerCopy
	if strings.Contains(escpos.Decode(ESCPOS(r, profile80), escpos.ChineseNone).String(), "drawer") {
		t.Error("the customer copy kicks the drawer again")
	}
	r.Copy, r.Reprint = MerchantCopy, true
	if strings.Contains(escpos.Decode(ESCPOS(r, profile80), escpos.ChineseNone).String(), "drawer") {
		t.Error("a reprint opens the drawer")
	}
	r.Reprint, r.Retry = false, true
	if strings.Contains(escpos.Decode(ESCPOS(r, profile80), escpos.ChineseNone).String(), "drawer") {
		t.Error("a second attempt at the merchant copy opens the drawer again")
	}
	// The sizes the closing note reports (go test -v -run Sizes ./receipts).
	for _, p := range []Profile{profile58, profile80} {
		for _, rc := range []Receipt{cardSale(), walletSale("alipay")} {
			for _, lang := range []i18n.Lang{i18n.ZH, i18n.EN} {
				for _, c := range []Copy{MerchantCopy, CustomerCopy} {
					rc.Lang, rc.Copy = lang, c
					t.Logf("%s %s copy %d %d columns: %d bytes", rc.Channel, lang, c, p.Width, len(ESCPOS(rc, p)))
				}
			}
		}
	}
}

func BenchmarkESCPOS(b *testing.B) {
	r := cardSale()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n = len(ESCPOS(r, profile58))
	}
	b.ReportMetric(float64(n), "bytes/receipt")
}

func TestTestPage(t *testing.T) {
	for _, p := range []Profile{profile58, profile80, {Width: Width80, Chinese: escpos.ChineseNone, Cut: escpos.CutFull}} {
		d := escpos.Decode(TestPage(p, "usb 0416:5011", when), escpos.ChineseNone)
		text := d.String()
		ruler := strings.Repeat("1234567890", 5)[:p.Width]
		if d.Garbled() != 0 || !strings.Contains(text, "\n"+ruler+"\n") || !strings.Contains(text, "«qr ") || !strings.Contains(text, "usb 0416:5011") {
			t.Errorf("test page for %+v:\n%s", p, text)
		}
		if (p.Chinese == escpos.ChineseNone) == strings.Contains(text, "中文") {
			t.Errorf("Chinese on a %s printer:\n%s", p.Chinese, text)
		}
	}
}

// paperWidth is how wide a decoded line prints: a GBK character takes two
// cells, whatever a terminal makes of it, times the line's size.
func paperWidth(it escpos.Item) int {
	n := 0
	for _, r := range it.Text {
		n += escpos.Cells(r)
	}
	return n * max(it.Style.W, 1)
}
