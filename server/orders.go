package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/server/store"
)

// DefaultWait is the long-poll wait when the request names none.
const DefaultWait = 25 * time.Second

// ownOrder returns an order of the terminal; another terminal's order is
// "not found", so that ids reveal nothing.
func (s *Server) ownOrder(ctx context.Context, tid, id string) (api.Order, error) {
	o, err := s.st.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && o.TerminalID != tid {
		return api.Order{}, notFound("order " + id)
	}
	return o, err
}

// getOrder is the long-poll: with after=V it answers as soon as the order's
// version passes V, or after wait (capped at api.MaxWait).
func (s *Server) getOrder(r *http.Request, t *terminal) (int, any, error) {
	q := r.URL.Query()
	if !q.Has("after") {
		o, err := s.ownOrder(r.Context(), t.ID, r.PathValue("id"))
		if err != nil {
			return 0, nil, err
		}
		return s.answerOrder(r.Context(), o)
	}
	after, err := strconv.Atoi(q.Get("after"))
	if err != nil {
		return 0, nil, badRequest("after=%q is not a version number", q.Get("after"))
	}
	wait, err := parseWait(q.Get("wait"))
	if err != nil {
		return 0, nil, err
	}
	// One read: waitFor's own, which checks the order is the terminal's.
	o, err := s.waitFor(r.Context(), t.ID, r.PathValue("id"), after, wait)
	if err != nil {
		return 0, nil, err
	}
	return s.answerOrder(r.Context(), o)
}

// answerOrder answers with an order; a card sale says what was refunded
// and voided of it, so that the station tells at the look-up what is left.
func (s *Server) answerOrder(ctx context.Context, o api.Order) (int, any, error) {
	if o.Kind == api.KindCardSale && o.State == api.StateSuccess {
		var err error
		if o.Refunded, o.Voided, err = s.st.Undone(ctx, o.ID); err != nil {
			return 0, nil, err
		}
	}
	return http.StatusOK, o, nil
}

// parseWait reads a wait as a Go duration ("25s") or whole seconds ("25").
func parseWait(v string) (time.Duration, error) {
	if v == "" {
		return DefaultWait, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		n, nerr := strconv.Atoi(v)
		if nerr != nil {
			return 0, badRequest("wait=%q is not a duration", v)
		}
		d = time.Duration(n) * time.Second
	}
	if d < 0 {
		return 0, badRequest("wait=%q is negative", v)
	}
	return min(d, api.MaxWait), nil
}

// orderByTrace is GET /v1/orders?trace=T[&batch=B]: the terminal's order
// with that trace, in batch B or else the latest (a trace comes round
// again in each batch).
func (s *Server) orderByTrace(r *http.Request, t *terminal) (int, any, error) {
	q := r.URL.Query()
	trace, batch := q.Get("trace"), q.Get("batch")
	if !validTrace(trace) {
		return 0, nil, badRequest("trace=%q is not 6 digits", trace)
	}
	if batch != "" && !validTrace(batch) {
		return 0, nil, badRequest("batch=%q is not 6 digits", batch)
	}
	ctx := r.Context()
	o, err := s.st.ByTrace(ctx, t.ID, batch, trace)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return 0, nil, err
	}
	// A void or refund: what a terminal that lost its answer asks after. A
	// trace comes round in every batch, so both may have it: the one in the
	// terminal's open batch, else the later, is the one meant.
	a, aerr := s.st.AdjustmentByTrace(ctx, t.ID, batch, trace)
	switch {
	case aerr != nil && !errors.Is(aerr, store.ErrNotFound):
		return 0, nil, aerr
	case aerr == nil && err != nil:
		o, err = a, nil
	case aerr == nil:
		if open, _, nerr := s.nextTrace(ctx, t.ID); nerr == nil && (a.Batch == open) != (o.Batch == open) {
			if a.Batch == open {
				o = a
			}
		} else if a.CreatedAt.After(o.CreatedAt) {
			o = a
		}
	}
	if err != nil {
		return 0, nil, notFound("order with trace " + trace)
	}
	return s.answerOrder(ctx, o)
}
