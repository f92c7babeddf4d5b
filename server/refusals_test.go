package server

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/posclient"
	"github.com/multipos/multipos/server/store"
)

// send makes one request as terminal tid with the given Content-Type
// ("" for none) and returns the status and body.
func (r *rig) send(tid, method, path, contentType string, body io.Reader) (int, []byte) {
	r.t.Helper()
	req, err := http.NewRequest(method, r.url+path, body)
	if err != nil {
		r.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if method == http.MethodPost {
		req.Header.Set(api.IdempotencyHeader, posclient.NewRequestID())
	}
	resp, err := r.httpClient(tid).Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		r.t.Fatal(err)
	}
	return resp.StatusCode, data
}

const orderBody = `{"trace":"000001","channel":"alipay","amount":100,"subject":"test"}`

// A body must be sent as JSON: anything else is refused with 415 and the
// API's error body, while requests without a body need no Content-Type.
func TestContentType(t *testing.T) {
	r := newRig(t, store.SQLite, nil)
	for _, ct := range []string{"text/plain", "", "application/x-www-form-urlencoded", "application/json; charset=latin1", "application/json;;"} {
		status, body := r.send("T1", http.MethodPost, "/v1/orders", ct, strings.NewReader(orderBody))
		if status != http.StatusUnsupportedMediaType || errCode(t, body) != api.CodeUnsupportedMediaType {
			t.Errorf("Content-Type %q: %d %s, want 415 %s", ct, status, body, api.CodeUnsupportedMediaType)
		}
	}
	// A body of unknown length (chunked) is a body too.
	status, body := r.send("T1", http.MethodPost, "/v1/orders", "", iotest.OneByteReader(strings.NewReader(orderBody)))
	if status != http.StatusUnsupportedMediaType {
		t.Errorf("chunked body without Content-Type: %d %s", status, body)
	}
	for i, ct := range []string{"application/json", "application/json; charset=utf-8", "Application/JSON; Charset=UTF-8"} {
		b := strings.Replace(orderBody, "000001", "00000"+strconv.Itoa(i+1), 1)
		if status, body := r.send("T1", http.MethodPost, "/v1/orders", ct, strings.NewReader(b)); status != http.StatusCreated && status != http.StatusOK {
			t.Errorf("Content-Type %q: %d %s", ct, status, body)
		}
	}
	if status, body := r.send("T1", http.MethodGet, "/v1/terminal", "", nil); status != http.StatusOK {
		t.Errorf("GET without a body: %d %s", status, body)
	}
	// The station's own client: bodies as JSON, a cancel without one.
	ctx := context.Background()
	c := r.client("T2")
	o, err := c.CreateWalletOrder(ctx, posclient.NewRequestID(), api.CreateWalletOrder{Trace: "000009", Channel: api.WeChat, Amount: 100})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CancelOrder(ctx, o.ID); err != nil {
		t.Errorf("cancel (POST without a body): %v", err)
	}
}

// A refusal is logged with what an operator needs and nothing a terminal
// sent: not the body, not the query, not the message.
func TestRefusalsLogged(t *testing.T) {
	r := newRig(t, store.SQLite, nil)
	const pan = "6222021234567890128"
	r.send("T1", http.MethodPost, "/v1/card/sales", "application/json", strings.NewReader(`{"pan":"`+pan+`", "track2": "`+pan+`=2512`))
	r.send("T1", http.MethodGet, "/v1/orders?trace="+pan+"&pan="+pan, "", nil)
	r.send("T2", http.MethodPost, "/v1/orders", "text/plain", strings.NewReader(`{"auth_code":"`+pan+`"}`))
	r.send("T3", http.MethodGet, "/v1/nowhere/"+pan, "", nil)
	if err := r.st.SetTerminalEnabled(context.Background(), "T3", false, r.clock.Now()); err != nil {
		t.Fatal(err)
	}
	r.srv.Forget("T3")
	r.send("T3", http.MethodGet, "/v1/terminal", "", nil)

	logs := r.logs.String()
	for _, want := range []string{
		`msg="request refused" instance=rig method=POST route="POST /v1/card/sales" status=400 code=bad_request remote=127.0.0.1:`,
		`msg="request refused" instance=rig method=GET route="GET /v1/orders" status=400 code=bad_request remote=127.0.0.1:`,
		`msg="request refused" instance=rig method=POST route="POST /v1/orders" status=415 code=unsupported_media_type remote=127.0.0.1:`,
		`msg="request refused" instance=rig method=GET route=/ status=404 code=not_found remote=127.0.0.1:`,
		`msg="request refused" instance=rig method=GET route="GET /v1/terminal" status=403 code=terminal_disabled remote=127.0.0.1:`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s", want)
		}
	}
	for tid, n := range map[string]int{"T1": 2, "T2": 1, "T3": 2} {
		if got := len(regexp.MustCompile(`request refused.* terminal=`+tid+`\n`).FindAllString(logs, -1)); got != n {
			t.Errorf("%d refusals of %s logged, want %d", got, tid, n)
		}
	}
	for _, secret := range []string{pan, "track2", "auth_code", "PRIVATE KEY"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log shows %q:\n%s", secret, logs)
		}
	}
}

// A flood of bad requests writes a bounded number of lines, and a summary
// counts the rest; another terminal's refusals are still logged meanwhile.
func TestRefusalsRateLimited(t *testing.T) {
	r := newRig(t, store.SQLite, nil)
	const flood = 1000
	body := []byte(orderBody)
	for range flood {
		if status, _ := r.send("T1", http.MethodPost, "/v1/orders", "text/plain", bytes.NewReader(body)); status != http.StatusUnsupportedMediaType {
			t.Fatalf("status %d", status)
		}
	}
	r.send("T2", http.MethodPost, "/v1/orders", "text/plain", bytes.NewReader(body))
	r.srv.refusals.flush()

	logs := r.logs.String()
	logged := len(regexp.MustCompile(`request refused.* terminal=T1\n`).FindAllString(logs, -1))
	if logged < refusalBurst || logged > refusalBurst+2 {
		t.Errorf("%d refusals of T1 logged, want about %d", logged, refusalBurst)
	}
	m := regexp.MustCompile(`msg="(\d+) more refusals suppressed" instance=rig terminal=T1 suppressed=(\d+)\n`).FindStringSubmatch(logs)
	if m == nil {
		t.Fatalf("no summary for T1:\n%.3000s", logs)
	}
	if n, _ := strconv.Atoi(m[2]); n+logged != flood || m[1] != m[2] {
		t.Errorf("%d logged + %s suppressed, want %d in all", logged, m[2], flood)
	}
	if !regexp.MustCompile(`request refused.* terminal=T2\n`).MatchString(logs) {
		t.Error("T2's refusal was not logged during T1's flood")
	}
	if lines := strings.Count(logs, "\n"); lines > 200 {
		t.Errorf("%d log lines for %d refusals", lines, flood)
	}
}

// The limiter alone, on a clock of its own: the burst, the refill, the
// summary once per interval, and forgetting senders that went quiet.
func TestRefusalLimiter(t *testing.T) {
	var buf bytes.Buffer
	l := newRefusalLog(slog.New(slog.NewTextHandler(&buf, nil)))
	now := time.Unix(1_800_000_000, 0)
	l.now = func() time.Time { return now }
	scheduled := 0
	l.schedule = func(time.Duration, func()) { scheduled++ }
	allowed := func(key string, n int) int {
		ok := 0
		for range n {
			if l.allow(key, false) {
				ok++
			}
		}
		return ok
	}
	if got := allowed("10.0.0.1", 50); got != refusalBurst {
		t.Errorf("burst: %d allowed, want %d", got, refusalBurst)
	}
	now = now.Add(3 * refusalEvery)
	if got := allowed("10.0.0.1", 50); got != 3 {
		t.Errorf("after 3 intervals: %d allowed, want 3", got)
	}
	if scheduled != 1 {
		t.Errorf("summary scheduled %d times, want once", scheduled)
	}
	l.flush()
	if !strings.Contains(buf.String(), `msg="87 more refusals suppressed" remote=10.0.0.1 suppressed=87`) {
		t.Errorf("summary: %s", buf.String())
	}
	buf.Reset()
	l.flush()
	if buf.Len() != 0 {
		t.Errorf("a second summary with nothing suppressed: %s", buf.String())
	}
	now = now.Add(refusalBurst * refusalEvery)
	l.flush()
	if len(l.keys) != 0 {
		t.Errorf("%d quiet senders remembered", len(l.keys))
	}
}
