package escpos

import (
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// Control bytes.
const (
	LF  = 0x0A
	ESC = 0x1B
	GS  = 0x1D
	FS  = 0x1C
	DLE = 0x10
	EOT = 0x04
)

// Chinese is how a printer takes Chinese text.
type Chinese string

const (
	// ChineseFS: GBK bytes between FS & (Chinese mode on) and FS . (off),
	// as SPRT, Xprinter and most Chinese 58/80 mm printers want.
	ChineseFS Chinese = "fs"
	// ChineseAlways: the printer is always in Chinese mode; GBK bytes as
	// they are, no switching.
	ChineseAlways Chinese = "always"
	// ChineseNone: the printer has no Chinese font; anything outside
	// ASCII prints as '?', so receipts for it are printed in English.
	ChineseNone Chinese = "none"
)

// Align is a line's alignment (ESC a).
type Align byte

const (
	Left   Align = 0
	Center Align = 1
	Right  Align = 2
)

// Cut is how the paper is cut after a receipt (GS V).
type Cut string

const (
	CutNone    Cut = "none" // no cutter: feed to the tear bar
	CutPartial Cut = "partial"
	CutFull    Cut = "full"
)

// QR error-correction levels (GS ( k, function 169).
const (
	ECCL byte = 48
	ECCM byte = 49
	ECCQ byte = 50
	ECCH byte = 51
)

// Encoder builds a byte stream for one printer. The zero value is not
// usable: call NewEncoder.
type Encoder struct {
	buf     []byte
	chinese Chinese
	cjkOn   bool // FS & sent and not yet undone
}

// NewEncoder starts a stream for a printer taking Chinese the way c says.
func NewEncoder(c Chinese) *Encoder {
	if c != ChineseAlways && c != ChineseNone {
		c = ChineseFS
	}
	return &Encoder{chinese: c}
}

// Bytes returns the stream so far.
func (e *Encoder) Bytes() []byte { return e.buf }

// Len is the size of the stream so far.
func (e *Encoder) Len() int { return len(e.buf) }

func (e *Encoder) raw(b ...byte) *Encoder {
	e.buf = append(e.buf, b...)
	return e
}

// Init resets the printer's modes (ESC @). Chinese printers may come back
// from it with Chinese mode on, so in FS mode it is switched off at once:
// an ASCII byte prints the same either way, but the encoder must know.
func (e *Encoder) Init() *Encoder {
	e.raw(ESC, '@')
	e.cjkOn = false
	if e.chinese == ChineseFS {
		e.raw(FS, '.')
	}
	return e
}

// CodePage selects the single-byte character table (ESC t n).
func (e *Encoder) CodePage(n byte) *Encoder { return e.raw(ESC, 't', n) }

// Align sets the alignment; it takes effect at the start of a line.
func (e *Encoder) Align(a Align) *Encoder { return e.raw(ESC, 'a', byte(a)) }

// Bold turns emphasis on or off (ESC E).
func (e *Encoder) Bold(on bool) *Encoder { return e.raw(ESC, 'E', b2b(on)) }

// Size sets character width and height multipliers 1–8 (GS !). In FS mode
// Chinese characters follow GS ! on the printers we target.
func (e *Encoder) Size(w, h int) *Encoder {
	w, h = clamp(w, 1, 8), clamp(h, 1, 8)
	return e.raw(GS, '!', byte((w-1)<<4|(h-1)))
}

// Text adds text without ending the line. Characters the printer cannot
// print become '?', and control characters a space: text can never carry a
// command.
func (e *Encoder) Text(s string) *Encoder {
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		s = s[n:]
		switch {
		case r < 0x20 || r == 0x7F:
			e.ascii(' ')
		case r < 0x80:
			e.ascii(byte(r))
		default:
			e.wide(r)
		}
	}
	return e
}

func (e *Encoder) ascii(b byte) {
	// ASCII prints the same in and out of Chinese mode; no need to switch.
	e.buf = append(e.buf, b)
}

var gbk = simplifiedchinese.GBK.NewEncoder()

// Cells is how many cells r takes on paper: two for a character printed
// from the GBK font, one for ASCII and for the '?' that stands in for a
// character the printer has not got.
func Cells(r rune) int {
	if _, ok := gbkOf(r); ok {
		return 2
	}
	return 1
}

// gbkOf is r's two GBK bytes, when r is a character outside ASCII that
// GBK has.
func gbkOf(r rune) ([2]byte, bool) {
	var src, dst [4]byte
	if r < 0x80 {
		return [2]byte{}, false
	}
	n := utf8.EncodeRune(src[:], r)
	m, _, err := gbk.Transform(dst[:], src[:n], true)
	return [2]byte{dst[0], dst[1]}, err == nil && m == 2
}

func (e *Encoder) wide(r rune) {
	dst, ok := gbkOf(r)
	if e.chinese == ChineseNone || !ok {
		// No Chinese font, or outside GBK (emoji, rare symbols): a visible
		// placeholder rather than bytes the printer would pair with the
		// next character.
		e.buf = append(e.buf, '?')
		return
	}
	if e.chinese == ChineseFS && !e.cjkOn {
		e.buf = append(e.buf, FS, '&')
		e.cjkOn = true
	}
	e.buf = append(e.buf, dst[:2]...)
}

// Line ends the current line (LF). In FS mode Chinese mode is switched off
// first, so every line starts in a known state.
func (e *Encoder) Line() *Encoder {
	e.cjkOff()
	return e.raw(LF)
}

func (e *Encoder) cjkOff() {
	if e.cjkOn {
		e.buf = append(e.buf, FS, '.')
		e.cjkOn = false
	}
}

// Println adds text and ends the line.
func (e *Encoder) Println(s string) *Encoder { return e.Text(s).Line() }

// Feed feeds n lines (ESC d n).
func (e *Encoder) Feed(n int) *Encoder { return e.raw(ESC, 'd', byte(clamp(n, 0, 255))) }

// QR prints data as a model 2 QR code with modules of size dots (1–16) and
// error correction ecc (ECCL…ECCH): store, then print (GS ( k functions
// 165, 167, 169, 180, 181).
func (e *Encoder) QR(data string, size int, ecc byte) *Encoder {
	if ecc < ECCL || ecc > ECCH {
		ecc = ECCM
	}
	e.cjkOff()
	e.raw(GS, '(', 'k', 4, 0, 49, 65, 50, 0)
	e.raw(GS, '(', 'k', 3, 0, 49, 67, byte(clamp(size, 1, 16)))
	e.raw(GS, '(', 'k', 3, 0, 49, 69, ecc)
	n := len(data) + 3
	e.raw(GS, '(', 'k', byte(n), byte(n>>8), 49, 80, 48)
	e.buf = append(e.buf, data...)
	return e.raw(GS, '(', 'k', 3, 0, 49, 81, 48)
}

// Cut feeds feed lines past the print head and cuts (GS V 65/66 n), or
// with CutNone only feeds, to the tear bar.
func (e *Encoder) Cut(c Cut, feed int) *Encoder {
	e.cjkOff()
	switch c {
	case CutFull:
		return e.raw(GS, 'V', 65, byte(clamp(feed, 0, 255)))
	case CutPartial:
		return e.raw(GS, 'V', 66, byte(clamp(feed, 0, 255)))
	}
	return e.Feed(feed)
}

// Drawer kicks the cash drawer on connector pin 2 or 5 (ESC p m t1 t2):
// on 100 ms, off 500 ms, which keeps the solenoid's duty under 20 %.
func (e *Encoder) Drawer(pin int) *Encoder {
	m := byte(0)
	if pin == 5 {
		m = 1
	}
	return e.raw(ESC, 'p', m, 50, 250)
}

func b2b(on bool) byte {
	if on {
		return 1
	}
	return 0
}

func clamp(v, lo, hi int) int { return max(lo, min(v, hi)) }
