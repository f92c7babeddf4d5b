package tui

import (
	"context"
	"errors"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/multipos/multipos/api"
)

// followPhase is where a wallet order stands for the screen following it.
type followPhase int

const (
	fIdle        followPhase = iota // nothing open at the server (refused, or no code scanned yet)
	fCreating                       // the order is on its way
	fOpen                           // open at the server, followed: the customer pays or confirms
	fClosing                        // close requested (the cashier, an expiry, or a lost create)
	fCloseFailed                    // the close failed; Cancel tries again
	// fGivingBack: the server journaled the close (CANCELLING) and waits
	// for the wallet; it finishes by itself, so the cashier may leave.
	fGivingBack
)

// follower follows a wallet order at the server until it is final: the
// long-poll and its retries, the close and what can go wrong with it. The
// QR and payment-code screens embed it; it never lets the cashier walk
// away from an order that may still be open.
type follower struct {
	base
	p           *payment
	phase       followPhase
	hint        text
	note        text // what the trainer's key just did (demo)
	lost        bool // the link dropped while following the order
	cancelAsked bool // Cancel while the order was being created

	// What differs between the screens that embed it: the text key of a
	// failed close; whether the order's commands carry the QR countdown;
	// whether a lost create is reversed by its trace until the server
	// answers (a payment code may have been charged; a QR code that was
	// never shown cannot have been paid, and the server's sweeper closes
	// the order); and what an order that opened shows.
	closeFail string
	// didPay, didDecline are the text keys of the trainer's notes.
	didPay, didDecline string
	ticking            bool
	undoLost           bool
	opened             func(api.Order) tea.Cmd
}

func (f *follower) Payment() *payment { return f.p }

// Busy is false only when nothing can be open at the server, or when the
// server finishes the close by itself.
func (f *follower) Busy() bool { return f.phase != fIdle && f.phase != fGivingBack }

func (f *follower) wait() tea.Cmd {
	return waitOrder(f.c.ctx, *f.o, f.p.id, f.p.order.ID, f.p.order.Version)
}

func (f *follower) close() tea.Cmd {
	f.phase = fClosing
	return cancelOrder(f.c.ctx, *f.o, f.p.id, f.p.order.ID)
}

// withTick adds the QR countdown when the screen has one.
func (f *follower) withTick(cmd tea.Cmd) tea.Cmd {
	if f.ticking {
		return tea.Batch(cmd, countdown(f.p.id))
	}
	return cmd
}

// update handles what every order-following screen handles alike; ok is
// false for a message left to the screen.
func (f *follower) update(msg tea.Msg) (n next, cmd tea.Cmd, ok bool) {
	switch msg := msg.(type) {
	case trainerMsg:
		if msg.err != nil {
			f.hint, f.note = say("trainer.error", msg.err), text{}
		}
		return nil, nil, true
	case retryMsg:
		if msg.op == opCancel && f.p.order.ID == "" {
			return nil, cancelTrace(f.c.ctx, *f.o, f.p.id, f.p.trace), true
		}
		if f.phase >= fOpen {
			return nil, f.wait(), true
		}
		return nil, nil, true
	case orderMsg:
		n, cmd = f.answer(msg)
		return n, cmd, true
	case tea.KeyMsg:
		return f.key(msg)
	}
	return nil, nil, false
}

// key handles the keys every order-following screen shares.
func (f *follower) key(k tea.KeyMsg) (next, tea.Cmd, bool) {
	c, o := f.c, f.o
	switch {
	case key.Matches(k, c.Keys.Cancel):
		switch f.phase {
		case fIdle:
			return goBack{}, nil, true
		case fCreating:
			f.cancelAsked = true // closed as soon as the server answers
		case fOpen, fCloseFailed:
			if f.p.order.ID != "" {
				return nil, f.close(), true
			}
		}
		return nil, nil, true
	case key.Matches(k, c.Keys.Confirm) && f.phase == fGivingBack:
		return goHome{notice: say("qr.cancelleft")}, nil, true
	case key.Matches(k, c.Keys.CustomerPays) && f.phase == fOpen:
		f.note = say(f.didPay)
		ch, no := f.p.channel, f.p.order.OutTradeNo
		return nil, trainerAct(c.ctx, *o, f.p.id, func(ctx context.Context) error { return o.Trainer.CustomerPays(ctx, ch, no) }), true
	case key.Matches(k, c.Keys.CustomerDeclines) && f.phase == fOpen:
		// Nothing may reach the terminal, as with the real wallets: the
		// trainer is told, or the key would seem to do nothing.
		f.note = say(f.didDecline, c.Keys.Cancel.Help().Key)
		ch, no := f.p.channel, f.p.order.OutTradeNo
		return nil, trainerAct(c.ctx, *o, f.p.id, func(ctx context.Context) error { return o.Trainer.CustomerDeclines(ctx, ch, no) }), true
	}
	return nil, nil, false
}

func (f *follower) answer(msg orderMsg) (next, tea.Cmd) {
	c := f.c
	if msg.trace != "" {
		f.p.trace = msg.trace
	}
	if msg.err != nil {
		return f.failed(msg)
	}
	f.lost = false
	if msg.order.Version < f.p.order.Version {
		if msg.op == opCancel {
			f.closeFailed(say("qr.stillopen"))
		}
		return nil, nil // an older view of the order than we have
	}
	f.p.order = msg.order
	ord := msg.order
	switch {
	case ord.State == api.StateClosed && ord.Reason == api.ReasonCancelled && !f.p.expired:
		// The cashier closed it: one step back, amount kept.
		return goBack{hint: say("qr.closed")}, nil
	case ord.State.Final():
		return toResult{f.p}, nil
	case ord.State == api.StateCancelling:
		f.phase = fGivingBack
		f.hint = say("qr.cancelling", c.Keys.Confirm.Help().Key)
		return nil, f.wait()
	}
	switch msg.op {
	case opCreate:
		if f.cancelAsked {
			return nil, f.close()
		}
		f.phase = fOpen
		return nil, f.withTick(tea.Batch(f.opened(ord), f.wait()))
	case opCancel:
		// The server answered but the order is still open at the wallet.
		f.closeFailed(say("qr.stillopen"))
		return nil, f.withTick(f.wait())
	}
	return nil, f.wait()
}

func (f *follower) closeFailed(why text) {
	f.phase = fCloseFailed
	f.hint = say(f.closeFail, why, f.c.Keys.Cancel.Help().Key)
}

func (f *follower) failed(msg orderMsg) (next, tea.Cmd) {
	c := f.c
	var ae *api.Error
	refused := errors.As(msg.err, &ae)
	switch msg.op {
	case opCreate:
		if refused {
			// The server said no: nothing is open. A new attempt gets a
			// new trace and request id.
			if f.cancelAsked {
				return goBack{}, nil
			}
			f.phase = fIdle
			f.p.trace, f.p.reqID = "", ""
			f.hint = say("qr.failed", sayErr(f.base, msg.err))
			return nil, nil
		}
		// The answer was lost: the order may exist. Close it by its trace;
		// the server's reversal gives back anything taken.
		f.phase = fClosing
		f.hint = sayErr(f.base, msg.err)
		return nil, cancelTrace(c.ctx, *f.o, f.p.id, f.p.trace)
	case opCancel:
		if f.p.order.ID == "" {
			return f.lostCreateUndone(refused && ae.Code == api.CodeNotFound, msg.err)
		}
		f.closeFailed(sayErr(f.base, msg.err))
		return nil, f.withTick(nil)
	}
	// The long-poll: keep trying, the order is still open.
	f.lost = true
	return nil, retryAfter(f.p.id, opWait, 2*time.Second)
}

// lostCreateUndone follows the close of a create whose answer was lost.
func (f *follower) lostCreateUndone(notFound bool, err error) (next, tea.Cmd) {
	c := f.c
	switch {
	case notFound:
		return goBack{hint: say("qr.notcreated")}, nil
	case !f.undoLost:
		return goBack{hint: say("qr.leftopen")}, nil
	}
	// Not sure it is undone, and no order to follow: try again.
	f.hint = say(f.closeFail, sayErr(f.base, err), c.Keys.Cancel.Help().Key)
	return nil, retryAfter(f.p.id, opCancel, 2*time.Second)
}

// dots is the waiting animation, one step a second on the injected clock.
func (f *follower) dots() string {
	return []string{"●○○", "○●○", "○○●"}[f.now().Unix()%3]
}
