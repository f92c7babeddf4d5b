package emv

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"
)

// TerminalData is what the terminal contributes to the PDOL and to field 55.
// Zero values get the defaults documented on each field.
type TerminalData struct {
	Amount          int64     // 9F02, minor units (fen)
	AmountOther     int64     // 9F03, cashback; usually 0
	CountryCode     string    // 9F1A, 4 digits; default "0156" (China)
	CurrencyCode    string    // 5F2A, 4 digits; default "0156" (CNY)
	TransactionType byte      // 9C; 0x00 purchase
	Date            time.Time // 9A; default time.Now()
	// UnpredictableNumber (9F37) must be fresh per transaction; when zero a
	// random one is drawn. Tests set it to get reproducible commands.
	UnpredictableNumber [4]byte
	TVR                 [5]byte // 95; all zero before risk management
	TerminalType        byte    // 9F35; default 0x22 (attended, online with offline capability)
	Capabilities        [3]byte // 9F33; default E0 F0 C8
	AdditionalCaps      [5]byte // 9F40
	TTQ                 [4]byte // 9F66, contactless qualifiers; set it for contactless kernels
	// Extra supplies or overrides any other terminal tag asked for by a PDOL.
	Extra map[Tag][]byte
	// AIDs are the applications the terminal supports, matched as prefixes
	// of the card's AIDs (partial selection). Default: DefaultAIDs.
	AIDs [][]byte
	// Interface is how the card is being read: the contact directory (PSE)
	// and the contactless one (PPSE) belong to their interfaces. The zero
	// value tries PPSE, then PSE.
	Interface Interface
}

// Interface is the card interface a read goes through.
type Interface int

// Card interfaces.
const (
	AnyInterface Interface = iota // PPSE, then PSE, then the AID list
	Contact                       // an inserted chip: PSE, then the AID list
	Contactless                   // a tapped card: PPSE, then the AID list
)

// DefaultAIDs is the fallback candidate list, in the order tried when the
// card has neither PPSE nor PSE.
var DefaultAIDs = [][]byte{
	mustHex("A000000333010101"), // UnionPay debit
	mustHex("A000000333010102"), // UnionPay credit
	mustHex("A000000333010103"), // UnionPay quasi-credit
	mustHex("A0000000031010"),   // Visa
	mustHex("A0000000041010"),   // Mastercard
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// numericTags are format n: when a DOL asks for a different length they are
// right-justified (leading zeros added or dropped), per EMV Book 3, 5.4.
var numericTags = map[Tag]bool{
	TagAmount: true, TagAmountOther: true, TagCountryCode: true,
	TagCurrencyCode: true, TagTransactionDate: true, TagTransactionType: true,
}

// values returns the terminal's data objects, with defaults applied.
func (t TerminalData) values() (map[Tag][]byte, error) {
	amount, err := bcd(t.Amount, 12)
	if err != nil {
		return nil, fmt.Errorf("emv: amount: %w", err)
	}
	other, err := bcd(t.AmountOther, 12)
	if err != nil {
		return nil, fmt.Errorf("emv: other amount: %w", err)
	}
	country, err := code(t.CountryCode)
	if err != nil {
		return nil, fmt.Errorf("emv: country code: %w", err)
	}
	currency, err := code(t.CurrencyCode)
	if err != nil {
		return nil, fmt.Errorf("emv: currency code: %w", err)
	}
	d := t.Date
	if d.IsZero() {
		d = time.Now()
	}
	date, _ := hex.DecodeString(d.Format("060102"))
	un := t.UnpredictableNumber
	if un == [4]byte{} {
		if _, err := rand.Read(un[:]); err != nil {
			return nil, fmt.Errorf("emv: unpredictable number: %w", err)
		}
	}
	tt := t.TerminalType
	if tt == 0 {
		tt = 0x22
	}
	caps := t.Capabilities
	if caps == [3]byte{} {
		caps = [3]byte{0xE0, 0xF0, 0xC8}
	}
	v := map[Tag][]byte{
		TagAmount:              amount,
		TagAmountOther:         other,
		TagCountryCode:         country,
		TagCurrencyCode:        currency,
		TagTransactionType:     {t.TransactionType},
		TagTransactionDate:     date,
		TagUnpredictableNumber: un[:],
		TagTVR:                 t.TVR[:],
		TagTerminalType:        {tt},
		TagTerminalCaps:        caps[:],
		TagAdditionalCaps:      t.AdditionalCaps[:],
		TagTTQ:                 t.TTQ[:],
	}
	for k, x := range t.Extra {
		v[k] = x
	}
	return v, nil
}

func bcd(n int64, ndigits int) ([]byte, error) {
	if n < 0 {
		return nil, fmt.Errorf("negative value %d", n)
	}
	s := fmt.Sprintf("%0*d", ndigits, n)
	if len(s) > ndigits {
		return nil, fmt.Errorf("%d does not fit in %d digits", n, ndigits)
	}
	return hex.DecodeString(s)
}

func code(s string) ([]byte, error) {
	if s == "" {
		s = "0156"
	}
	if len(s) != 4 || !digits(s) {
		return nil, fmt.Errorf("%q is not 4 digits", s)
	}
	return hex.DecodeString(s)
}

// maxDOLData is the most PDOL data that fits a short GPO APDU
// (Lc ≤ 255, minus tag 83 and a 2-byte length).
const maxDOLData = 252

// BuildDOLData fills a data object list from the values, in DOL order. A
// value of the wrong length is fitted (numeric tags right-justified, others
// left-justified and zero-padded); tags the terminal does not know are zero
// filled at the requested length, as EMV Book 3, 5.4 requires.
func BuildDOLData(dol []DOLEntry, values map[Tag][]byte) ([]byte, error) {
	total := 0
	for _, e := range dol {
		total += e.Length
		if total > maxDOLData {
			return nil, fmt.Errorf("emv: DOL asks for more than %d bytes", maxDOLData)
		}
	}
	out := make([]byte, 0, total)
	for _, e := range dol {
		field := make([]byte, e.Length)
		v := values[e.Tag]
		if numericTags[e.Tag] {
			if len(v) > e.Length {
				v = v[len(v)-e.Length:]
			}
			copy(field[e.Length-len(v):], v)
		} else {
			copy(field, v)
		}
		out = append(out, field...)
	}
	return out, nil
}
