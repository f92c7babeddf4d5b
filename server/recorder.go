package server

import (
	"net/http"
	"time"
)

// Metrics is what the server records about itself. posserver passes the
// Prometheus set of package server/metrics; the server depends on this
// interface only, so that a program running a server in-process without
// metrics (the cashier app's demo) links no Prometheus client.
type Metrics interface {
	// Handler serves GET /metrics.
	Handler() http.Handler
	// Wrap instruments h as route (the mux pattern, never the raw path).
	Wrap(route string, h http.Handler) http.Handler
	Transaction(channel, state string)
	ChannelCall(channel, op, outcome string, d time.Duration)
	Notification(channel, result string)
	Sweep(action string)
	Replay(result string)
	SetTerminalsOnline(n int)
}

// noMetrics records nothing and serves no /metrics (404, as if the route
// did not exist).
type noMetrics struct{}

func (noMetrics) Handler() http.Handler                             { return http.NotFoundHandler() }
func (noMetrics) Wrap(_ string, h http.Handler) http.Handler        { return h }
func (noMetrics) Transaction(string, string)                        {}
func (noMetrics) ChannelCall(string, string, string, time.Duration) {}
func (noMetrics) Notification(string, string)                       {}
func (noMetrics) Sweep(string)                                      {}
func (noMetrics) Replay(string)                                     {}
func (noMetrics) SetTerminalsOnline(int)                            {}
