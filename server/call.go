package server

import (
	"context"
	"net/http"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/server/store"
)

// moneyCall is a call that moves money, once its request is read and
// checked: how it is journaled, and how it is carried out.
type moneyCall struct {
	// journal writes the transaction with its request, or finds the
	// request answered already: a replay, answered as it was.
	journal func(ctx context.Context) (api.Order, *reply, error)
	// send makes the channel call for the journaled transaction and
	// records its outcome.
	send func(ctx context.Context, o api.Order) (api.Order, error)
}

// journaled is what every call that moves money (a QR order, a code
// payment, a card sale, void or refund) does, in this order: read the
// request id its answer is kept under (api.IdempotencyHeader) and the
// JSON body; check the request (prepare, before anything is written);
// journal it, or answer a replay; make the channel call and record its
// outcome. The answer is 201 with the transaction as it then stands.
func journaled[T any](s *Server, r *http.Request, prepare func(ctx context.Context, rid string, req T) (moneyCall, error)) (int, any, error) {
	rid, err := requestID(r)
	if err != nil {
		return 0, nil, err
	}
	var req T
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	ctx := r.Context()
	call, err := prepare(ctx, rid, req)
	if err != nil {
		return 0, nil, err
	}
	o, rep, err := call.journal(ctx)
	switch {
	case err != nil:
		return 0, nil, err
	case rep != nil:
		return rep.status, rep.body, nil
	}
	o, err = call.send(ctx, o)
	return http.StatusCreated, o, err
}

// orderCall is the moneyCall of a payment: o is journaled as an attempt of
// its sale under the request's fingerprint hash (see journal); send makes
// the channel call and says what its answer makes of the order. The change
// is recorded as the request's answer, but for an open outcome (UNKNOWN,
// CANCELLING): a replay then gets the order as it stands by then.
func (s *Server) orderCall(t *terminal, rid string, o api.Order, hash string, send func(context.Context, api.Order) store.Change) moneyCall {
	return moneyCall{
		journal: func(ctx context.Context) (api.Order, *reply, error) {
			return s.journal(ctx, t, o, rid, string(o.Kind), hash)
		},
		send: func(ctx context.Context, o api.Order) (api.Order, error) {
			c := send(ctx, o)
			c.Actor = "terminal"
			if c.To != api.StateUnknown && c.To != api.StateCancelling {
				c.Answer = &store.AnswerTo{TerminalID: t.ID, RequestID: rid, Status: http.StatusCreated}
			}
			return s.settle(context.WithoutCancel(ctx), o, c)
		},
	}
}
