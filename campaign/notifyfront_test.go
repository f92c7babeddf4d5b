package campaign

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The notify front passes a notification to an instance that is up, and
// loses the ones it is told to: the wallet sees an error and sends again.
func TestNotifyFront(t *testing.T) {
	got := make(chan string, 4)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r.URL.Path + " " + string(b) + " " + r.Header.Get("Wechatpay-Signature")
		_, _ = io.WriteString(w, "success")
	}))
	defer up.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close() // an instance killed
	f, err := startNotifyFront("127.0.0.1:0", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.setBackends([]string{down.URL, up.URL})
	post := func() (int, string) {
		req, _ := http.NewRequest(http.MethodPost, "http://"+f.Addr()+"/notify/wechat", strings.NewReader("paid"))
		req.Header.Set("Wechatpay-Signature", "sig")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for range 2 {
		if st, body := post(); st != 200 || body != "success" {
			t.Fatalf("%d %q", st, body)
		}
		if g := <-got; g != "/notify/wechat paid sig" {
			t.Fatalf("the instance got %q", g)
		}
	}
	f.loseNext(1)
	if st, _ := post(); st != http.StatusBadGateway {
		t.Fatalf("a lost notification answered %d", st)
	}
	if st, _ := post(); st != 200 {
		t.Fatalf("after the loss: %d", st)
	}
	if f.dropped.Load() != 1 || f.forwarded.Load() != 3 {
		t.Fatalf("dropped %d, forwarded %d", f.dropped.Load(), f.forwarded.Load())
	}
}
