package config

import (
	"testing"
	"time"
)

func TestParseCutoff(t *testing.T) {
	for _, c := range []struct {
		in string
		at time.Duration
		on bool
	}{{"23:00", 23 * time.Hour, true}, {"00:30", 30 * time.Minute, true}, {" 21:15 ", 21*time.Hour + 15*time.Minute, true}, {"off", 0, false}, {"OFF", 0, false}} {
		at, on, err := ParseCutoff(c.in)
		if err != nil || at != c.at || on != c.on {
			t.Errorf("%q: %v %v %v", c.in, at, on, err)
		}
	}
	for _, bad := range []string{"", "23", "2300", "23:60", "7:00", "-1:00", "23:00:00"} {
		if _, _, err := ParseCutoff(bad); err == nil {
			t.Errorf("%q taken", bad)
		}
	}
	s, err := parseServer("posserver.toml", "")
	if err != nil || s.SettleCutoff != DefaultSettleCutoff {
		t.Fatalf("default: %q, %v", s.SettleCutoff, err)
	}
	if s, err := parseServer("posserver.toml", "settle_cutoff = \"off\"\n"); err != nil || s.SettleCutoff != "off" {
		t.Fatalf("off: %q, %v", s.SettleCutoff, err)
	}
}
