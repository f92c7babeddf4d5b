package posclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/multipos/multipos/api"
)

// ErrSettling wraps the answer that the batch is being settled by another
// request (another station, or posserver's cut-off): nothing was done, ask
// again in a moment.
var ErrSettling = errors.New("the card batch is being settled")

// BatchMovedError is the answer to a settlement of a batch that is no
// longer the terminal's open one: it was settled already (by another
// station or at the cut-off). Settlement(ctx, Batch) returns how.
type BatchMovedError struct {
	Batch string // the batch the station asked to settle
	Open  string // the terminal's open batch, as the answer said ("" if it did not)
	Err   error  // the server's answer (*api.Error)
}

func (e *BatchMovedError) Error() string {
	if e.Open == "" {
		return fmt.Sprintf("card batch %s is no longer open: %v", e.Batch, e.Err)
	}
	return fmt.Sprintf("card batch %s is no longer open (batch %s is): %v", e.Batch, e.Open, e.Err)
}

func (e *BatchMovedError) Unwrap() error { return e.Err }

// Settle settles the terminal's open card batch (结算): posserver sends
// the batch totals to the acquirer, the batch closes and the next one
// opens. req.Batch must be the batch the station holds open; otherwise the
// answer is a *BatchMovedError. A settlement under way elsewhere is
// ErrSettling. The call is idempotent on requestID: after a lost answer,
// send it again with the same id. The answer's headers bring the trace
// counter (SyncTraces) into the new batch.
func (c *Client) Settle(ctx context.Context, requestID string, req api.SettleBatch) (api.Settlement, error) {
	var s api.Settlement
	h, err := c.mutateH(ctx, "/v1/card/settle", requestID, req, &s)
	if err != nil {
		return api.Settlement{}, settleError(req.Batch, h, err)
	}
	return s, nil
}

// settleError types the refusals a station acts on.
func settleError(batch string, h http.Header, err error) error {
	var e *api.Error
	if !errors.As(err, &e) {
		return fmt.Errorf("settle card batch %s: %w", batch, err)
	}
	switch e.Code {
	case api.CodeBatchMoved:
		open := ""
		if h != nil {
			open = h.Get(api.BatchHeader)
		}
		return &BatchMovedError{Batch: batch, Open: open, Err: err}
	case api.CodeSettling:
		return fmt.Errorf("settle card batch %s: %w: %w", batch, ErrSettling, err)
	}
	return fmt.Errorf("settle card batch %s: %w", batch, err)
}

// Settlement returns the settlement of a batch settled already, by this
// station, another one or the cut-off; an unknown or still open batch is
// an *api.Error with api.CodeNotFound.
func (c *Client) Settlement(ctx context.Context, batch string) (api.Settlement, error) {
	var s api.Settlement
	if err := c.do(ctx, http.MethodGet, "/v1/card/settlements/"+url.PathEscape(batch), "", nil, &s, 0); err != nil {
		return api.Settlement{}, fmt.Errorf("settlement of card batch %s: %w", batch, err)
	}
	return s, nil
}
