package config

import (
	"strconv"
	"strings"
)

// locator knows the line of every key in a TOML text. The TOML decoder does
// not expose key positions, and semantic checks happen after decoding, so
// this re-reads the text just well enough to map key paths to lines. It only
// runs on text the decoder accepted, but must not panic on anything.
type locator struct {
	exact map[string]int   // "terminals[1].id" → line
	loose map[string][]int // "terminals.id" → lines of every occurrence, as MetaData names keys
}

// line returns the line of the deepest prefix of path found in the file, so
// that a problem in a value the file does not set is reported at its table;
// 0 if none is.
func (l *locator) line(path ...any) int {
	best := 0
	var p pathKey
	for _, e := range path {
		switch v := e.(type) {
		case string:
			p = p.child(v)
		case int:
			p = p.index(v)
		}
		if n, ok := l.exact[p.exact]; ok {
			best = n
		}
	}
	return best
}

// pathKey is a key path in two spellings: with array indices and without.
type pathKey struct{ exact, loose string }

func (p pathKey) child(name string) pathKey {
	seg := quoteKey(name)
	if p.exact == "" {
		return pathKey{seg, seg}
	}
	return pathKey{p.exact + "." + seg, p.loose + "." + seg}
}

func (p pathKey) index(i int) pathKey {
	return pathKey{p.exact + "[" + strconv.Itoa(i) + "]", p.loose}
}

// quoteKey spells a key segment as toml.Key.String does.
func quoteKey(s string) string {
	if s == "" {
		return `""`
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return strconv.Quote(s)
		}
	}
	return s
}

type token struct {
	kind byte // 'w' bare word, 's' one-line string, 'S' multi-line string, '\n', or one of []{}=,.
	text string
	line int
}

func tokenize(src string) []token {
	src = strings.TrimPrefix(src, "\ufeff")
	var toks []token
	line := 1
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '\n':
			toks = append(toks, token{kind: '\n', line: line})
			line++
			i++
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case strings.HasPrefix(src[i:], `"""`) || strings.HasPrefix(src[i:], `'''`):
			toks = append(toks, token{kind: 'S', line: line})
			i, line = skipMultiline(src, i, line)
		case c == '"' || c == '\'':
			var text string
			text, i = oneLineString(src, i)
			toks = append(toks, token{kind: 's', text: text, line: line})
		case strings.IndexByte("[]{}=,.", c) >= 0:
			toks = append(toks, token{kind: c, line: line})
			i++
		default:
			j := i
			for j < len(src) && strings.IndexByte(" \t\r\n#\"'[]{}=,.", src[j]) < 0 {
				j++
			}
			toks = append(toks, token{kind: 'w', text: src[i:j], line: line})
			i = j
		}
	}
	return toks
}

// skipMultiline skips the multi-line string that starts at src[i] (at
// line) and returns where it ends and the line there.
func skipMultiline(src string, i, line int) (int, int) {
	delim := src[i : i+3]
	i += 3
	for i < len(src) && !strings.HasPrefix(src[i:], delim) {
		if src[i] == '\\' && delim[0] == '"' && i+1 < len(src) {
			if src[i+1] == '\n' {
				line++
			}
			i++
		} else if src[i] == '\n' {
			line++
		}
		i++
	}
	i += 3
	for i < len(src) && src[i] == delim[0] { // up to two quotes may end the content
		i++
	}
	return i, line
}

// oneLineString reads the one-line string that starts at src[i]: its
// text (a basic string's escapes resolved) and where it ends.
func oneLineString(src string, i int) (string, int) {
	c := src[i]
	j := i + 1
	for j < len(src) && src[j] != c && src[j] != '\n' {
		if c == '"' && src[j] == '\\' {
			j++
		}
		j++
	}
	j = min(j, len(src))
	text := src[i+1 : j]
	if c == '"' {
		if u, err := strconv.Unquote(`"` + text + `"`); err == nil {
			text = u
		}
	}
	return text, j + 1
}

type locParser struct {
	toks   []token
	pos    int
	loc    *locator
	arrays map[string]int // array-of-tables path (exact) → elements so far
}

func locate(src string) *locator {
	l := &locator{exact: map[string]int{}, loose: map[string][]int{}}
	p := &locParser{toks: tokenize(src), loc: l, arrays: map[string]int{}}
	p.document()
	return l
}

func (p *locParser) peek() token {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return token{}
}

func (p *locParser) next() token {
	t := p.peek()
	if p.pos < len(p.toks) {
		p.pos++
	}
	return t
}

func (p *locParser) record(k pathKey, line int) {
	if _, ok := p.loc.exact[k.exact]; !ok {
		p.loc.exact[k.exact] = line
	}
	p.loc.loose[k.loose] = append(p.loc.loose[k.loose], line)
}

// recordNew records an implicitly defined table the first time it appears.
func (p *locParser) recordNew(k pathKey, line int) {
	if _, ok := p.loc.exact[k.exact]; !ok {
		p.record(k, line)
	}
}

// recordIndex records an array element, which MetaData never names.
func (p *locParser) recordIndex(k pathKey, line int) {
	if _, ok := p.loc.exact[k.exact]; !ok {
		p.loc.exact[k.exact] = line
	}
}

func (p *locParser) skipLine() {
	for t := p.peek(); t.kind != 0 && t.kind != '\n'; t = p.peek() {
		p.next()
	}
}

func (p *locParser) document() {
	var table pathKey
	for p.peek().kind != 0 {
		t := p.peek()
		switch t.kind {
		case '\n':
			p.next()
		case '[':
			table = p.header()
			p.skipLine()
		default:
			p.keyValue(table)
		}
	}
}

// header reads [a.b] or [[a.b]] and returns the table's path.
func (p *locParser) header() pathKey {
	line := p.next().line
	array := p.peek().kind == '['
	if array {
		p.next()
	}
	segs := p.key()
	var k pathKey
	for i, s := range segs {
		k = k.child(s)
		last := i == len(segs)-1
		if n, ok := p.arrays[k.exact]; ok && !(last && array) {
			k = k.index(n - 1) // a sub-table of the latest element
		}
		if last {
			p.record(k, line)
		} else {
			p.recordNew(k, line)
		}
		if last && array {
			n := p.arrays[k.exact]
			p.arrays[k.exact] = n + 1
			k = k.index(n)
			p.recordIndex(k, line)
		}
	}
	return k
}

// key reads a dotted key: bare words and quoted strings joined by dots.
func (p *locParser) key() []string {
	var segs []string
	for {
		t := p.peek()
		if t.kind != 'w' && t.kind != 's' {
			return segs
		}
		p.next()
		segs = append(segs, t.text)
		if p.peek().kind != '.' {
			return segs
		}
		p.next()
	}
}

func (p *locParser) keyValue(table pathKey) {
	line := p.peek().line
	segs := p.key()
	if len(segs) == 0 || p.peek().kind != '=' {
		p.next() // not a key/value: step over it so the scan always advances
		return
	}
	p.next()
	k := table
	for i, s := range segs {
		k = k.child(s)
		if i == len(segs)-1 {
			p.record(k, line)
		} else {
			p.recordNew(k, line) // a.b = 1 and a.c = 2 define table a once
		}
	}
	p.value(k)
}

func (p *locParser) value(k pathKey) {
	switch p.peek().kind {
	case '[':
		p.next()
		for i := 0; ; i++ {
			p.skipNewlines()
			switch t := p.peek(); t.kind {
			case 0:
				return
			case ']':
				p.next()
				return
			default:
				p.recordIndex(k.index(i), t.line)
				before := p.pos
				p.value(k.index(i))
				p.skipNewlines()
				if p.peek().kind == ',' {
					p.next()
				} else if p.pos == before {
					p.next()
				}
			}
		}
	case '{':
		p.next()
		for {
			switch p.peek().kind {
			case 0, '\n':
				return
			case '}':
				p.next()
				return
			case ',':
				p.next()
			default:
				p.keyValue(k)
			}
		}
	default:
		for {
			switch p.peek().kind {
			case 0, '\n', ',', ']', '}':
				return
			}
			p.next()
		}
	}
}

func (p *locParser) skipNewlines() {
	for p.peek().kind == '\n' {
		p.next()
	}
}
