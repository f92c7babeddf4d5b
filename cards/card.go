package cards

import (
	"fmt"
	"log/slog"
	"strings"
)

// Entry is how the card data was captured.
type Entry string

const (
	EntryChip        Entry = "chip"
	EntrySwipe       Entry = "swipe"
	EntryContactless Entry = "contactless"
)

// Card is the data read from a card. The full PAN and Track2 live only in
// memory on the way to the acquirer; only Masked() is ever stored or shown.
type Card struct {
	PAN         string // primary account number, digits only
	Expiry      string // YYMM
	ServiceCode string // 3 digits from track 2, "" when unknown
	Track2      string // track 2 equivalent data, "" when not read
	Holder      string // cardholder name, may be empty
	Entry       Entry
	AID         string // EMV application id (hex) when read from a chip
	Label       string // EMV application label, e.g. "UnionPay Debit"
	PANSequence string // 5F34, 2 digits, chip cards only
	ICC         []byte // chip data for ISO 8583 field 55 (EMV TLV), chip cards only
}

// HasChip reports whether a stripe's service code says the card has a chip
// (first digit 2: international, 6: national with chip). EMV rules have
// such a card read from its chip: swiped only when its chip has failed.
func HasChip(serviceCode string) bool {
	return serviceCode != "" && (serviceCode[0] == '2' || serviceCode[0] == '6')
}

// Masked returns the PAN masked as 621234******0001.
func (c Card) Masked() string { return Mask(c.PAN) }

// ExpiryText returns the expiry as MM/YY, or "" when unknown.
func (c Card) ExpiryText() string {
	if len(c.Expiry) != 4 {
		return ""
	}
	return c.Expiry[2:] + "/" + c.Expiry[:2]
}

// String keeps the full number out of fmt output.
func (c Card) String() string {
	return fmt.Sprintf("card %s (%s)", c.Masked(), c.Entry)
}

// GoString keeps the full number out of %#v output.
func (c Card) GoString() string { return c.String() }

// LogValue keeps the full number and track data out of slog output.
func (c Card) LogValue() slog.Value {
	return slog.GroupValue(slog.String("pan", c.Masked()), slog.String("entry", string(c.Entry)))
}

// Mask shows the first 6 and last 4 digits of a PAN and stars in between,
// the masking Chinese bank receipts use: 6212345678900001 → 621234******0001.
// Numbers too short to keep 10 digits are masked but for the last 4.
func Mask(pan string) string {
	n := len(pan)
	switch {
	case n == 0:
		return ""
	case n >= 13:
		return pan[:6] + strings.Repeat("*", n-10) + pan[n-4:]
	case n > 4:
		return strings.Repeat("*", n-4) + pan[n-4:]
	default:
		return strings.Repeat("*", n)
	}
}

// Luhn reports whether the digits pass the mod-10 check used by card numbers.
func Luhn(pan string) bool {
	if len(pan) < 2 {
		return false
	}
	sum := 0
	double := false
	for i := len(pan) - 1; i >= 0; i-- {
		c := pan[i]
		if c < '0' || c > '9' {
			return false
		}
		d := int(c - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// ValidPAN reports whether pan is 13 to 19 digits passing the Luhn check.
func ValidPAN(pan string) bool {
	return len(pan) >= 13 && len(pan) <= 19 && Luhn(pan)
}
