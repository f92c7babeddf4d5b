package paycode

import (
	"errors"
	"strings"
	"testing"

	"github.com/multipos/multipos/api"
)

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		code string
		want api.Channel
	}{
		{"134567890123456789", api.WeChat},
		{"101234567890123456", api.WeChat},
		{"151234567890123456", api.WeChat},
		{"2812345678901234", api.Alipay},         // 16 digits
		{"251234567890123456", api.Alipay},       // 18 digits, like WeChat's length
		{"301234567890123456789012", api.Alipay}, // 24 digits
		{"", ""},
		{"1345678901234567890", ""},       // 19 digits starting 13
		{"13456789012345678", ""},         // 17
		{"161234567890123456", ""},        // 16 is neither
		{"241234567890123456", ""},        // 24 is neither
		{"311234567890123456", ""},        // 31 is neither
		{"281234567890123", ""},           // 15 digits
		{"2812345678901234567890123", ""}, // 25 digits
		{"13456789012345678a", ""},
		{"６２345678901234567", ""}, // full-width digits are not digits
	} {
		got, err := Classify(c.code)
		if got != c.want || (c.want == "") != errors.Is(err, ErrNotPayCode) {
			t.Errorf("Classify(%q) = %q, %v; want %q", c.code, got, err, c.want)
		}
	}
}

func TestCheck(t *testing.T) {
	if err := Check("134567890123456789", api.WeChat); err != nil {
		t.Fatal(err)
	}
	var ww *WrongWallet
	if err := Check("281234567890123456", api.WeChat); !errors.As(err, &ww) || ww.Got != api.Alipay || ww.Want != api.WeChat {
		t.Fatalf("an Alipay code for WeChat: %v", err)
	}
	if err := Check("12", api.Alipay); !errors.Is(err, ErrNotPayCode) {
		t.Fatalf("two digits: %v", err)
	}
}

func TestMask(t *testing.T) {
	if m := Mask("134567890123456789"); m != "1345******6789" || strings.Contains(m, "890123") {
		t.Fatalf("mask %q", m)
	}
	if m := Mask("1234"); m != "****" {
		t.Fatalf("short mask %q", m)
	}
}

// Whatever comes from the scanner, Classify answers without panicking, and
// a channel only for digits of that wallet's shape.
func FuzzClassify(f *testing.F) {
	for _, s := range []string{"134567890123456789", "2812345678901234", "", "x", "99", "30123456789012345678901234"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, code string) {
		ch, err := Classify(code)
		if err != nil {
			if ch != "" || !errors.Is(err, ErrNotPayCode) {
				t.Fatalf("Classify(%q) = %q, %v", code, ch, err)
			}
			return
		}
		if !digits(code) {
			t.Fatalf("Classify(%q) accepted non-digits as %s", code, ch)
		}
		switch ch {
		case api.WeChat:
			if len(code) != 18 || code[:2] < "10" || code[:2] > "15" {
				t.Fatalf("WeChat for %q", code)
			}
		case api.Alipay:
			if len(code) < 16 || len(code) > 24 || code[:2] < "25" || code[:2] > "30" {
				t.Fatalf("Alipay for %q", code)
			}
		default:
			t.Fatalf("Classify(%q) = %q", code, ch)
		}
		if m := Mask(code); strings.Contains(m, code) {
			t.Fatalf("Mask(%q) = %q shows the whole code", code, m)
		}
	})
}
