package server

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/multipos/multipos/money"
	"github.com/multipos/multipos/server/api"
)

// channelRule is a channel's switch and limits as they apply now.
type channelRule struct {
	enabled       bool
	single, daily int64 // fen; 0 = no limit
}

// rule returns the channel's rule. A channel is enabled when its limits do
// not switch it off and it has a connector to send payments to.
func (s *Server) rule(ch api.Channel) channelRule {
	r := s.opts.Limits[ch]
	enabled := r.Enabled == nil || *r.Enabled
	if ch.Wallet() {
		enabled = enabled && s.opts.Wallets[ch] != nil
	} else {
		enabled = enabled && s.opts.Acquirer != nil
	}
	return channelRule{enabled: enabled, single: int64(r.Single), daily: int64(r.Daily)}
}

// today returns the bounds of the current day in the server clock's zone.
func (s *Server) today() (from, to time.Time) {
	now := s.now()
	from = time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
	return from, from.AddDate(0, 0, 1)
}

// dailyUsed is what the terminal took on the channel today (SUCCESS only).
func (s *Server) dailyUsed(ctx context.Context, terminalID string, ch api.Channel) (int64, error) {
	from, to := s.today()
	return s.st.SuccessTotal(ctx, terminalID, ch, from, to)
}

// checkLimits refuses a payment the channel must not take: switched off,
// over the single-payment limit, or over what is left of the daily limit.
// Only SUCCESS payments count toward the day, so payments still open can
// together pass it; the channel's own limits stay the last word.
func (s *Server) checkLimits(ctx context.Context, terminalID string, ch api.Channel, amount int64) error {
	r := s.rule(ch)
	if !r.enabled {
		return &api.Error{Status: http.StatusForbidden, Code: api.CodeChannelDisabled,
			Message: fmt.Sprintf("channel %s is disabled", ch)}
	}
	if r.single > 0 && amount > r.single {
		return &api.Error{Status: http.StatusUnprocessableEntity, Code: api.CodeOverLimit, Limit: r.single,
			Message: fmt.Sprintf("%s above the %s limit per payment on %s", money.Fen(amount).Yuan(), money.Fen(r.single).Yuan(), ch)}
	}
	if r.daily > 0 {
		used, err := s.dailyUsed(ctx, terminalID, ch)
		if err != nil {
			return err
		}
		if used+amount > r.daily {
			left := max(r.daily-used, 0)
			return &api.Error{Status: http.StatusUnprocessableEntity, Code: api.CodeOverDailyLimit, Limit: left,
				Message: fmt.Sprintf("%s above what is left today on %s (%s)", money.Fen(amount).Yuan(), ch, money.Fen(left).Yuan())}
		}
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

func (s *Server) ping(*http.Request, string) (int, any, error) {
	return http.StatusNoContent, nil, nil
}

func (s *Server) terminalInfo(r *http.Request, tid string) (int, any, error) {
	info := api.TerminalInfo{
		TerminalID:   tid,
		MerchantID:   s.opts.Merchant.ID,
		MerchantName: s.opts.Merchant.Name,
		QRTTLSeconds: int(s.opts.QRTTL / time.Second),
		Demo:         s.opts.Demo,
		ServerTime:   s.now(),
	}
	for _, ch := range api.Channels {
		rl := s.rule(ch)
		used, err := s.dailyUsed(r.Context(), tid, ch)
		if err != nil {
			return 0, nil, err
		}
		info.Channels = append(info.Channels, api.ChannelInfo{Channel: ch, Enabled: rl.enabled,
			SingleLimit: rl.single, DailyLimit: rl.daily, DailyUsed: used})
	}
	return http.StatusOK, info, nil
}
