package config

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// Error is one problem in a configuration file, located as precisely as the
// file allows so that an operator can go straight to it.
type Error struct {
	File string // the path as given to the loader
	Line int    // 1-based; 0 when the problem has no line (missing file, a default)
	Col  int    // 1-based; 0 when only the line is known
	Msg  string
	Err  error // the underlying cause, if any (e.g. fs.ErrNotExist)
}

// Error formats the problem as editors and compilers do, so that the
// location is clickable in most terminals: "/x/pos.toml:12: unknown key …".
// Control characters from the file are escaped, so a message is always one
// line and cannot drive the terminal it is shown on.
func (e *Error) Error() string {
	msg := escapeControls(e.Msg)
	switch {
	case e.Line > 0 && e.Col > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, msg)
	}
	return fmt.Sprintf("config %s: %s", e.File, msg)
}

func escapeControls(s string) string {
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Unwrap lets callers test the cause, e.g. errors.Is(err, fs.ErrNotExist).
func (e *Error) Unwrap() error { return e.Err }

// problems collects every problem in a file before reporting, so that one
// run of the program shows all of them.
type problems struct {
	file string
	loc  *locator
	list []*Error
}

func (p *problems) addLine(line int, format string, args ...any) {
	p.list = append(p.list, &Error{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// at reports a problem at the deepest part of path that appears in the file.
// Path elements are table or key names (string) and array indices (int).
func (p *problems) at(path []any, format string, args ...any) {
	p.addLine(p.loc.line(path...), format, args...)
}

// maxProblems bounds a report: past it, a file is more likely the wrong
// file than one with that many mistakes.
const maxProblems = 20

// err returns nil, the single *Error, or all of them joined in file order.
func (p *problems) err() error {
	sort.SliceStable(p.list, func(i, j int) bool { return p.list[i].Line < p.list[j].Line })
	switch len(p.list) {
	case 0:
		return nil
	case 1:
		return p.list[0]
	}
	list := p.list
	if len(list) > maxProblems {
		more := len(list) - maxProblems
		list = append(list[:maxProblems:maxProblems], &Error{File: p.file, Msg: fmt.Sprintf("%d more problems not shown", more)})
	}
	errs := make([]error, len(list))
	for i, e := range list {
		errs[i] = e
	}
	return errors.Join(errs...)
}
