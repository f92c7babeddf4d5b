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
func errText(b base, err error) string {
	c := b.c
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
	case api.CodeUnknownTerminal, api.CodeUnauthenticated:
		return c.tf("err.terminal", b.o.TerminalID)
	case api.CodeNotAdjustable:
		return notAdjustableText(c, ae)
	case api.CodeBadRequest:
		return c.tf("err.bad", ae.Message)
	}
	if key, ok := errKeys[ae.Code]; ok {
		return c.t(key)
	}
	// A code this station does not know (a newer server): a plain
	// sentence, never the code itself.
	return c.t("err.server")
}

// errKeys are the texts of the server's error codes that need no detail.
var errKeys = map[string]string{
	api.CodeChannelDisabled:      "err.disabled",
	api.CodeTerminalDisabled:     "err.disabledterm",
	api.CodeCertificateRetired:   "err.retired",
	api.CodeSalePaid:             "err.salepaid",
	api.CodeSaleBusy:             "err.salebusy",
	api.CodeIdempotencyConflict:  "err.conflict",
	api.CodeChannelError:         "err.channel",
	api.CodeSignOnRequired:       "err.signon",
	api.CodeBadMAC:               "err.signon",
	api.CodeNotFound:             "err.notfound",
	api.CodeNotCancellable:       "err.notcancellable",
	api.CodeWrongWallet:          "err.wrongwallet",
	api.CodeInternal:             "err.internal",
	api.CodeUnsupportedMediaType: "err.server",
	api.CodeTraceUsed:            "err.traceused",
	api.CodeSettling:             "settle.busy",
	api.CodeBatchMoved:           "err.batchmoved",
}

// notAdjustableText says why the server refused a void or refund.
func notAdjustableText(c *Common, ae *api.Error) string {
	switch ae.Reason {
	case api.AdjustNotApproved:
		return c.t("adj.notapproved")
	case api.AdjustOtherCard:
		return c.t("adj.othercard")
	case api.AdjustVoidAmount:
		return c.t("adj.voidamount")
	case api.AdjustNotToday:
		return c.t("orig.nottoday")
	case api.AdjustVoided:
		return c.t("adj.voided")
	case api.AdjustOverRefund:
		return c.tf("adj.overrefund", money.Fen(ae.Limit).Yuan())
	case api.AdjustHasRefunds:
		return c.tf("adj.hasrefunds", money.Fen(ae.Limit).Yuan())
	}
	return c.t("adj.other")
}
