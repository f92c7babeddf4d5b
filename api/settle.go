package api

import "time"

// SettleBatch asks posserver to settle the terminal's open card batch
// (批结算, POST /v1/card/settle), as the supervisor's 结算 on a bank POS
// does. Batch names the batch the station means: the server refuses
// (CodeBatchMoved) when it is no longer the open one, so a settlement
// never closes a batch the station has not seen. The call is idempotent
// under its Idempotency-Key; the settlement of a batch already settled is
// GET /v1/card/settlements/{batch}.
type SettleBatch struct {
	Batch    string `json:"batch"`
	Operator string `json:"operator,omitempty"` // who asked (field 63 of the 0500), may be empty
}

// KindTotal is what a batch holds of one kind of transaction.
type KindTotal struct {
	Kind   Kind  `json:"kind"` // KindCardSale, KindCardVoid or KindCardRefund
	Count  int   `json:"count"`
	Amount int64 `json:"amount"` // fen
}

// How a batch came to be settled (Settlement.By when no operator asked).
const SettledByCutoff = "cutoff" // posserver itself, at the configured cut-off

// Settlement is a settled card batch: what the settlement slip (结算单)
// prints. Debits are the sales (voided or not), credits the voids and
// refunds, as UnionPay POS count them; Net is debits less credits.
type Settlement struct {
	TerminalID   string `json:"terminal_id"`
	MerchantID   string `json:"merchant_id"`
	MerchantName string `json:"merchant_name"`
	Batch        string `json:"batch"`
	NextBatch    string `json:"next_batch"` // the batch open from now on
	// From and To are the period: the batch's first transaction (or its
	// opening, when it has none) and the settlement.
	From         time.Time   `json:"from"`
	To           time.Time   `json:"to"`
	Totals       []KindTotal `json:"totals"` // sale, void, refund, in that order, zeros included
	DebitCount   int         `json:"debit_count"`
	DebitAmount  int64       `json:"debit_amount"`
	CreditCount  int         `json:"credit_count"`
	CreditAmount int64       `json:"credit_amount"`
	Net          int64       `json:"net"`
	// Balanced is the acquirer's verdict on the totals first sent (对账平);
	// false means the batch was uploaded (Uploaded transactions) and
	// settled on the detail.
	Balanced bool `json:"balanced"`
	Uploaded int  `json:"uploaded"`
	// Reversals is how many reversals still owed to the acquirer were sent
	// before the totals, so that its books and ours hold the same batch.
	Reversals int    `json:"reversals"`
	By        string `json:"by"` // the operator who asked, or SettledByCutoff
}

// CodeBatchMoved: the batch named is not the terminal's open batch (it
// was settled, by another station or at the cut-off); the answer's
// BatchHeader names the open one.
const CodeBatchMoved = "batch_moved"

// CodeSettling: the batch is being settled by another request (another
// station, or the cut-off); ask again in a moment.
const CodeSettling = "settling"
