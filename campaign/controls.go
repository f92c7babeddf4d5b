package campaign

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/sandbox/acquirer"
	alipaysb "github.com/multipos/multipos/sandbox/alipay"
	wechatsb "github.com/multipos/multipos/sandbox/wechat"
)

// controls talks to the sandboxes' control APIs: it plays the customers,
// injects the channels' faults and reads the channels' own books.
type controls struct {
	alipay, wechat, bank string // base URLs
	hc                   *http.Client
}

// errNoOrder is a control call about an order the sandbox does not have.
var errNoOrder = errors.New("no such order at the sandbox")

// errState is a customer's action the order no longer allows (paid,
// closed): a customer too late, which is part of the game.
var errState = errors.New("the order no longer allows it")

func newControls(alipay, wechat, bank string) *controls {
	return &controls{alipay: alipay, wechat: wechat, bank: bank,
		hc: &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}}
}

// call sends a control request; out, when not nil, receives the JSON answer.
func (c *controls) call(ctx context.Context, method, u string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("control %s %s: %w", method, u, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("control %s %s: %w", method, u, err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("control %s %s: %s: %w", method, u, bytes.TrimSpace(data), errNoOrder)
	case resp.StatusCode == http.StatusConflict:
		return fmt.Errorf("control %s %s: %s: %w", method, u, bytes.TrimSpace(data), errState)
	case resp.StatusCode >= 300:
		return fmt.Errorf("control %s %s: %s: %s", method, u, resp.Status, bytes.TrimSpace(data))
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("control %s %s: %w", method, u, err)
		}
	}
	return nil
}

// customer plays the customer of a wallet order: action is pay, confirm
// or decline.
func (c *controls) customer(ctx context.Context, ch api.Channel, outTradeNo, action string) error {
	if ch == api.Alipay {
		return c.call(ctx, http.MethodPost, c.alipay+"/control/trades/"+url.PathEscape(outTradeNo)+"/"+action, nil, nil)
	}
	return c.call(ctx, http.MethodPost, c.wechat+"/control/orders/"+url.PathEscape(outTradeNo)+"/"+action, nil, nil)
}

// codeBehaviour sets what the customer showing code does at the wallet:
// paid at once, confirm on the phone, or refused.
func (c *controls) codeBehaviour(ctx context.Context, ch api.Channel, code, how string) error {
	if ch == api.Alipay {
		mode := map[string]string{"paid": "paid", "confirm": "confirm", "refused": "decline"}[how]
		return c.call(ctx, http.MethodPost, c.alipay+"/control/barcode", map[string]string{"mode": mode, "auth_code": code}, nil)
	}
	outcome := map[string]string{"paid": "paid", "confirm": "userpaying", "refused": "payerror"}[how]
	return c.call(ctx, http.MethodPost, c.wechat+"/control/codepay", map[string]string{"outcome": outcome, "auth_code": code}, nil)
}

// alipayTrade is Alipay's record of an order (found false: none).
func (c *controls) alipayTrade(ctx context.Context, outTradeNo string) (alipaysb.Trade, bool, error) {
	var t alipaysb.Trade
	err := c.call(ctx, http.MethodGet, c.alipay+"/control/trades/"+url.PathEscape(outTradeNo), nil, &t)
	if errors.Is(err, errNoOrder) {
		return t, false, nil
	}
	return t, err == nil, err
}

func (c *controls) alipayTrades(ctx context.Context) ([]alipaysb.Trade, error) {
	var out []alipaysb.Trade
	err := c.call(ctx, http.MethodGet, c.alipay+"/control/trades", nil, &out)
	return out, err
}

// wechatOrder is WeChat Pay's record of an order (found false: none).
func (c *controls) wechatOrder(ctx context.Context, outTradeNo string) (wechatsb.OrderInfo, bool, error) {
	var o wechatsb.OrderInfo
	err := c.call(ctx, http.MethodGet, c.wechat+"/control/orders/"+url.PathEscape(outTradeNo), nil, &o)
	if errors.Is(err, errNoOrder) {
		return o, false, nil
	}
	return o, err == nil, err
}

func (c *controls) wechatOrders(ctx context.Context, prefixes []string) ([]wechatsb.OrderInfo, error) {
	q := url.Values{"prefix": prefixes}
	var out []wechatsb.OrderInfo
	err := c.call(ctx, http.MethodGet, c.wechat+"/control/orders?"+q.Encode(), nil, &out)
	return out, err
}

// ledger is the acquirer's ledger for the terminals (all when none).
func (c *controls) ledger(ctx context.Context, terminals []string) ([]acquirer.LedgerEntry, error) {
	q := url.Values{"terminal": terminals}
	var out []acquirer.LedgerEntry
	err := c.call(ctx, http.MethodGet, c.bank+"/control/ledger?"+q.Encode(), nil, &out)
	return out, err
}

// errArmed is a fault not injected because the same is armed and unspent
// still: faults of several runs would otherwise pile up on one later
// request (a dozen lost reversals in a row), which no run planned.
var errArmed = errors.New("the same fault is armed and not spent yet")

// bankFaults arms the acquirer's faults, unless the same kind is armed.
func (c *controls) bankFaults(ctx context.Context, f acquirer.ControlFaults) error {
	var armed acquirer.ControlFaults
	if err := c.call(ctx, http.MethodGet, c.bank+"/control/faults", nil, &armed); err != nil {
		return err
	}
	if f.DropNext > 0 && armed.DropNext > 0 || f.DelayNext != "" && armed.DelayNext != "" ||
		f.FailReversals > 0 && armed.FailReversals > 0 || f.DropReversals > 0 && armed.DropReversals > 0 {
		return errArmed
	}
	return c.call(ctx, http.MethodPost, c.bank+"/control/faults", f, nil)
}

// alipayFault queues a one-shot fault on the next call of method.
func (c *controls) alipayFault(ctx context.Context, method string, delay time.Duration, answer string, applied bool) error {
	return c.call(ctx, http.MethodPost, c.alipay+"/control/faults", map[string]any{"method": method,
		"delay_ms": delay.Milliseconds(), "answer": answer, "applied": applied}, nil)
}

// wechatFault queues a one-shot fault on the next call of op.
func (c *controls) wechatFault(ctx context.Context, op, kind string, delay time.Duration) error {
	body := map[string]string{"op": op, "kind": kind}
	if delay > 0 {
		body["delay"] = delay.String()
	}
	return c.call(ctx, http.MethodPost, c.wechat+"/control/faults", body, nil)
}

// notifications acts on a wallet's notifications: duplicate (the next one
// arrives twice), hold, release or release_reversed.
func (c *controls) notifications(ctx context.Context, ch api.Channel, action string) error {
	if ch == api.Alipay {
		path := map[string]string{"duplicate": "duplicate", "hold": "hold", "release": "release",
			"release_reversed": "release?order=reverse"}[action]
		return c.call(ctx, http.MethodPost, c.alipay+"/control/notifications/"+path, nil, nil)
	}
	a := map[string]string{"duplicate": "duplicate_next", "hold": "hold", "release": "release",
		"release_reversed": "release_reversed"}[action]
	return c.call(ctx, http.MethodPost, c.wechat+"/control/notifications", map[string]string{"action": a}, nil)
}

// ready reports whether every control API answers.
func (c *controls) ready(ctx context.Context) error {
	if err := c.call(ctx, http.MethodGet, c.alipay+"/control/calls", nil, nil); err != nil {
		return err
	}
	if err := c.call(ctx, http.MethodGet, c.wechat+"/control/calls", nil, nil); err != nil {
		return err
	}
	return c.call(ctx, http.MethodGet, c.bank+"/control/calls", nil, nil)
}
