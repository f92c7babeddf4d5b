package receipts

import (
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/multipos/multipos/cards"
	"github.com/multipos/multipos/i18n"
	"github.com/multipos/multipos/money"
	"github.com/multipos/multipos/receipts/escpos"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

var when = time.Date(2026, 11, 25, 16, 54, 7, 0, time.UTC)

func cardSale() Receipt {
	return Receipt{
		Lang: i18n.ZH, Copy: MerchantCopy,
		MerchantName: "多通道示范商户", MerchantID: "898310048160001", TerminalID: "T0000001", Operator: "01",
		Channel: "card", Type: Sale, Amount: money.Fen(1234567),
		MaskedPAN: "621234******0001", Expiry: "12/28", Entry: "chip",
		AuthCode: "123456", RRN: "633012345678", Batch: "000001", Trace: "000123", Time: when,
		OrderNo: "T00000012026112516540700002",
	}
}

func walletSale(ch string) Receipt {
	return Receipt{
		Lang: i18n.ZH, Copy: CustomerCopy,
		MerchantName: "多通道示范商户", MerchantID: "898310048160001", TerminalID: "T0000001", Operator: "01",
		Channel: ch, Type: Sale, Amount: money.Fen(8800),
		OrderNo: "T00000012026112516540700001", TradeNo: "2026112522001412345678901234",
		Trace: "000124", Time: when,
	}
}

func TestGolden(t *testing.T) {
	cardEN := cardSale()
	cardEN.Lang, cardEN.Entry = i18n.EN, "swipe"
	wechatEN := walletSale("wechat")
	wechatEN.Lang = i18n.EN
	demo := cardSale()
	demo.Demo, demo.Reprint = true, true
	customer := cardSale()
	customer.Copy = CustomerCopy
	alipayMerchant := walletSale("alipay")
	alipayMerchant.Copy, alipayMerchant.Demo = MerchantCopy, true
	for _, c := range []struct {
		name  string
		r     Receipt
		width int
	}{
		{"card-sale-zh-32", cardSale(), Width58},
		{"card-sale-en-48", cardEN, Width80},
		{"alipay-zh-32", walletSale("alipay"), Width58},
		{"wechat-en-32", wechatEN, Width58},
		{"card-demo-reprint-zh-32", demo, Width58},
		{"card-customer-copy-zh-48", customer, Width80},
		{"alipay-demo-merchant-zh-48", alipayMerchant, Width80},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := Text(c.r, c.width)
			path := filepath.Join("testdata", c.name+".golden")
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
				t.Errorf("receipt differs from %s (go test ./receipts -update after checking):\n%s", path, got)
			}
			checkLines(t, got, c.width)
		})
	}
}

func checkLines(t *testing.T, text string, width int) {
	t.Helper()
	if !strings.HasSuffix(text, "\n") {
		t.Errorf("receipt does not end in a newline")
	}
	for i, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if w := ansi.StringWidth(l); w > width {
			t.Errorf("line %d is %d cells wide, paper %d: %q", i+1, w, width, l)
		}
		if strings.TrimRight(l, " ") != l {
			t.Errorf("line %d ends in spaces: %q", i+1, l)
		}
		if strings.ContainsFunc(l, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			t.Errorf("line %d holds a control character: %q", i+1, l)
		}
	}
}

func TestContent(t *testing.T) {
	r := cardSale()
	merchant := Text(r, Width58)
	r.Copy = CustomerCopy
	holder := Text(r, Width58)
	for _, want := range []string{"商户存根", "MERCHANT COPY", "持卡人签名", "621234******0001", "RMB 12,345.67",
		"000123", "633012345678", "2026/11/25 16:54:07", "本人确认以上交易，", "同意将其记入本卡账户", "消费(SALE)", "插卡(CHIP)"} {
		if !strings.Contains(merchant, want) {
			t.Errorf("merchant copy lacks %q", want)
		}
	}
	if strings.Contains(holder, "持卡人签名") || !strings.Contains(holder, "持卡人存根") || strings.Contains(holder, "演示") {
		t.Errorf("cardholder copy:\n%s", holder)
	}
	w := walletSale("wechat")
	w.Lang = i18n.EN
	en := Text(w, Width58)
	if !strings.Contains(en, "WeChat Pay") || !strings.Contains(en, "CUSTOMER COPY") || containsHan(strings.ReplaceAll(en, w.MerchantName, "")) {
		t.Errorf("English wallet receipt:\n%s", en)
	}
	w.Demo, w.Reprint = true, true
	demo := Text(w, Width58)
	lines := strings.Split(strings.TrimSpace(demo), "\n")
	if !strings.Contains(lines[1], "DEMO") || !strings.Contains(lines[len(lines)-3], "DEMO") || !strings.Contains(demo, "REPRINT") {
		t.Errorf("demo receipt must say DEMO at top and bottom and REPRINT:\n%s", demo)
	}
}

func TestVoidAndRefund(t *testing.T) {
	for typ, want := range map[Type]string{Void: "消费撤销(VOID)", Refund: "退货(REFUND)"} {
		r := cardSale()
		r.Type, r.OrigTrace = typ, "000042"
		out := Text(r, Width58)
		for _, w := range []string{want, "原凭证号", "000042", "RMB -12,345.67"} {
			if !strings.Contains(out, w) {
				t.Errorf("%s receipt lacks %q:\n%s", typ, w, out)
			}
		}
	}
	if out := Text(cardSale(), Width58); strings.Contains(out, "原凭证号") || strings.Contains(out, "RMB -") {
		t.Errorf("a sale has no original and no minus sign:\n%s", out)
	}
}

func containsHan(s string) bool {
	return regexp.MustCompile(`\p{Han}`).MatchString(s)
}

func TestNoFullPAN(t *testing.T) {
	pan := "6212345678900001234" // 19 digits, Luhn-valid after fix-up below
	for !cards.Luhn(pan) {
		pan = pan[:18] + string(rune('0'+(pan[18]-'0'+1)%10))
	}
	for _, c := range []struct {
		name string
		set  func(*Receipt)
	}{
		{"unmasked in MaskedPAN", func(r *Receipt) { r.MaskedPAN = pan }},
		{"unmasked with spaces", func(r *Receipt) { r.MaskedPAN = pan[:4] + " " + pan[4:8] + " " + pan[8:12] + " " + pan[12:] }},
		{"typed as operator", func(r *Receipt) { r.Operator = pan }},
		{"in the reference", func(r *Receipt) { r.RRN = "ref" + pan }},
	} {
		r := cardSale()
		c.set(&r)
		for _, width := range []int{Width58, Width80} {
			out := strings.ReplaceAll(Text(r, width), r.OrderNo, "")
			if strings.Contains(strings.ReplaceAll(out, "\n", ""), pan) || regexp.MustCompile(`\d{16,}`).MatchString(out) {
				t.Errorf("%s: full card number printed:\n%s", c.name, out)
			}
		}
	}
}

// Random receipts, every width from the smallest to past 80 mm: no line
// wider than the paper, no full card number, never a panic.
func TestRandomReceipts(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pieces := []string{"多通道", "示范", "商户", "Café", "Ｔ", "😀", "👩‍👩‍👧", "e\u0301", "ｶﾞ", " ", "  ", "-", "/",
		"\t", "\n", "\x1b[31m", "長い名前の店", "BIG MART LIMITED", "ก่", "한국", "。", "，", "·", "0123456789"}
	str := func(n int) string {
		var b strings.Builder
		for range rng.IntN(n) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		return b.String()
	}
	digits := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteByte(byte('0' + rng.IntN(10)))
		}
		return b.String()
	}
	channels := []string{"card", "alipay", "wechat", "", "paypal"}
	for i := range 3000 {
		pan := "62" + digits(14)
		r := Receipt{
			Lang: []i18n.Lang{i18n.ZH, i18n.EN, ""}[rng.IntN(3)], Copy: Copy(rng.IntN(3)),
			Demo: rng.IntN(2) == 0, Reprint: rng.IntN(2) == 0,
			MerchantName: str(30), MerchantID: digits(15), TerminalID: str(4), Operator: str(3),
			Channel: channels[rng.IntN(len(channels))], Type: Type([]string{"sale", "", "void"}[rng.IntN(3)]),
			Amount:  money.Fen(rng.Int64N(int64(money.Max) + 1)),
			OrderNo: str(20) + digits(rng.IntN(40)), TradeNo: digits(rng.IntN(40)),
			MaskedPAN: []string{cards.Mask(pan), pan, ""}[rng.IntN(3)],
			Expiry:    "12/28", Entry: []string{"chip", "swipe", "contactless", "fallback", ""}[rng.IntN(5)],
			AuthCode: digits(6), RRN: digits(12), Batch: digits(6), Trace: digits(6),
		}
		if rng.IntN(4) > 0 {
			r.Time = when.Add(time.Duration(rng.Int64N(1e15)))
		}
		width := []int{Width58, Width80, 20 + rng.IntN(70)}[rng.IntN(3)]
		out := Text(r, width)
		checkLines(t, out, width)
		if r.Channel == "card" && strings.Contains(out, pan) {
			t.Fatalf("receipt %d prints the card number %s:\n%s", i, pan, out)
		}
		// On paper too: the bytes read back cleanly, and carry no card number.
		paper := escpos.Decode(ESCPOS(r, Profile{Width: width, Chinese: escpos.ChineseFS, Cut: escpos.CutPartial}), escpos.ChineseNone)
		if paper.Garbled() != 0 || r.Channel == "card" && strings.Contains(paper.String(), pan) {
			t.Fatalf("receipt %d on paper (%d garbled):\n%s", i, paper.Garbled(), paper)
		}
		for _, it := range paper.Items() {
			if w := paperWidth(it); w > max(width, minWidth) {
				t.Fatalf("receipt %d: %q is %d cells on %d-cell paper", i, it.Text, w, width)
			}
		}
		if t.Failed() {
			t.Fatalf("receipt %d: %+v at width %d:\n%s", i, r, width, out)
		}
	}
}

func TestWrap(t *testing.T) {
	for _, c := range []struct {
		in   string
		w    int
		want []string
	}{
		{"I ACKNOWLEDGE SATISFACTORY RECEIPT", 20, []string{"I ACKNOWLEDGE", "SATISFACTORY RECEIPT"}},
		{"本人确认以上交易同意", 8, []string{"本人确认", "以上交易", "同意"}},
		{"ABCDEFGHIJ", 4, []string{"ABCD", "EFGH", "IJ"}},
		{"a 中文字符", 4, []string{"a 中", "文字", "符"}},
		{"short", 10, []string{"short"}},
		// Two cells on screen, but five '?' on paper (no emoji in GBK):
		// one to a line, never an empty one.
		{"👩‍👩‍👧👩‍👩‍👧👩‍👩‍👧", 4, []string{"👩‍👩‍👧", "👩‍👩‍👧", "👩‍👩‍👧"}},
		{"a·b·c", 4, []string{"a·b", "·c"}},
	} {
		got := wrap(c.in, c.w)
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("wrap(%q, %d) = %q, want %q", c.in, c.w, got, c.want)
		}
	}
	if got := clean("a\x1b[2J\tb\nc  d"); got != "a [2J b c d" {
		t.Errorf("clean = %q", got)
	}
}

func TestNarrowWidthClamped(t *testing.T) {
	out := Text(cardSale(), 0)
	checkLines(t, out, minWidth)
	if !strings.Contains(out, "RMB 12,345.67") {
		t.Errorf("width 0:\n%s", out)
	}
}
