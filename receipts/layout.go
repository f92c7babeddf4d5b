package receipts

import (
	"strings"
	"unicode"

	"github.com/charmbracelet/x/ansi"
	"github.com/multipos/multipos/receipts/escpos"
)

// Widths are in cells: CJK characters take two, as the TUI (lipgloss)
// measures them. A GBK printer prints every two-byte character double
// width, including those a terminal shows in one cell (·, ×, Greek,
// Cyrillic), so any character outside ASCII counts at least two: a receipt
// laid out here fits on screen and on paper alike.

func cells(s string) int {
	n := 0
	for rest := s; rest != ""; {
		g, w := ansi.FirstGraphemeCluster(rest, ansi.GraphemeWidth)
		if g == "" {
			g, w = rest[:1], 1
		}
		rest = rest[len(g):]
		n += graphemeCells(g, w)
	}
	return n
}

// graphemeCells is a grapheme's width on screen or on paper, whichever is
// more. On paper each rune prints on its own: a GBK character in two
// cells, anything else in one (ASCII, or the '?' standing in for it).
func graphemeCells(g string, w int) int {
	paper := 0
	for _, r := range g {
		paper += escpos.Cells(r)
	}
	return max(w, paper)
}

// clean makes a value printable on one line: control characters (including
// escape sequences' ESC, tabs and newlines) become spaces, so a merchant name
// from a database can neither break the layout nor drive the terminal or
// the printer.
func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == unicode.ReplacementChar {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// wrap breaks s into lines of at most w cells: at spaces where it can, and
// between any two characters where it must (CJK text has no spaces).
func wrap(s string, w int) []string {
	var lines []string
	for _, para := range strings.Split(s, "\n") {
		lines = append(lines, wrapPara(para, w)...)
	}
	return lines
}

func wrapPara(s string, w int) []string {
	if cells(s) <= w {
		return []string{s}
	}
	var (
		lines []string
		line  strings.Builder
		lineW int
		brk   = -1 // byte offset in line of the last break opportunity
		brkW  int  // width of line up to brk
	)
	flush := func(text string) { lines = append(lines, strings.TrimRight(text, " ")) }
	for rest := s; rest != ""; {
		g, gw := ansi.FirstGraphemeCluster(rest, ansi.GraphemeWidth)
		if g == "" { // cannot happen with valid input; never loop forever
			g, gw = rest[:1], 1
		}
		gw = graphemeCells(g, gw)
		rest = rest[len(g):]
		if g == " " && lineW == 0 {
			continue // no line starts with a space
		}
		if lineW+gw > w && lineW > 0 {
			cur := line.String()
			line.Reset()
			switch {
			case g == " ":
				flush(cur)
				lineW, brk = 0, -1
				continue
			case gw >= 2 || brk <= 0: // wide characters break anywhere; a long word breaks where it must
				flush(cur)
				lineW = 0
			default: // carry the word begun after the last break to the next line
				flush(cur[:brk])
				line.WriteString(cur[brk:])
				lineW -= brkW
			}
			brk = -1
			if lineW+gw > w && lineW > 0 {
				flush(line.String())
				line.Reset()
				lineW = 0
			}
		}
		line.WriteString(g)
		lineW += gw
		if g == " " || gw >= 2 { // after a space or a CJK character a line may break
			brk, brkW = line.Len(), lineW
		}
	}
	if line.Len() > 0 {
		flush(line.String())
	}
	return lines
}

// line is one line of a receipt as text and as printed.
type line struct {
	text  string       // on text receipts: padded to its alignment
	raw   string       // on paper: the content, aligned by the printer
	align escpos.Align // on paper
	bold  bool
	big   bool   // double width and height on paper
	qr    string // a QR code of this data on paper; no line on text receipts
}

// sheet accumulates the lines of one receipt.
type sheet struct {
	w     int
	lines []line
}

func (s *sheet) add(text string) {
	text = strings.TrimRight(text, " ")
	s.lines = append(s.lines, line{text: text, raw: text})
}

// style marks the last n lines added.
func (s *sheet) style(n int, bold, big bool) {
	for i := max(0, len(s.lines)-n); i < len(s.lines); i++ {
		s.lines[i].bold, s.lines[i].big = bold, big
	}
}

func (s *sheet) blank() { s.add("") }

func (s *sheet) rule(c string) { s.add(strings.Repeat(c, s.w)) }

// center adds text centred, wrapped if it is wider than the paper, and
// returns how many lines it took.
func (s *sheet) center(text string) int {
	lines := wrap(text, s.w)
	for _, l := range lines {
		s.lines = append(s.lines, line{text: strings.TrimRight(strings.Repeat(" ", (s.w-cells(l))/2)+l, " "), raw: l, align: escpos.Center})
	}
	return len(lines)
}

// title adds text centred in bold, at double size on paper where it fits
// half the paper's width.
func (s *sheet) title(text string) {
	big := cells(text)*2 <= s.w
	s.style(s.center(text), true, big)
}

// right adds a value flush right; big doubles it on paper when it fits.
func (s *sheet) right(text string, big bool) {
	text = clean(text)
	big = big && cells(text)*2 <= s.w
	for _, l := range wrap(text, s.w) {
		s.lines = append(s.lines, line{text: strings.TrimRight(strings.Repeat(" ", s.w-cells(l))+l, " "), raw: l, align: escpos.Right, bold: true, big: big})
	}
}

func (s *sheet) qr(data string) {
	if data = clean(data); data != "" {
		s.lines = append(s.lines, line{qr: data})
	}
}

// banner adds text centred in a band of fill characters, e.g.
// "******** 演示 DEMO ********", so it stands out on paper and on screen.
func (s *sheet) banner(text, fill string) {
	if text == "" {
		s.rule(fill)
		return
	}
	text = " " + text + " "
	tw := cells(text)
	if tw+2 > s.w {
		s.rule(fill)
		s.style(s.center(strings.TrimSpace(text)), true, false)
		s.rule(fill)
		return
	}
	left := (s.w - tw) / 2
	s.add(strings.Repeat(fill, left) + text + strings.Repeat(fill, s.w-tw-left))
	s.style(1, true, false)
}

// para adds running text, wrapped.
func (s *sheet) para(text string) {
	for _, l := range wrap(text, s.w) {
		s.add(l)
	}
}

// field adds a label and its value: on one line with the value flush right
// when both fit, else the label and then the value on lines of their own.
func (s *sheet) field(label, value string) {
	value = clean(value)
	if value == "" {
		return
	}
	lw, vw := cells(label), cells(value)
	if lw+1+vw <= s.w {
		s.add(label + strings.Repeat(" ", s.w-lw-vw) + value)
		return
	}
	s.para(label)
	if vw <= s.w {
		s.add(strings.Repeat(" ", s.w-vw) + value)
		return
	}
	s.para(value)
}

func (s *sheet) String() string {
	var b strings.Builder
	for _, l := range s.lines {
		if l.qr != "" {
			continue
		}
		b.WriteString(l.text)
		b.WriteByte('\n')
	}
	return b.String()
}
