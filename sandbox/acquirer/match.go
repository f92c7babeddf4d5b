package acquirer

import (
	"fmt"
	"strings"

	"github.com/multipos/multipos/server/connector/bank"
)

// How the host tells messages apart: by terminal (41), merchant (42),
// batch (60.2) and trace (11). A trace names one message in a batch; a
// repeat of it must be the same message, and a reversal must copy it.

// Response codes for what a host refuses on sight.
const (
	CodeFormatError = "30" // a field missing or malformed (no batch in field 60)
	CodeDuplicate   = "94" // a trace the batch has used, for another message
)

// msgKey is the key of a financial message or a reversal; false when
// field 60 carries no batch.
func msgKey(m *bank.Message) (string, bool) {
	if len(m.Field60) < 8 {
		return "", false
	}
	return keyOf(m.TerminalID, m.MerchantID, m.Field60[2:8], m.Trace), true
}

func keyOf(terminal, merchant, batch, trace string) string {
	return terminal + "|" + merchant + "|" + batch + "|" + trace
}

// seenMsg is the first message sent under a key, and the host's answer.
type seenMsg struct {
	fp     string
	answer bank.Message
}

// fingerprint tells a repeat of a message from another message under the
// same trace. The card number is part of it only as a digest.
func fingerprint(m *bank.Message) string {
	return strings.Join([]string{m.MTI, m.ProcCode, fmt.Sprint(m.Amount), bank.MaskPAN(m.PAN), cardID(m.PAN),
		m.EntryMode, m.Field60, m.Original}, "|")
}

// sent is what a reversal must copy from its original.
type sent struct {
	ProcCode, EntryMode, CardSeq, Condition, Currency, Field60, Field61 string
	Amount                                                              int64
}

func sentFields(m *bank.Message) sent {
	return sent{ProcCode: m.ProcCode, EntryMode: m.EntryMode, CardSeq: m.CardSeq, Condition: m.ConditionCode,
		Currency: m.Currency, Field60: m.Field60, Field61: m.Original, Amount: m.Amount}
}

func (s sent) String() string {
	return fmt.Sprintf("3=%s 4=%d 22=%s 23=%s 25=%s 49=%s 60=%s 61=%s", s.ProcCode, s.Amount, s.EntryMode, s.CardSeq,
		s.Condition, s.Currency, s.Field60, s.Field61)
}
