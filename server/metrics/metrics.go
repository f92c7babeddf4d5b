package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// buckets span a cache-hit read (1ms) to a channel call that runs into its
// 30s timeout, so both HTTP and channel latencies land inside the range.
var buckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// Metrics is posserver's set of Prometheus metrics. The zero value is not
// usable; build one with New, or use a nil *Metrics to record nothing.
type Metrics struct {
	reg     *prometheus.Registry
	handler http.Handler

	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	inFlight      prometheus.Gauge
	transactions  *prometheus.CounterVec
	channelCalls  *prometheus.HistogramVec
	notifications *prometheus.CounterVec
	sweeps        *prometheus.CounterVec
	replays       *prometheus.CounterVec
	terminals     prometheus.Gauge
}

// New builds the metrics on a fresh registry, together with the Go runtime
// and process collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "multipos_http_requests_total",
			Help: "HTTP requests served, by route pattern and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "multipos_http_request_duration_seconds",
			Help:    "Time to serve an HTTP request, by route pattern.",
			Buckets: buckets,
		}, []string{"route"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "multipos_http_requests_in_flight",
			Help: "HTTP requests being served right now, long-polls included.",
		}),
		transactions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "multipos_transactions_total",
			Help: "Transactions that reached a state, by channel and state.",
		}, []string{"channel", "state"}),
		channelCalls: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "multipos_channel_call_duration_seconds",
			Help:    "Duration of calls to a payment channel, by channel, operation and outcome.",
			Buckets: buckets,
		}, []string{"channel", "op", "outcome"}),
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "multipos_notifications_total",
			Help: "Wallet notifications received, by channel and what was done with them.",
		}, []string{"channel", "result"}),
		sweeps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "multipos_sweeper_actions_total",
			Help: "Actions taken by the background sweeper, by action.",
		}, []string{"action"}),
		replays: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "multipos_idempotent_replays_total",
			Help: "Retried requests answered from the idempotency journal, by result.",
		}, []string{"result"}),
		terminals: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "multipos_terminals_online",
			Help: "Terminals currently connected to this server.",
		}),
	}
	// MustRegister can only fail on a programming error here (a duplicate
	// or malformed metric in the list above): the registry is brand new.
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.duration, m.inFlight,
		m.transactions, m.channelCalls, m.notifications,
		m.sweeps, m.replays, m.terminals,
	)
	// Built once so that repeated Handler calls share one handler instead
	// of each trying to register the handler's own error counter again.
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
	return m
}

// Handler serves the metrics in the Prometheus exposition format, for
// GET /metrics. On a nil *Metrics it answers 404, as if the route did not
// exist.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return m.handler
}

// Registry returns the registry the metrics live in, so callers can add
// their own collectors; nil on a nil *Metrics.
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.reg
}

// Wrap instruments h as the given route. route must be the mux pattern,
// not the request path, to keep the label set bounded.
func (m *Metrics) Wrap(route string, h http.Handler) http.Handler {
	if m == nil {
		return h
	}
	// Resolved once here, not per request: the route never changes.
	duration := m.duration.WithLabelValues(route)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.inFlight.Inc()
		// Deferred so a panicking handler does not leave the gauge stuck
		// high; the counter and histogram are not, since no status was
		// decided for a request net/http is about to abort.
		defer m.inFlight.Dec()
		start := time.Now()

		var (
			rw  http.ResponseWriter
			rec *recorder
		)
		// Streaming handlers (the order long-poll) need Flush, so the
		// wrapper offers it exactly when the real writer does.
		if _, ok := w.(http.Flusher); ok {
			f := &flushRecorder{recorder: recorder{ResponseWriter: w, status: http.StatusOK}}
			rw, rec = f, &f.recorder
		} else {
			rec = &recorder{ResponseWriter: w, status: http.StatusOK}
			rw = rec
		}

		h.ServeHTTP(rw, r)

		duration.Observe(time.Since(start).Seconds())
		m.requests.WithLabelValues(route, codeLabel(rec.status)).Inc()
	})
}

// Transaction counts a transaction reaching state on channel.
func (m *Metrics) Transaction(channel, state string) {
	if m == nil {
		return
	}
	m.transactions.WithLabelValues(channel, state).Inc()
}

// ChannelCall observes one call of operation op to a payment channel that
// took d and ended with outcome ("ok", "declined", "unknown", "error").
func (m *Metrics) ChannelCall(channel, op, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.channelCalls.WithLabelValues(channel, op, outcome).Observe(d.Seconds())
}

// Notification counts a wallet notification from channel and what became
// of it ("applied", "duplicate", "refused").
func (m *Metrics) Notification(channel, result string) {
	if m == nil {
		return
	}
	m.notifications.WithLabelValues(channel, result).Inc()
}

// Sweep counts one sweeper action ("closed", "reversed", "settled",
// "deferred").
func (m *Metrics) Sweep(action string) {
	if m == nil {
		return
	}
	m.sweeps.WithLabelValues(action).Inc()
}

// Replay counts a retried request answered from the idempotency journal:
// "replayed" when it matched the original, "conflict" when it did not.
func (m *Metrics) Replay(result string) {
	if m == nil {
		return
	}
	m.replays.WithLabelValues(result).Inc()
}

// SetTerminalsOnline records how many terminals are connected.
func (m *Metrics) SetTerminalsOnline(n int) {
	if m == nil {
		return
	}
	m.terminals.Set(float64(n))
}

// codeLabels holds the text of every valid status code so that labelling a
// request does not format an integer on each call.
var codeLabels = func() [500]string {
	var t [500]string
	for i := range t {
		t[i] = strconv.Itoa(i + 100)
	}
	return t
}()

func codeLabel(code int) string {
	if code >= 100 && code < 600 {
		return codeLabels[code-100]
	}
	return strconv.Itoa(code)
}

// recorder remembers the status net/http actually sends. status starts at
// 200 because that is what goes out when a handler never calls WriteHeader.
type recorder struct {
	http.ResponseWriter
	status int
	// final is set once the status line is on the wire; later WriteHeader
	// calls are ignored by net/http and must be ignored here too.
	final bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.final {
		r.status = code
		// Interim 1xx responses (103 Early Hints) precede the real status;
		// 101 is final because the connection stops speaking HTTP.
		r.final = code >= 200 || code == http.StatusSwitchingProtocols
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.final = true
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer for deadlines
// and hijacking, which this wrapper does not reimplement.
func (r *recorder) Unwrap() http.ResponseWriter {
	return r.ResponseWriter
}

// flushRecorder is a recorder for writers that can flush. It is a separate
// type because a Flush method on recorder itself would claim support that
// the real writer may lack.
type flushRecorder struct {
	recorder
}

func (f *flushRecorder) Flush() {
	// Flushing sends the headers, fixing whatever status is set by then.
	f.final = true
	f.ResponseWriter.(http.Flusher).Flush()
}
