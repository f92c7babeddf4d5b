package config

import (
	"fmt"
	"strings"
	"time"
)

// Zone is the zone of the chain's business day (business_zone). Checked
// when the file is loaded; a program that reads it must know the IANA
// database without the machine's (posserver imports time/tzdata).
func (s Server) Zone() (*time.Location, error) {
	name := strings.TrimSpace(s.BusinessZone)
	switch name {
	case "":
		return nil, fmt.Errorf("business_zone: must name the chain's time zone, e.g. %q", DefaultBusinessZone)
	case "Local":
		// "Local" is the server machine's zone: the very thing that must
		// not decide where the chain's day ends.
		return nil, fmt.Errorf("business_zone: %q would follow the server machine's clock; name the chain's zone, e.g. %q", name, DefaultBusinessZone)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("business_zone: %q is not a known time zone; use an IANA name such as %q or \"UTC\"", s.BusinessZone, DefaultBusinessZone)
	}
	return loc, nil
}
