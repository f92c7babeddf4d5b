package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/demo"
	"github.com/multipos/multipos/posclient"
	"github.com/multipos/multipos/tui"
)

// sent records when each notification left a wallet sandbox: the
// benchmark's payments run one at a time, so the latest is the one that
// matters.
type sent struct {
	mu   sync.Mutex
	last time.Time
	next http.RoundTripper
}

func (s *sent) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	s.last = time.Now()
	s.mu.Unlock()
	return s.next.RoundTrip(r)
}

func (s *sent) at() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

func wallets(n int) error {
	dir, err := os.MkdirTemp("", "posbench-wallets-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	tap := &sent{next: http.DefaultTransport}
	ctx := context.Background()
	env, err := demo.Start(ctx, demo.Options{Dir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Notifications: &http.Client{Transport: tap, Timeout: 5 * time.Second}})
	if err != nil {
		return err
	}
	defer env.Close()
	var toQR, toPaid []time.Duration
	for i := range n {
		ch := api.Alipay
		if i%2 == 1 {
			ch = api.WeChat
		}
		trace, err := env.Traces.Next()
		if err != nil {
			return err
		}
		// Confirm → QR on screen: the order journaled, precreated at the
		// wallet (signed request, verified answer), answered, and drawn.
		start := time.Now()
		o, err := env.Client.CreateWalletOrder(ctx, posclient.NewRequestID(),
			api.CreateWalletOrder{Trace: trace, Channel: ch, Amount: int64(100 + i%900), Subject: "posbench"})
		if err != nil {
			return fmt.Errorf("payment %d: %w", i+1, err)
		}
		if _, err := tui.RenderQR(o.QRContent); err != nil {
			return fmt.Errorf("payment %d: %w", i+1, err)
		}
		toQR = append(toQR, time.Since(start))

		// The terminal long-polls, as the QR screen does; the customer pays;
		// the wallet's signed notification goes out and comes back as the
		// paid result.
		type res struct {
			o   api.Order
			err error
			at  time.Time
		}
		done := make(chan res, 1)
		go func() {
			cur := o
			for !cur.State.Final() {
				var err error
				if cur, err = env.Client.WaitOrder(ctx, o.ID, cur.Version, 10*time.Second); err != nil {
					done <- res{err: err}
					return
				}
			}
			done <- res{o: cur, at: time.Now()}
		}()
		if err := env.CustomerPays(ctx, ch, o.OutTradeNo); err != nil {
			return fmt.Errorf("payment %d: customer pays: %w", i+1, err)
		}
		r := <-done
		if r.err != nil || r.o.State != api.StateSuccess {
			return fmt.Errorf("payment %d: %+v, %v", i+1, r.o, r.err)
		}
		toPaid = append(toPaid, r.at.Sub(tap.at()))
	}
	fmt.Printf("%d QR payments through the wallet sandboxes on their real protocols (half Alipay, half WeChat Pay), one at a time:\n\n", n)
	fmt.Println("| wait | p50 | p99 | max |")
	fmt.Println("| --- | --: | --: | --: |")
	for _, m := range []struct {
		name string
		d    []time.Duration
	}{{"Confirm → QR code on screen (order journaled, precreated, drawn)", toQR},
		{"notification leaves the wallet → paid result at the terminal", toPaid}} {
		slices.Sort(m.d)
		fmt.Printf("| %s | %s | %s | %s |\n", m.name, ms(pct(m.d, 50)), ms(pct(m.d, 99)), ms(m.d[len(m.d)-1]))
	}
	return nil
}

func pct(d []time.Duration, p int) time.Duration { return d[(len(d)-1)*p/100] }

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
