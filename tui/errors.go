package tui

import (
	"context"
	"errors"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/cardkeys"
	"github.com/multipos/multipos/money"
	"github.com/multipos/multipos/posclient"
)

func isOffline(err error) bool { return errors.Is(err, posclient.ErrOffline) }

// errText says in the cashier's language why a call failed; raw Go errors
// never reach the screen.
func errText(c *Common, err error) string {
	if isOffline(err) {
		return c.t("amount.offline")
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return c.t("err.timeout")
	}
	if errors.Is(err, posclient.ErrCertificate) {
		return c.t("err.cert")
	}
	if errors.Is(err, posclient.ErrBadMAC) {
		return c.t("err.badmac")
	}
	if errors.Is(err, posclient.ErrNotSignedOn) {
		return c.t("err.signon")
	}
	if errors.Is(err, cardkeys.ErrKeyCheck) {
		return c.t("err.keycheck")
	}
	var ae *api.Error
	if !errors.As(err, &ae) {
		return c.t("err.other")
	}
	switch ae.Code {
	case api.CodeOverLimit:
		return c.tf("amount.over", money.Fen(ae.Limit).Yuan())
	case api.CodeOverDailyLimit:
		return c.tf("amount.daily", money.Fen(ae.Limit).Yuan())
	case api.CodeChannelDisabled:
		return c.t("err.disabled")
	case api.CodeUnknownTerminal, api.CodeUnauthenticated:
		return c.tf("err.terminal", c.opts.TerminalID)
	case api.CodeTerminalDisabled:
		return c.t("err.disabledterm")
	case api.CodeCertificateRetired:
		return c.t("err.retired")
	case api.CodeSalePaid:
		return c.t("err.salepaid")
	case api.CodeSaleBusy:
		return c.t("err.salebusy")
	case api.CodeIdempotencyConflict:
		return c.t("err.conflict")
	case api.CodeChannelError:
		return c.t("err.channel")
	case api.CodeSignOnRequired, api.CodeBadMAC:
		return c.t("err.signon")
	case api.CodeNotFound:
		return c.t("err.notfound")
	case api.CodeBadRequest:
		return c.tf("err.bad", ae.Message)
	}
	return c.tf("err.server", ae.Code)
}
