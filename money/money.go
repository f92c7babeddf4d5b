package money

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Fen is an amount in fen, the minor unit of CNY (1 yuan = 100 fen).
type Fen int64

// Max is the largest amount multipos accepts anywhere: 99,999,999.99 yuan,
// the ceiling of a 12-digit ISO 8583 amount field and of Alipay's total_amount.
const Max Fen = 9_999_999_999

// String prints the amount in yuan with two decimals and no symbol: 1234 → "12.34".
func (f Fen) String() string {
	sign := ""
	v := int64(f)
	if v < 0 {
		sign = "-"
		v = -v
	}
	return fmt.Sprintf("%s%d.%02d", sign, v/100, v%100)
}

// Grouped prints the amount with thousands separators: 1234567 → "12,345.67".
func (f Fen) Grouped() string {
	s := f.String()
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	whole, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return sign + b.String() + "." + frac
}

// Yuan prints the amount with the yuan sign and separators: "¥12,345.67".
func (f Fen) Yuan() string {
	if f < 0 {
		return "-¥" + (-f).Grouped()
	}
	return "¥" + f.Grouped()
}

// ErrSyntax is returned by Parse for text that is not an amount in yuan.
var ErrSyntax = errors.New("not an amount in yuan (expected e.g. 12.34)")

// Parse reads an amount in yuan: "12", "12.3", "12.34", "12,345.67".
// More than two decimals, signs, exponents and amounts above Max are refused.
func Parse(s string) (Fen, error) {
	t := strings.ReplaceAll(strings.TrimSpace(s), ",", "")
	whole, frac, hasDot := strings.Cut(t, ".")
	if whole == "" || len(frac) > 2 || (hasDot && frac == "") || !digits(whole) || !digits(frac) {
		return 0, fmt.Errorf("parse amount %q: %w", s, ErrSyntax)
	}
	for len(frac) < 2 {
		frac += "0"
	}
	if len(whole) > 12 {
		return 0, fmt.Errorf("parse amount %q: above the maximum %s", s, Max.Grouped())
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse amount %q: %w", s, err)
	}
	fr, _ := strconv.ParseInt(frac, 10, 64)
	v := Fen(w*100 + fr)
	if v > Max {
		return 0, fmt.Errorf("parse amount %q: above the maximum %s", s, Max.Grouped())
	}
	return v, nil
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// UnmarshalText reads yuan text ("50000.00"), so config files can hold amounts as people write them.
func (f *Fen) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*f = v
	return nil
}

// MarshalText writes the amount as yuan text.
func (f Fen) MarshalText() ([]byte, error) { return []byte(f.String()), nil }
