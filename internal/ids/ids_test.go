package ids

import (
	"strings"
	"testing"
)

// Ids are 26 lowercase letters and digits (base32 of 128 random bits), and
// do not repeat.
func TestNew(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := New()
		if len(id) != 26 || strings.Trim(id, "abcdefghijklmnopqrstuvwxyz234567") != "" || seen[id] {
			t.Fatalf("id %q (seen before: %v)", id, seen[id])
		}
		seen[id] = true
	}
	if id := Prefixed("adj"); !strings.HasPrefix(id, "adj") || len(id) != 29 {
		t.Fatalf("prefixed id %q", id)
	}
}
