package server

import (
	"context"
	"errors"
	"time"

	"github.com/multipos/multipos/server/api"
	"github.com/multipos/multipos/server/store"
)

// sweepBatch bounds the orders one sweep closes.
const sweepBatch = 100

// Run closes expired QR orders until ctx ends, every SweepInterval and once
// at start (orders that expired while the server was down). It returns nil
// when ctx ends.
func (s *Server) Run(ctx context.Context) error {
	t := time.NewTicker(s.opts.SweepInterval)
	defer t.Stop()
	for {
		if err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("sweep incomplete; retrying at the next one", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Sweep closes, at the wallet and here, the open QR orders whose code has
// expired: PENDING ones, and UNKNOWN ones (the precreate's answer was lost,
// so closing is what makes sure the code can never be paid). An order paid
// at the last moment becomes SUCCESS instead.
func (s *Server) Sweep(ctx context.Context) error {
	due, err := s.st.Expired(ctx, s.now(), sweepBatch)
	if err != nil {
		return err
	}
	var errs []error
	for _, o := range due {
		_, err := s.closeAtChannel(ctx, o, api.ReasonExpired)
		if err != nil && !errors.Is(err, store.ErrStale) && !errors.Is(err, store.ErrFinal) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
