package escpos

import (
	"fmt"
	"strings"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// Style is how a printed line looks.
type Style struct {
	Align     Align
	Bold      bool
	Underline bool
	W, H      int // size multipliers, 1 = normal
}

func (s Style) String() string {
	var parts []string
	switch s.Align {
	case Center:
		parts = append(parts, "center")
	case Right:
		parts = append(parts, "right")
	}
	if s.Bold {
		parts = append(parts, "bold")
	}
	if s.Underline {
		parts = append(parts, "underline")
	}
	if s.W > 1 || s.H > 1 {
		parts = append(parts, fmt.Sprintf("%dx%d", max(s.W, 1), max(s.H, 1)))
	}
	return strings.Join(parts, ",")
}

// Item is one thing a printer did: print a line of text, or act on a
// command (Marker), e.g. "cut partial feed=4" or "qr model=2 size=6 ecc=M".
type Item struct {
	Text   string // a printed line, without its LF
	Style  Style  // the line's style when its first character was printed
	Marker string // set for a command; Text and Style are then empty
}

// Decoder reads an ESC/POS stream back into lines and markers. It is an
// io.Writer, so a printer peer can feed it bytes as they arrive: a command
// split across writes is held until it is whole.
type Decoder struct {
	// Chinese says how bytes ≥ 0x80 are read outside FS & … FS .:
	// ChineseAlways reads them as GBK, anything else as not printable.
	Chinese Chinese
	// OnQuery, when set, is called for each DLE EOT status query as it is
	// read, in stream order, so a peer can answer at once.
	OnQuery func(n byte)
	// OnTransmit, when set, is called for each GS r n, in stream order:
	// everything before it has been decoded by then.
	OnTransmit func(n byte)

	pending []byte
	items   []Item
	style   Style
	cjk     bool
	line    strings.Builder
	lineSt  Style
	inLine  bool
	qr      qrState
	bad     int
	queries int
}

type qrState struct {
	model, size int
	ecc         byte
	data        string
}

// Decode reads a whole stream. Bad bytes do not stop it: they show as \xNN
// in the text or as "unknown" markers, and Garbled counts them.
func Decode(b []byte, c Chinese) *Decoder {
	d := &Decoder{Chinese: c}
	d.Write(b)
	return d
}

// Items returns what was printed so far, with a line not yet ended last.
func (d *Decoder) Items() []Item {
	items := append([]Item(nil), d.items...)
	if d.inLine {
		items = append(items, Item{Text: d.line.String(), Style: d.lineSt})
	}
	return items
}

// Done returns the items finished so far: Items without a line not yet
// ended, which may still grow.
func (d *Decoder) Done() []Item { return d.items[:len(d.items):len(d.items)] }

// Garbled counts bytes that did not make sense: unknown commands, bytes
// ≥ 0x80 outside Chinese mode, invalid GBK, a truncated command at the end.
func (d *Decoder) Garbled() int {
	n := d.bad
	if len(d.pending) > 0 {
		n++
	}
	return n
}

// Queries counts the DLE EOT status queries read.
func (d *Decoder) Queries() int { return d.queries }

// String is the decoded stream as text: one printed line per line, styled
// ones prefixed with {center,bold,2x2}, commands as «markers».
func (d *Decoder) String() string { return Render(d.Items()) }

// Render writes items as Decoder.String does.
func Render(items []Item) string {
	var b strings.Builder
	for _, it := range items {
		switch {
		case it.Marker != "":
			b.WriteString("«" + it.Marker + "»")
		case it.Style != Style{}:
			b.WriteString("{" + it.Style.String() + "} " + it.Text)
		default:
			b.WriteString(it.Text)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// Write consumes p. It never fails: the error is for io.Writer.
func (d *Decoder) Write(p []byte) (int, error) {
	d.pending = append(d.pending, p...)
	for len(d.pending) > 0 {
		n := d.step(d.pending)
		if n == 0 {
			break // an incomplete command: wait for the rest
		}
		d.pending = d.pending[n:]
	}
	if len(d.pending) == 0 {
		d.pending = nil
	}
	return len(p), nil
}

func (d *Decoder) marker(format string, args ...any) {
	d.endLine(false)
	d.items = append(d.items, Item{Marker: fmt.Sprintf(format, args...)})
}

func (d *Decoder) endLine(lf bool) {
	if d.inLine || lf {
		st := d.lineSt
		if !d.inLine {
			st = Style{}
		}
		d.items = append(d.items, Item{Text: d.line.String(), Style: st})
	}
	d.line.Reset()
	d.inLine = false
}

func (d *Decoder) text(s string) {
	if !d.inLine {
		d.inLine, d.lineSt = true, d.style
	}
	d.line.WriteString(s)
}

// need returns the command's length when b holds all of it, else 0.
func need(b []byte, n int) int {
	if len(b) < n {
		return 0
	}
	return n
}

var gbkDecoder = simplifiedchinese.GBK.NewDecoder()

// step reads one command or character from b and returns the bytes used,
// or 0 when b ends inside it.
func (d *Decoder) step(b []byte) int {
	c := b[0]
	switch {
	case c == LF:
		d.endLine(true)
		return 1
	case c == '\r':
		return 1
	case c == '\t':
		d.text(" ")
		return 1
	case c == ESC:
		return d.esc(b)
	case c == GS:
		return d.gs(b)
	case c == FS:
		return d.fs(b)
	case c == DLE:
		return d.dle(b)
	case c < 0x20 || c == 0x7F:
		d.bad++
		d.text(fmt.Sprintf(`\x%02x`, c))
		return 1
	case c < 0x80:
		d.text(string(rune(c)))
		return 1
	}
	if d.cjk || d.Chinese == ChineseAlways {
		if len(b) < 2 {
			return 0
		}
		if r, err := gbkDecoder.Bytes(b[:2]); err == nil && c >= 0x81 && c <= 0xFE && b[1] >= 0x40 && b[1] != 0x7F && !strings.ContainsRune(string(r), '\uFFFD') {
			d.text(string(r))
			return 2
		}
	}
	d.bad++
	d.text(fmt.Sprintf(`\x%02x`, c))
	return 1
}

func (d *Decoder) esc(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	switch b[1] {
	case '@':
		d.marker("init")
		d.style, d.cjk, d.qr = Style{}, false, qrState{}
		return 2
	case '2':
		return 2
	case '3', 'M', 'R', ' ', 'G', 'V', '{', 'J':
		if len(b) < 3 {
			return 0
		}
		if b[1] == 'J' {
			d.marker("feed %d dots", b[2])
		}
		return 3
	case 't':
		if len(b) < 3 {
			return 0
		}
		d.marker("codepage %d", b[2])
		return 3
	case 'E':
		if len(b) < 3 {
			return 0
		}
		d.style.Bold = b[2]&1 == 1
		return 3
	case '-':
		if len(b) < 3 {
			return 0
		}
		d.style.Underline = b[2]&3 != 0 && b[2] != '0'
		return 3
	case 'a':
		if len(b) < 3 {
			return 0
		}
		d.style.Align = Align(b[2] % 48)
		if d.style.Align > Right {
			d.style.Align = Left
		}
		return 3
	case '!':
		if len(b) < 3 {
			return 0
		}
		m := b[2]
		d.style.Bold = m&0x08 != 0
		d.style.H = 1 + int(m>>4&1)
		d.style.W = 1 + int(m>>5&1)
		d.style.Underline = m&0x80 != 0
		return 3
	case 'd':
		if len(b) < 3 {
			return 0
		}
		d.endLine(false)
		d.marker("feed %d", b[2])
		return 3
	case '$':
		return need(b, 4)
	case 'p':
		if len(b) < 5 {
			return 0
		}
		pin := 2
		if b[2]%48 == 1 {
			pin = 5
		}
		d.marker("drawer pin%d on=%dms off=%dms", pin, int(b[3])*2, int(b[4])*2)
		return 5
	}
	d.bad++
	d.marker("unknown ESC %#02x", b[1])
	return 2
}

func (d *Decoder) gs(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	switch b[1] {
	case '!':
		if len(b) < 3 {
			return 0
		}
		d.style.W, d.style.H = 1+int(b[2]>>4&7), 1+int(b[2]&7)
		if d.style.W == 1 && d.style.H == 1 {
			d.style.W, d.style.H = 0, 0
		}
		return 3
	case 'r':
		if len(b) < 3 {
			return 0
		}
		if d.OnTransmit != nil {
			d.OnTransmit(b[2])
		}
		return 3
	case 'B', 'H', 'h', 'w', 'a', 'f':
		return need(b, 3)
	case 'L', 'W':
		return need(b, 4)
	case 'V':
		return d.cut(b)
	case '(':
		return d.gsParen(b)
	case 'v':
		return d.image(b)
	}
	d.bad++
	d.marker("unknown GS %#02x", b[1])
	return 2
}

// cut reads GS V: a paper cut, with a feed before it or not.
func (d *Decoder) cut(b []byte) int {
	if len(b) < 3 {
		return 0
	}
	switch b[2] {
	case 0, 48:
		d.marker("cut full")
		return 3
	case 1, 49:
		d.marker("cut partial")
		return 3
	case 65, 66:
		if len(b) < 4 {
			return 0
		}
		kind := "full"
		if b[2] == 66 {
			kind = "partial"
		}
		d.marker("cut %s feed=%d", kind, b[3])
		return 4
	}
	d.bad++
	d.marker("unknown cut %d", b[2])
	return 3
}

// gsParen reads GS ( f pL pH data: a 2D symbol (GS ( k), or another
// function, skipped.
func (d *Decoder) gsParen(b []byte) int {
	if len(b) < 5 {
		return 0
	}
	n := 5 + int(b[3]) + int(b[4])<<8
	if len(b) < n {
		return 0
	}
	if b[2] == 'k' {
		d.symbol(b[5:n])
	} else {
		d.marker("GS ( %c function", b[2])
	}
	return n
}

// image reads GS v 0: a raster image.
func (d *Decoder) image(b []byte) int {
	if len(b) < 8 {
		return 0
	}
	wBytes, h := int(b[4])|int(b[5])<<8, int(b[6])|int(b[7])<<8
	n := 8 + wBytes*h
	if wBytes*h > 1<<20 { // larger than any receipt printer's image: not one
		d.bad++
		d.marker("image %dx%d too large", wBytes*8, h)
		return 8
	}
	if len(b) < n {
		return 0
	}
	d.marker("image %dx%d", wBytes*8, h)
	return n
}

// symbol reads a GS ( k function: cn fn parameters.
func (d *Decoder) symbol(p []byte) {
	if len(p) < 2 {
		d.bad++
		d.marker("short GS ( k")
		return
	}
	if p[0] != 49 {
		d.marker("2D symbol cn=%d fn=%d", p[0], p[1])
		return
	}
	arg := func(i int) byte {
		if i < len(p) {
			return p[i]
		}
		return 0
	}
	switch p[1] {
	case 65:
		d.qr.model = int(arg(2)) - 48
	case 67:
		d.qr.size = int(arg(2))
	case 69:
		d.qr.ecc = arg(2)
	case 80:
		if len(p) >= 3 {
			d.qr.data = string(p[3:])
		}
	case 81:
		ecc := map[byte]string{48: "L", 49: "M", 50: "Q", 51: "H"}[d.qr.ecc]
		if ecc == "" {
			ecc = "?"
		}
		d.marker("qr model=%d size=%d ecc=%s %s", d.qr.model, d.qr.size, ecc, d.qr.data)
	}
}

func (d *Decoder) fs(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	switch b[1] {
	case '&':
		d.cjk = true
		return 2
	case '.':
		d.cjk = false
		return 2
	case '!', 'C', '-', 'W':
		return need(b, 3)
	case 'S':
		return need(b, 4)
	}
	d.bad++
	d.marker("unknown FS %#02x", b[1])
	return 2
}

func (d *Decoder) dle(b []byte) int {
	if len(b) < 3 {
		return 0
	}
	switch b[1] {
	case EOT:
		d.queries++
		if d.OnQuery != nil {
			d.OnQuery(b[2])
		}
		return 3
	case 0x05: // DLE ENQ: real-time request to recover
		return 3
	case 0x14: // DLE DC4 fn
		switch b[2] {
		case 1:
			if len(b) < 5 {
				return 0
			}
			d.marker("drawer pulse")
			return 5
		case 2:
			return need(b, 5)
		case 8:
			return need(b, 10)
		}
	}
	d.bad++
	d.marker("unknown DLE %#02x", b[1])
	return 2
}
