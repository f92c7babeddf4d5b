package campaign

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/posclient"
)

// notifyWait is how long a cashier waits for a paying customer's result
// before pressing Esc (the close finds the payment and says so).
const notifyWait = 4 * time.Second

// qrSale shows a wallet QR code, plays the customer at the wallet, and
// waits or cancels as a cashier would.
func (t *terminal) qrSale(ctx context.Context, s *Sale, p SalePlan, saleID string) {
	a := s.newAttempt(api.KindWalletQR, p.Channel)
	req := api.CreateWalletOrder{SaleID: saleID, Channel: p.Channel, Amount: s.Amount, Subject: "campaign " + string(p.Channel)}
	call := func(c *posclient.Client, trace, rid string) (api.Order, error) {
		r := req
		r.Trace = trace
		return c.CreateWalletOrder(ctx, rid, r)
	}
	o, err := t.send(ctx, s, a, call)
	if err != nil {
		s.note("QR order trace %s: %v", a.Trace, err)
		if unknown(err) {
			// The station's way out of a lost create: find the order by
			// its trace and close it.
			if o, found, _ := t.lookup(ctx, s, a); found && !o.State.Final() {
				t.cancel(ctx, s, a, o)
			}
		}
		return
	}
	s.see(a, o, "QR order trace "+a.Trace)
	if p.Replay {
		rid := a.RequestIDs[len(a.RequestIDs)-1]
		var r api.Order
		if err := t.do(ctx, offlineBudget, func(c *posclient.Client) error {
			var err error
			r, err = call(c, a.Trace, rid)
			return err
		}); err == nil {
			s.see(a, r, "replay of request "+rid)
		}
	}
	if o.State.Final() {
		return
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	start := time.Now()
	if action, no := qrAction(p.Customer), o.OutTradeNo; action != "" && no != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.customerActs(ctx, s, p.Channel, no, action, p.Act)
		}()
	}
	until := start.Add(qrPatience(p))
	o = t.wait(ctx, s, a, o, until)
	if !o.State.Final() {
		sleep(ctx, time.Until(until))
		s.note("cashier presses Esc")
		o = t.cancel(ctx, s, a, o)
	}
	if p.Lookup {
		_, _, _ = t.lookup(ctx, s, a)
	}
}

// qrAction is what the customer does at the wallet with a QR code.
func qrAction(customer string) string {
	switch customer {
	case CustomerPays, CustomerPaysLate, CustomerPaysAsCancels:
		return "pay"
	case CustomerDeclines:
		return "decline"
	}
	return ""
}

// qrPatience is how long after showing the code the cashier cancels.
func qrPatience(p SalePlan) time.Duration {
	switch p.Customer {
	case CustomerPays, CustomerPaysLate:
		return p.Act + notifyWait
	case CustomerPaysAsCancels:
		return max(p.Act+p.Skew, 0)
	}
	return p.Patience
}

// customerActs plays the customer after a while: pay, confirm or decline.
// A customer too late (the order is closed or paid) is part of the game.
func (t *terminal) customerActs(ctx context.Context, s *Sale, ch api.Channel, outTradeNo, action string, after time.Duration) {
	if !sleep(ctx, after) {
		return
	}
	err := t.ctl.customer(ctx, ch, outTradeNo, action)
	switch {
	case err == nil:
		s.note("customer: %s", action)
	case errors.Is(err, errState), errors.Is(err, errNoOrder):
		s.note("customer: %s refused by the wallet: %v", action, err)
	default:
		s.note("customer: %s failed: %v", action, err)
	}
}

// codeSale charges the customer's payment code, plays the customer's
// phone, and waits or cancels as a cashier would.
func (t *terminal) codeSale(ctx context.Context, s *Sale, p SalePlan, saleID string) {
	a := s.newAttempt(api.KindWalletBarcode, p.Channel)
	how := "confirm"
	switch p.Customer {
	case CodePaid:
		how = "paid"
	case CodeRefused:
		how = "refused"
	}
	if err := t.ctl.codeBehaviour(ctx, p.Channel, p.Code, how); err != nil {
		s.note("setting the customer's phone: %v", err)
		return
	}
	req := api.CreateBarcodeOrder{SaleID: saleID, Channel: p.Channel, Amount: s.Amount, AuthCode: p.Code,
		Subject: "campaign " + string(p.Channel)}
	call := func(c *posclient.Client, trace, rid string) (api.Order, error) {
		r := req
		r.Trace = trace
		return c.CreateBarcodeOrder(ctx, rid, r)
	}
	start := time.Now()
	o, err := t.send(ctx, s, a, call)
	if err != nil {
		s.note("code payment trace %s: %v", a.Trace, err)
		if !unknown(err) {
			return
		}
		found := false
		if o, found, _ = t.lookup(ctx, s, a); !found {
			return
		}
	} else {
		s.see(a, o, "code payment trace "+a.Trace)
	}
	if p.Replay {
		rid := a.RequestIDs[len(a.RequestIDs)-1]
		var r api.Order
		if err := t.do(ctx, offlineBudget, func(c *posclient.Client) error {
			var err error
			r, err = call(c, a.Trace, rid)
			return err
		}); err == nil {
			s.see(a, r, "replay of request "+rid)
		}
	}
	if !o.State.Final() {
		o = t.followCode(ctx, s, a, p, o, start)
	}
	if p.Lookup {
		_, _, _ = t.lookup(ctx, s, a)
	}
}

// followCode plays the customer's phone while the payment waits for
// confirmation, and the cashier waiting (or cancelling).
func (t *terminal) followCode(ctx context.Context, s *Sale, a *Attempt, p SalePlan, o api.Order, start time.Time) api.Order {
	var wg sync.WaitGroup
	defer wg.Wait()
	action := map[string]string{CodeConfirms: "confirm", CodeConfirmsAsCancel: "confirm", CodeDeclinesOnPhone: "decline"}[p.Customer]
	if no := o.OutTradeNo; action != "" && no != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.customerActs(ctx, s, p.Channel, no, action, p.Act-time.Since(start))
		}()
	}
	// The server reverses a payment not confirmed in its window; the
	// cashier waits that long, or cancels at once in the race.
	until := start.Add(t.timing.ConfirmWindow + 2*t.timing.ChannelTimeout + time.Second)
	if p.Customer == CodeConfirmsAsCancel {
		until = start.Add(max(p.Act+p.Skew, 0))
	}
	o = t.wait(ctx, s, a, o, until)
	if !o.State.Final() {
		sleep(ctx, time.Until(until))
		s.note("cashier presses Esc")
		o = t.cancel(ctx, s, a, o)
	}
	return o
}
