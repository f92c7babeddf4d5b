package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/bundle"
	"github.com/multipos/multipos/server/pki"
	"github.com/multipos/multipos/server/store"
)

// terminal is a registered terminal as a request sees it: its record, its
// merchant's name and the limits that apply to it.
type terminal struct {
	store.Terminal
	MerchantName string
	rules        map[api.Channel]Limits
	loaded       time.Time
}

// terminalCache keeps terminals' records for CacheTTL, so that a sale does
// not cost three extra reads, while a terminal disabled (or a limit
// changed) by the CLI in another process takes effect within CacheTTL.
type terminalCache struct {
	s  *Server
	mu sync.Mutex
	m  map[string]*terminal
}

func newTerminalCache(s *Server) *terminalCache {
	return &terminalCache{s: s, m: map[string]*terminal{}}
}

func (c *terminalCache) get(ctx context.Context, id string) (*terminal, error) {
	now := time.Now()
	c.mu.Lock()
	t := c.m[id]
	c.mu.Unlock()
	if t != nil && now.Sub(t.loaded) < c.s.opts.CacheTTL {
		return t, nil
	}
	rec, err := c.s.st.Terminal(ctx, id)
	if err != nil {
		return nil, err
	}
	name, err := c.s.st.Merchant(ctx, rec.MerchantID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	rules, err := c.s.st.Limits(ctx, rec.MerchantID, rec.ID)
	if err != nil {
		return nil, err
	}
	t = &terminal{Terminal: rec, MerchantName: name, rules: c.s.effectiveRules(rules), loaded: now}
	c.mu.Lock()
	c.m[id] = t
	c.mu.Unlock()
	return t, nil
}

// Forget drops a terminal's cached record, so that a change made through
// this server (not the CLI) applies at once. An empty id forgets all.
func (s *Server) Forget(id string) {
	if s.opts.Keys != nil {
		s.opts.Keys.Forget(id)
	}
	s.terminals.mu.Lock()
	defer s.terminals.mu.Unlock()
	if id == "" {
		clear(s.terminals.m)
		return
	}
	delete(s.terminals.m, id)
}

// handler serves one endpoint for an authenticated terminal. It returns
// the status and body to send, or an error: an *api.Error is sent as it
// is, anything else is logged and answered 500 without details.
type handler func(r *http.Request, t *terminal) (int, any, error)

func (s *Server) route(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, err := s.authenticate(r)
		if err == nil {
			err = checkContentType(r)
		}
		if err != nil {
			tid := ""
			if t != nil {
				tid = t.ID
			}
			s.writeError(w, r, tid, err)
			return
		}
		status, body, err := h(r, t)
		s.setTraceHeaders(r.Context(), w.Header(), t.ID)
		if err != nil {
			s.writeError(w, r, t.ID, err)
			return
		}
		if status >= 400 && status < 500 {
			s.refused(r, t.ID, status, "")
		}
		writeJSON(w, status, s.macCardOrder(r.Context(), t.ID, body))
	})
}

// authenticate finds the terminal the request's client certificate names.
// The TLS handshake has already checked that the certificate is signed by
// this server's CA; here it must also be the certificate on file for a
// terminal that is enabled.
func (s *Server) authenticate(r *http.Request) (*terminal, error) {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return nil, &api.Error{Status: http.StatusUnauthorized, Code: api.CodeUnauthenticated,
			Message: "a terminal certificate issued by this server is required"}
	}
	leaf := r.TLS.VerifiedChains[0][0]
	id, err := bundle.IdentityOf(leaf)
	if err != nil {
		return nil, &api.Error{Status: http.StatusUnauthorized, Code: api.CodeUnauthenticated, Message: err.Error()}
	}
	t, err := s.terminals.get(r.Context(), id.TerminalID)
	// The refusals are logged by writeError, rate-limited (refusals.go).
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, &api.Error{Status: http.StatusUnauthorized, Code: api.CodeUnknownTerminal,
			Message: fmt.Sprintf("terminal %s is not registered with this server", id.TerminalID)}
	case err != nil:
		return nil, err
	case pki.Serial(leaf) != t.CertSerial:
		s.log.Debug("retired certificate refused", "terminal", t.ID, "serial", pki.Serial(leaf), "remote", r.RemoteAddr)
		return nil, &api.Error{Status: http.StatusUnauthorized, Code: api.CodeCertificateRetired,
			Message: fmt.Sprintf("this certificate of terminal %s was replaced; install the terminal's new bundle", t.ID)}
	case !t.Enabled:
		return nil, &api.Error{Status: http.StatusForbidden, Code: api.CodeTerminalDisabled,
			Message: fmt.Sprintf("terminal %s is disabled; ask the operator", t.ID)}
	}
	return t, nil
}
