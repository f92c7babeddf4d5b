package server

import (
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/multipos/multipos/api"
)

// seenEvery bounds how often a terminal's heartbeat is written to the
// database: terminals beat every few seconds, the list shows minutes.
const seenEvery = 15 * time.Second

// OnlineWindow is how recent a heartbeat must be for a terminal to count
// as online.
const OnlineWindow = time.Minute

// undeliveredAfter is how long a result must have been final before a
// heartbeat offers it again: a terminal normally sees it by its long-poll.
const undeliveredAfter = 10 * time.Second

// undeliveredFor is how far back results are offered again.
const undeliveredFor = 24 * time.Hour

type seenTimes struct {
	mu sync.Mutex
	m  map[string]time.Time
}

// due reports whether the terminal's heartbeat should be written now.
func (st *seenTimes) due(key string, now time.Time) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if last, ok := st.m[key]; ok && now.Sub(last) < seenEvery {
		return false
	}
	st.m[key] = now
	return true
}

// heartbeat is POST /v1/heartbeat: the terminal is alive, acknowledges the
// results it has shown, and learns of final results it has not. Naturally
// idempotent (an acknowledgement repeated changes nothing), so it needs no
// request id.
func (s *Server) heartbeat(r *http.Request, t *terminal) (int, any, error) {
	var hb api.Heartbeat
	if err := decode(r, &hb); err != nil {
		return 0, nil, err
	}
	if len(hb.Acks) > 100 || len(hb.AppVersion) > 64 {
		return 0, nil, badRequest("at most 100 acknowledgements and a version of 64 characters")
	}
	ctx := r.Context()
	now := s.now()
	if err := s.st.MarkDelivered(ctx, t.ID, hb.Acks, now); err != nil {
		return 0, nil, err
	}
	ans := api.HeartbeatAnswer{ServerTime: now}
	if len(hb.Acks) == 0 && !s.seen.due(t.ID, now) {
		return http.StatusOK, ans, nil
	}
	addr, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		addr = r.RemoteAddr
	}
	if err := s.st.Seen(ctx, t.ID, addr, hb.AppVersion, now); err != nil {
		return 0, nil, err
	}
	ans.Undelivered, err = s.st.Undelivered(ctx, t.ID, now.Add(-undeliveredFor), now.Add(-undeliveredAfter), 20)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, ans, nil
}
