package tui

import (
	"errors"

	"github.com/multipos/multipos/channels"
	"github.com/multipos/multipos/money"
	"github.com/multipos/multipos/server/api"
)

func isOffline(err error) bool { return errors.Is(err, channels.ErrOffline) }

// errText says in the cashier's language why a call failed.
func errText(c *Common, err error) string {
	if isOffline(err) {
		return c.t("amount.offline")
	}
	var ae *api.Error
	if errors.As(err, &ae) {
		switch ae.Code {
		case api.CodeOverLimit:
			return c.tf("amount.over", money.Fen(ae.Limit).Yuan())
		case api.CodeOverDailyLimit:
			return c.tf("amount.daily", money.Fen(ae.Limit).Yuan())
		case api.CodeChannelDisabled:
			return c.tf("channels.isoff", "")
		}
		return ae.Message
	}
	return err.Error()
}
