package acquirer

import (
	"fmt"
	"net/http"
	"time"
)

// Now is the host's business clock (China Standard Time): Options.Now
// moved ahead by Advance.
func (h *Host) Now() time.Time { return h.opts.Now() }

// Advance moves the host's business clock ahead by d, as a trainer or a
// test ends the day without waiting for midnight; the day cut it crosses
// happens at once (the settlement file of the day left is produced), not
// at the next request.
func (h *Host) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	h.offset.Add(int64(d))
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.day.IsZero() {
		h.closeDay()
	}
	h.log.Info("control: clock advanced", "by", d, "now", h.opts.Now().Format(time.RFC3339))
}

// ControlClock is the body of POST /control/clock: advance, a Go
// duration such as "27h".
type ControlClock struct {
	Advance string `json:"advance"`
}

func (h *Host) controlClock(w http.ResponseWriter, r *http.Request) {
	var c ControlClock
	if !controlBody(w, r, &c) {
		return
	}
	d, err := time.ParseDuration(c.Advance)
	if err != nil || d <= 0 {
		controlJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("advance %q: want a positive duration such as 27h", c.Advance)})
		return
	}
	h.Advance(d)
	controlJSON(w, http.StatusOK, map[string]string{"now": h.Now().Format(time.RFC3339)})
}
