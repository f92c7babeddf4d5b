package server

import (
	"time"

	"github.com/multipos/multipos/config"
)

// DefaultZone is Options.Zone's default, Beijing time. Without the IANA
// database (posserver imports time/tzdata; another program may not), Beijing time as a fixed zone: China has kept no summer time since
// 1991. It keeps the IANA name, so that a station told the zone (which
// knows Asia/Shanghai) reads it as Beijing time.
func DefaultZone() *time.Location {
	if loc, err := time.LoadLocation(config.DefaultBusinessZone); err == nil {
		return loc
	}
	return time.FixedZone(config.DefaultBusinessZone, 8*3600)
}

// day is the business day a time belongs to ("2006-01-02"), in the
// chain's zone: not the server clock's nor the database's.
func (s *Server) day(t time.Time) string {
	return t.In(s.opts.Zone).Format("2006-01-02")
}

// mmdd is the business day of t as an acquirer dates its messages (MMDD).
func (s *Server) mmdd(t time.Time) string {
	return t.In(s.opts.Zone).Format("0102")
}
