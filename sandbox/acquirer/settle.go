package acquirer

import (
	"slices"
	"strconv"

	"github.com/multipos/multipos/server/connector"
	"github.com/multipos/multipos/server/connector/bank"
)

// Response codes of settlement.
const (
	// CodeBatchClosed refuses a message naming a batch the host has
	// settled and closed: the terminal must move to its next batch
	// (UnionPay POS show 77 when the POS's batch number and the centre's
	// differ, and tell the operator to sign on again).
	CodeBatchClosed = "77"
	// CodeReconcileError (ISO 8583 95) answers an upload end whose detail
	// does not add up to the totals settled.
	CodeReconcileError = bank.CodeReconcileError
)

// batchState is a terminal's batch from its first 0500 on.
type batchState struct {
	terminal, merchant, batch string

	claimed  connector.BatchTotals         // domestic totals of the last 0500
	flag     byte                          // the last 0510's verdict: bank.SettleBalanced or SettleUnbalanced
	uploads  map[string]connector.BatchTxn // by trace
	closed   bool                          // settled: no message may name it any more
	closedBy string                        // trace of the end message that closed it
	settled  connector.BatchTotals         // what it was settled on
	missing  []string                      // traces of the host's books not in the upload
	unknown  []string                      // uploaded traces the host's books do not have
}

func batchKey(terminal, merchant, batch string) string {
	return terminal + "|" + merchant + "|" + batch
}

// batchOf returns the state of the batch req names, creating it.
func (h *Host) batchOf(req *bank.Message) *batchState {
	k := batchKey(req.TerminalID, req.MerchantID, req.Field60[2:8])
	st, ok := h.batches[k]
	if !ok {
		st = &batchState{terminal: req.TerminalID, merchant: req.MerchantID, batch: req.Field60[2:8],
			uploads: map[string]connector.BatchTxn{}}
		h.batches[k] = st
	}
	return st
}

// closedBatch reports whether the batch of terminal, merchant and batch
// was settled and closed.
func (h *Host) closedBatch(terminal, merchant, batch string) bool {
	st, ok := h.batches[batchKey(terminal, merchant, batch)]
	return ok && st.closed
}

// counted reports whether e is part of its batch's totals: approved, not
// reversed, and in the host's books.
func (e Entry) counted() bool {
	return e.Approved && !e.Reversed && !e.Lost && !e.Excluded
}

// books are the host's totals of a batch, counted as the terminal counts
// them (connector.TotalsOf).
func (h *Host) books(terminal, merchant, batch string) connector.BatchTotals {
	var txns []connector.BatchTxn
	for _, e := range h.ledger {
		if e.TerminalID == terminal && e.MerchantID == merchant && e.Batch == batch && e.counted() {
			txns = append(txns, connector.BatchTxn{Kind: string(e.Type), Amount: e.Amount})
		}
	}
	return connector.TotalsOf(txns)
}

// settle answers a 0500: the terminal's totals against the host's books
// for that batch (or, once closed, against what it was settled on). The
// host has no foreign cards: their totals must be zeros.
func (h *Host) settle(req, resp *bank.Message) *bank.Message {
	domestic, foreign, _, err := bank.DecodeTotals(req.Field48)
	if err != nil || req.Field60[8:] != bank.NMCSettle {
		resp.ResponseCode = CodeFormatError
		return resp
	}
	st := h.batchOf(req)
	ours := st.settled
	if !st.closed {
		ours = h.books(st.terminal, st.merchant, st.batch)
	}
	dflag, fflag := byte(bank.SettleBalanced), byte(bank.SettleBalanced)
	if domestic != ours {
		dflag = bank.SettleUnbalanced
	}
	if foreign != (connector.BatchTotals{}) {
		fflag = bank.SettleUnbalanced
	}
	if !st.closed {
		st.claimed, st.flag = domestic, bank.SettleBalanced
		if dflag != bank.SettleBalanced || fflag != bank.SettleBalanced {
			st.flag = bank.SettleUnbalanced
		}
	}
	h.log.Info("settlement", "terminal", st.terminal, "batch", st.batch, "closed", st.closed,
		"claimed", domestic, "books", ours, "flag", string(dflag))
	resp.ResponseCode, resp.Field48 = CodeApproved, bank.SetSettleFlags(req.Field48, dflag, fflag)
	return resp
}

// batchUpload answers a 0320: one uploaded transaction, or the end.
func (h *Host) batchUpload(req, resp *bank.Message) *bank.Message {
	st := h.batchOf(req)
	nmc := req.Field60[8:]
	switch {
	case nmc == bank.NMCUploadEndBalanced || nmc == bank.NMCUploadEndUnbalanced:
		resp.ResponseCode = h.uploadEnd(st, req, nmc)
	case st.closed:
		resp.ResponseCode = CodeBatchClosed
	case st.flag == 0:
		resp.ResponseCode = CodeInvalidTxn // no settlement under way
	case nmc != bank.NMCSettle || bank.KindOfType(req.Field60[:2]) == "":
		resp.ResponseCode = CodeFormatError
	default:
		resp.ResponseCode = h.uploadTxn(st, req)
	}
	return resp
}

func (h *Host) uploadTxn(st *batchState, req *bank.Message) string {
	x := connector.BatchTxn{Kind: bank.KindOfType(req.Field60[:2]), Trace: req.Trace, Amount: req.Amount,
		RRN: req.RRN, AuthCode: req.AuthCode, Entry: req.EntryMode, CardSeq: req.CardSeq}
	if o := req.Original; len(o) >= 12 {
		x.OrigBatch, x.OrigTrace, x.OrigDate = o[:6], o[6:12], o[12:]
	}
	if prev, ok := st.uploads[x.Trace]; ok && prev != x {
		return CodeDuplicate // another transaction under an uploaded trace
	}
	st.uploads[x.Trace] = x
	return CodeApproved
}

// uploadEnd closes the batch. 207 needs a balanced settlement; 202 needs
// the uploaded detail to add up to the totals settled (else 95: the batch
// stays open, to be uploaded and ended again). A repeat of the end that
// closed the batch gets 00 again.
func (h *Host) uploadEnd(st *batchState, req *bank.Message, nmc string) string {
	switch {
	case st.closed && req.Trace == st.closedBy:
		return CodeApproved
	case st.closed:
		return CodeBatchClosed
	case st.flag == 0:
		return CodeInvalidTxn
	case nmc == bank.NMCUploadEndBalanced && st.flag != bank.SettleBalanced:
		return CodeInvalidTxn // out of balance: upload, then end with 202
	case nmc == bank.NMCUploadEndBalanced:
		st.settled = st.claimed
	default:
		n, err := strconv.Atoi(req.Field48)
		if err != nil || len(req.Field48) != 4 {
			return CodeFormatError
		}
		detail := make([]connector.BatchTxn, 0, len(st.uploads))
		for _, x := range st.uploads {
			detail = append(detail, x)
		}
		if n != len(st.uploads) || connector.TotalsOf(detail) != st.claimed {
			h.log.Warn("batch upload does not add up to its settlement", "terminal", st.terminal, "batch", st.batch,
				"count", n, "uploaded", len(st.uploads), "claimed", st.claimed, "detail", connector.TotalsOf(detail))
			return CodeReconcileError
		}
		h.adoptUpload(st)
		st.settled = st.claimed
	}
	st.closed, st.closedBy = true, req.Trace
	h.listBatch(st) // on today's settlement file
	h.log.Info("batch closed", "terminal", st.terminal, "batch", st.batch, "totals", st.settled)
	return CodeApproved
}

// adoptUpload settles the batch on the terminal's uploaded detail, as an
// acquirer does after an out-of-balance settlement: an entry the host had
// lost and the terminal uploaded (same kind, amount, RRN) is back in the
// books; one the host has and the terminal did not upload is left out of
// the batch (Excluded); an upload the host never booked is noted. Both
// kinds of difference are the acquirer's to chase, not the terminal's.
func (h *Host) adoptUpload(st *batchState) {
	seen := map[string]bool{}
	for i := range h.ledger {
		e := &h.ledger[i]
		if e.TerminalID != st.terminal || e.MerchantID != st.merchant || e.Batch != st.batch || !e.Approved || e.Reversed {
			continue
		}
		x, ok := st.uploads[e.Trace]
		if ok && x.Kind == string(e.Type) && x.Amount == e.Amount && x.RRN == e.RRN {
			e.Lost, seen[e.Trace] = false, true
			continue
		}
		if !e.Lost {
			e.Excluded = true
			st.missing = append(st.missing, e.Trace)
		}
	}
	for trace := range st.uploads {
		if !seen[trace] {
			st.unknown = append(st.unknown, trace)
		}
	}
	slices.Sort(st.unknown)
	if len(st.missing)+len(st.unknown) > 0 {
		h.log.Warn("batch settled on the terminal's detail with differences", "terminal", st.terminal,
			"batch", st.batch, "not_uploaded", st.missing, "not_booked", st.unknown)
	}
}
