package server

import (
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/multipos/multipos/api"
)

// Refused requests (4xx) are logged, so that an operator sees a terminal
// with an old bundle, a wrong clock or a bug, and anyone probing the API.
// A terminal stuck in a loop, or a flood, must not fill the disk, though:
// each terminal (or remote address, before a terminal is known) gets
// refusalBurst lines at once and then one per refusalEvery, all of them
// together refusalAllBurst at once and one per refusalAllEvery, and what is
// left out is counted and reported as "N more refusals suppressed".
const (
	refusalBurst    = 10
	refusalEvery    = 10 * time.Second
	refusalAllBurst = 100
	refusalAllEvery = 50 * time.Millisecond
	// refusalMaxKeys bounds the limiter's memory; past it, new senders
	// share one bucket.
	refusalMaxKeys = 10000
	refusalOthers  = "(others)"
)

// refusalLog rate-limits the refusal lines. It is safe for concurrent use.
type refusalLog struct {
	log      *slog.Logger
	now      func() time.Time
	schedule func(time.Duration, func()) // runs the summary later
	burst    float64
	every    time.Duration

	mu        sync.Mutex
	keys      map[string]*refusalBucket
	all       refusalBucket
	scheduled bool // a summary of suppressed lines is due
}

// refusalBucket is a token bucket: tokens refill at one per interval up to
// the burst; a line takes one.
type refusalBucket struct {
	tokens     float64
	last       time.Time
	suppressed int
	terminal   bool // the key is a terminal id, not a remote address
}

func (b *refusalBucket) take(now time.Time, every time.Duration, burst float64) bool {
	if b.last.IsZero() {
		b.tokens = burst
	} else {
		b.tokens = min(burst, b.tokens+float64(now.Sub(b.last))/float64(every))
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	return false
}

func newRefusalLog(log *slog.Logger) *refusalLog {
	return &refusalLog{log: log, now: time.Now, burst: refusalBurst, every: refusalEvery, keys: map[string]*refusalBucket{},
		schedule: func(d time.Duration, f func()) { time.AfterFunc(d, f) }}
}

// allow reports whether a refusal from key may be logged now, counting it
// as suppressed otherwise.
func (l *refusalLog) allow(key string, terminal bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.keys[key]
	if b == nil {
		if len(l.keys) >= refusalMaxKeys {
			l.prune(now)
		}
		if len(l.keys) >= refusalMaxKeys {
			key, terminal = refusalOthers, false
		}
		if b = l.keys[key]; b == nil {
			b = &refusalBucket{terminal: terminal}
			l.keys[key] = b
		}
	}
	if b.take(now, l.every, l.burst) && l.all.take(now, refusalAllEvery, refusalAllBurst) {
		return true
	}
	b.suppressed++
	if !l.scheduled {
		l.scheduled = true
		l.schedule(l.every, l.flush)
	}
	return false
}

// flush writes one summary line per key with suppressed refusals, at most
// once per interval per key, however long a flood lasts.
func (l *refusalLog) flush() {
	type summary struct {
		key      string
		terminal bool
		n        int
	}
	var out []summary
	l.mu.Lock()
	for key, b := range l.keys {
		if b.suppressed > 0 {
			out = append(out, summary{key, b.terminal, b.suppressed})
			b.suppressed = 0
		}
	}
	l.scheduled = false
	l.prune(l.now())
	l.mu.Unlock()
	for _, s := range out {
		who := "remote"
		if s.terminal {
			who = "terminal"
		}
		l.log.Warn(fmt.Sprintf("%d more refusals suppressed", s.n), who, s.key, "suppressed", s.n)
	}
}

// prune forgets senders whose buckets are full again and owe no summary:
// they would start afresh anyway. The caller holds l.mu.
func (l *refusalLog) prune(now time.Time) {
	idle := time.Duration(l.burst) * l.every
	for key, b := range l.keys {
		if b.suppressed == 0 && now.Sub(b.last) >= idle {
			delete(l.keys, key)
		}
	}
}

// refused logs a refused request: method, route pattern, status, error
// code, terminal and remote address. Never the body, the query or the
// message, which may quote what the terminal sent (a card number, a
// payment code).
func (s *Server) refused(r *http.Request, tid string, status int, code string) {
	if tid == "" {
		tid = certTerminal(r)
	}
	key := tid
	if key == "" {
		key = remoteHost(r.RemoteAddr)
	}
	if !s.refusals.allow(key, tid != "") {
		return
	}
	route := r.Pattern
	if route == "" {
		route = "(none)"
	}
	attrs := []any{"method", r.Method, "route", route, "status", status, "code", code, "remote", r.RemoteAddr}
	if tid != "" {
		attrs = append(attrs, "terminal", tid)
	}
	s.log.Warn("request refused", attrs...)
}

// certTerminal is the terminal id (common name) of the request's verified
// client certificate, for a request refused before the terminal was
// authenticated; "" without one.
func certTerminal(r *http.Request) string {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return ""
	}
	cn := r.TLS.VerifiedChains[0][0].Subject.CommonName
	if len(cn) > 64 {
		cn = cn[:64]
	}
	return cn
}

func remoteHost(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// checkContentType refuses a body that does not say it is JSON (415): the
// API reads nothing else, and a client sending a form or text is better
// told so than handed a JSON syntax error. A request without a body (GET,
// a POST such as cancel) needs no Content-Type.
func checkContentType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if r.ContentLength == 0 || ct == "application/json" { // what the station sends: no parsing on the hot path
		return nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err == nil && mt == "application/json" {
		if cs, ok := params["charset"]; !ok || strings.EqualFold(cs, "utf-8") {
			return nil
		}
	}
	return &api.Error{Status: http.StatusUnsupportedMediaType, Code: api.CodeUnsupportedMediaType,
		Message: "the body must be JSON, sent with Content-Type: application/json"}
}
