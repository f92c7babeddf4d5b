package posclient

import (
	"bytes"
	"context"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/bundle"
	"github.com/multipos/multipos/internal/ids"
)

// ErrOffline wraps every failure to reach posserver (connection refused,
// dropped link, timeout, a proxy answering for it): the terminal shows the
// link as down and may try again with the same trace.
var ErrOffline = errors.New("posserver unreachable")

// ErrCertificate wraps a TLS handshake that failed on a certificate: the
// server's is not from the bundle's CA, or the server refused this
// terminal's. The link works, so this is not offline, and retrying the same
// certificate cannot help.
var ErrCertificate = errors.New("TLS certificate refused")

// Retries of mutating calls after a transport failure. The server is
// idempotent on terminal id + request id, so resending the same request is
// safe.
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
	cardKeys   atomic.Pointer[CardKeys]
	traces     atomic.Pointer[Traces]
}

// SyncTraces keeps t in step with the batch and next trace every answer
// of the server carries (api.BatchHeader, api.NextTraceHeader): the
// terminal's counter is a cache of the server's.
func (c *Client) SyncTraces(t *Traces) { c.traces.Store(t) }

// IsTraceUsed reports an answer saying the trace was used already in the
// terminal's batch: nothing was done, and the answer has brought the
// counter in step, so the request goes again under the next trace and a
// new request id.
func IsTraceUsed(err error) bool {
	var e *api.Error
	return errors.As(err, &e) && e.Code == api.CodeTraceUsed
}

// syncTraces reads an answer's batch and next trace into the counter.
// A counter that cannot be written says so at its next Next.
func (c *Client) syncTraces(h http.Header) {
	t := c.traces.Load()
	batch, next := h.Get(api.BatchHeader), h.Get(api.NextTraceHeader)
	if t == nil || batch == "" || next == "" {
		return
	}
	_ = t.Sync(batch, next)
}

// UseCardKeys makes the client sign every card request with k's MAC key
// and believe a card order from the server only when its MAC checks
// (ErrBadMAC otherwise, with the order as received).
func (c *Client) UseCardKeys(k *CardKeys) { c.cardKeys.Store(k) }

// checkCard verifies the MAC of a card order when the client has keys.
func (c *Client) checkCard(o api.Order, err error) (api.Order, error) {
	k := c.cardKeys.Load()
	if err != nil || k == nil || o.Channel != api.Card || o.ID == "" {
		return o, err
	}
	return o, k.Verify(o)
}

// NewClient returns a client of the server at baseURL (e.g.
// "https://pos.example.com:8443") for the terminal. hc must present the
// terminal's certificate (see FromBundle); timeouts come from the contexts
// and a per-attempt bound.
func NewClient(baseURL, terminalID string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), terminalID: terminalID, hc: hc}
}

// FromBundle returns a client for the terminal a bundle provisions, over
// mutual TLS with the bundle's certificate, trusting only the bundle's CA.
// A non-empty server overrides the bundle's server URL.
func FromBundle(b bundle.Bundle, server string) (*Client, error) {
	tc, err := b.ClientTLSConfig()
	if err != nil {
		return nil, fmt.Errorf("terminal %s: %w", b.TerminalID, err)
	}
	if server == "" {
		server = b.Server
	}
	tr := &http.Transport{
		TLSClientConfig:     tc,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
	}
	return NewClient(server, b.TerminalID, &http.Client{Transport: tr}), nil
}

// NewRequestID returns a fresh request id for a mutating call (see
// api.IdempotencyHeader). Keep it with the call and send the same id again
// when repeating that call.
func NewRequestID() string { return ids.New() }

// TerminalID returns the terminal the client speaks for.
func (c *Client) TerminalID() string { return c.terminalID }

// Ping measures a round trip to the server.
func (c *Client) Ping(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	if err := c.do(ctx, http.MethodGet, "/v1/ping", "", nil, nil, 0); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// Terminal returns what the server knows about this terminal: merchant,
// channels, limits and what was used today.
func (c *Client) Terminal(ctx context.Context) (api.TerminalInfo, error) {
	var info api.TerminalInfo
	err := c.do(ctx, http.MethodGet, "/v1/terminal", "", nil, &info, 0)
	return info, err
}

// Heartbeat tells the server the terminal is alive and acknowledges the
// results it has shown; the answer lists results it has not.
func (c *Client) Heartbeat(ctx context.Context, hb api.Heartbeat) (api.HeartbeatAnswer, error) {
	var ans api.HeartbeatAnswer
	err := c.do(ctx, http.MethodPost, "/v1/heartbeat", "", hb, &ans, 0)
	return ans, err
}

// CreateWalletOrder asks for a QR order. A replay with the same request id
// gets the first answer back.
func (c *Client) CreateWalletOrder(ctx context.Context, requestID string, req api.CreateWalletOrder) (api.Order, error) {
	var o api.Order
	err := c.mutate(ctx, "/v1/orders", requestID, req, &o)
	return o, err
}

// CreateBarcodeOrder charges the payment code the cashier scanned on the
// customer's phone. The answer is SUCCESS or FAILED, or PENDING while the
// customer confirms on the phone: then WaitOrder follows it (the server
// queries the wallet and reverses the payment if it is not confirmed in
// time). A retry with the same request id is safe; a new attempt needs a
// new trace and a fresh code.
func (c *Client) CreateBarcodeOrder(ctx context.Context, requestID string, req api.CreateBarcodeOrder) (api.Order, error) {
	var o api.Order
	err := c.mutate(ctx, "/v1/orders/barcode", requestID, req, &o)
	return o, err
}

// WaitOrder long-polls an order: it returns as soon as the order's version
// is above after, or once wait (at most api.MaxWait) has passed.
func (c *Client) WaitOrder(ctx context.Context, id string, after int, wait time.Duration) (api.Order, error) {
	wait = min(max(wait, 0), api.MaxWait)
	q := url.Values{"after": {strconv.Itoa(after)}, "wait": {wait.String()}}
	var o api.Order
	err := c.do(ctx, http.MethodGet, "/v1/orders/"+url.PathEscape(id)+"?"+q.Encode(), "", nil, &o, wait)
	o, err = c.checkCard(o, err)
	if err == nil && o.Version <= after && ctx.Err() != nil {
		// The server let go of the poll because we hung up, and the
		// transport still handed its answer over: the caller's deadline,
		// not the server's wait, ended this call.
		return o, fmt.Errorf("waiting for order %s: %w", id, ctx.Err())
	}
	return o, err
}

// OrderByTrace returns the order this terminal created with trace: how the
// terminal learns what became of a request whose answer it never got.
func (c *Client) OrderByTrace(ctx context.Context, trace string) (api.Order, error) {
	var o api.Order
	err := c.do(ctx, http.MethodGet, "/v1/orders?"+url.Values{"trace": {trace}}.Encode(), "", nil, &o, 0)
	return c.checkCard(o, err)
}

// CancelOrder closes a QR order at its wallet. If the customer paid first,
// the order comes back SUCCESS. Cancelling is idempotent in itself, so each
// call takes a request id of its own.
func (c *Client) CancelOrder(ctx context.Context, id string) (api.Order, error) {
	var o api.Order
	err := c.mutate(ctx, "/v1/orders/"+url.PathEscape(id)+"/cancel", NewRequestID(), nil, &o)
	return o, err
}

// CardSale sends a card sale. A replay with the same request id gets the
// first answer back, never a second charge.
func (c *Client) CardSale(ctx context.Context, requestID string, req api.CardSale) (api.Order, error) {
	if k := c.cardKeys.Load(); k != nil {
		if err := k.Sign(&req); err != nil {
			return api.Order{}, err
		}
	}
	var o api.Order
	err := c.mutate(ctx, "/v1/card/sales", requestID, req, &o)
	return c.checkCard(o, err)
}

// CardVoid voids (消费撤销) a card sale of today's batch; CardRefund
// refunds (退货) part or all of one. Both are idempotent on requestID, as a
// sale is, and signed and checked with the card keys.
func (c *Client) CardVoid(ctx context.Context, requestID string, req api.CardAdjust) (api.Order, error) {
	return c.cardAdjust(ctx, "/v1/card/voids", api.KindCardVoid, requestID, req)
}

// CardRefund: see CardVoid.
func (c *Client) CardRefund(ctx context.Context, requestID string, req api.CardAdjust) (api.Order, error) {
	return c.cardAdjust(ctx, "/v1/card/refunds", api.KindCardRefund, requestID, req)
}

func (c *Client) cardAdjust(ctx context.Context, path string, kind api.Kind, requestID string, req api.CardAdjust) (api.Order, error) {
	if k := c.cardKeys.Load(); k != nil {
		mac, err := k.sum(req.MACData(kind))
		if err != nil {
			return api.Order{}, err
		}
		req.MAC = mac
	}
	var o api.Order
	err := c.mutate(ctx, path, requestID, req, &o)
	return c.checkCard(o, err)
}

// CardBalance asks the card's balance (余额查询). Nothing is charged, so a
// lost answer is simply asked again.
func (c *Client) CardBalance(ctx context.Context, req api.CardBalance) (api.Balance, error) {
	k := c.cardKeys.Load()
	if k != nil {
		mac, err := k.sum(req.MACData())
		if err != nil {
			return api.Balance{}, err
		}
		req.MAC = mac
	}
	var b api.Balance
	if err := c.do(ctx, http.MethodPost, "/v1/card/balance", "", req, &b, 0); err != nil {
		return api.Balance{}, err
	}
	if k != nil {
		want, err := k.sum(b.MACData())
		if err != nil {
			return api.Balance{}, err
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToUpper(b.MAC))) != 1 {
			return api.Balance{}, fmt.Errorf("balance of %s: %w", b.MaskedPAN, ErrBadMAC)
		}
	}
	return b, nil
}

// CardSignOn signs the terminal on for card payments (签到): the answer
// carries working keys under the master key (CardKeys.Install), the
// terminal's keys of today or, with renew, fresh ones (see api.SignOn).
func (c *Client) CardSignOn(ctx context.Context, trace string, renew bool) (api.SignedOn, error) {
	var out api.SignedOn
	err := c.mutate(ctx, "/v1/card/signon", NewRequestID(), api.SignOn{Trace: trace, Renew: renew}, &out)
	return out, err
}

// DemoPay plays the customer paying a QR order (servers in demo mode only).
func (c *Client) DemoPay(ctx context.Context, id string) (api.Order, error) {
	var o api.Order
	err := c.mutate(ctx, "/v1/demo/orders/"+url.PathEscape(id)+"/pay", NewRequestID(), nil, &o)
	return o, err
}

// DemoDecline plays the customer refusing a QR order (demo mode only).
func (c *Client) DemoDecline(ctx context.Context, id string) (api.Order, error) {
	var o api.Order
	err := c.mutate(ctx, "/v1/demo/orders/"+url.PathEscape(id)+"/decline", NewRequestID(), nil, &o)
	return o, err
}

// mutate POSTs body under a request id, resending it after transport
// failures within ctx.
func (c *Client) mutate(ctx context.Context, path, requestID string, body, out any) error {
	_, err := c.mutateH(ctx, path, requestID, body, out)
	return err
}

// mutateH is mutate, returning the last answer's headers as well.
func (c *Client) mutateH(ctx context.Context, path, requestID string, body, out any) (http.Header, error) {
	var (
		err error
		h   http.Header
	)
	for i := range attempts {
		if i > 0 {
			select {
			case <-ctx.Done():
				return h, err
			case <-time.After(retryBackoff << (i - 1)):
			}
		}
		h, err = c.doH(ctx, http.MethodPost, path, requestID, body, out, 0)
		if !errors.Is(err, ErrOffline) {
			return h, err
		}
	}
	return h, err
}

// do makes one request. extra lengthens the attempt's time bound (for
// long-polls). A non-2xx answer with an error body comes back as *api.Error.
func (c *Client) do(ctx context.Context, method, path, requestID string, body, out any, extra time.Duration) error {
	_, err := c.doH(ctx, method, path, requestID, body, out, extra)
	return err
}

// doH is do, returning the answer's headers as well (nil when there was
// no answer).
func (c *Client) doH(ctx context.Context, method, path, requestID string, body, out any, extra time.Duration) (http.Header, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	actx, cancel := context.WithTimeout(ctx, callTimeout+extra)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, method, c.base+path, rd)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if requestID != "" {
		req.Header.Set(api.IdempotencyHeader, requestID)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil { // the caller gave up: not a link failure
			return nil, fmt.Errorf("%s %s: %w", method, path, ctx.Err())
		}
		if certificateError(err) {
			return nil, fmt.Errorf("%s %s: %w: %w", method, path, ErrCertificate, err)
		}
		return nil, fmt.Errorf("%s %s: %w: %w", method, path, ErrOffline, err)
	}
	defer resp.Body.Close()
	c.syncTraces(resp.Header)
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		if ctx.Err() != nil {
			return resp.Header, fmt.Errorf("%s %s: %w", method, path, ctx.Err())
		}
		return resp.Header, fmt.Errorf("%s %s: reading the answer: %w: %w", method, path, ErrOffline, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.Header, c.serverError(method, path, resp, data)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return resp.Header, nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return resp.Header, fmt.Errorf("%s %s: bad answer: %w", method, path, err)
	}
	return resp.Header, nil
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

// certificateError reports whether a request failed because a certificate
// was refused, by us (the server's does not chain to our CA or does not
// name the host) or by the server (a TLS alert about ours).
func certificateError(err error) bool {
	var verr *tls.CertificateVerificationError
	var herr x509.HostnameError
	var alert tls.AlertError
	if errors.As(err, &verr) || errors.As(err, &herr) || errors.As(err, &alert) {
		return true
	}
	// The server's alert reaches the client as a net.OpError text on
	// TLS 1.3 (the handshake completed before the server checked).
	msg := err.Error()
	return strings.Contains(msg, "remote error: tls: ") && (strings.Contains(msg, "certificate") || strings.Contains(msg, "unknown ca"))
}
