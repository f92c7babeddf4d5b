package config

import "testing"

func TestLocate(t *testing.T) {
	src := "\ufeff# comment [not] = 1\n" + // 1
		"lang = \"zh\" # trailing = comment\n" + // 2
		"note = \"\"\"\n" + // 3
		"[fake]\n" + // 4: inside a multi-line string
		"x = 1\"\"\"\n" + // 5
		"[keys]\n" + // 6
		"confirm = [\n" + // 7
		"  \"enter\", # first\n" + // 8
		"  'space',\n" + // 9
		"]\n" + // 10
		"\"quoted.key\" = 1\n" + // 11
		"a.b.c = 2\n" + // 12
		"[[terminals]]\n" + // 13
		"id = \"T1\"\n" + // 14
		"[[terminals]]\n" + // 15
		"id = \"T2\"\n" + // 16
		"[terminals.extra]\n" + // 17
		"printer = { kind = \"file\", sub = { width = 48 } }\n" + // 18
		"list = [ { id = \"x\" }, { id = \"y\" } ]\n" + // 19
		"when = 1979-05-27 07:32:00Z\n" + // 20
		"pi = 3.14\n" + // 21
		"after = true\n" // 22
	l := locate(src)
	for _, c := range []struct {
		path []any
		want int
	}{
		{path("lang"), 2},
		{path("note"), 3},
		{path("fake"), 0},
		{path("keys"), 6},
		{path("keys", "confirm"), 7},
		{path("keys", "confirm", 0), 8},
		{path("keys", "confirm", 1), 9},
		{path("keys", "confirm", 5), 7}, // falls back to the deepest known part
		{path("keys", "quoted.key"), 11},
		{path("keys", "a", "b", "c"), 12},
		{path("keys", "a"), 12},
		{path("terminals", 0, "id"), 14},
		{path("terminals", 1, "id"), 16},
		{path("terminals", 1), 15},
		{path("terminals", 1, "extra"), 17},
		{path("terminals", 1, "extra", "printer", "kind"), 18},
		{path("terminals", 1, "extra", "printer", "sub", "width"), 18},
		{path("terminals", 1, "extra", "list", 1, "id"), 19},
		{path("terminals", 1, "extra", "when"), 20},
		{path("terminals", 1, "extra", "pi"), 21},
		{path("terminals", 1, "extra", "after"), 22},
		{path("nothing"), 0},
	} {
		if got := l.line(c.path...); got != c.want {
			t.Errorf("line(%v) = %d, want %d", c.path, got, c.want)
		}
	}
	// MetaData names keys in arrays of tables without indices.
	if got := l.loose["terminals.id"]; len(got) != 2 || got[0] != 14 || got[1] != 16 {
		t.Errorf("loose terminals.id = %v, want [14 16]", got)
	}
	if got := l.loose["keys.a"]; len(got) != 1 {
		t.Errorf("loose keys.a = %v; an implicit table is defined once", got)
	}
}
