package server

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/config"
	"github.com/multipos/multipos/server/connector"
	"github.com/multipos/multipos/server/store"
)

// Defaults for the zero values of Options.
const (
	DefaultQRTTL            = 2 * time.Minute
	DefaultChannelTimeout   = 20 * time.Second
	DefaultSweepInterval    = time.Second
	DefaultRequestRetention = 7 * 24 * time.Hour
	DefaultCacheTTL         = 2 * time.Second
)

// Options assembles a server. Store is required; a channel without a
// connector (no Wallets entry, nil Acquirer) is shown to terminals as
// disabled, not set up (api.DisabledNotConfigured), and its requests are
// refused.
type Options struct {
	Store    *store.Store
	Wallets  map[api.Channel]connector.Wallet
	Acquirer connector.Acquirer
	// Keys holds terminals' master keys and card working keys. Without
	// it, card requests carry no MACs (tests of other parts only).
	Keys *Keyring
	// Limits are the configuration file's defaults: per terminal (single
	// payment and daily total) and per merchant (daily total of all its
	// terminals). Rules set with `posserver limits` override them.
	Limits         map[api.Channel]config.ChannelRule
	MerchantLimits map[api.Channel]config.ChannelRule
	QRTTL          time.Duration    // life of a QR order; default DefaultQRTTL
	Now            func() time.Time // default time.Now
	// Zone is the zone of the chain's business day (config business_zone):
	// daily limits and totals and "today" for a void end at its midnight,
	// whatever zone Now's times are in. Default DefaultZone().
	Zone    *time.Location
	Logger  *slog.Logger // default slog.Default()
	Metrics Metrics      // nil: no metrics (server/metrics has the Prometheus set)
	Demo    bool         // training mode: connectors are stand-ins, trainer endpoints are on
	// Instance names this server among those sharing the database (leases,
	// logs). Default: host name, process id and a random suffix.
	Instance string

	// ChannelTimeout bounds each call to a channel; when it runs out the
	// outcome is unknown. Default DefaultChannelTimeout.
	ChannelTimeout time.Duration
	// SweepInterval is how often Run looks for transactions to resolve.
	// Default DefaultSweepInterval.
	SweepInterval time.Duration
	// WatchEvery is how often a QR order a terminal waits on is asked
	// about at its wallet. Default DefaultWatchEvery.
	WatchEvery time.Duration
	// RequestRetention is how long request ids are remembered for replays.
	RequestRetention time.Duration
	// CacheTTL bounds how long a terminal's record and limits are reused
	// between requests: a disabled terminal is refused within this time.
	CacheTTL time.Duration
	// Confirm is how a payment code the customer must confirm on the phone
	// is followed up, per wallet. Default DefaultConfirm.
	Confirm map[api.Channel]ConfirmPolicy
	// Customer plays the wallets' customer for the trainer endpoints (demo
	// mode). Nil: the wallets themselves, when they are stand-ins.
	Customer Customer
	// SettleCutoff is when card batches still open are settled by the
	// server itself (config settle_cutoff): "HH:MM" in Zone, or "off".
	// Default config.DefaultSettleCutoff.
	SettleCutoff string
	// SettleEvery is how often Run looks for batches to settle (the
	// cut-off passed, a settlement left behind). Default DefaultSettleEvery.
	SettleEvery time.Duration

	cutoffAt time.Duration // SettleCutoff as New read it, after midnight
	cutoffOn bool          // false: "off"
}

// Customer plays a wallet's customer in training.
type Customer interface {
	CustomerPays(ctx context.Context, ch api.Channel, outTradeNo string) error
	CustomerDeclines(ctx context.Context, ch api.Channel, outTradeNo string) error
}

// ChannelLimits keys the config file's per-channel rules by channel.
func ChannelLimits(rules map[string]config.ChannelRule) map[api.Channel]config.ChannelRule {
	out := make(map[api.Channel]config.ChannelRule, len(rules))
	for name, rule := range rules {
		out[api.Channel(name)] = rule
	}
	return out
}

// Server is posserver's core. It is safe for concurrent use, and several
// servers may share one PostgreSQL database.
type Server struct {
	opts      Options
	st        *store.Store
	log       *slog.Logger
	now       func() time.Time
	hub       *hub
	metrics   Metrics
	terminals *terminalCache
	traceBook traceBook
	watches   watches
	refusals  *refusalLog
	seen      seenTimes
	ready     atomic.Bool
	// peers is how many other instances share the database (-1 until
	// known): alone, an instance does not notify others of its changes.
	peers atomic.Int32
}

// New checks the options and returns a server.
func New(opts Options) (*Server, error) {
	if opts.Store == nil {
		return nil, errors.New("server: a store is required")
	}
	for ch := range opts.Wallets {
		if !ch.Wallet() {
			return nil, fmt.Errorf("server: %q is not a wallet channel", ch)
		}
	}
	for _, m := range []map[api.Channel]config.ChannelRule{opts.Limits, opts.MerchantLimits} {
		for ch := range m {
			if !ch.Valid() {
				return nil, fmt.Errorf("server: limits for unknown channel %q", ch)
			}
		}
	}
	if opts.QRTTL <= 0 {
		opts.QRTTL = DefaultQRTTL
	}
	if opts.ChannelTimeout <= 0 {
		opts.ChannelTimeout = DefaultChannelTimeout
	}
	if opts.SweepInterval <= 0 {
		opts.SweepInterval = DefaultSweepInterval
	}
	if opts.WatchEvery <= 0 {
		opts.WatchEvery = DefaultWatchEvery
	}
	if opts.RequestRetention <= 0 {
		opts.RequestRetention = DefaultRequestRetention
	}
	if opts.CacheTTL <= 0 {
		opts.CacheTTL = DefaultCacheTTL
	}
	opts.Confirm = maps.Clone(opts.Confirm)
	if opts.Confirm == nil {
		opts.Confirm = map[api.Channel]ConfirmPolicy{}
	}
	for ch, p := range DefaultConfirm {
		if q := opts.Confirm[ch]; q.Every <= 0 || q.Tries <= 0 {
			opts.Confirm[ch] = p
		}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := settleDefaults(&opts); err != nil {
		return nil, err
	}
	if opts.Zone == nil {
		opts.Zone = DefaultZone()
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Metrics == nil {
		opts.Metrics = noMetrics{}
	}
	if opts.Instance == "" {
		host, _ := os.Hostname()
		opts.Instance = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), strings.ToLower(rand.Text()[:6]))
	}
	s := &Server{opts: opts, st: opts.Store, log: opts.Logger.With("instance", opts.Instance), now: opts.Now,
		hub: newHub(), metrics: opts.Metrics, seen: seenTimes{m: map[string]time.Time{}}}
	s.terminals = newTerminalCache(s)
	s.refusals = newRefusalLog(s.log)
	s.peers.Store(-1)
	return s, nil
}

// Instance returns the server's name among instances.
func (s *Server) Instance() string { return s.opts.Instance }

// Handler returns the terminal API (see package api). It must be served
// over mutual TLS: every request is the terminal its client certificate
// names.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern string, h handler) {
		mux.Handle(pattern, s.metrics.Wrap(pattern, s.route(h)))
	}
	handle("GET /v1/ping", s.ping)
	handle("POST /v1/heartbeat", s.heartbeat)
	handle("GET /v1/terminal", s.terminalInfo)
	handle("POST /v1/orders", s.createWalletOrder)
	handle("POST /v1/orders/barcode", s.createBarcodeOrder)
	handle("GET /v1/orders", s.orderByTrace)
	handle("GET /v1/orders/{id}", s.getOrder)
	handle("POST /v1/orders/{id}/cancel", s.cancelOrder)
	handle("POST /v1/card/sales", s.needs(api.Card, s.cardSale))
	handle("POST /v1/card/signon", s.needs(api.Card, s.cardSignOn))
	handle("POST /v1/card/voids", s.needs(api.Card, s.cardVoid))
	handle("POST /v1/card/refunds", s.needs(api.Card, s.cardRefund))
	handle("POST /v1/card/balance", s.needs(api.Card, s.cardBalance))
	handle("POST /v1/card/settle", s.needs(api.Card, s.cardSettle))
	handle("GET /v1/card/settlements/{batch}", s.needs(api.Card, s.cardSettlement))
	// Outside demo mode these routes do not exist: the API's 404.
	if s.opts.Demo {
		handle("POST /v1/demo/orders/{id}/pay", s.demoPay)
		handle("POST /v1/demo/orders/{id}/decline", s.demoDecline)
	}
	mux.Handle("/", s.metrics.Wrap("other", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.refused(r, "", http.StatusNotFound, api.CodeNotFound)
		writeJSON(w, http.StatusNotFound, notFound(r.Method+" "+r.URL.Path))
	})))
	return mux
}

// OrderByTrace returns the latest order a terminal created with a trace.
func (s *Server) OrderByTrace(ctx context.Context, terminalID, trace string) (api.Order, error) {
	return s.st.ByTrace(ctx, terminalID, "", trace)
}

// History returns an order's state changes, oldest first.
func (s *Server) History(ctx context.Context, orderID string) ([]store.Transition, error) {
	return s.st.History(ctx, orderID)
}

// waitFor returns the order as soon as its version is above after, or as it
// is when wait runs out or ctx ends. Changes made by other instances arrive
// through the store's Listen (see Run); a slow re-read covers a missed one.
// With a terminal id, an order of another terminal is "not found".
//
// It reads the database only when it must: an order this instance changed
// last is known (see hub), and one known at version `after` has nothing
// new to tell before the next change wakes the wait.
func (s *Server) waitFor(ctx context.Context, tid, id string, after int, wait time.Duration) (api.Order, error) {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	var known *api.Order // handed over by the last wake-up
	trust := true        // what the hub remembers; not after the slow re-read's time
	var unwatch func()   // a terminal waiting on a QR order: the wallet is asked too
	defer func() {
		if unwatch != nil {
			unwatch()
		}
	}()
	for {
		sig, done := s.hub.subscribe(id)
		var (
			o   api.Order
			err error
		)
		if known == nil && trust {
			if k, ok := s.hub.known(id); ok && k.Version >= after {
				known = &k
			}
		}
		if known != nil {
			o = *known
			if tid != "" && o.TerminalID != tid {
				err = notFound("order " + id)
			}
		} else if tid != "" {
			o, err = s.ownOrder(ctx, tid, id)
		} else {
			o, err = s.st.Get(ctx, id)
		}
		if err != nil || o.Version > after {
			done()
			return o, err
		}
		if unwatch == nil && tid != "" {
			unwatch = s.watchOrder(ctx, o)
		}
		known = nil
		select {
		case <-sig.c:
			known = sig.order
			done()
		case <-time.After(5 * time.Second):
			trust = false
			done()
		case <-timer.C:
			done()
			return o, nil
		case <-ctx.Done():
			done()
			return o, nil
		}
	}
}

// advance applies a state change (compare-and-set from o's state and
// version), wakes the order's long-polls, counts and logs it. When the
// order changed meanwhile it returns the current order with store.ErrStale
// or store.ErrFinal.
func (s *Server) advance(ctx context.Context, o api.Order, c store.Change) (api.Order, error) {
	c.At = s.now()
	if !c.To.Final() && c.CheckAfter.IsZero() {
		c.CheckAfter = s.checkAfter(o, c)
	}
	if s.peers.Load() == 0 {
		c.Quiet = true // nobody else to tell
	}
	if c.Answer != nil && c.Answer.Body == nil {
		// The answer is the order as this change leaves it, worked out
		// here so that the store can write it with the change in one go.
		body, err := json.Marshal(store.Apply(o, c))
		if err != nil {
			return o, fmt.Errorf("answer to %s: %w", c.Answer.RequestID, err)
		}
		a := *c.Answer
		a.Body = body
		c.Answer = &a
	}
	n, err := s.st.Transition(ctx, o.ID, o.State, o.Version, c)
	if err != nil {
		return n, err
	}
	s.hub.publishOrder(n)
	s.metrics.Transaction(string(n.Channel), string(n.State))
	s.log.Info("order changed", append(orderAttrs(n), "from", string(o.State), "actor", c.Actor)...)
	return n, nil
}

// checkAfter is when the sweeper next looks at an open transaction: a QR
// order when its code expires, anything else whose outcome is unknown soon.
// A fresh QR order keeps the check time it was journaled with (zero: keep):
// nearly all are paid well before it, and a change that leaves it as it was
// costs PostgreSQL no index entries. The sweeper puts off one still payable
// then to its expiry.
func (s *Server) checkAfter(o api.Order, c store.Change) time.Time {
	if c.To == api.StatePending && o.State == api.StateCreated {
		return time.Time{}
	}
	if c.To == api.StatePending {
		exp := c.ExpiresAt
		if exp.IsZero() {
			exp = o.ExpiresAt
		}
		if !exp.IsZero() {
			return exp
		}
	}
	return c.At.Add(unknownRetry)
}

// unknownRetry is how soon the sweeper first asks about an unknown outcome.
const unknownRetry = 5 * time.Second

// settle records the channel's answer to the call made for a fresh order,
// and with it the request's first answer. If something else changed the
// order meanwhile, the stored order wins.
func (s *Server) settle(ctx context.Context, o api.Order, c store.Change) (api.Order, error) {
	// Only this call waits for its own answer; a replay elsewhere re-reads
	// within seconds, so other instances need no notice.
	c.Quiet = true
	n, err := s.advance(ctx, o, c)
	if errors.Is(err, store.ErrStale) || errors.Is(err, store.ErrFinal) {
		s.log.Warn("order changed while its channel call was out", append(orderAttrs(n), "wanted", string(c.To))...)
		return n, nil
	}
	return n, err
}

// callCtx bounds one channel call. It is detached from the request: once a
// call is out, the answer must be recorded even if the terminal hung up.
func (s *Server) callCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), s.opts.ChannelTimeout)
}

// unknownOutcome reports whether a channel error leaves the outcome open.
func unknownOutcome(err error) bool {
	return errors.Is(err, connector.ErrUnknownOutcome) || errors.Is(err, context.DeadlineExceeded)
}

// outcome names a channel call's result for the metrics.
func outcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case unknownOutcome(err):
		return "unknown"
	}
	return "error"
}

// orderAttrs is what the logs say about an order: never more than the
// masked card number.
func orderAttrs(o api.Order) []any {
	a := []any{"order", o.ID, "sale", o.SaleID, "terminal", o.TerminalID, "trace", o.Trace, "channel", string(o.Channel),
		"amount", o.Amount, "state", string(o.State), "version", o.Version}
	if o.Reason != "" {
		a = append(a, "reason", o.Reason)
	}
	if o.MaskedPAN != "" {
		a = append(a, "pan", o.MaskedPAN)
	}
	if o.ResponseCode != "" {
		a = append(a, "response_code", o.ResponseCode)
	}
	if o.OutTradeNo != "" {
		a = append(a, "out_trade_no", o.OutTradeNo)
	}
	return a
}
