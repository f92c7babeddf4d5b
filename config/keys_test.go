package config

import (
	"slices"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
)

// The key names config accepts are exactly those Bubble Tea reports: any
// KeyType whose String() is a name (KeyRunes prints its runes instead).
func TestKeyNamesMatchBubbleTea(t *testing.T) {
	fromTea := map[string]bool{}
	for k := -1000; k <= 1000; k++ {
		if s := (tea.Key{Type: tea.KeyType(k)}).String(); s != "" && k != int(tea.KeyRunes) {
			fromTea[s] = true
		}
	}
	for name := range fromTea {
		if !teaKeyNames[name] {
			t.Errorf("Bubble Tea reports %q; add it to teaKeyNames", name)
		}
	}
	for name := range teaKeyNames {
		if !fromTea[name] {
			t.Errorf("teaKeyNames has %q, which Bubble Tea never reports", name)
		}
	}
	// Alt and single characters as Bubble Tea spells them.
	for _, k := range []tea.Key{
		{Type: tea.KeyRunes, Runes: []rune{'*'}},
		{Type: tea.KeyRunes, Runes: []rune{'x'}, Alt: true},
		{Type: tea.KeyEnter, Alt: true},
		{Type: tea.KeySpace, Runes: []rune{' '}},
		{Type: tea.KeyRunes, Runes: []rune{'¥'}},
	} {
		got, err := normalizeKey(k.String())
		if err != nil || got != k.String() {
			t.Errorf("normalizeKey(%q) = %q, %v; want it unchanged", k.String(), got, err)
		}
	}
}

func TestNormalizeKey(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"enter", "enter"}, {"Enter", "enter"}, {"F12", "f12"}, {"CTRL+Q", "ctrl+q"},
		{"space", " "}, {" ", " "}, {"alt+space", "alt+ "}, {"ALT+x", "alt+x"}, {"alt+X", "alt+X"},
		{"A", "A"}, {"a", "a"}, {"*", "*"}, {"#", "#"}, {".", "."}, {"alt+1", "alt+1"},
		{"+", "+"}, {"shift+tab", "shift+tab"}, {`ctrl+\`, `ctrl+\`}, {"f20", "f20"}, {"ctrl+h", "ctrl+h"},
	} {
		got, err := normalizeKey(c.in)
		if err != nil || got != c.want {
			t.Errorf("normalizeKey(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "0", "9", "f21", "ctrl+m", "ctrl+i", "ctrl+1", "alt+", "shift+f1", "\t", "\x1b", "enterr", "ab", "\xff"} {
		if got, err := normalizeKey(bad); err == nil {
			t.Errorf("normalizeKey(%q) = %q, want an error", bad, got)
		}
	}
}

func TestClosest(t *testing.T) {
	names := setOf("confirm", "cancel", "delete")
	if got := closest("confrim", names); got != "confirm" {
		t.Errorf("closest(confrim) = %q", got)
	}
	if got := closest("zzzzzz", names); got != "" {
		t.Errorf("closest(zzzzzz) = %q, want none", got)
	}
	if got := closest("f21", teaKeyNames); got != "" {
		t.Errorf("closest(f21) = %q; f2, f1 and f11 tie, so none should be suggested", got)
	}
	if !slices.Contains(channelNames, "card") {
		t.Error("channelNames lacks card")
	}
}
