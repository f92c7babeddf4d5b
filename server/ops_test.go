package server

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/multipos/multipos/api"
)

// opsGet fetches an operators' endpoint (plain HTTP, no certificate).
func opsGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestOpsEndpoints(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		ops := httptest.NewServer(r.srv.OpsHandler())
		defer ops.Close()
		if status, body := opsGet(t, ops.URL+"/healthz"); status != http.StatusOK || body != "ok\n" {
			t.Fatalf("healthz: %d %q", status, body)
		}
		if status, _ := opsGet(t, ops.URL+"/readyz"); status != http.StatusServiceUnavailable {
			t.Fatalf("readyz before SetReady: %d", status)
		}
		r.srv.SetReady(true)
		if status, body := opsGet(t, ops.URL+"/readyz"); status != http.StatusOK || body != "ready\n" {
			t.Fatalf("readyz when ready: %d %q", status, body)
		}
		r.srv.SetReady(false)
		if status, _ := opsGet(t, ops.URL+"/readyz"); status != http.StatusServiceUnavailable {
			t.Fatalf("readyz when shutting down: %d", status)
		}

		o := r.order(api.Alipay, "000001", 100)
		if _, err := r.client("T1").DemoPay(context.Background(), o.ID); err != nil {
			t.Fatal(err)
		}
		// The notification is counted once applied, just after the change
		// that answered the trainer: look again until it is in.
		var status int
		var body string
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			status, body = opsGet(t, ops.URL+"/metrics")
			if status != http.StatusOK {
				t.Fatalf("metrics: %d", status)
			}
			if strings.Contains(body, `multipos_notifications_total{channel="alipay",result="applied"} 1`) || time.Now().After(deadline) {
				break
			}
		}
		for _, want := range []string{
			`multipos_http_requests_total{code="201",route="POST /v1/orders"} 1`,
			`multipos_http_requests_total{code="200",route="POST /v1/demo/orders/{id}/pay"} 1`,
			`multipos_transactions_total{channel="alipay",state="SUCCESS"} 1`,
			`multipos_transactions_total{channel="alipay",state="CREATED"} 1`,
			`multipos_notifications_total{channel="alipay",result="applied"} 1`,
			`multipos_channel_call_duration_seconds_count{channel="alipay",op="precreate",outcome="ok"} 1`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
		// The ops endpoints are not on the terminal API, nor it on them.
		status, answer := r.post("T1", "/metrics", "", nil)
		if status != http.StatusNotFound || errCode(t, answer) != api.CodeNotFound {
			t.Fatalf("metrics on the terminal API: %d %s", status, answer)
		}
		if status, _ := opsGet(t, ops.URL+"/v1/ping"); status != http.StatusNotFound {
			t.Fatalf("terminal API on the ops listener: %d", status)
		}
		// Not ready when the database does not answer.
		r.srv.SetReady(true)
		r.st.Close()
		if status, body := opsGet(t, ops.URL+"/readyz"); status != http.StatusServiceUnavailable || !strings.Contains(body, "database") {
			t.Fatalf("readyz without a database: %d %q", status, body)
		}
		if status, _ := opsGet(t, ops.URL+"/healthz"); status != http.StatusOK {
			t.Fatalf("healthz without a database: %d", status)
		}
	})
	onSQLite(t, func(o *Options) { o.Metrics = nil }, func(t *testing.T, r *rig) {
		ops := httptest.NewServer(r.srv.OpsHandler())
		defer ops.Close()
		r.order(api.Alipay, "000001", 100)
		if status, _ := opsGet(t, ops.URL+"/metrics"); status != http.StatusNotFound {
			t.Fatalf("metrics without metrics: %d", status)
		}
	})
}
