package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/money"
	"github.com/multipos/multipos/server/store"
)

// createdGrace is how long past the channel timeout a transaction may stay
// CREATED before the sweeper treats its outcome as unknown: only a server
// that died while the call was out leaves one there.
const createdGrace = 10 * time.Second

// journalTimeout bounds writing a payment to the journal.
const journalTimeout = 10 * time.Second

// reply is a finished answer (a replay) that the handler sends as it is.
type reply struct {
	status int
	body   any
}

// journal is the start of every call that creates a transaction. The
// channel's switch and single-payment limit are checked, then the
// transaction, its sale, its request record and the daily totals are
// written in one database transaction. A replay of the request id comes
// back as a reply; only when both are nil may the caller go to the channel.
func (s *Server) journal(ctx context.Context, t *terminal, o api.Order, rid, op, hash string) (api.Order, *reply, error) {
	if err := s.checkLimits(t, o.Channel, o.Amount); err != nil {
		return api.Order{}, nil, err
	}
	rl := t.rules[o.Channel]
	now := s.now()
	o.TerminalID, o.CreatedAt = t.ID, now
	// Once sent, the journal write is finished even if the terminal hangs
	// up, so that it is either wholly there or not at all.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), journalTimeout)
	defer cancel()
	created, prev, err := s.st.Create(wctx, store.NewTx{
		Order: o, MerchantID: t.MerchantID, StoreID: t.StoreID, Day: s.day(now),
		CheckAfter:    now.Add(s.opts.ChannelTimeout + createdGrace),
		Request:       store.Request{RequestID: rid, Op: op, Hash: hash},
		TerminalDaily: rl.Daily, MerchantDaily: rl.MerchantDaily, Actor: "terminal",
	})
	var over *store.OverLimit
	switch {
	case errors.Is(err, store.ErrRequestMismatch):
		return api.Order{}, nil, s.conflict(rid, prev)
	case err == nil && prev != nil:
		status, body, err := s.replay(ctx, prev)
		if err != nil {
			return api.Order{}, nil, err
		}
		return api.Order{}, &reply{status, body}, nil
	case errors.As(err, &over):
		left := max(over.Limit-over.Used, 0)
		whose := "this terminal"
		if over.Scope == store.ScopeMerchant {
			whose = "the merchant"
		}
		return api.Order{}, nil, &api.Error{Status: http.StatusUnprocessableEntity, Code: api.CodeOverDailyLimit, Limit: left,
			Message: fmt.Sprintf("%s above what is left today of %s's limit on %s (%s)", money.Fen(o.Amount).Yuan(), whose, o.Channel, money.Fen(left).Yuan())}
	case errors.Is(err, store.ErrTraceUsed):
		return api.Order{}, nil, s.traceUsed(t.ID, o.Trace)
	case errors.Is(err, store.ErrSettling):
		return api.Order{}, nil, batchSettling(err)
	case errors.Is(err, store.ErrSalePaid):
		return api.Order{}, nil, &api.Error{Status: http.StatusConflict, Code: api.CodeSalePaid,
			Message: fmt.Sprintf("sale %s is already paid", o.SaleID)}
	case errors.Is(err, store.ErrSaleBusy):
		return api.Order{}, nil, &api.Error{Status: http.StatusConflict, Code: api.CodeSaleBusy,
			Message: fmt.Sprintf("sale %s has a payment still open; close it first", o.SaleID)}
	case errors.Is(err, store.ErrSaleMismatch):
		return api.Order{}, nil, badRequest("sale %s is of another amount", o.SaleID)
	case errors.Is(err, store.ErrNotFound):
		return api.Order{}, nil, notFound("sale " + o.SaleID)
	case err != nil:
		return api.Order{}, nil, err
	}
	s.usedTrace(t.ID, created.Batch, created.Trace)
	s.metrics.Transaction(string(created.Channel), string(created.State))
	s.log.Info("order journaled", orderAttrs(created)...)
	return created, nil, nil
}

// checkSaleID checks the form of a sale id a terminal sends back.
func checkSaleID(id string) error {
	if id != "" && (!strings.HasPrefix(id, "sa") || len(id) > 64) {
		return badRequest("sale_id %q is not a sale id", id)
	}
	return nil
}
