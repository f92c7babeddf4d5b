package campaign

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestLinkFaults(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = io.WriteString(w, "done")
	}))
	defer srv.Close()
	l := &linkFaults{rt: http.DefaultTransport}
	hc := &http.Client{Transport: l}
	post := func() error {
		resp, err := hc.Post(srv.URL, "text/plain", strings.NewReader("pay"))
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
	l.lose.Store(1)
	if err := post(); !errors.Is(err, errAnswerLost) || hits.Load() != 1 {
		t.Fatalf("lost answer: %v, %d requests", err, hits.Load())
	}
	if err := post(); err != nil || hits.Load() != 2 {
		t.Fatalf("after the fault: %v, %d requests", err, hits.Load())
	}
	l.dup.Store(1)
	if err := post(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(2 * time.Second); hits.Load() != 4 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if hits.Load() != 4 {
		t.Fatalf("duplicated request: %d requests, want 4", hits.Load())
	}
	l.lose.Store(1)
	if resp, err := hc.Get(srv.URL); err != nil {
		t.Fatalf("a GET is never spoilt: %v", err)
	} else {
		resp.Body.Close()
	}
}
