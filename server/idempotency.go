package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/server/store"
)

// requestID reads the call's request id (api.IdempotencyHeader).
func requestID(r *http.Request) (string, error) {
	id := r.Header.Get(api.IdempotencyHeader)
	if len(id) < 8 || len(id) > 64 {
		return "", badRequest("header %s must carry a request id of 8 to 64 characters", api.IdempotencyHeader)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_') {
			return "", badRequest("request id %q: only letters, digits, '-' and '_'", id)
		}
	}
	return id, nil
}

func (s *Server) conflict(rid string, prev *store.Request) *api.Error {
	s.metrics.Replay("conflict")
	what := "another request"
	if prev != nil && prev.Op != "" {
		what = "another " + prev.Op + " request"
	}
	return &api.Error{Status: http.StatusConflict, Code: api.CodeIdempotencyConflict,
		Message: fmt.Sprintf("request id %s was already used for %s with other parameters", rid, what)}
}

// replay answers a request id seen before: with the first answer when there
// is one, else (the first call is still at the channel) with the
// transaction once it settles, or as it stands after the channel timeout.
func (s *Server) replay(ctx context.Context, prev *store.Request) (int, any, error) {
	s.metrics.Replay("replayed")
	if prev.Status != 0 {
		return prev.Status, json.RawMessage(prev.Answer), nil
	}
	if prev.TxID == "" {
		return 0, nil, &api.Error{Status: http.StatusConflict, Code: api.CodeIdempotencyConflict,
			Message: "the first call with this request id is still being carried out; try again"}
	}
	// The transaction is read before the request record: an answer is
	// written in the same database transaction as the change it reports,
	// so one the transaction shows is in the record read after it.
	o, err := s.st.Get(ctx, prev.TxID)
	if errors.Is(err, store.ErrNotFound) {
		// Create journals the request and the transaction together, so
		// this is a first call that is still committing.
		return 0, nil, &api.Error{Status: http.StatusConflict, Code: api.CodeIdempotencyConflict,
			Message: "the first call with this request id is still being carried out; try again"}
	}
	if err != nil {
		return 0, nil, err
	}
	if o.State == api.StateCreated { // the first call is still at the channel
		if o, err = s.waitFor(ctx, "", o.ID, o.Version, s.opts.ChannelTimeout); err != nil {
			return 0, nil, err
		}
	}
	again, err := s.st.Request(ctx, prev.TerminalID, prev.RequestID)
	if err != nil {
		return 0, nil, err
	}
	if again.Status != 0 {
		return again.Status, json.RawMessage(again.Answer), nil
	}
	// Settled without an answer of its own (the outcome was unknown), or
	// still at the channel: the transaction as it stands is the answer.
	return http.StatusOK, o, nil
}

// once carries out a call that acts on an existing transaction (cancel,
// the trainer's pay and decline) at most once per request id: the request
// is recorded first, its answer after. A call that fails is forgotten, so
// that the terminal may repeat it with the same id; so is one that leaves
// the transaction open (a cancel the wallet has not confirmed yet): a
// repeat looks again rather than hear an answer that is out of date.
func (s *Server) once(r *http.Request, t *terminal, op, hash, txID string, do func(context.Context) (int, api.Order, error)) (int, any, error) {
	return s.atMostOnce(r, t, op, hash, txID, func(ctx context.Context) (int, any, bool, error) {
		status, o, err := do(ctx)
		return status, o, o.State.Final(), err
	})
}

// atMostOnce is once for any answer: do says whether its answer is kept
// for repeats (keep) or the request forgotten, as it is when do fails.
func (s *Server) atMostOnce(r *http.Request, t *terminal, op, hash, txID string,
	do func(context.Context) (status int, answer any, keep bool, err error)) (int, any, error) {
	rid, err := requestID(r)
	if err != nil {
		return 0, nil, err
	}
	ctx := context.WithoutCancel(r.Context())
	prev, err := s.st.Claim(ctx, store.Request{TerminalID: t.ID, RequestID: rid, Op: op, Hash: hash, TxID: txID, CreatedAt: s.now()})
	switch {
	case errors.Is(err, store.ErrRequestMismatch):
		return 0, nil, s.conflict(rid, prev)
	case err != nil:
		return 0, nil, err
	case prev != nil:
		return s.replay(r.Context(), prev)
	}
	status, answer, keep, err := do(ctx)
	if err != nil || !keep {
		if uerr := s.st.Unclaim(ctx, t.ID, rid); uerr != nil {
			s.log.Error("request id left claimed", "terminal", t.ID, "request", rid, "err", uerr)
		}
		if err != nil {
			return 0, nil, err
		}
		return status, answer, nil
	}
	body, err := json.Marshal(answer)
	if err != nil {
		return 0, nil, fmt.Errorf("answer to %s: %w", rid, err)
	}
	if err := s.st.Answer(ctx, t.ID, rid, status, body, s.now()); err != nil {
		return 0, nil, err
	}
	return status, json.RawMessage(body), nil
}
