package tui_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/demo"
	"github.com/multipos/multipos/i18n"
	"github.com/multipos/multipos/posclient"
)

// settableClock is a clock the test moves forward.
type settableClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *settableClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *settableClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// A payment finished while the station was not watching (it was stopped
// mid-payment): the server offers the result with the heartbeat, the
// channel list shows it, and the next heartbeat acknowledges it, after
// which the server stops offering it.
func TestUnseenResultIsShownAndAcknowledged(t *testing.T) {
	clock := &settableClock{now: fixedNow}
	env := startDemo(t, demo.Options{Now: clock.Now})
	ctx := context.Background()
	o, err := env.Client.CreateWalletOrder(ctx, posclient.NewRequestID(),
		api.CreateWalletOrder{Trace: "000777", Channel: api.Alipay, Amount: 4321})
	if err != nil {
		t.Fatal(err)
	}
	if paid, err := env.Client.DemoPay(ctx, o.ID); err != nil || paid.State != api.StateSuccess {
		t.Fatalf("pay: %+v %v", paid, err)
	}
	clock.Advance(time.Minute) // long past the long-poll: nobody saw it

	opts := appOptions(env, i18n.EN, clock.Now)
	opts.PingEvery = 50 * time.Millisecond
	f := newFlow(t, env, opts)
	f.waitFor("Results this station never showed:", "¥43.21", "000777", "paid")

	// The station has shown it: the server stops offering it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		clock.Advance(20 * time.Second) // past the server's heartbeat write interval
		ans, err := env.Client.Heartbeat(ctx, api.Heartbeat{})
		if err != nil {
			t.Fatal(err)
		}
		if len(ans.Undelivered) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still undelivered after the station showed it: %+v", ans.Undelivered)
		}
		time.Sleep(100 * time.Millisecond)
	}
	f.finish()
}
