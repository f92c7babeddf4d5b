package posclient

import (
	"github.com/multipos/multipos/cards"
	"github.com/multipos/multipos/i18n"
)

// ResponseText explains an ISO 8583 response code (field 39) to the cashier
// in lang; unknown codes say so with the code. The texts are the bank
// connector's, so the screen says what the acquirer's answer means there.
func ResponseText(code string, lang i18n.Lang) string {
	return cards.ResponseText(code, lang == i18n.ZH)
}
