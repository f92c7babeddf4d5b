package config

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// teaKeyNames is every name Bubble Tea v1 gives a non-rune key in
// tea.KeyMsg.String(). The cashier app matches bindings against those
// strings, so a name outside this set could never fire.
//
// The list is spelled out rather than built from bubbletea at run time so
// that posserver, which reads this package too, does not link Bubble Tea,
// whose init queries the terminal. TestKeyNamesMatchBubbleTea builds the set
// from bubbletea and fails if the two ever differ.
var teaKeyNames = setOf(
	"ctrl+@", "ctrl+a", "ctrl+b", "ctrl+c", "ctrl+d", "ctrl+e", "ctrl+f", "ctrl+g",
	"ctrl+h", "tab", "ctrl+j", "ctrl+k", "ctrl+l", "enter", "ctrl+n", "ctrl+o",
	"ctrl+p", "ctrl+q", "ctrl+r", "ctrl+s", "ctrl+t", "ctrl+u", "ctrl+v", "ctrl+w",
	"ctrl+x", "ctrl+y", "ctrl+z", "esc", `ctrl+\`, "ctrl+]", "ctrl+^", "ctrl+_",
	"backspace", " ",
	"up", "down", "right", "left", "shift+tab", "home", "end", "pgup", "pgdown",
	"ctrl+pgup", "ctrl+pgdown", "delete", "insert",
	"ctrl+up", "ctrl+down", "ctrl+right", "ctrl+left", "ctrl+home", "ctrl+end",
	"shift+up", "shift+down", "shift+right", "shift+left", "shift+home", "shift+end",
	"ctrl+shift+up", "ctrl+shift+down", "ctrl+shift+left", "ctrl+shift+right",
	"ctrl+shift+home", "ctrl+shift+end",
	"f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9", "f10",
	"f11", "f12", "f13", "f14", "f15", "f16", "f17", "f18", "f19", "f20",
)

// keyHints names what Bubble Tea reports for keys people commonly write
// another way.
var keyHints = map[string]string{
	"return": "enter", "ctrl+m": "enter", "escape": "esc", "ctrl+[": "esc",
	"ctrl+i": "tab", "del": "delete", "ins": "insert", "bs": "backspace",
	"bksp": "backspace", "ctrl+?": "backspace", "pageup": "pgup", "pagedown": "pgdown",
	"pgdn": "pgdown", "page_up": "pgup", "page_down": "pgdown",
	"arrowup": "up", "arrowdown": "down", "arrowleft": "left", "arrowright": "right",
}

// keyCandidates are what a misspelt key name is compared with.
var keyCandidates = func() map[string]bool {
	m := setOf()
	for k := range teaKeyNames {
		m[k] = true
	}
	for k := range keyHints {
		m[k] = true
	}
	return m
}()

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// normalizeKey checks one key name from the file and returns it as Bubble
// Tea spells it. Named keys are accepted in any case ("Enter", "F1") and
// "space" stands for " ", the name Bubble Tea gives the space bar; single
// characters keep their case, since "A" and "a" are different keys.
func normalizeKey(name string) (string, error) {
	prefix, rest := "", name
	if len(name) > len("alt+") && strings.EqualFold(name[:4], "alt+") {
		prefix, rest = "alt+", name[4:]
	}
	if utf8.RuneCountInString(rest) == 1 {
		r, _ := utf8.DecodeRuneInString(rest)
		switch {
		case r >= '0' && r <= '9' && prefix == "":
			return "", fmt.Errorf("%q cannot be bound: digits 0-9 always type digits", name)
		case r == ' ':
			return prefix + " ", nil
		case r == utf8.RuneError || !unicode.IsPrint(r):
			return "", fmt.Errorf("%q is not a key name or a printable character", name)
		}
		return prefix + rest, nil
	}
	lower := strings.ToLower(rest)
	if lower == "space" {
		return prefix + " ", nil
	}
	if teaKeyNames[lower] {
		return prefix + lower, nil
	}
	msg := fmt.Sprintf("unknown key name %q", name)
	if h, ok := keyHints[lower]; ok {
		return "", fmt.Errorf("%s: the terminal reports that key as %q", msg, prefix+h)
	}
	if s := closest(lower, keyCandidates); s != "" {
		if h, ok := keyHints[s]; ok {
			s = h
		}
		return "", fmt.Errorf("%s; did you mean %q?", msg, prefix+s)
	}
	return "", fmt.Errorf(`%s (use names such as "enter", "esc", "f1", "ctrl+q", or one character such as "*")`, msg)
}

// keyDisplay shows a key name in a message; the space bar's name is a
// blank, which reads as nothing.
func keyDisplay(k string) string {
	if strings.HasSuffix(k, " ") {
		return fmt.Sprintf("%q (space)", k)
	}
	return fmt.Sprintf("%q", k)
}

// closest returns the candidate within edit distance 2 of s, if exactly one
// is nearest; "" otherwise.
func closest(s string, candidates map[string]bool) string {
	best, bestD, tie := "", 3, false
	for c := range candidates {
		if strings.TrimSpace(c) == "" {
			continue
		}
		d := editDistance(s, c)
		switch {
		case d < bestD:
			best, bestD, tie = c, d, false
		case d == bestD && c != best:
			tie = true
		}
	}
	if tie {
		return ""
	}
	return best
}

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 {
		return 99 // not a typo of a key name; avoid quadratic work on garbage
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
