package money

import "testing"

func TestString(t *testing.T) {
	for f, want := range map[Fen]string{0: "0.00", 5: "0.05", 1234: "12.34", -5: "-0.05", 100: "1.00"} {
		if got := f.String(); got != want {
			t.Errorf("%d → %q, want %q", int64(f), got, want)
		}
	}
	if got := Fen(1234567).Yuan(); got != "¥12,345.67" {
		t.Errorf("Yuan = %q", got)
	}
	if got := Fen(100000000).Grouped(); got != "1,000,000.00" {
		t.Errorf("Grouped = %q", got)
	}
}

func TestParse(t *testing.T) {
	for s, want := range map[string]Fen{"12": 1200, "12.3": 1230, "12.34": 1234, "0.01": 1, "50,000.00": 5000000} {
		got, err := Parse(s)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "1.234", "-1", "1e3", "abc", "12.", ".5", "1000000000000"} {
		if _, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) accepted", s)
		}
	}
}
