package connector

import "context"

// Card batch settlement (批结算), as UnionPay POS do it: the terminal sends
// its batch totals, the acquirer answers whether its own books agree, and
// when they do not the terminal uploads the batch one transaction at a
// time and ends the upload; then the batch is closed and the next one
// starts. The layouts are in package bank.

// BatchTxn is one transaction of a terminal's batch as the terminal's
// journal holds it: approved and not reversed (declined and reversed
// messages are not part of a batch). No card number: the acquirer finds
// the transaction by terminal, merchant, batch and trace.
type BatchTxn struct {
	Kind     string // "sale", "void" or "refund"
	Trace    string // its own trace (field 11)
	Amount   int64  // fen
	RRN      string // field 37 of the acquirer's answer
	AuthCode string // field 38 of the acquirer's answer
	Entry    string // chip, swipe, contactless (or a field 22 code)
	PIN      bool   // a PIN was entered
	CardSeq  string // field 23, chip cards
	// The sale a void or refund named (field 61); OrigDate for refunds.
	OrigBatch, OrigTrace, OrigDate string
}

// BatchTotals are a batch's totals as UnionPay POS count them (LYPOS
// posfiles.c ComputeTransTotal): debits are the sales, voided or not;
// credits are the voids and refunds. A void thus nets out its sale
// (debit − credit) while both stay counted.
type BatchTotals struct {
	DebitCount   int
	DebitAmount  int64 // fen
	CreditCount  int
	CreditAmount int64 // fen
}

// Net is what the batch takes from cardholders: debits less credits.
func (t BatchTotals) Net() int64 { return t.DebitAmount - t.CreditAmount }

// TotalsOf counts txns the way the terminal reports them in the 0500.
// A kind other than sale, void or refund is not counted.
func TotalsOf(txns []BatchTxn) BatchTotals {
	var t BatchTotals
	for _, x := range txns {
		switch x.Kind {
		case "sale":
			t.DebitCount++
			t.DebitAmount += x.Amount
		case "void", "refund":
			t.CreditCount++
			t.CreditAmount += x.Amount
		}
	}
	return t
}

// BatchSettlement asks the acquirer to settle a terminal's batch (0500).
type BatchSettlement struct {
	TerminalID string
	MerchantID string
	Batch      string // the batch settled (field 60.2)
	Trace      string // a new trace of the batch for this message
	Operator   string // the operator's number (field 63), may be empty
	Totals     BatchTotals
}

// SettleResult is the acquirer's verdict on a batch's totals.
type SettleResult struct {
	// Balanced is true when the acquirer's books agree with the totals
	// (对账平); false means upload the batch (UploadBatch, then EndUpload).
	Balanced bool
	// Flag is the acquirer's settle flag for domestic cards as it came:
	// "1" balanced, "2" out of balance, "3" error.
	Flag string
}

// BatchUpload is a batch's transactions sent to the acquirer after it
// said "out of balance", one message per transaction (0320).
type BatchUpload struct {
	TerminalID string
	MerchantID string
	Batch      string
	Txns       []BatchTxn
}

// UploadEnd ends a batch upload (批上送结束, 0320) and closes the batch.
type UploadEnd struct {
	TerminalID string
	MerchantID string
	Batch      string
	Trace      string // a new trace of the batch for this message
	Count      int    // how many transactions were uploaded
	Balanced   bool   // what the settlement answered (picks 207 or 202)
}

// BatchSettler is an acquirer whose terminals settle their batches.
type BatchSettler interface {
	// Settle sends the totals; an error means no verdict (send it again).
	Settle(ctx context.Context, s BatchSettlement) (SettleResult, error)
	// UploadBatch sends every transaction; it may be sent again whole.
	UploadBatch(ctx context.Context, u BatchUpload) error
	// EndUpload closes the batch at the acquirer. false (nil error): the
	// uploaded detail does not add up to the totals settled, and the
	// batch stays open; upload and end again after settling again.
	EndUpload(ctx context.Context, e UploadEnd) (bool, error)
}
