package config

import (
	"testing"
	_ "time/tzdata" // as in posserver: the zones without the machine's database
)

// business_zone defaults to Beijing time and takes any IANA zone.
func TestBusinessZone(t *testing.T) {
	if d := DefaultServer(); d.BusinessZone != "Asia/Shanghai" {
		t.Fatalf("default business_zone %q", d.BusinessZone)
	}
	loc, err := DefaultServer().Zone()
	if err != nil || loc.String() != "Asia/Shanghai" {
		t.Fatalf("default zone %v, %v", loc, err)
	}
	v, msg := load(t, "posserver.toml", "business_zone = \"Europe/Berlin\"\n")
	if msg != "" {
		t.Fatal(msg)
	}
	s := v.(Server)
	if loc, err := s.Zone(); s.BusinessZone != "Europe/Berlin" || err != nil || loc.String() != "Europe/Berlin" {
		t.Fatalf("business_zone %q: %v, %v", s.BusinessZone, loc, err)
	}
	// A typo is refused at load, not found out at midnight.
	if _, msg := load(t, "posserver.toml", "business_zone = \"Asia/Beijing\"\n"); msg == "" {
		t.Fatal("Asia/Beijing (not an IANA zone) was taken")
	}
}
