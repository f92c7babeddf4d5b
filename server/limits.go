package server

import (
	"fmt"
	"net/http"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/config"
	"github.com/multipos/multipos/money"
	"github.com/multipos/multipos/server/store"
)

// Limits are a channel's switch and limits as they apply to one terminal.
// Amounts are fen; 0 means no limit.
type Limits struct {
	Enabled       bool
	Single        int64 // per payment
	Daily         int64 // per day on this terminal
	MerchantDaily int64 // per day on all the merchant's terminals
}

// EffectiveLimits layers the limits: the configuration file's defaults
// (per terminal and per merchant), then the merchant's rules, then the
// terminal's. The single-payment limit is the lower of the terminal's and
// its merchant's; a channel is on only if no level switches it off.
func EffectiveLimits(terminalDefaults, merchantDefaults map[api.Channel]config.ChannelRule, rules []store.LimitRule) map[api.Channel]Limits {
	out := make(map[api.Channel]Limits, len(api.Channels))
	for _, ch := range api.Channels {
		term := fromConfig(terminalDefaults[ch])
		merch := fromConfig(merchantDefaults[ch])
		for _, r := range rules {
			if r.Channel != ch {
				continue
			}
			switch r.Scope {
			case store.ScopeTerminal:
				term = term.overlay(r)
			case store.ScopeMerchant:
				merch = merch.overlay(r)
			}
		}
		out[ch] = Limits{
			Enabled:       term.enabled && merch.enabled,
			Single:        lowest(term.single, merch.single),
			Daily:         term.daily,
			MerchantDaily: merch.daily,
		}
	}
	return out
}

// effectiveRules is EffectiveLimits with the server's defaults, and a
// channel without a connector switched off.
func (s *Server) effectiveRules(rules []store.LimitRule) map[api.Channel]Limits {
	out := EffectiveLimits(s.opts.Limits, s.opts.MerchantLimits, rules)
	for ch, r := range out {
		r.Enabled = r.Enabled && s.connected(ch)
		out[ch] = r
	}
	return out
}

// connected reports whether the server has a connector for ch.
func (s *Server) connected(ch api.Channel) bool {
	if ch.Wallet() {
		return s.opts.Wallets[ch] != nil
	}
	return s.opts.Acquirer != nil
}

// notConnected refuses a request on a channel the server has no connector
// for, before anything else about it is checked: no sign-on or MAC can
// make it work.
func (s *Server) notConnected(ch api.Channel) error {
	if s.connected(ch) {
		return nil
	}
	return &api.Error{Status: http.StatusForbidden, Code: api.CodeChannelDisabled,
		Message: fmt.Sprintf("channel %s is not set up on this server", ch)}
}

// needs guards a route that only channel ch serves.
func (s *Server) needs(ch api.Channel, h handler) handler {
	return func(r *http.Request, t *terminal) (int, any, error) {
		if err := s.notConnected(ch); err != nil {
			return 0, nil, err
		}
		return h(r, t)
	}
}

type level struct {
	enabled       bool
	single, daily int64
}

func fromConfig(r config.ChannelRule) level {
	return level{enabled: r.Enabled == nil || *r.Enabled, single: int64(r.Single), daily: int64(r.Daily)}
}

func (l level) overlay(r store.LimitRule) level {
	if r.Enabled != nil {
		l.enabled = *r.Enabled
	}
	if r.Single != nil {
		l.single = *r.Single
	}
	if r.Daily != nil {
		l.daily = *r.Daily
	}
	return l
}

// lowest is the stricter of two limits where 0 means none.
func lowest(a, b int64) int64 {
	switch {
	case a == 0:
		return b
	case b == 0:
		return a
	}
	return min(a, b)
}

// checkLimits refuses a payment the channel must not take: switched off or
// over the single-payment limit. The daily limits are checked by the store
// as the payment is journaled, in the same database transaction.
func (s *Server) checkLimits(t *terminal, ch api.Channel, amount int64) error {
	if err := s.notConnected(ch); err != nil {
		return err
	}
	r := t.rules[ch]
	if !r.Enabled {
		return &api.Error{Status: http.StatusForbidden, Code: api.CodeChannelDisabled,
			Message: fmt.Sprintf("channel %s is disabled", ch)}
	}
	if r.Single > 0 && amount > r.Single {
		return &api.Error{Status: http.StatusUnprocessableEntity, Code: api.CodeOverLimit, Limit: r.Single,
			Message: fmt.Sprintf("%s above the %s limit per payment on %s", money.Fen(amount).Yuan(), money.Fen(r.Single).Yuan(), ch)}
	}
	return nil
}

// checkAmount refuses amounts no channel takes.
func checkAmount(amount int64) error {
	if amount <= 0 || amount > int64(money.Max) {
		return badRequest("amount %d fen out of range 1..%d", amount, int64(money.Max))
	}
	return nil
}

func (s *Server) ping(*http.Request, *terminal) (int, any, error) {
	return http.StatusNoContent, nil, nil
}

// terminalInfo is GET /v1/terminal: who the terminal is, and its channels
// with their limits and what is used of them today.
func (s *Server) terminalInfo(r *http.Request, t *terminal) (int, any, error) {
	now := s.now()
	info := api.TerminalInfo{
		TerminalID:   t.ID,
		MerchantID:   t.MerchantID,
		MerchantName: t.MerchantName,
		StoreID:      t.StoreID,
		QRTTLSeconds: int(s.opts.QRTTL.Seconds()),
		Demo:         s.opts.Demo,
		ServerTime:   now,
		BusinessZone: s.opts.Zone.String(),
	}
	_, info.BusinessOffset = now.In(s.opts.Zone).Zone()
	day := s.day(now)
	for _, ch := range api.Channels {
		rl := t.rules[ch]
		used, err := s.st.DailyTotal(r.Context(), t.ID, ch, day)
		if err != nil {
			return 0, nil, err
		}
		ci := api.ChannelInfo{Channel: ch, Enabled: rl.Enabled, SingleLimit: rl.Single, DailyLimit: rl.Daily, DailyUsed: used}
		if !s.connected(ch) {
			ci.DisabledReason = api.DisabledNotConfigured
		}
		if rl.MerchantDaily > 0 {
			ci.MerchantDailyLimit = rl.MerchantDaily
			if ci.MerchantDailyUsed, err = s.st.MerchantDailyTotal(r.Context(), t.MerchantID, ch, day); err != nil {
				return 0, nil, err
			}
		}
		info.Channels = append(info.Channels, ci)
	}
	// Read afresh, not from this instance's notes: a station starting up
	// (a wiped state folder, a replacement PC) takes its counter from here.
	s.forgetTrace(t.ID)
	batch, next, err := s.nextTrace(r.Context(), t.ID)
	if err != nil {
		return 0, nil, err
	}
	info.Batch, info.NextTrace = batch, next
	return http.StatusOK, info, nil
}
