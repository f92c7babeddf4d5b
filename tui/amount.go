package tui

import "github.com/multipos/multipos/money"

// maxAmountDigits keeps an entered amount within 99,999,999.99 yuan.
const maxAmountDigits = 10

// amountEntry is bank-POS amount entry: digits fill from the right, so
// 1, 2, 3, 4 reads 0.01, 0.12, 1.23, 12.34.
type amountEntry struct {
	digits string // no leading zeros
}

// push appends a digit; it reports false when no more digits fit.
func (a *amountEntry) push(d int) bool {
	if d == 0 && a.digits == "" {
		return true
	}
	if len(a.digits) >= maxAmountDigits {
		return false
	}
	a.digits += string(rune('0' + d))
	return true
}

// pushDoubleZero appends "00", the quick way to type whole yuan.
func (a *amountEntry) pushDoubleZero() bool {
	if a.digits == "" {
		return true
	}
	if len(a.digits)+2 > maxAmountDigits {
		return false
	}
	a.digits += "00"
	return true
}

// del removes the last digit.
func (a *amountEntry) del() {
	if a.digits != "" {
		a.digits = a.digits[:len(a.digits)-1]
	}
}

// value is the amount in fen.
func (a amountEntry) value() money.Fen {
	var v int64
	for _, r := range a.digits {
		v = v*10 + int64(r-'0')
	}
	return money.Fen(v)
}
