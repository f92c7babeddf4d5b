package server

import (
	"context"
	"net/http"
	"time"
)

// SetReady says whether the server takes terminals' requests: true once it
// listens, false as soon as it starts shutting down, so that a load
// balancer stops sending before connections close.
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

// OpsHandler serves the operators' endpoints, on a listener of their own
// (terminal API requests need a terminal certificate; these must not):
//   - GET /healthz: the process is alive (200);
//   - GET /readyz: it takes requests and its database answers (200), else 503;
//   - GET /metrics: Prometheus metrics.
func (s *Server) OpsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !s.ready.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("not ready: starting or shutting down\n"))
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.st.Ping(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("not ready: database: " + err.Error() + "\n"))
			return
		}
		w.Write([]byte("ready\n"))
	})
	mux.Handle("GET /metrics", s.metrics.Handler())
	return mux
}
