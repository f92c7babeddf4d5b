package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/config"
	"github.com/multipos/multipos/server/connector"
)

// The settlement loop: every instance runs it (Run), and the database's
// claim (store.ClaimSettlement) decides which one settles a batch. It
// settles the batches the cut-off leaves open (settle_cutoff: those
// holding a card transaction from before the latest cut-off, so that a
// batch is settled once however many instances look, and one the server
// was down for is settled when it starts), and finishes the settlements
// whose claimant died or failed, once their lease or retry time is over:
// the exit of every SETTLING row.

// DefaultSettleEvery is Options.SettleEvery's default.
const DefaultSettleEvery = 30 * time.Second

// settleBatchLimit bounds the settlements one look takes up.
const settleBatchLimit = 50

func settleDefaults(o *Options) error {
	if o.SettleCutoff == "" {
		o.SettleCutoff = config.DefaultSettleCutoff
	}
	var err error
	if o.cutoffAt, o.cutoffOn, err = config.ParseCutoff(o.SettleCutoff); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	if o.SettleEvery <= 0 {
		o.SettleEvery = DefaultSettleEvery
	}
	return nil
}

// settleLoop runs SettleDue every SettleEvery until ctx ends.
func (s *Server) settleLoop(ctx context.Context) {
	if _, ok := s.opts.Acquirer.(connector.BatchSettler); !ok {
		return
	}
	t := time.NewTicker(s.opts.SettleEvery)
	defer t.Stop()
	for {
		if err := s.SettleDue(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("settlement loop: some batches not settled; trying again later", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// lastCutoff is the latest cut-off at or before now, in the business
// zone; ok is false when the cut-off is off.
func (s *Server) lastCutoff(now time.Time) (time.Time, bool) {
	at := s.opts.cutoffAt
	if !s.opts.cutoffOn {
		return time.Time{}, false
	}
	n := now.In(s.opts.Zone)
	h, m := int(at/time.Hour), int(at%time.Hour/time.Minute)
	c := time.Date(n.Year(), n.Month(), n.Day(), h, m, 0, 0, s.opts.Zone)
	if c.After(n) {
		c = time.Date(n.Year(), n.Month(), n.Day()-1, h, m, 0, 0, s.opts.Zone)
	}
	return c, true
}

// SettleDue settles what is left to the server: settlements whose lease
// or retry time is over, and the batches the latest cut-off left open.
func (s *Server) SettleDue(ctx context.Context) error {
	var errs []error
	lapsed, err := s.st.LapsedSettlements(ctx, s.now(), settleBatchLimit)
	if err != nil {
		return err
	}
	for _, x := range lapsed {
		operator := x.By
		if operator == api.SettledByCutoff {
			operator = ""
		}
		s.log.Info("settlement left unfinished taken up", "terminal", x.TerminalID, "batch", x.Batch, "by", x.By,
			"tries", x.Tries, "last_error", x.LastError)
		errs = append(errs, s.settleQuietly(ctx, x.TerminalID, x.Batch, operator, x.By))
	}
	cutoff, on := s.lastCutoff(s.now())
	if !on {
		return errors.Join(errs...)
	}
	due, err := s.st.BatchesToSettle(ctx, cutoff)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, b := range due {
		s.log.Info("cut-off settlement", "terminal", b.TerminalID, "batch", b.Batch, "cutoff", cutoff)
		errs = append(errs, s.settleQuietly(ctx, b.TerminalID, b.Batch, "", api.SettledByCutoff))
	}
	return errors.Join(errs...)
}

// settleQuietly settles a batch for the loop: one another claimant holds
// or has settled is theirs, and one with a transaction still at the bank
// is taken up again at its retry time: neither is an error.
func (s *Server) settleQuietly(ctx context.Context, tid, batch, operator, by string) error {
	_, err := s.SettleBatch(ctx, tid, batch, operator, by)
	var e *api.Error
	if errors.As(err, &e) && (e.Code == api.CodeBatchMoved || e.Code == api.CodeSettling) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("settlement of %s batch %s: %w", tid, batch, err)
	}
	return nil
}
