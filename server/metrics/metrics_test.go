package metrics

import (
	"bufio"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// scrape fetches the exposition text the way Prometheus would: a real GET
// against a real server.
func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape status = %d, want 200", resp.StatusCode)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read scrape: %v", err)
	}
	return string(body)
}

func wantLines(t *testing.T, text string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(text, "\n"+l+"\n") {
			t.Errorf("scrape lacks line %q", l)
		}
	}
}

func TestWrapRecordsRoutesStatusesAndDurations(t *testing.T) {
	m := New()
	release := make(chan struct{})
	flushed := make(chan bool, 1)

	mux := http.NewServeMux()
	mux.Handle("POST /v1/orders", m.Wrap("POST /v1/orders", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
	})))
	mux.Handle("GET /v1/orders/{id}", m.Wrap("GET /v1/orders/{id}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "order "+r.PathValue("id"))
		w.WriteHeader(http.StatusInternalServerError) // too late: 200 went out with the body
	})))
	mux.Handle("GET /v1/orders/{id}/wait", m.Wrap("GET /v1/orders/{id}/wait", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := w.(http.Flusher)
		flushed <- ok
		if !ok {
			return
		}
		f.Flush()                                    // headers out at once, as a long-poll does
		w.WriteHeader(http.StatusServiceUnavailable) // too late: the flush sent 200
		_, _ = io.WriteString(w, "pending\n")
		f.Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, "paid\n")
	})))
	mux.Handle("POST /v1/orders/{id}/refund", m.Wrap("POST /v1/orders/{id}/refund", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusEarlyHints)
		w.WriteHeader(http.StatusAccepted)
		w.WriteHeader(http.StatusInternalServerError) // superfluous: 202 is already sent
	})))
	srv := httptest.NewUnstartedServer(mux)
	// The late WriteHeader calls above are deliberate; net/http's warnings
	// about them would only clutter the test output.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	defer srv.Close()

	do := func(method, path string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, nil)
		if err != nil {
			t.Fatalf("new request: %v", err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		return resp
	}
	drain := func(resp *http.Response) {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}

	resp := do("POST", "/v1/orders")
	drain(resp)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /v1/orders status = %d, want 201", resp.StatusCode)
	}
	for _, id := range []string{"ord-1", "ord-2", "ord-3"} {
		drain(do("GET", "/v1/orders/"+id))
	}
	resp = do("POST", "/v1/orders/ord-1/refund")
	drain(resp)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("refund status = %d, want 202", resp.StatusCode)
	}

	// The long-poll: the first line must reach the client while the handler
	// is still blocked, which only happens if Flush went through the wrapper.
	resp = do("GET", "/v1/orders/ord-1/wait")
	if !<-flushed {
		t.Fatal("wrapped writer does not implement http.Flusher")
	}
	br := bufio.NewReader(resp.Body)
	first, err := br.ReadString('\n')
	if err != nil || first != "pending\n" {
		t.Fatalf("first streamed line = %q, %v; want %q", first, err, "pending\n")
	}
	if got := testutil.ToFloat64(m.inFlight); got != 1 {
		t.Errorf("in flight during long-poll = %v, want 1", got)
	}
	close(release)
	rest, err := io.ReadAll(br)
	resp.Body.Close()
	if err != nil || string(rest) != "paid\n" {
		t.Fatalf("rest of stream = %q, %v; want %q", rest, err, "paid\n")
	}

	// net/http ends a response only after the wrapped handler returned, so
	// by now every request has been recorded and none is in flight.
	if got := testutil.ToFloat64(m.inFlight); got != 0 {
		t.Errorf("in flight after all requests = %v, want 0", got)
	}

	cases := []struct {
		route, code string
		want        float64
	}{
		{"POST /v1/orders", "201", 1},
		{"GET /v1/orders/{id}", "200", 3},
		{"GET /v1/orders/{id}/wait", "200", 1},
		{"POST /v1/orders/{id}/refund", "202", 1},
		{"POST /v1/orders/{id}/refund", "103", 0},
		{"POST /v1/orders/{id}/refund", "500", 0},
	}
	for _, c := range cases {
		if got := testutil.ToFloat64(m.requests.WithLabelValues(c.route, c.code)); got != c.want {
			t.Errorf("requests{route=%q,code=%q} = %v, want %v", c.route, c.code, got, c.want)
		}
	}
	// The ToFloat64 probes above created the two zero-valued series; ids in
	// the path must not have added any of their own.
	if got := testutil.CollectAndCount(m.requests); got != len(cases) {
		t.Errorf("request series = %d, want %d (raw paths leaking into labels?)", got, len(cases))
	}
	if got := testutil.CollectAndCount(m.duration); got != 4 {
		t.Errorf("duration series = %d, want one per route (4)", got)
	}

	text := scrape(t, m)
	wantLines(t, text,
		`multipos_http_requests_total{code="201",route="POST /v1/orders"} 1`,
		`multipos_http_requests_total{code="200",route="GET /v1/orders/{id}"} 3`,
		`multipos_http_request_duration_seconds_count{route="POST /v1/orders"} 1`,
		`multipos_http_request_duration_seconds_count{route="GET /v1/orders/{id}"} 3`,
		`multipos_http_request_duration_seconds_bucket{route="POST /v1/orders",le="30"} 1`,
		`multipos_http_requests_in_flight 0`,
	)
	for _, name := range []string{"go_goroutines", "process_start_time_seconds"} {
		if !strings.Contains(text, "\n"+name+" ") {
			t.Errorf("scrape lacks %s from the runtime collectors", name)
		}
	}
}

func TestWrapWithoutFlusherDoesNotClaimOne(t *testing.T) {
	m := New()
	var isFlusher bool
	h := m.Wrap("GET /x", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, isFlusher = w.(http.Flusher)
		w.WriteHeader(http.StatusNoContent)
	}))
	// A bare ResponseWriter with no Flush: the wrapper must not pretend.
	w := struct{ http.ResponseWriter }{httptest.NewRecorder()}
	h.ServeHTTP(w, httptest.NewRequest("GET", "/x", nil))
	if isFlusher {
		t.Error("wrapped writer claims http.Flusher though the real writer lacks it")
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("GET /x", "204")); got != 1 {
		t.Errorf("requests{code=204} = %v, want 1", got)
	}

	// Neither writing nor calling WriteHeader still sends 200.
	silent := m.Wrap("GET /silent", http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	silent.ServeHTTP(struct{ http.ResponseWriter }{httptest.NewRecorder()}, httptest.NewRequest("GET", "/silent", nil))
	if got := testutil.ToFloat64(m.requests.WithLabelValues("GET /silent", "200")); got != 1 {
		t.Errorf("requests{route=GET /silent,code=200} = %v, want 1", got)
	}
}

func TestWrapKeepsGaugeRightWhenHandlerPanics(t *testing.T) {
	m := New()
	h := m.Wrap("GET /boom", http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic(http.ErrAbortHandler)
	}))
	func() {
		defer func() {
			if recover() == nil {
				t.Error("panic was swallowed by Wrap")
			}
		}()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/boom", nil))
	}()
	if got := testutil.ToFloat64(m.inFlight); got != 0 {
		t.Errorf("in flight after panic = %v, want 0", got)
	}
	if got := testutil.CollectAndCount(m.requests); got != 0 {
		t.Errorf("aborted request was counted (%d series)", got)
	}
}

func TestDomainMetrics(t *testing.T) {
	m := New()
	m.Transaction("alipay", "PAID")
	m.Transaction("alipay", "PAID")
	m.Transaction("card", "DECLINED")
	m.ChannelCall("alipay", "pay", "ok", 250*time.Millisecond)
	m.ChannelCall("alipay", "pay", "ok", 2*time.Second)
	m.ChannelCall("card", "sale", "unknown", 30*time.Second)
	m.Notification("wechat", "applied")
	m.Notification("wechat", "duplicate")
	m.Notification("wechat", "duplicate")
	m.Sweep("closed")
	m.Sweep("reversed")
	m.Sweep("closed")
	m.Replay("replayed")
	m.Replay("conflict")
	m.Replay("replayed")
	m.SetTerminalsOnline(7)
	m.SetTerminalsOnline(5)

	counters := []struct {
		name string
		got  float64
		want float64
	}{
		{"transactions alipay/PAID", testutil.ToFloat64(m.transactions.WithLabelValues("alipay", "PAID")), 2},
		{"transactions card/DECLINED", testutil.ToFloat64(m.transactions.WithLabelValues("card", "DECLINED")), 1},
		{"notifications wechat/applied", testutil.ToFloat64(m.notifications.WithLabelValues("wechat", "applied")), 1},
		{"notifications wechat/duplicate", testutil.ToFloat64(m.notifications.WithLabelValues("wechat", "duplicate")), 2},
		{"sweeps closed", testutil.ToFloat64(m.sweeps.WithLabelValues("closed")), 2},
		{"sweeps reversed", testutil.ToFloat64(m.sweeps.WithLabelValues("reversed")), 1},
		{"replays replayed", testutil.ToFloat64(m.replays.WithLabelValues("replayed")), 2},
		{"replays conflict", testutil.ToFloat64(m.replays.WithLabelValues("conflict")), 1},
		{"terminals online", testutil.ToFloat64(m.terminals), 5},
	}
	for _, c := range counters {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if got := testutil.CollectAndCount(m.channelCalls); got != 2 {
		t.Errorf("channel call series = %d, want 2", got)
	}

	// Bucket bounds are inclusive, so 250ms lands in le="0.25" and 30s in
	// le="30": this pins the bucket layout as well as the observations.
	wantLines(t, scrape(t, m),
		`multipos_channel_call_duration_seconds_count{channel="alipay",op="pay",outcome="ok"} 2`,
		`multipos_channel_call_duration_seconds_sum{channel="alipay",op="pay",outcome="ok"} 2.25`,
		`multipos_channel_call_duration_seconds_bucket{channel="alipay",op="pay",outcome="ok",le="0.1"} 0`,
		`multipos_channel_call_duration_seconds_bucket{channel="alipay",op="pay",outcome="ok",le="0.25"} 1`,
		`multipos_channel_call_duration_seconds_bucket{channel="alipay",op="pay",outcome="ok",le="2.5"} 2`,
		`multipos_channel_call_duration_seconds_bucket{channel="card",op="sale",outcome="unknown",le="10"} 0`,
		`multipos_channel_call_duration_seconds_bucket{channel="card",op="sale",outcome="unknown",le="30"} 1`,
		`multipos_transactions_total{channel="alipay",state="PAID"} 2`,
		`multipos_notifications_total{channel="wechat",result="duplicate"} 2`,
		`multipos_sweeper_actions_total{action="closed"} 2`,
		`multipos_idempotent_replays_total{result="conflict"} 1`,
		`multipos_terminals_online 5`,
	)
}

func TestConcurrentUseCountsEveryEvent(t *testing.T) {
	m := New()
	h := m.Wrap("POST /v1/orders", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
	}))
	const workers, each = 8, 200
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			for range each {
				h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/v1/orders", nil))
				m.Transaction("alipay", "PAID")
				m.ChannelCall("alipay", "pay", "ok", time.Millisecond)
				m.Notification("alipay", "applied")
				m.Sweep("settled")
				m.Replay("replayed")
				m.SetTerminalsOnline(i)
			}
		})
	}
	wg.Wait()
	const total = workers * each
	for name, got := range map[string]float64{
		"requests":      testutil.ToFloat64(m.requests.WithLabelValues("POST /v1/orders", "201")),
		"transactions":  testutil.ToFloat64(m.transactions.WithLabelValues("alipay", "PAID")),
		"notifications": testutil.ToFloat64(m.notifications.WithLabelValues("alipay", "applied")),
		"sweeps":        testutil.ToFloat64(m.sweeps.WithLabelValues("settled")),
		"replays":       testutil.ToFloat64(m.replays.WithLabelValues("replayed")),
	} {
		if got != total {
			t.Errorf("%s = %v, want %d", name, got, total)
		}
	}
	if got := testutil.ToFloat64(m.inFlight); got != 0 {
		t.Errorf("in flight = %v, want 0", got)
	}
	if got := testutil.ToFloat64(m.terminals); got < 0 || got >= workers {
		t.Errorf("terminals online = %v, want one of the values set", got)
	}
}

type markerHandler struct{}

func (*markerHandler) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.WriteHeader(http.StatusTeapot)
}

func TestNilMetricsIsANoOp(t *testing.T) {
	var m *Metrics
	m.Transaction("alipay", "PAID")
	m.ChannelCall("alipay", "pay", "ok", time.Second)
	m.Notification("alipay", "applied")
	m.Sweep("closed")
	m.Replay("replayed")
	m.SetTerminalsOnline(3)
	if m.Registry() != nil {
		t.Error("nil Metrics returned a registry")
	}

	inner := &markerHandler{}
	if got, ok := m.Wrap("GET /x", inner).(*markerHandler); !ok || got != inner {
		t.Errorf("nil Wrap returned %T, want the handler unchanged", got)
	}

	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("nil Handler status = %d, want 404", resp.StatusCode)
	}
}

func TestInstancesAreIndependent(t *testing.T) {
	a, b := New(), New()
	if a.Registry() == b.Registry() {
		t.Fatal("two instances share a registry")
	}
	a.Transaction("alipay", "PAID")
	a.SetTerminalsOnline(4)
	b.Transaction("card", "PAID")

	// Scraped before any probe below, since probing a vector creates the
	// series it asks about.
	textA, textB := scrape(t, a), scrape(t, b)
	wantLines(t, textA, `multipos_transactions_total{channel="alipay",state="PAID"} 1`, `multipos_terminals_online 4`)
	wantLines(t, textB, `multipos_transactions_total{channel="card",state="PAID"} 1`, `multipos_terminals_online 0`)
	if strings.Contains(textB, `channel="alipay"`) {
		t.Error("b's scrape contains a's series")
	}
	if got := testutil.CollectAndCount(b.transactions); got != 1 {
		t.Errorf("b transaction series = %d, want 1", got)
	}
	if got := testutil.ToFloat64(a.transactions.WithLabelValues("card", "PAID")); got != 0 {
		t.Errorf("a saw b's transaction: %v", got)
	}
}

func BenchmarkWrap(b *testing.B) {
	m := New()
	h := m.Wrap("POST /v1/orders", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
	}))
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/v1/orders", nil)
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}
