package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/multipos/multipos/server/connector"
	"github.com/multipos/multipos/server/connector/bank"
	"github.com/multipos/multipos/server/store"
)

// Card working keys the bank no longer takes. A terminal's keys are its
// stations' and the server's alike (api.SignOn). A station that meets an
// A0 (MAC error) signs on again, as every bank POS does, and its cashier's
// 签到 renews the keys. When a sign-on's answer is lost (the bank may hold
// keys the server never got), the keys are dropped so that the next
// sign-on asks the bank. A reversal cannot wait for a cashier: refused for
// its keys, the server signs the terminal on itself (it holds the master
// key), as a till does after an A0, and sends it again.

// codeBadMAC is the bank's answer to a MAC it does not take.
const codeBadMAC = "A0"

// keysRefused reports a bank call that failed for want of working keys
// the bank takes.
func keysRefused(err error) bool {
	var d *bank.DeclinedError
	return errors.Is(err, bank.ErrNotSignedOn) || errors.As(err, &d) && d.Code == codeBadMAC
}

// dropKeys forgets a terminal's working keys after the bank refused them.
func (s *Server) dropKeys(ctx context.Context, tid, why string) {
	if s.opts.Keys == nil {
		return
	}
	s.log.Warn("card working keys dropped; the next sign-on asks the bank", "terminal", tid, "why", why)
	if err := s.opts.Keys.DropCardKeys(context.WithoutCancel(ctx), tid); err != nil {
		s.log.Error("dropping card working keys failed", "terminal", tid, "err", err)
	}
}

// withBankKeys runs a bank call for a terminal; when the bank refuses its
// keys (or there are none), it signs the terminal on and runs it once more.
func (s *Server) withBankKeys(ctx context.Context, tid, merchantID string, call func() error) error {
	err := call()
	if !keysRefused(err) {
		return err
	}
	s.dropKeys(ctx, tid, err.Error())
	if serr := s.signOnAtBank(ctx, tid, merchantID); serr != nil {
		return errors.Join(err, serr)
	}
	return call()
}

// signOnAtBank signs a terminal on at the bank on the server's own
// account, under a trace of the terminal's batch like any message, and
// keeps the keys; the terminal's stations take them at their next sign-on.
func (s *Server) signOnAtBank(ctx context.Context, tid, merchantID string) error {
	issuer, ok := s.opts.Acquirer.(connector.KeyIssuer)
	if !ok || s.opts.Keys == nil {
		return errors.New("this server's bank link issues no working keys")
	}
	tmk, ok := s.opts.Keys.MasterKey(tid)
	if !ok {
		return fmt.Errorf("sign-on of terminal %s: its master key does not open", tid)
	}
	batch, trace, err := s.claimFreeTrace(ctx, tid, store.TraceSignOn, 5)
	if errors.Is(err, errNoFreeTrace) {
		return fmt.Errorf("sign-on of terminal %s: %w", tid, err)
	} else if err != nil {
		return err
	}
	cctx, cancel := s.callCtx(ctx)
	start := time.Now()
	res, err := issuer.IssueKeys(cctx, connector.SignOn{TerminalID: tid, MerchantID: merchantID, Trace: trace, Batch: batch, MasterKey: tmk})
	cancel()
	s.metrics.ChannelCall("card", "signon", outcome(err), time.Since(start))
	if err != nil {
		if unknownOutcome(err) {
			s.dropKeys(ctx, tid, "a sign-on's answer was lost")
		}
		return fmt.Errorf("sign-on of terminal %s: %w", tid, err)
	}
	s.log.Info("card sign-on by the server", "terminal", tid, "trace", trace)
	return s.opts.Keys.SaveCardKeys(context.WithoutCancel(ctx), tid, res.PINKey, res.MACKey, s.now())
}
