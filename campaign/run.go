package campaign

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/sandbox/acquirer"
)

// runState is one run in progress: its plan, its terminals (its own for
// the run) and what they lived.
type runState struct {
	n     int
	plan  RunPlan
	terms []*terminal
	start time.Time

	mu      sync.Mutex
	sales   []*Sale
	faults  []string // faults that took effect, by kind
	kills   int
	pending int      // faults not injected because the same was still armed
	errs    []string // faults that could not be injected
}

func (r *runState) addSale(s *Sale) {
	r.mu.Lock()
	r.sales = append(r.sales, s)
	r.mu.Unlock()
}

func (r *runState) fault(kind FaultKind) {
	r.mu.Lock()
	switch kind {
	case "":
		r.pending++
	case FaultKill:
		r.kills++
	default:
		r.faults = append(r.faults, string(kind))
	}
	r.mu.Unlock()
}

func (r *runState) faultErr(f FaultPlan, err error) {
	r.mu.Lock()
	r.errs = append(r.errs, fmt.Sprintf("%s: %v", f, err))
	r.mu.Unlock()
}

// wipeBefore reports whether the plan wipes terminal k's state folder
// before its sale j.
func (r *runState) wipeBefore(k, j int) bool {
	for _, f := range r.plan.Faults {
		if f.Kind == FaultWipe && f.Terminal == k && f.Before == j {
			return true
		}
	}
	return false
}

// traffic runs the terminals' sales and the faults at their moments, and
// returns once both are done (a killed server restarted, held
// notifications released).
func (w *World) traffic(ctx context.Context, r *runState) {
	var wg sync.WaitGroup
	for _, f := range r.plan.Faults {
		if f.Kind == FaultWipe {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !sleep(ctx, f.At) {
				return
			}
			w.inject(ctx, r, f)
		}()
	}
	for k, t := range r.terms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.terminalRun(ctx, r, k, t)
		}()
	}
	wg.Wait()
}

// terminalRun is one terminal's part of the run: its sales one after the
// other, as a cashier serves a queue.
func (w *World) terminalRun(ctx context.Context, r *runState, k int, t *terminal) {
	for j, p := range r.plan.Terminals[k].Sales {
		if ctx.Err() != nil {
			return
		}
		if r.wipeBefore(k, j) {
			w.wipe(ctx, r, t)
		}
		sleep(ctx, p.Think)
		s := newSale(r.n, t.id, j, p)
		r.addSale(s)
		t.sell(ctx, s, p, "")
		if !s.Paid && p.Again != nil {
			if a := s.Attempts[len(s.Attempts)-1]; a.SaleID != "" && (a.Saw == api.StateFailed || a.Saw == api.StateClosed) {
				sleep(ctx, p.Again.Think)
				s.note("the customer pays again, by card")
				t.sell(ctx, s, *p.Again, a.SaleID)
			}
		}
		if s.Paid && p.Adjust != "" && s.Attempts[len(s.Attempts)-1].Kind == api.KindCardSale {
			t.adjust(ctx, s, p)
		}
	}
}

func (t *terminal) sell(ctx context.Context, s *Sale, p SalePlan, saleID string) {
	switch p.Kind {
	case KindCard:
		t.cardSale(ctx, s, p, saleID)
	case KindQR:
		t.qrSale(ctx, s, p, saleID)
	case KindCode:
		t.codeSale(ctx, s, p, saleID)
	}
}

// wipe loses a terminal's state folder and restarts the station: a fresh
// trace counter, no working keys (they live in memory), and a sign-on as
// at every start.
func (w *World) wipe(ctx context.Context, r *runState, t *terminal) {
	if err := t.traces.Wipe(); err != nil {
		r.faultErr(FaultPlan{Kind: FaultWipe}, err)
		return
	}
	r.fault(FaultWipe)
	t.keys.Forget()
	if err := t.signOn(ctx); err != nil {
		w.log.Warn("sign-on after a wiped state folder", "terminal", t.id, "err", err)
	}
}

// inject applies a fault at its moment.
func (w *World) inject(ctx context.Context, r *runState, f FaultPlan) {
	var err error
	c := w.ctl
	switch f.Kind {
	case FaultKill:
		var killed bool
		if killed, err = w.killAndRestart(ctx, f.Instance%len(w.servers), f.Down); killed {
			r.fault(f.Kind)
		}
		if err != nil {
			r.faultErr(f, err)
		}
		return
	case FaultBankDrop:
		err = c.bankFaults(ctx, acquirer.ControlFaults{DropNext: f.N})
	case FaultBankLate:
		err = c.bankFaults(ctx, acquirer.ControlFaults{DelayNext: f.Delay.String()})
	case FaultBankFailReversals:
		err = c.bankFaults(ctx, acquirer.ControlFaults{FailReversals: f.N, FailCode: "96"})
	case FaultBankDropReversals:
		err = c.bankFaults(ctx, acquirer.ControlFaults{DropReversals: f.N})
	case FaultAlipayLost:
		err = c.alipayFault(ctx, f.Method, 0, "lost", false)
	case FaultAlipayLate:
		err = c.alipayFault(ctx, f.Method, f.Delay, "", false)
	case FaultAlipayError:
		err = c.alipayFault(ctx, f.Method, 0, f.Answer, f.Applied)
	case FaultWeChatLost:
		err = c.wechatFault(ctx, f.Method, "lose_reply", 0)
	case FaultWeChatLate:
		err = c.wechatFault(ctx, f.Method, "delay", f.Delay)
	case FaultWeChatError:
		err = c.wechatFault(ctx, f.Method, "system_error", 0)
	case FaultNotifyDuplicate:
		err = c.notifications(ctx, f.Channel, "duplicate")
	case FaultNotifyLate:
		err = w.holdNotifications(ctx, f)
	case FaultNotifyLost:
		w.front.loseNext(f.N)
	case FaultAnswerLost:
		r.terms[f.Terminal%len(r.terms)].link.lose.Add(int32(f.N))
	case FaultRequestDup:
		r.terms[f.Terminal%len(r.terms)].link.dup.Add(int32(f.N))
	}
	switch {
	case errors.Is(err, errArmed):
		r.fault("") // planned, not injected: the same one is pending
	case err != nil:
		r.faultErr(f, err)
	default:
		r.fault(f.Kind)
	}
}

// holdNotifications keeps a wallet's notifications back for a while, then
// lets them go (newest first, sometimes).
func (w *World) holdNotifications(ctx context.Context, f FaultPlan) error {
	if err := w.ctl.notifications(ctx, f.Channel, "hold"); err != nil {
		return err
	}
	sleep(ctx, f.Down)
	release := "release"
	if f.Reverse {
		release = "release_reversed"
	}
	// Released even when the campaign is stopping: nothing stays held.
	return w.ctl.notifications(context.WithoutCancel(ctx), f.Channel, release)
}
