package channels

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/multipos/multipos/server/api"
)

// ErrOffline wraps every failure to reach posserver (connection refused,
// dropped link, timeout, a proxy answering for it): the terminal shows the
// link as down and may try again with the same trace.
var ErrOffline = errors.New("posserver unreachable")

// Retries of mutating calls after a transport failure. The server is
// idempotent on terminal id + trace, so resending the same request is safe.
const (
	attempts     = 3
	retryBackoff = 150 * time.Millisecond
	callTimeout  = 30 * time.Second // one attempt, beyond any wait it asks for; above the server's channel timeout
)

// Client talks to posserver's terminal API (package api) for one terminal.
// It is safe for concurrent use.
type Client struct {
	base       string
	terminalID string
	hc         *http.Client
}

// NewClient returns a client of the server at baseURL (e.g.
// "http://127.0.0.1:8080") for the terminal. A nil hc uses a client of its
// own; timeouts come from the contexts and a per-attempt bound.
func NewClient(baseURL, terminalID string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), terminalID: terminalID, hc: hc}
}

// TerminalID returns the terminal the client speaks for.
func (c *Client) TerminalID() string { return c.terminalID }

// Ping measures a round trip to the server.
func (c *Client) Ping(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	if err := c.do(ctx, http.MethodGet, "/v1/ping", nil, nil, 0); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// Terminal returns what the server knows about this terminal: merchant,
// channels, limits and what was used today.
func (c *Client) Terminal(ctx context.Context) (api.TerminalInfo, error) {
	var info api.TerminalInfo
	err := c.do(ctx, http.MethodGet, "/v1/terminal", nil, &info, 0)
	return info, err
}

// CreateWalletOrder asks for a QR order. A replay with the same trace gets
// the same order back.
func (c *Client) CreateWalletOrder(ctx context.Context, req api.CreateWalletOrder) (api.Order, error) {
	var o api.Order
	err := c.mutate(ctx, "/v1/orders", req, &o)
	return o, err
}

// WaitOrder long-polls an order: it returns as soon as the order's version
// is above after, or once wait (at most api.MaxWait) has passed.
func (c *Client) WaitOrder(ctx context.Context, id string, after int, wait time.Duration) (api.Order, error) {
	wait = min(max(wait, 0), api.MaxWait)
	q := url.Values{"after": {strconv.Itoa(after)}, "wait": {wait.String()}}
	var o api.Order
	err := c.do(ctx, http.MethodGet, "/v1/orders/"+url.PathEscape(id)+"?"+q.Encode(), nil, &o, wait)
	return o, err
}

// OrderByTrace returns the order this terminal created with trace: how the
// terminal learns what became of a request whose answer it never got.
func (c *Client) OrderByTrace(ctx context.Context, trace string) (api.Order, error) {
	var o api.Order
	err := c.do(ctx, http.MethodGet, "/v1/orders?"+url.Values{"trace": {trace}}.Encode(), nil, &o, 0)
	return o, err
}

// CancelOrder closes a QR order at its wallet. If the customer paid first,
// the order comes back SUCCESS.
func (c *Client) CancelOrder(ctx context.Context, id string) (api.Order, error) {
	var o api.Order
	err := c.mutate(ctx, "/v1/orders/"+url.PathEscape(id)+"/cancel", nil, &o)
	return o, err
}

// CardSale sends a card sale. A replay with the same trace gets the same
// order back, never a second charge.
func (c *Client) CardSale(ctx context.Context, req api.CardSale) (api.Order, error) {
	var o api.Order
	err := c.mutate(ctx, "/v1/card/sales", req, &o)
	return o, err
}

// DemoPay plays the customer paying a QR order (servers in demo mode only).
func (c *Client) DemoPay(ctx context.Context, id string) (api.Order, error) {
	var o api.Order
	err := c.mutate(ctx, "/v1/demo/orders/"+url.PathEscape(id)+"/pay", nil, &o)
	return o, err
}

// DemoDecline plays the customer refusing a QR order (demo mode only).
func (c *Client) DemoDecline(ctx context.Context, id string) (api.Order, error) {
	var o api.Order
	err := c.mutate(ctx, "/v1/demo/orders/"+url.PathEscape(id)+"/decline", nil, &o)
	return o, err
}

// mutate POSTs body, resending it after transport failures within ctx.
func (c *Client) mutate(ctx context.Context, path string, body, out any) error {
	var err error
	for i := range attempts {
		if i > 0 {
			select {
			case <-ctx.Done():
				return err
			case <-time.After(retryBackoff << (i - 1)):
			}
		}
		err = c.do(ctx, http.MethodPost, path, body, out, 0)
		if !errors.Is(err, ErrOffline) {
			return err
		}
	}
	return err
}

// do makes one request. extra lengthens the attempt's time bound (for
// long-polls). A non-2xx answer with an error body comes back as *api.Error.
func (c *Client) do(ctx context.Context, method, path string, body, out any, extra time.Duration) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	actx, cancel := context.WithTimeout(ctx, callTimeout+extra)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, method, c.base+path, rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set(api.TerminalHeader, c.terminalID)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil { // the caller gave up: not a link failure
			return fmt.Errorf("%s %s: %w", method, path, ctx.Err())
		}
		return fmt.Errorf("%s %s: %w: %w", method, path, ErrOffline, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s %s: %w", method, path, ctx.Err())
		}
		return fmt.Errorf("%s %s: reading the answer: %w: %w", method, path, ErrOffline, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.serverError(method, path, resp, data)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: bad answer: %w", method, path, err)
	}
	return nil
}

// serverError turns an error answer into *api.Error. A gateway error
// without our error body comes from a proxy in front of a server that is
// not there, so it counts as offline.
func (c *Client) serverError(method, path string, resp *http.Response, data []byte) error {
	var e api.Error
	if json.Unmarshal(data, &e) == nil && e.Code != "" {
		e.Status = resp.StatusCode
		return fmt.Errorf("%s %s: %w", method, path, &e)
	}
	switch resp.StatusCode {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return fmt.Errorf("%s %s: %s: %w", method, path, resp.Status, ErrOffline)
	}
	return fmt.Errorf("%s %s: %w", method, path, &api.Error{Status: resp.StatusCode, Code: api.CodeInternal,
		Message: fmt.Sprintf("%s: %s", resp.Status, strings.TrimSpace(string(data)))})
}
