package server

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/multipos/multipos/api"
)

// beat sends a heartbeat from tid and returns the ids it was told of.
func (r *rig) beat(tid string, acks ...string) []string {
	r.t.Helper()
	ans, err := r.client(tid).Heartbeat(context.Background(), api.Heartbeat{AppVersion: "pos/1.2.3", Acks: acks})
	if err != nil {
		r.t.Fatal(err)
	}
	if !ans.ServerTime.Equal(r.clock.Now()) {
		r.t.Fatalf("server time %v, want %v", ans.ServerTime, r.clock.Now())
	}
	var ids []string
	for _, o := range ans.Undelivered {
		if o.TerminalID != tid || !o.State.Final() {
			r.t.Fatalf("offered %+v to %s", o, tid)
		}
		ids = append(ids, o.ID)
	}
	return ids
}

func TestHeartbeat(t *testing.T) {
	onBoth(t, nil, func(t *testing.T, r *rig) {
		ctx := context.Background()
		t0 := r.clock.Now()
		if ids := r.beat("T1"); len(ids) != 0 {
			t.Fatalf("offered %v", ids)
		}
		rec, err := r.st.Terminal(ctx, "T1")
		if err != nil {
			t.Fatal(err)
		}
		if !rec.LastSeenAt.Equal(t0) || rec.LastSeenAddr != "127.0.0.1" || rec.AppVersion != "pos/1.2.3" {
			t.Fatalf("after a heartbeat: seen %v from %q, version %q", rec.LastSeenAt, rec.LastSeenAddr, rec.AppVersion)
		}
		if n, err := r.st.CountOnline(ctx, t0.Add(-OnlineWindow)); err != nil || n != 1 {
			t.Fatalf("%d online, %v", n, err)
		}

		paid := r.order(api.Alipay, "000001", 100)
		if _, err := r.client("T1").DemoPay(ctx, paid.ID); err != nil {
			t.Fatal(err)
		}
		open := r.order(api.WeChat, "000002", 100) // not final: never offered
		r.clock.Advance(seenEvery)
		declined, err := r.sell(r.cardSale("insufficient", "123456", "T1", "000003", 100))
		if err != nil || declined.State != api.StateFailed {
			t.Fatalf("%+v, %v", declined, err)
		}
		// Results final for 10 s or more are offered; younger ones are
		// still on their way by the long-poll.
		if ids := r.beat("T1"); !slices.Equal(ids, []string{paid.ID}) {
			t.Fatalf("offered %v, want the paid order only", ids)
		}
		if rec, _ := r.st.Terminal(ctx, "T1"); !rec.LastSeenAt.Equal(r.clock.Now()) {
			t.Fatalf("last seen %v", rec.LastSeenAt)
		}
		r.clock.Advance(seenEvery)
		if ids := r.beat("T1"); !slices.Equal(ids, []string{paid.ID, declined.ID}) {
			t.Fatalf("offered %v", ids)
		}
		// An acknowledged result is no longer offered; an acknowledgement of
		// another terminal's result is ignored.
		if ids := r.beat("T1", paid.ID); !slices.Equal(ids, []string{declined.ID}) {
			t.Fatalf("offered %v after the acknowledgement", ids)
		}
		if ids := r.beat("T2", declined.ID); len(ids) != 0 {
			t.Fatalf("T2 offered %v", ids)
		}
		r.clock.Advance(seenEvery)
		if ids := r.beat("T1"); !slices.Equal(ids, []string{declined.ID}) {
			t.Fatalf("offered %v", ids)
		}
		if ids := r.beat("T1", declined.ID, declined.ID, "txnosuch"); len(ids) != 0 {
			t.Fatalf("offered %v after all were acknowledged", ids)
		}
		r.clock.Advance(seenEvery)
		if ids := r.beat("T1"); len(ids) != 0 {
			t.Fatalf("offered %v", ids)
		}
		// The open order, once closed, is offered in its turn.
		if _, err := r.client("T1").CancelOrder(ctx, open.ID); err != nil {
			t.Fatal(err)
		}
		r.clock.Advance(seenEvery)
		if ids := r.beat("T1"); !slices.Equal(ids, []string{open.ID}) {
			t.Fatalf("offered %v", ids)
		}
		// More than 100 acknowledgements at once are refused.
		status, body := r.post("T1", "/v1/heartbeat", "", api.Heartbeat{Acks: make([]string, 101)})
		if status != http.StatusBadRequest || errCode(t, body) != api.CodeBadRequest {
			t.Fatalf("101 acks: %d %s", status, body)
		}
	})
}
