package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/multipos/multipos/config"
	"github.com/multipos/multipos/server/api"
	"github.com/multipos/multipos/server/connector"
	"github.com/multipos/multipos/server/store"
)

// Defaults for the zero values of Options.
const (
	DefaultQRTTL          = 2 * time.Minute
	DefaultChannelTimeout = 20 * time.Second
	DefaultSweepInterval  = time.Second
)

// Options assembles a server. Store is required; a channel without a
// connector (no Wallets entry, nil Acquirer) is shown to terminals as
// disabled.
type Options struct {
	Store     *store.Store
	Wallets   map[api.Channel]connector.Wallet
	Acquirer  connector.Acquirer
	Merchant  config.Merchant
	Terminals []config.TerminalEntry
	Limits    map[api.Channel]config.ChannelRule
	QRTTL     time.Duration    // life of a QR order; default DefaultQRTTL
	Now       func() time.Time // default time.Now; its location decides where "today" starts
	Logger    *slog.Logger     // default slog.Default()
	Demo      bool             // training mode: connectors are stand-ins, trainer endpoints are on

	// ChannelTimeout bounds each call to a channel; when it runs out the
	// outcome is unknown. Default DefaultChannelTimeout.
	ChannelTimeout time.Duration
	// SweepInterval is how often Run looks for expired QR orders.
	// Default DefaultSweepInterval.
	SweepInterval time.Duration
}

// ChannelLimits keys the config file's per-channel rules by channel.
func ChannelLimits(rules map[string]config.ChannelRule) map[api.Channel]config.ChannelRule {
	out := make(map[api.Channel]config.ChannelRule, len(rules))
	for name, rule := range rules {
		out[api.Channel(name)] = rule
	}
	return out
}

// Server is posserver's core. It is safe for concurrent use.
type Server struct {
	opts      Options
	st        *store.Store
	log       *slog.Logger
	now       func() time.Time
	terminals map[string]config.TerminalEntry
	hub       *hub
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
	for ch := range opts.Limits {
		if !ch.Valid() {
			return nil, fmt.Errorf("server: limits for unknown channel %q", ch)
		}
	}
	terminals := make(map[string]config.TerminalEntry, len(opts.Terminals))
	for _, t := range opts.Terminals {
		if t.ID == "" {
			return nil, errors.New("server: a terminal without an id")
		}
		if _, dup := terminals[t.ID]; dup {
			return nil, fmt.Errorf("server: terminal %s listed twice", t.ID)
		}
		terminals[t.ID] = t
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
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Server{opts: opts, st: opts.Store, log: opts.Logger, now: opts.Now, terminals: terminals, hub: newHub()}, nil
}

// Handler returns the terminal API (see package api).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/ping", s.route(s.ping))
	mux.HandleFunc("GET /v1/terminal", s.route(s.terminalInfo))
	mux.HandleFunc("POST /v1/orders", s.route(s.createWalletOrder))
	mux.HandleFunc("GET /v1/orders", s.route(s.orderByTrace))
	mux.HandleFunc("GET /v1/orders/{id}", s.route(s.getOrder))
	mux.HandleFunc("POST /v1/orders/{id}/cancel", s.route(s.cancelOrder))
	mux.HandleFunc("POST /v1/card/sales", s.route(s.cardSale))
	if s.opts.Demo {
		mux.HandleFunc("POST /v1/demo/orders/{id}/pay", s.route(s.demoPay))
		mux.HandleFunc("POST /v1/demo/orders/{id}/decline", s.route(s.demoDecline))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, notFound(r.Method+" "+r.URL.Path))
	})
	return mux
}

// OrderByTrace returns the order a terminal created with a trace.
func (s *Server) OrderByTrace(ctx context.Context, terminalID, trace string) (api.Order, error) {
	o, _, err := s.st.ByTrace(ctx, terminalID, trace)
	return o, err
}

// History returns an order's state changes, oldest first.
func (s *Server) History(ctx context.Context, orderID string) ([]store.Transition, error) {
	return s.st.History(ctx, orderID)
}

// journal is the start of every mutating request. A replay of a trace
// returns the order of the first request (once it has left CREATED), a
// different request on the same trace is refused; otherwise the channel and
// limits are checked and the order is journaled in state CREATED. Only the
// caller that gets fresh true may go on to the channel.
func (s *Server) journal(ctx context.Context, o api.Order, hash string) (order api.Order, fresh bool, err error) {
	prev, prevHash, err := s.st.ByTrace(ctx, o.TerminalID, o.Trace)
	switch {
	case err == nil:
		if prevHash != hash {
			return api.Order{}, false, conflict(prev)
		}
		return s.settled(ctx, prev), false, nil
	case !errors.Is(err, store.ErrNotFound):
		return api.Order{}, false, err
	}
	if err := s.checkLimits(ctx, o.TerminalID, o.Channel, o.Amount); err != nil {
		return api.Order{}, false, err
	}
	o.CreatedAt = s.now()
	created, fresh, err := s.st.Create(ctx, o, hash)
	switch {
	case errors.Is(err, store.ErrRequestMismatch):
		return api.Order{}, false, conflict(created)
	case err != nil:
		return api.Order{}, false, err
	case !fresh: // a concurrent duplicate journaled it first
		return s.settled(ctx, created), false, nil
	}
	s.log.Info("order journaled", orderAttrs(created)...)
	return created, true, nil
}

func conflict(prev api.Order) *api.Error {
	return &api.Error{Status: http.StatusConflict, Code: api.CodeIdempotencyConflict,
		Message: fmt.Sprintf("trace %s was already used for another request (order %s)", prev.Trace, prev.ID)}
}

// settled waits, within the channel timeout, for an order still in CREATED
// (its first request is talking to the channel) to get its answer, so that a
// replay gets the same answer as the first request.
func (s *Server) settled(ctx context.Context, o api.Order) api.Order {
	if o.State != api.StateCreated {
		return o
	}
	cur, err := s.waitFor(ctx, o.ID, o.Version, s.opts.ChannelTimeout)
	if err != nil {
		return o
	}
	return cur
}

// waitFor returns the order as soon as its version is above after, or as it
// is when wait runs out or ctx ends.
func (s *Server) waitFor(ctx context.Context, id string, after int, wait time.Duration) (api.Order, error) {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		changed, done := s.hub.subscribe(id)
		o, err := s.st.Get(ctx, id)
		if err != nil || o.Version > after {
			done()
			return o, err
		}
		select {
		case <-changed:
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
// version), wakes the order's long-polls and logs it. When the order changed
// meanwhile it returns the current order with store.ErrStale or
// store.ErrFinal.
func (s *Server) advance(ctx context.Context, o api.Order, c store.Change) (api.Order, error) {
	c.At = s.now()
	n, err := s.st.Transition(ctx, o.ID, o.State, o.Version, c)
	if err != nil {
		return n, err
	}
	s.hub.publish(o.ID)
	s.log.Info("order changed", append(orderAttrs(n), "from", string(o.State))...)
	return n, nil
}

// settle records the channel's answer to the call made for a fresh order.
// If something else changed the order meanwhile, the stored order wins.
func (s *Server) settle(ctx context.Context, o api.Order, c store.Change) (api.Order, error) {
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

// orderAttrs is what the logs say about an order: never more than the
// masked card number.
func orderAttrs(o api.Order) []any {
	a := []any{"order", o.ID, "terminal", o.TerminalID, "trace", o.Trace, "channel", string(o.Channel),
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
