package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	long := "package p\n\nfunc long() {\n" + strings.Repeat("\t_ = 1\n", 80) + "}\n\nfunc short() {}\n"
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("long.go", long)
	write("long_test.go", long) // tests aside
	write("big.go", "package p\n"+strings.Repeat("\n", 601))
	got, err := check(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !strings.Contains(got[0], "big.go: 602 lines") || !strings.Contains(got[1], "long.go:3: long is 82 lines") {
		t.Fatalf("offences = %q", got)
	}
}
