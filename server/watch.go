package server

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/server/connector"
	"github.com/multipos/multipos/server/store"
)

// DefaultWatchEvery is how often posserver asks a wallet about a QR order while a
// terminal is waiting on it (long-polling), as Alipay's face-to-face guide
// has a merchant do: a payment notification that is lost or refused (a
// notify URL out of reach, a bad signature) then costs the cashier a few
// seconds, not the sweeper's next look.
const DefaultWatchEvery = 3 * time.Second

// watches are the orders this instance asks about for its long-polls:
// one asker per order, however many polls wait on it, gone once none does.
type watches struct {
	mu sync.Mutex
	m  map[string]*watch
}

type watch struct {
	waiters int
	idle    time.Time // when the last waiter left
}

// watchOrder asks the wallet about a QR order still payable for as long
// as a terminal waits on it; the returned func ends this waiter's part.
func (s *Server) watchOrder(ctx context.Context, o api.Order) func() {
	if o.Kind != api.KindWalletQR || o.State != api.StatePending || s.opts.Wallets[o.Channel] == nil {
		return func() {}
	}
	s.watches.mu.Lock()
	defer s.watches.mu.Unlock()
	if s.watches.m == nil {
		s.watches.m = map[string]*watch{}
	}
	w := s.watches.m[o.ID]
	if w == nil {
		w = &watch{}
		s.watches.m[o.ID] = w
		go s.askWhileWatched(context.WithoutCancel(ctx), o, w)
	}
	w.waiters++
	return func() {
		s.watches.mu.Lock()
		defer s.watches.mu.Unlock()
		if w.waiters--; w.waiters == 0 {
			w.idle = time.Now()
		}
	}
}

// watched reports whether someone still waits on the order through w (or
// left less than a period ago: a terminal re-polls at once), and forgets
// w if not.
func (s *Server) watched(id string, w *watch) bool {
	s.watches.mu.Lock()
	defer s.watches.mu.Unlock()
	if s.watches.m[id] != w {
		return false
	}
	if w.waiters > 0 || time.Since(w.idle) < s.opts.WatchEvery {
		return true
	}
	delete(s.watches.m, id)
	return false
}

// unwatch forgets w, not a watch of the same order started since.
func (s *Server) unwatch(id string, w *watch) {
	s.watches.mu.Lock()
	defer s.watches.mu.Unlock()
	if s.watches.m[id] == w {
		delete(s.watches.m, id)
	}
}

// askWhileWatched queries the wallet every Options.WatchEvery while the order is
// PENDING and watched, and applies what the wallet has: a payment (given
// back if of another amount) or a close. The notification, when it comes,
// finds the order settled.
func (s *Server) askWhileWatched(ctx context.Context, o api.Order, w *watch) {
	defer s.unwatch(o.ID, w)
	t := time.NewTicker(s.opts.WatchEvery)
	defer t.Stop()
	for range t.C {
		if !s.watched(o.ID, w) {
			return
		}
		cur, err := s.st.Get(ctx, o.ID)
		if err != nil || cur.State != api.StatePending {
			return
		}
		st, err := s.query(ctx, cur)
		if err != nil || st.State == connector.WalletWaiting || st.State == connector.WalletPaying {
			continue
		}
		n, err := s.applyWalletState(ctx, cur, st, api.ReasonClosedAtChannel, "watch")
		if errors.Is(err, errOtherAmount) {
			n, err = s.closeAtChannel(ctx, cur, api.ReasonAmountMismatch, "watch")
		}
		switch {
		case errors.Is(err, store.ErrStale), errors.Is(err, store.ErrFinal):
			return
		case err != nil:
			s.log.Warn("asking about a watched order failed", append(orderAttrs(cur), "err", err)...)
		case n.State.Final():
			s.log.Info("QR order settled by asking the wallet; its notification had not come", orderAttrs(n)...)
			return
		}
	}
}
