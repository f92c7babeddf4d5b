package dayend

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// DefaultAt is when the daily run starts, in the business zone: the
// channels cut the previous day's bills in the morning.
const DefaultAt = "10:30"

// ParseAt reads a daily run time, "HH:MM"; "off" (or "") is no daily run
// (ok false).
func ParseAt(s string) (at time.Duration, ok bool, err error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "off" {
		return 0, false, nil
	}
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, false, fmt.Errorf("reconcile_at %q: want HH:MM (e.g. 10:30) or off", s)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, true, nil
}

// tickEvery is how often the daily loop looks whether a run is due.
const tickEvery = time.Minute

// Daily reconciles the previous business day of every channel once a day,
// from at (time of day in the business zone) on, until ctx ends. Every
// instance may run it: the claim in the database lets one run each day and
// channel; a bill not ready is tried again every RetryEvery until the
// run's deadline.
func (r *Runner) Daily(ctx context.Context, at time.Duration) {
	t := time.NewTicker(tickEvery)
	defer t.Stop()
	for {
		r.DueRuns(ctx, at)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// DueRuns runs what is due now: yesterday's run of each channel once the
// day's run time has come (and any of them waiting and due again).
func (r *Runner) DueRuns(ctx context.Context, at time.Duration) {
	now := r.o.Now().In(r.o.Zone)
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, r.o.Zone)
	if now.Before(midnight.Add(at)) {
		return
	}
	day := midnight.AddDate(0, 0, -1).Format("2006-01-02")
	for _, ch := range r.Channels() {
		if ctx.Err() != nil {
			return
		}
		res, err := r.Run(ctx, Request{Day: day, Channel: ch})
		if err != nil {
			r.o.Logger.Error("daily reconciliation", "day", day, "channel", ch, "err", err)
			continue
		}
		if res.Taken {
			r.o.Logger.Info("daily reconciliation", "day", day, "channel", ch, "status", res.Run.Status)
		}
	}
}
