package tui

import (
	tea "github.com/charmbracelet/bubbletea"
	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/money"
	"github.com/multipos/multipos/receipts"
)

// next is what a screen asks for when it is done: the router, not the
// screen, decides which screen that is. Screens never reach into the
// screen before them; going back resumes it with a resumeMsg.
type next interface{ isNext() }

type (
	// goHome ends the flow at the channel list, telling it notice.
	goHome struct{ notice text }
	// goBack resumes the screen before (or the last one named to), telling
	// it hint.
	goBack struct {
		hint text
		to   string
	}
	toWelcome struct{ ch api.Channel }
	toMenu    struct{ ch api.Channel }
	toAction  struct {
		ch  api.Channel
		act action
	} // a menu item chosen
	toPay struct {
		ch     api.Channel
		act    action
		amount money.Fen
	} // the amount of a new payment taken
	toCard      struct{ p *payment } // read the card for p
	toCardCheck struct{ p *payment }
	toPIN       struct{ p *payment }
	toSend      struct{ p *payment } // send the card request of p
	toResult    struct{ p *payment }
	toReceipt   struct{ p *payment }
	toBalance   struct{ p *payment }
	toOriginal  struct{ kind api.Kind } // the supervisor agreed to a void or refund
	toRefund    struct{ p *payment }    // the amount to give back of p's original
	toReprint   struct{ r receipts.Receipt }
	// The settlement (结算): the supervisor for p, then the settlement;
	// toSettled records a settlement's slip for reprinting, toSettleSlip
	// prints it.
	toSettleAuth struct{ p *payment }
	toSettleSend struct{ p *payment }
	toSettled    struct{ r receipts.Receipt }
	toSettleSlip struct{ r receipts.Receipt }
)

func (goHome) isNext()       {}
func (goBack) isNext()       {}
func (toWelcome) isNext()    {}
func (toMenu) isNext()       {}
func (toAction) isNext()     {}
func (toPay) isNext()        {}
func (toCard) isNext()       {}
func (toCardCheck) isNext()  {}
func (toPIN) isNext()        {}
func (toSend) isNext()       {}
func (toResult) isNext()     {}
func (toReceipt) isNext()    {}
func (toBalance) isNext()    {}
func (toOriginal) isNext()   {}
func (toRefund) isNext()     {}
func (toReprint) isNext()    {}
func (toSettleAuth) isNext() {}
func (toSettleSend) isNext() {}
func (toSettled) isNext()    {}
func (toSettleSlip) isNext() {}

// router owns the screens: the stack of those the cashier came through
// (the active one on top), the payment ids, the supervisor lockout that
// outlives a supervisor screen, and the app's one-shot notice.
type router struct {
	base
	stack      []Screen
	lastPayID  int
	lastResult api.Order
	guard      *supervisorGuard
	lastSettle *receipts.Receipt // the slip of the last settlement seen, for reprinting
	notice     text              // one-shot message below the screen (e.g. quit refused)
}

func newRouter(b base) *router {
	r := &router{base: b, guard: &supervisorGuard{}}
	r.stack = []Screen{newChannelList(b)}
	return r
}

func (r *router) active() Screen { return r.stack[len(r.stack)-1] }

// activePay is the id of the payment on screen, or -1.
func (r *router) activePay() int {
	if p, ok := r.active().(paying); ok && p.Payment() != nil {
		return p.Payment().id
	}
	return -1
}

func (r *router) busy() bool {
	p, ok := r.active().(paying)
	return ok && p.Busy()
}

// Update hands msg to the active screen and follows where it leads. A
// late answer for a payment no longer on screen is dropped.
func (r *router) Update(msg tea.Msg) tea.Cmd {
	if t, ok := msg.(tagged); ok && t.payID() != r.activePay() {
		return nil
	}
	n, cmd := r.active().Update(msg)
	if n == nil {
		return cmd
	}
	return tea.Batch(cmd, r.follow(n))
}

// finished returns the order of the payment on screen when it has just
// become final (a result the server is to be told was shown).
func (r *router) finished() (api.Order, bool) {
	p, ok := r.active().(paying)
	if !ok || p.Payment() == nil || !p.Payment().order.State.Final() {
		return api.Order{}, false
	}
	ord := p.Payment().order
	if ord.ID == r.lastResult.ID && ord.Version == r.lastResult.Version {
		return api.Order{}, false
	}
	r.lastResult = ord
	return ord, true
}

func (r *router) newPayment(ch api.Channel, kind api.Kind) *payment {
	r.lastPayID++
	return &payment{id: r.lastPayID, channel: ch, kind: kind}
}

// push makes s the active screen and starts it.
func (r *router) push(s Screen) tea.Cmd {
	r.stack = append(r.stack, s)
	return s.Init()
}

// follow turns a screen's next into the screen that follows: the flows
// of the patent, in one place.
func (r *router) follow(n next) tea.Cmd {
	b := r.base
	switch n := n.(type) {
	case goHome:
		r.stack = []Screen{newChannelList(b)}
		return r.resume(n.notice)
	case goBack:
		r.back(n.to)
		return r.resume(n.hint)
	case toWelcome:
		return r.push(newWelcome(b, n.ch))
	case toMenu:
		return r.push(newMenu(b, n.ch))
	case toAction:
		return r.action(n.ch, n.act)
	case toPay:
		p := r.newPayment(n.ch, "")
		p.amount = n.amount
		return r.push(r.payScreen(p, n.act))
	case toCard:
		return r.push(newCardPrompt(b, n.p))
	case toCardCheck:
		return r.push(&cardConfirm{base: b, p: n.p})
	case toPIN:
		return r.push(newPINEntry(b, n.p))
	case toSend:
		return r.push(newProcessing(b, n.p))
	case toResult:
		return r.push(newResult(b, n.p))
	case toReceipt:
		return r.push(newReceipt(b, n.p))
	case toBalance:
		return r.push(&balanceScreen{base: b, p: n.p})
	case toOriginal:
		return r.push(newOrigTrace(b, r.newPayment(api.Card, n.kind)))
	case toRefund:
		return r.push(newRefundAmount(b, n.p))
	case toReprint:
		return r.push(newReprint(b, n.r, r.newPayment(api.Channel(n.r.Channel), "")))
	}
	return r.settleFlow(n)
}

// settleFlow follows the settlement's steps.
func (r *router) settleFlow(n next) tea.Cmd {
	b := r.base
	switch n := n.(type) {
	case toSettleAuth:
		return r.push(newSupervisorFor(b, r.guard, n.p))
	case toSettleSend:
		return r.push(newSettleScreen(b, n.p))
	case toSettled:
		slip := n.r
		r.lastSettle = &slip
	case toSettleSlip:
		return r.push(newSettleSlip(b, n.r, r.newPayment(api.Card, kindSettle)))
	}
	return nil
}

// action opens what a menu item does.
func (r *router) action(ch api.Channel, act action) tea.Cmd {
	b := r.base
	switch act {
	case actSignOn:
		return r.push(newSignOnScreen(b))
	case actReprint:
		return r.push(newReprintPrompt(b))
	case actVoid:
		return r.push(newSupervisor(b, r.guard, api.KindCardVoid))
	case actReturn:
		return r.push(newSupervisor(b, r.guard, api.KindCardRefund))
	case actBalance:
		return r.push(newCardPrompt(b, r.newPayment(api.Card, kindBalance)))
	case actSettle:
		return r.push(newSettleConfirm(b, r.newPayment(api.Card, kindSettle), r.lastSettle))
	}
	return r.push(newAmount(b, ch, act))
}

// payScreen is where a new payment of act goes once its amount is known.
func (r *router) payScreen(p *payment, act action) Screen {
	switch {
	case act == actBarcode:
		return newBarcode(r.base, p)
	case p.channel.Wallet():
		return newQR(r.base, p)
	}
	return newCardPrompt(r.base, p)
}

// back pops to the screen before, or to the last one named to.
func (r *router) back(to string) {
	if len(r.stack) < 2 {
		return
	}
	r.stack = r.stack[:len(r.stack)-1]
	if to == "" {
		return
	}
	for i := len(r.stack) - 1; i > 0; i-- {
		if r.stack[i].Name() == to {
			r.stack = r.stack[:i+1]
			return
		}
	}
}

// resume tells the screen now on top that it is active again.
func (r *router) resume(hint text) tea.Cmd {
	n, cmd := r.active().Update(resumeMsg{hint: hint})
	if n != nil {
		return tea.Batch(cmd, r.follow(n))
	}
	return cmd
}
