package campaign

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/bundle"
	"github.com/multipos/multipos/posclient"
)

// terminal is a simulated cashier station: the station's own client code
// (posclient.Client from its bundle, posclient.CardKeys for sign-on, PIN
// blocks and MACs, the trace counter in its state folder) driven by a
// plan instead of a cashier. With two posserver instances it talks to one
// and moves to the other when that one does not answer.
type terminal struct {
	id      string
	bundle  bundle.Bundle
	clients []*posclient.Client // one per posserver instance
	cur     atomic.Int32
	keys    *posclient.CardKeys
	traces  *traceSource
	link    *linkFaults
	ctl     *controls
	timing  timing
}

// timing is what a terminal needs to know of the server's timing.
type timing struct {
	QRTTL          time.Duration
	ChannelTimeout time.Duration
	ConfirmWindow  time.Duration
}

// offlineBudget is how long a station keeps resending a request to a
// server that does not answer (a restart takes a second or two).
const offlineBudget = 12 * time.Second

func newTerminal(ctx context.Context, bundlePath, stateDir string, servers []string, ctl *controls, tm timing) (*terminal, error) {
	b, err := bundle.Load(bundlePath)
	if err != nil {
		return nil, err
	}
	t := &terminal{id: b.TerminalID, bundle: b, keys: posclient.NewCardKeys(b.MasterKey), ctl: ctl, timing: tm}
	tc, err := b.ClientTLSConfig()
	if err != nil {
		return nil, err
	}
	// The transport of posclient.FromBundle, with the link's faults.
	t.link = &linkFaults{rt: &http.Transport{TLSClientConfig: tc, MaxIdleConnsPerHost: 4,
		IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: 10 * time.Second}}
	for _, s := range servers {
		c := posclient.NewClient(s, b.TerminalID, &http.Client{Transport: t.link})
		c.UseCardKeys(t.keys)
		t.clients = append(t.clients, c)
	}
	if t.traces, err = openTraces(filepath.Join(stateDir, b.TerminalID), b.TerminalID, t.clients); err != nil {
		return nil, err
	}
	if err := t.signOn(ctx); err != nil {
		return nil, fmt.Errorf("terminal %s: %w", t.id, err)
	}
	return t, nil
}

// signOn gets card working keys (签到), as a station does at start: the
// cashier signs on again until the bank answers.
func (t *terminal) signOn(ctx context.Context) error {
	var err error
	for range 20 {
		if err = t.signOnce(ctx); err == nil || ctx.Err() != nil {
			return err
		}
		sleep(ctx, 300*time.Millisecond)
	}
	return err
}

func (t *terminal) signOnce(ctx context.Context) error {
	var on api.SignedOn
	_, _, err := posclient.WithTrace(t.traces, "", "", func(trace, _ string) error {
		return t.do(ctx, offlineBudget, func(c *posclient.Client) error {
			var err error
			on, err = c.CardSignOn(ctx, trace, false)
			return err
		})
	})
	if err != nil {
		return fmt.Errorf("sign-on: %w", err)
	}
	return t.keys.Install(on)
}

// do runs f on the current instance. When the server cannot be reached it
// runs f again (the same request: the caller's request id does not
// change), on the other instance if there is one, until budget is spent.
func (t *terminal) do(ctx context.Context, budget time.Duration, f func(*posclient.Client) error) error {
	deadline := time.Now().Add(budget)
	for {
		i := int(t.cur.Load())
		err := f(t.clients[i])
		if !errors.Is(err, posclient.ErrOffline) || time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		t.cur.CompareAndSwap(int32(i), int32((i+1)%len(t.clients)))
		if !sleep(ctx, 100*time.Millisecond) {
			return err
		}
	}
}

// send sends a new request as the station does (posclient.WithTrace):
// under its counter's next trace and a fresh request id, and again under
// the next trace when the server says the trace is used. It keeps the
// trace and request id on the attempt for resends and look-ups.
func (t *terminal) send(ctx context.Context, s *Sale, a *Attempt, call func(c *posclient.Client, trace, rid string) (api.Order, error)) (api.Order, error) {
	var o api.Order
	_, _, err := posclient.WithTrace(t.traces, "", "", func(trace, rid string) error {
		s.mu.Lock()
		a.Trace, a.RequestIDs = trace, append(a.RequestIDs, rid)
		s.mu.Unlock()
		err := t.do(ctx, offlineBudget, func(c *posclient.Client) error {
			var err error
			o, err = call(c, trace, rid)
			return err
		})
		if posclient.IsTraceUsed(err) {
			s.note("trace %s refused as used; taking the next one", trace)
		}
		return err
	})
	return o, err
}

// lookup asks what became of the attempt's trace (the station's Esc after
// a lost answer). found is false when the server has nothing with it.
func (t *terminal) lookup(ctx context.Context, s *Sale, a *Attempt) (api.Order, bool, error) {
	var o api.Order
	err := t.do(ctx, offlineBudget, func(c *posclient.Client) error {
		var err error
		o, err = c.OrderByTrace(ctx, a.Trace)
		return err
	})
	var e *api.Error
	if errors.As(err, &e) && e.Code == api.CodeNotFound {
		s.note("lookup of trace %s: not found", a.Trace)
		return o, false, nil
	}
	if err != nil {
		s.note("lookup of trace %s: %v", a.Trace, err)
		return o, false, err
	}
	s.see(a, o, "lookup of trace "+a.Trace)
	return o, true, nil
}

// wait long-polls the order until it is final or until the time given,
// and returns it as last heard.
func (t *terminal) wait(ctx context.Context, s *Sale, a *Attempt, o api.Order, until time.Time) api.Order {
	for !o.State.Final() && time.Now().Before(until) && ctx.Err() == nil {
		var n api.Order
		err := t.do(ctx, offlineBudget, func(c *posclient.Client) error {
			var err error
			n, err = c.WaitOrder(ctx, o.ID, o.Version, time.Until(until))
			return err
		})
		if err != nil {
			s.note("waiting for %s: %v", o.ID, err)
			sleep(ctx, 200*time.Millisecond)
			continue
		}
		if n.Version != o.Version {
			s.see(a, n, "wait")
		}
		o = n
	}
	return o
}

// cancel is the cashier's Esc on an open wallet order: close it at the
// wallet (a payment made meanwhile comes back SUCCESS). It keeps trying
// while the server cannot do it, until the code has expired.
func (t *terminal) cancel(ctx context.Context, s *Sale, a *Attempt, o api.Order) api.Order {
	until := time.Now().Add(t.timing.QRTTL + 2*t.timing.ChannelTimeout)
	for time.Now().Before(until) && ctx.Err() == nil {
		var n api.Order
		err := t.do(ctx, offlineBudget, func(c *posclient.Client) error {
			var err error
			n, err = c.CancelOrder(ctx, o.ID)
			return err
		})
		if err == nil {
			s.see(a, n, "cancel")
			if n.State.Final() {
				return n
			}
			o = n
		} else {
			s.note("cancel of %s: %v", o.ID, err)
		}
		sleep(ctx, 300*time.Millisecond)
	}
	s.note("gave up cancelling %s: its code has expired, the sweeper closes it", o.ID)
	if n, found, _ := t.lookup(ctx, s, a); found {
		return n
	}
	return o
}

// sleep waits d or until ctx ends; false when ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
