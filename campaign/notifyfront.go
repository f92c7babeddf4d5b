package campaign

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// notifyFront stands where a shop's front end stands before posserver's
// notify listeners: the wallets post their notifications to it, and it
// passes each to a live instance (the next in turn, the other when one is
// down), so that notifications reach a server while one of two is being
// killed. It also loses notifications on command (notify-lost): the wallet
// sees an error and sends the notification again on its schedule.
type notifyFront struct {
	log *slog.Logger
	hc  *http.Client
	srv *http.Server
	ln  net.Listener

	mu       sync.Mutex
	backends []string // http://host:port of each instance's notify listener
	next     int

	drop      atomic.Int64 // notifications still to lose
	forwarded atomic.Int64
	dropped   atomic.Int64
}

func startNotifyFront(addr string, log *slog.Logger) (*notifyFront, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	f := &notifyFront{log: log, ln: ln, hc: &http.Client{Timeout: 10 * time.Second}}
	f.srv = &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := f.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("notify front stopped", "err", err)
		}
	}()
	return f, nil
}

// Addr is the front's host:port.
func (f *notifyFront) Addr() string { return f.ln.Addr().String() }

func (f *notifyFront) setBackends(b []string) {
	f.mu.Lock()
	f.backends = append([]string(nil), b...)
	f.mu.Unlock()
}

// loseNext makes the front lose the next n notifications.
func (f *notifyFront) loseNext(n int) { f.drop.Add(int64(n)) }

func (f *notifyFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "reading the notification", http.StatusBadRequest)
		return
	}
	if f.drop.Add(-1) >= 0 {
		f.dropped.Add(1)
		http.Error(w, "lost on the way (campaign fault)", http.StatusBadGateway)
		return
	}
	f.drop.Add(1) // none to lose: give the decrement back
	f.mu.Lock()
	backends := append([]string(nil), f.backends...)
	start := f.next
	f.next++
	f.mu.Unlock()
	for i := range backends {
		b := backends[(start+i)%len(backends)]
		status, answer, hdr, err := f.forward(r.Context(), b+r.URL.RequestURI(), r.Header, body)
		if err != nil {
			continue // that instance is down: the next one
		}
		f.forwarded.Add(1)
		for _, k := range []string{"Content-Type"} {
			if v := hdr.Get(k); v != "" {
				w.Header().Set(k, v)
			}
		}
		w.WriteHeader(status)
		_, _ = w.Write(answer)
		return
	}
	http.Error(w, "no posserver instance is up", http.StatusBadGateway)
}

func (f *notifyFront) forward(ctx context.Context, u string, h http.Header, body []byte) (int, []byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header = h.Clone()
	resp, err := f.hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, nil, nil, err
	}
	return resp.StatusCode, answer, resp.Header, nil
}

func (f *notifyFront) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = f.srv.Shutdown(ctx)
}
