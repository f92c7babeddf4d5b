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

// sweepBatch bounds the transactions one sweep leases.
const sweepBatch = 50

// housekeepingEvery is how often old request ids are forgotten and the
// online gauge is refreshed.
const housekeepingEvery = time.Minute

// Run does the server's background work until ctx ends: the sweeper
// (every SweepInterval, and once at start for what was left while the
// server was down), housekeeping, and listening for other instances'
// changes to wake this one's long-polls. It returns nil when ctx ends.
func (s *Server) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.st.Listen(ctx, s.hub.publish, s.hub.publishAll, func(err error) {
			s.log.Warn("listening for other instances' changes failed; reconnecting", "err", err)
		})
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.keepRegistered(ctx)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.settleLoop(ctx)
	}()
	defer wg.Wait()
	sweep := time.NewTicker(s.opts.SweepInterval)
	defer sweep.Stop()
	house := time.NewTicker(housekeepingEvery)
	defer house.Stop()
	s.housekeeping(ctx)
	for {
		if err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("sweep incomplete; retrying at the next one", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-house.C:
			s.housekeeping(ctx)
		case <-sweep.C:
		}
	}
}

// registerEvery is how often an instance says it is alive and counts the
// others; peerTimeout is how long one unseen still counts.
const (
	registerEvery = time.Second
	peerTimeout   = 5 * time.Second
)

// keepRegistered keeps this instance in the database's list of instances
// and knows how many others there are, until ctx ends; then it leaves the
// list. Until the first count, and whenever counting fails, others are
// assumed to be there.
func (s *Server) keepRegistered(ctx context.Context) {
	t := time.NewTicker(registerEvery)
	defer t.Stop()
	for {
		now := time.Now()
		n, err := s.st.Register(ctx, s.opts.Instance, now, now.Add(-peerTimeout))
		switch {
		case err != nil && ctx.Err() == nil:
			s.peers.Store(-1)
			s.log.Warn("registering this instance failed", "err", err)
		case err == nil:
			s.peers.Store(int32(n))
		}
		select {
		case <-ctx.Done():
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			if err := s.st.Deregister(dctx, s.opts.Instance, time.Now().Add(-time.Hour)); err != nil {
				s.log.Warn("leaving the list of instances failed", "err", err)
			}
			cancel()
			return
		case <-t.C:
		}
	}
}

// Peers returns how many other instances share the database, or -1 when
// not known (yet).
func (s *Server) Peers() int { return int(s.peers.Load()) }

// housekeeping forgets request ids past their retention and refreshes the
// online-terminals gauge. Running it in two instances at once is harmless.
func (s *Server) housekeeping(ctx context.Context) {
	now := s.now()
	n, err := s.st.ForgetRequests(ctx, now.Add(-s.opts.RequestRetention))
	if err != nil {
		s.log.Warn("housekeeping: forgetting old request ids failed", "err", err)
	} else if n > 0 {
		s.log.Info("housekeeping: old request ids forgotten", "count", n)
	}
	online, err := s.st.CountOnline(ctx, now.Add(-OnlineWindow))
	if err != nil {
		s.log.Warn("housekeeping: counting online terminals failed", "err", err)
		return
	}
	s.metrics.SetTerminalsOnline(online)
}

// Sweep resolves the transactions whose check time has come, leasing them
// so that another instance never works on the same one:
//   - a QR order whose code expired, or whose outcome is unknown: the
//     wallet is asked (query) and what it knows is applied, else the order
//     is closed there and here, so it can never be paid afterwards;
//   - a card sale whose outcome is unknown (or left CREATED by a crash):
//     it is reversed at the bank, then closed.
//
// When the channel cannot be reached the transaction is looked at again
// later, less and less often.
func (s *Server) Sweep(ctx context.Context) error {
	now := s.now()
	due, err := s.st.ClaimDue(ctx, s.opts.Instance, now, now.Add(2*s.opts.ChannelTimeout+createdGrace), sweepBatch)
	if err != nil {
		return err
	}
	var errs []error
	for _, d := range due {
		if err := s.resolve(ctx, d); err != nil {
			errs = append(errs, err)
		}
	}
	if err := s.sweepAdjustments(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (s *Server) resolve(ctx context.Context, d store.Due) error {
	o := d.Order
	var err error
	action := "settled"
	if o.Channel.Wallet() && o.State == api.StatePending && s.now().Before(o.ExpiresAt) {
		return s.pollQR(ctx, d)
	}
	if o.Channel.Wallet() {
		reason := api.ReasonExpired
		switch {
		case o.Kind == api.KindWalletBarcode && o.State == api.StatePending:
			reason = api.ReasonNotConfirmed
		case o.Kind == api.KindWalletBarcode:
			reason = api.ReasonUnknownOutcome
		case o.State != api.StatePending && (o.ExpiresAt.IsZero() || s.now().Before(o.ExpiresAt)):
			reason = api.ReasonUnknownOutcome
		}
		o, err = s.closeAtChannel(ctx, o, reason, "sweeper")
		if err == nil && o.State == api.StateClosed {
			action = "closed"
		}
	} else {
		o, err = s.reverse(ctx, o)
		action = "reversed"
	}
	switch {
	case errors.Is(err, store.ErrStale), errors.Is(err, store.ErrFinal):
		return nil // someone else (a notification, the terminal) got there first
	case err != nil:
		next := s.now().Add(backoff(d.Sweeps))
		s.metrics.Sweep("deferred")
		s.log.Warn("could not resolve; will try again", append(orderAttrs(o), "err", err, "next", next)...)
		if derr := s.st.Defer(ctx, o.ID, d.Version, next); derr != nil {
			return errors.Join(err, derr)
		}
		return nil
	}
	s.metrics.Sweep(action)
	return nil
}

// backoff spaces the sweeper's tries at one transaction: 5 s, 10 s, 20 s,
// … up to 5 minutes.
func backoff(sweeps int) time.Duration {
	d := unknownRetry << min(sweeps, 6)
	return min(d, 5*time.Minute)
}

// reverse undoes a card sale whose outcome is unknown and closes it.
func (s *Server) reverse(ctx context.Context, o api.Order) (api.Order, error) {
	if s.opts.Acquirer == nil {
		return o, channelError("no connector for cards")
	}
	cctx, cancel := s.callCtx(ctx)
	defer cancel()
	start := time.Now()
	t, err := s.st.Terminal(ctx, o.TerminalID)
	if err != nil {
		return o, err
	}
	// A copy of the sale as it was sent: a PIN is always entered for one.
	rev := connector.Reversal{TerminalID: o.TerminalID, MerchantID: t.MerchantID, Kind: "sale",
		Trace: o.Trace, Batch: o.Batch, Amount: o.Amount, Entry: o.Entry, PIN: true, CardSeq: o.CardSeq}
	err = s.withBankKeys(cctx, o.TerminalID, t.MerchantID, func() error { return s.opts.Acquirer.Reverse(cctx, rev) })
	s.metrics.ChannelCall(string(api.Card), "reverse", outcome(err), time.Since(start))
	reason := api.ReasonReversed
	if errors.Is(err, connector.ErrNothingToReverse) {
		reason, err = api.ReasonNotBooked, nil
	}
	if err != nil {
		return o, channelError("reversing sale %s: %v", o.ID, err)
	}
	return s.advance(ctx, o, store.Change{To: api.StateClosed, Reason: reason, Actor: "sweeper"})
}

// qrPollEvery is how often an open QR order is asked about while its code
// is still payable, once its first check time has passed: the fallback for
// a notification that never came (a notify URL out of reach, a wallet's
// hiccup), so that the cashier waits seconds, not until the code expires.
const qrPollEvery = 15 * time.Second

// pollQR asks the wallet about a QR order still payable: a result it has is
// applied; otherwise the order is looked at again in qrPollEvery, or when
// its code expires. It is never closed here before then.
func (s *Server) pollQR(ctx context.Context, d store.Due) error {
	o := d.Order
	w := s.opts.Wallets[o.Channel]
	if w != nil {
		cctx, cancel := s.callCtx(ctx)
		start := time.Now()
		st, err := w.Query(cctx, o.OutTradeNo)
		cancel()
		s.metrics.ChannelCall(string(o.Channel), "query", outcome(err), time.Since(start))
		if err == nil && st.State != connector.WalletWaiting && st.State != connector.WalletPaying {
			// Closed there while still payable here: not by this server.
			n, err := s.applyWalletState(ctx, o, st, api.ReasonClosedAtChannel, "sweeper")
			if errors.Is(err, errOtherAmount) {
				n, err = s.closeAtChannel(ctx, o, api.ReasonAmountMismatch, "sweeper")
			}
			switch {
			case errors.Is(err, store.ErrStale), errors.Is(err, store.ErrFinal):
				return nil
			case err != nil:
				return err
			case n.State.Final():
				s.metrics.Sweep("settled")
				s.log.Info("QR order settled by query; its notification had not come", orderAttrs(n)...)
				return nil
			}
		}
	}
	return s.st.Postpone(ctx, o.ID, d.Version, minTime(s.now().Add(qrPollEvery), o.ExpiresAt))
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
