package config

import (
	"fmt"
	"strings"
	"time"
)

// DefaultSettleCutoff is when posserver settles, by itself, the card
// batches left open (settle_cutoff), in the business day's zone.
const DefaultSettleCutoff = "23:00"

// SettleCutoffOff turns the cut-off settlement off.
const SettleCutoffOff = "off"

// ParseCutoff reads a settle_cutoff: "HH:MM" (00:00 to 23:59) is the time
// of day in the business zone, as an offset from midnight; "off" is
// on == false.
func ParseCutoff(s string) (at time.Duration, on bool, err error) {
	v := strings.TrimSpace(s)
	if strings.EqualFold(v, SettleCutoffOff) {
		return 0, false, nil
	}
	t, err := time.Parse("15:04", v)
	if err != nil || len(v) != 5 {
		return 0, false, fmt.Errorf("settle_cutoff: %q is not a time of day as HH:MM (e.g. %q) nor %q", s, DefaultSettleCutoff, SettleCutoffOff)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, true, nil
}

// checkDay checks the settings of the business day: its zone and the
// card batches' cut-off in it.
func checkDay(p *problems, s *Server) {
	if _, err := s.Zone(); err != nil {
		p.at(path("business_zone"), "%v", err)
	}
	if _, _, err := ParseCutoff(s.SettleCutoff); err != nil {
		p.at(path("settle_cutoff"), "%v", err)
	}
}
