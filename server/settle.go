package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/internal/ids"
	"github.com/multipos/multipos/server/connector"
	"github.com/multipos/multipos/server/store"
)

// Card batch settlement (批结算), as a UnionPay POS does it, on the
// terminal's behalf: claim the batch (store: one claimant at a time, under
// a lease), send the reversals still owed in it, send the totals (0500);
// when the acquirer's books disagree, upload the batch (0320 each) and end
// the upload; then close the batch and open the next, in one database
// transaction. A settlement that fails stays SETTLING, given back with its
// error: the station's retry, or the settlement loop (settlecutoff.go)
// once its retry time has come, takes it up again.

// settleRetry is how soon the settlement loop takes up a settlement that
// failed (a station may retry at once).
const settleRetry = time.Minute

// cardSettle is POST /v1/card/settle.
func (s *Server) cardSettle(r *http.Request, t *terminal) (int, any, error) {
	if _, err := requestID(r); err != nil {
		return 0, nil, err
	}
	var req api.SettleBatch
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	if len(req.Batch) != 6 || !validDigits(req.Batch, 6) {
		return 0, nil, badRequest("batch %q is not 6 digits", req.Batch)
	}
	if len(req.Operator) > 20 || strings.ContainsFunc(req.Operator, func(c rune) bool { return c < ' ' || c > '~' }) {
		return 0, nil, badRequest("operator must be at most 20 printable ASCII characters")
	}
	// A settlement that fails is forgotten, so that the station may ask
	// again under the same id.
	return s.atMostOnce(r, t, "card_settle", requestHash("settle", req.Batch, req.Operator), "",
		func(ctx context.Context) (int, any, bool, error) {
			res, err := s.SettleBatch(ctx, t.ID, req.Batch, req.Operator, req.Operator)
			return http.StatusOK, res, true, err
		})
}

// cardSettlement is GET /v1/card/settlements/{batch}: a settled batch's
// settlement, as its slip prints it.
func (s *Server) cardSettlement(r *http.Request, t *terminal) (int, any, error) {
	batch := r.PathValue("batch")
	x, err := s.st.Settlement(r.Context(), t.ID, batch)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return 0, nil, notFound("settlement of batch " + batch)
	case err != nil:
		return 0, nil, err
	case x.State != store.SettlementSettled || x.Result == nil:
		return 0, nil, settlingError(batch, x.LastError)
	}
	return http.StatusOK, *x.Result, nil
}

func settlingError(batch, lastError string) *api.Error {
	msg := fmt.Sprintf("batch %s is being settled; ask again in a moment", batch)
	if lastError != "" {
		msg += " (last try: " + lastError + ")"
	}
	return &api.Error{Status: http.StatusConflict, Code: api.CodeSettling, Message: msg}
}

// batchSettling refuses a card transaction while its batch is being
// settled: its totals are on their way to the acquirer.
func batchSettling(err error) *api.Error {
	return &api.Error{Status: http.StatusConflict, Code: api.CodeSettling,
		Message: fmt.Sprintf("the card batch is being settled; try again when it is (%v)", err)}
}

// settling is a settlement under way: what its steps share.
type settling struct {
	x        store.Settlement
	owner    string
	term     store.Terminal
	settler  connector.BatchSettler
	operator string
	by       string
}

// SettleBatch settles terminal tid's batch: operator goes in the 0500's
// field 63, by is who asked (the operator, or api.SettledByCutoff). A
// batch settled already answers its settlement; one no longer open,
// CodeBatchMoved; one another claimant holds, CodeSettling.
func (s *Server) SettleBatch(ctx context.Context, tid, batch, operator, by string) (api.Settlement, error) {
	settler, ok := s.opts.Acquirer.(connector.BatchSettler)
	if !ok {
		return api.Settlement{}, &api.Error{Status: http.StatusConflict, Code: api.CodeChannelDisabled,
			Message: "this server's bank link does not settle batches"}
	}
	st := &settling{owner: s.opts.Instance + "/" + ids.New()[:8], settler: settler, operator: operator, by: by}
	now := s.now()
	x, err := s.st.ClaimSettlement(ctx, tid, batch, st.owner, by, now, now.Add(s.settleLease(0)))
	switch {
	case errors.Is(err, store.ErrBatchMoved) && x.Result != nil:
		return *x.Result, nil // settled: a retry hears the result
	case errors.Is(err, store.ErrBatchMoved):
		s.forgetTrace(tid)
		return api.Settlement{}, &api.Error{Status: http.StatusConflict, Code: api.CodeBatchMoved,
			Message: fmt.Sprintf("batch %s is not terminal %s's open batch (%s is)", batch, tid, x.OpenBatch)}
	case errors.Is(err, store.ErrSettling):
		return api.Settlement{}, settlingError(batch, "")
	case err != nil:
		return api.Settlement{}, err
	}
	st.x = x
	s.log.Info("settlement claimed", "terminal", tid, "batch", batch, "by", by, "try", x.Tries)
	res, err := s.runSettlement(ctx, st)
	if err != nil {
		s.log.Warn("settlement failed; the batch stays open", "terminal", tid, "batch", batch, "err", err)
		wctx := context.WithoutCancel(ctx)
		if rerr := s.st.ReleaseSettlement(wctx, tid, batch, st.owner, err.Error(), s.now().Add(settleRetry)); rerr != nil {
			s.log.Warn("settlement not given back; its lease runs out", "terminal", tid, "batch", batch, "err", rerr)
		}
		return api.Settlement{}, err
	}
	return res, nil
}

// settleLease is how long a claimant may take over a settlement of n
// messages before another may take it over: every message may take a
// whole channel timeout.
func (s *Server) settleLease(n int) time.Duration {
	return time.Duration(n+6)*s.opts.ChannelTimeout + 30*time.Second
}

// runSettlement carries out a claimed settlement.
func (s *Server) runSettlement(ctx context.Context, st *settling) (api.Settlement, error) {
	tid, batch := st.x.TerminalID, st.x.Batch
	var err error
	if st.term, err = s.st.Terminal(ctx, tid); err != nil {
		return api.Settlement{}, fmt.Errorf("settlement of %s batch %s: %w", tid, batch, err)
	}
	reversals, err := s.settleOpen(ctx, tid, batch)
	if err != nil {
		return api.Settlement{}, err
	}
	entries, err := s.st.BatchTxns(ctx, tid, batch)
	if err != nil {
		return api.Settlement{}, err
	}
	txns := make([]connector.BatchTxn, len(entries))
	for i, e := range entries {
		txns[i] = e.BatchTxn
		if e.Kind == "refund" {
			txns[i].OrigDate = s.acquirerDate(api.Order{TradeNo: e.OrigTradeNo, UpdatedAt: e.OrigAt})
		}
	}
	if err := s.st.ExtendSettlement(ctx, tid, batch, st.owner, s.now().Add(s.settleLease(len(txns)))); err != nil {
		return api.Settlement{}, err
	}
	if err := s.settleTraces(ctx, st); err != nil {
		return api.Settlement{}, err
	}
	balanced, uploaded, err := s.settleAtBank(ctx, st, txns)
	if err != nil {
		return api.Settlement{}, err
	}
	res, err := s.settlementOf(ctx, st, entries, txns)
	if err != nil {
		return api.Settlement{}, err
	}
	res.Balanced, res.Uploaded, res.Reversals = balanced, uploaded, reversals
	if err := s.st.CloseSettlement(context.WithoutCancel(ctx), st.owner, res, res.To); err != nil {
		return api.Settlement{}, err
	}
	s.forgetTrace(tid)
	s.log.Info("batch settled", "terminal", tid, "batch", batch, "next", res.NextBatch, "by", res.By,
		"debits", res.DebitCount, "debit_amount", res.DebitAmount, "credits", res.CreditCount,
		"credit_amount", res.CreditAmount, "balanced", balanced, "uploaded", uploaded, "reversals", reversals)
	return res, nil
}

// settleOpen sends the reversals still owed in the batch (sales, voids and
// refunds whose answers were lost, or left CREATED by a crash), the
// sweeper's way, so that the acquirer's books and the totals agree. A
// transaction still at the acquirer makes the settlement wait: its
// outcome would change the totals. It returns how many it reversed.
func (s *Server) settleOpen(ctx context.Context, tid, batch string) (int, error) {
	sales, adjs, err := s.st.OpenInBatch(ctx, tid, batch)
	if err != nil {
		return 0, err
	}
	inFlight := s.now().Add(-(s.opts.ChannelTimeout + createdGrace))
	for _, o := range append(sales, adjs...) {
		if o.State == api.StateCreated && o.CreatedAt.After(inFlight) {
			return 0, &api.Error{Status: http.StatusConflict, Code: api.CodeSettling,
				Message: fmt.Sprintf("batch %s: transaction %s (trace %s) is still at the bank; settle when it is answered", batch, o.ID, o.Trace)}
		}
	}
	n := 0
	for _, o := range sales {
		_, err := s.reverse(ctx, o)
		if err = settledMeanwhile(err); err != nil {
			return n, s.reversalOwed(batch, o, err)
		}
		n++
	}
	for _, o := range adjs {
		_, err := s.reverseAdjustment(ctx, o)
		if err = settledMeanwhile(err); err != nil {
			return n, s.reversalOwed(batch, o, err)
		}
		n++
	}
	if n > 0 {
		s.log.Info("reversals owed sent before the settlement", "terminal", tid, "batch", batch, "count", n)
	}
	return n, nil
}

// settledMeanwhile drops the error of a reversal that lost its race with
// the sweeper (or the terminal): the transaction is final either way.
func settledMeanwhile(err error) error {
	if errors.Is(err, store.ErrStale) || errors.Is(err, store.ErrFinal) {
		return nil
	}
	return err
}

func (s *Server) reversalOwed(batch string, o api.Order, err error) error {
	return &api.Error{Status: http.StatusBadGateway, Code: api.CodeChannelError,
		Message: fmt.Sprintf("batch %s: the reversal owed for %s (trace %s) was not taken: %v; settle again", batch, o.ID, o.Trace, err)}
}

// settleTraces claims the traces of the settlement's 0500 and upload end
// (once: a retry sends them under the same ones, so that the acquirer
// takes a repeat of an end that closed the batch as that end).
func (s *Server) settleTraces(ctx context.Context, st *settling) error {
	if st.x.SettleTrace != "" && st.x.EndTrace != "" {
		return nil
	}
	tid, batch := st.x.TerminalID, st.x.Batch
	var got []string
	for len(got) < 2 {
		b, next, err := s.claimFreeTrace(ctx, tid, store.TraceSettle, 10)
		switch {
		case errors.Is(err, errNoFreeTrace):
			return fmt.Errorf("settlement of %s batch %s: %w", tid, batch, err)
		case err != nil:
			return err
		case b != batch:
			return fmt.Errorf("settlement of %s batch %s: trace %s fell in batch %s", tid, batch, next, b)
		}
		got = append(got, next)
	}
	st.x.SettleTrace, st.x.EndTrace = got[0], got[1]
	return s.st.SetSettlementTraces(ctx, tid, batch, st.owner, got[0], got[1])
}

// settleAtBank sends the totals and, when the acquirer's books disagree,
// the upload and its end. An end that does not add up (the acquirer took
// a change meanwhile) is settled and uploaded once more; then it fails.
func (s *Server) settleAtBank(ctx context.Context, st *settling, txns []connector.BatchTxn) (balanced bool, uploaded int, err error) {
	tid, mid, batch := st.x.TerminalID, st.term.MerchantID, st.x.Batch
	totals := connector.TotalsOf(txns)
	for try := range 2 {
		var res connector.SettleResult
		if err := s.bankCall(ctx, tid, mid, "settle", func(cctx context.Context) (err error) {
			res, err = st.settler.Settle(cctx, connector.BatchSettlement{TerminalID: tid, MerchantID: mid, Batch: batch,
				Trace: st.x.SettleTrace, Operator: st.operator, Totals: totals})
			return err
		}); err != nil {
			return false, 0, bankFailed(batch, "the totals (0500)", err)
		}
		if try == 0 {
			balanced = res.Balanced
		}
		if !res.Balanced {
			s.log.Info("settlement out of balance; uploading the batch", "terminal", tid, "batch", batch,
				"flag", res.Flag, "count", len(txns))
			if err := s.bankCall(ctx, tid, mid, "upload", func(cctx context.Context) error {
				return st.settler.UploadBatch(cctx, connector.BatchUpload{TerminalID: tid, MerchantID: mid, Batch: batch, Txns: txns})
			}); err != nil {
				return false, 0, bankFailed(batch, "the batch upload (0320)", err)
			}
			uploaded = len(txns)
		}
		var closed bool
		if err := s.bankCall(ctx, tid, mid, "upload_end", func(cctx context.Context) (err error) {
			closed, err = st.settler.EndUpload(cctx, connector.UploadEnd{TerminalID: tid, MerchantID: mid, Batch: batch,
				Trace: st.x.EndTrace, Count: uploaded, Balanced: res.Balanced})
			return err
		}); err != nil {
			return false, 0, bankFailed(batch, "the end of the settlement (0320)", err)
		}
		if closed {
			return balanced, uploaded, nil
		}
		s.log.Warn("batch upload does not add up at the acquirer", "terminal", tid, "batch", batch, "try", try+1)
	}
	return false, 0, &api.Error{Status: http.StatusBadGateway, Code: api.CodeChannelError,
		Message: fmt.Sprintf("batch %s: the acquirer does not take the uploaded batch as adding up to its totals; the batch stays open, settle again or call the acquirer", batch)}
}

// bankCall makes one settlement call, timed and counted, with the bank's
// working keys renewed when it refuses them.
func (s *Server) bankCall(ctx context.Context, tid, mid, op string, call func(context.Context) error) error {
	cctx, cancel := s.callCtx(ctx)
	defer cancel()
	start := time.Now()
	err := s.withBankKeys(cctx, tid, mid, func() error { return call(cctx) })
	s.metrics.ChannelCall(string(api.Card), op, outcome(err), time.Since(start))
	return err
}

func bankFailed(batch, what string, err error) error {
	return &api.Error{Status: http.StatusBadGateway, Code: api.CodeChannelError,
		Message: fmt.Sprintf("batch %s: the acquirer did not take %s: %v; the batch stays open, settle again", batch, what, err)}
}

// settlementOf is the settlement slip's data.
func (s *Server) settlementOf(ctx context.Context, st *settling, entries []store.BatchEntry, txns []connector.BatchTxn) (api.Settlement, error) {
	tid, batch := st.x.TerminalID, st.x.Batch
	name, err := s.st.Merchant(ctx, st.term.MerchantID)
	if err != nil {
		return api.Settlement{}, err
	}
	now := s.now()
	from := now
	if len(entries) > 0 {
		from = entries[0].At
		for _, e := range entries {
			if e.At.Before(from) {
				from = e.At
			}
		}
	} else if opened, err := s.st.BatchOpenedAt(ctx, tid, batch); err != nil {
		return api.Settlement{}, err
	} else if !opened.IsZero() {
		from = opened
	}
	t := connector.TotalsOf(txns)
	kinds := []api.KindTotal{{Kind: api.KindCardSale}, {Kind: api.KindCardVoid}, {Kind: api.KindCardRefund}}
	at := map[string]int{"sale": 0, "void": 1, "refund": 2}
	for _, x := range txns {
		i := at[x.Kind]
		kinds[i].Count++
		kinds[i].Amount += x.Amount
	}
	return api.Settlement{TerminalID: tid, MerchantID: st.term.MerchantID, MerchantName: name, Batch: batch,
		NextBatch: store.NextBatch(batch), From: from, To: now, Totals: kinds,
		DebitCount: t.DebitCount, DebitAmount: t.DebitAmount, CreditCount: t.CreditCount, CreditAmount: t.CreditAmount,
		Net: t.Net(), By: st.by}, nil
}
