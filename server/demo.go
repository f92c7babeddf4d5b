package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/server/connector"
)

// customer is what a stand-in wallet offers the trainer: playing the
// customer on the phone (package sandbox/wallet implements it).
type customer interface {
	CustomerPay(ctx context.Context, outTradeNo string) error
	Decline(ctx context.Context, outTradeNo string) error
	// For a scanned payment code awaiting the customer's confirmation.
	Confirm(ctx context.Context, outTradeNo string) error
	Refuse(ctx context.Context, outTradeNo string) error
}

// demoWait bounds how long the trainer endpoints wait for the notification.
const demoWait = 5 * time.Second

// demoPay is POST /v1/demo/orders/{id}/pay (demo mode only): the customer
// pays the order on the phone. It answers with the order once the wallet's
// notification has arrived, or as it stands after a few seconds.
func (s *Server) demoPay(r *http.Request, t *terminal) (int, any, error) {
	return s.playCustomer(r, t, "demo_pay", func(c customer, kind api.Kind) func(context.Context, string) error {
		if kind == api.KindWalletBarcode {
			return c.Confirm
		}
		return c.CustomerPay
	})
}

// demoDecline is POST /v1/demo/orders/{id}/decline (demo mode only).
func (s *Server) demoDecline(r *http.Request, t *terminal) (int, any, error) {
	return s.playCustomer(r, t, "demo_decline", func(c customer, kind api.Kind) func(context.Context, string) error {
		if kind == api.KindWalletBarcode {
			return c.Refuse
		}
		return c.Decline
	})
}

func (s *Server) playCustomer(r *http.Request, t *terminal, op string, pick func(customer, api.Kind) func(context.Context, string) error) (int, any, error) {
	o, err := s.ownOrder(r.Context(), t.ID, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	var act func(context.Context, string) error
	if cu := s.opts.Customer; cu != nil {
		act = func(ctx context.Context, no string) error { return cu.CustomerPays(ctx, o.Channel, no) }
		if op == "demo_decline" {
			act = func(ctx context.Context, no string) error { return cu.CustomerDeclines(ctx, o.Channel, no) }
		}
	} else if c, ok := s.opts.Wallets[o.Channel].(customer); ok {
		act = pick(c, o.Kind)
	} else {
		return 0, nil, badRequest("order %s is not on a stand-in wallet", o.ID)
	}
	return s.once(r, t, op, requestHash(op, o.ID), o.ID, func(ctx context.Context) (int, api.Order, error) {
		if err := act(ctx, o.OutTradeNo); err != nil {
			if errors.Is(err, connector.ErrNotFound) {
				return 0, o, notFound("order " + o.ID + " at " + string(o.Channel))
			}
			return 0, o, &api.Error{Status: http.StatusConflict, Code: api.CodeChannelError, Message: err.Error()}
		}
		o, err := s.waitFor(ctx, "", o.ID, o.Version, demoWait)
		return http.StatusOK, o, err
	})
}
