package receipts

import (
	"strings"
	"unicode"

	"github.com/charmbracelet/x/ansi"
)

// Widths are in terminal cells, as the TUI (lipgloss) measures them: CJK
// characters take two, and a receipt laid out here lines up on screen and on
// a GBK printer alike.

func cells(s string) int { return ansi.StringWidth(s) }

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
		rest = rest[len(g):]
		if g == " " && lineW == 0 {
			continue // no line starts with a space
		}
		if lineW+gw > w {
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
			if lineW+gw > w {
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

// sheet accumulates the lines of one receipt.
type sheet struct {
	w     int
	lines []string
}

func (s *sheet) add(line string) { s.lines = append(s.lines, strings.TrimRight(line, " ")) }

func (s *sheet) blank() { s.lines = append(s.lines, "") }

func (s *sheet) rule(c string) { s.add(strings.Repeat(c, s.w)) }

// center adds text centred, wrapped if it is wider than the paper.
func (s *sheet) center(text string) {
	for _, l := range wrap(text, s.w) {
		s.add(strings.Repeat(" ", (s.w-cells(l))/2) + l)
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
		s.center(strings.TrimSpace(text))
		s.rule(fill)
		return
	}
	left := (s.w - tw) / 2
	s.add(strings.Repeat(fill, left) + text + strings.Repeat(fill, s.w-tw-left))
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

func (s *sheet) String() string { return strings.Join(s.lines, "\n") + "\n" }
