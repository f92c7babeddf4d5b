package bank

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/multipos/multipos/server/connector"
)

// Settlement messages (批结算); layouts and sources in the package doc.
const (
	MTISettle          = "0500"
	MTISettleResponse  = "0510"
	MTIBatchUpload     = "0320"
	MTIBatchUploadResp = "0330"

	// Network management codes (field 60.3).
	NMCSettle              = "201" // the 0500; also each transaction's 0320
	NMCUploadEndUnbalanced = "202" // end of an upload after "out of balance"
	NMCUploadEndBalanced   = "207" // end of settlement after "balanced"

	// Settle flags in the 0510's field 48 (positions 30 and 61).
	SettleBalanced   = '1' // 对账平
	SettleUnbalanced = '2' // 对账不平
	SettleFlagsError = '3' // 对账出错

	// CodeReconcileError (ISO 8583 95) answers an upload end whose
	// detail does not add up to the totals settled.
	CodeReconcileError = "95"

	// CardOrgCUP is field 63 of an upload: a domestic (UnionPay) card.
	CardOrgCUP = "CUP"
)

// TotalsLen is the length of field 48 in a 0500 and its 0510: domestic
// then foreign totals, 31 digits each.
const TotalsLen = 62

// totalsDigits is one card group's totals: debit amount n12, debit count
// n3, credit amount n12, credit count n3, settle flag n1.
const totalsDigits = 31

// EncodeTotals is field 48 of a 0500: domestic totals then foreign ones,
// each with the settle flag 0.
func EncodeTotals(domestic, foreign connector.BatchTotals) (string, error) {
	a, err := encodeGroup(domestic)
	if err != nil {
		return "", err
	}
	b, err := encodeGroup(foreign)
	if err != nil {
		return "", err
	}
	return a + b, nil
}

func encodeGroup(t connector.BatchTotals) (string, error) {
	if t.DebitCount < 0 || t.CreditCount < 0 || t.DebitCount > 999 || t.CreditCount > 999 {
		return "", fmt.Errorf("bank: batch counts %d/%d do not fit n3", t.DebitCount, t.CreditCount)
	}
	if t.DebitAmount < 0 || t.CreditAmount < 0 || t.DebitAmount > 999_999_999_999 || t.CreditAmount > 999_999_999_999 {
		return "", fmt.Errorf("bank: batch amounts %d/%d fen do not fit n12", t.DebitAmount, t.CreditAmount)
	}
	return fmt.Sprintf("%012d%03d%012d%03d0", t.DebitAmount, t.DebitCount, t.CreditAmount, t.CreditCount), nil
}

// DecodeTotals reads field 48 of a 0500 or 0510: both card groups'
// totals and their settle flags.
func DecodeTotals(f48 string) (domestic, foreign connector.BatchTotals, flags [2]byte, err error) {
	if len(f48) != TotalsLen {
		return domestic, foreign, flags, fmt.Errorf("%w: field 48 of a settlement is %d digits, not %d", ErrMalformed, len(f48), TotalsLen)
	}
	for i, g := range []*connector.BatchTotals{&domestic, &foreign} {
		s := f48[i*totalsDigits : (i+1)*totalsDigits]
		n := [4]int64{}
		for j, f := range [][2]int{{0, 12}, {12, 15}, {15, 27}, {27, 30}} {
			if n[j], err = strconv.ParseInt(s[f[0]:f[1]], 10, 64); err != nil || s[f[0]] == '-' || s[f[0]] == '+' {
				return domestic, foreign, flags, fmt.Errorf("%w: field 48 of a settlement is not digits", ErrMalformed)
			}
		}
		*g = connector.BatchTotals{DebitAmount: n[0], DebitCount: int(n[1]), CreditAmount: n[2], CreditCount: int(n[3])}
		flags[i] = s[30]
	}
	return domestic, foreign, flags, nil
}

// SetSettleFlags is what a host does to a 0500's field 48 for its 0510:
// the same digits with the two settle flags set.
func SetSettleFlags(f48 string, domestic, foreign byte) string {
	if len(f48) != TotalsLen {
		return f48
	}
	b := []byte(f48)
	b[totalsDigits-1], b[TotalsLen-1] = domestic, foreign
	return string(b)
}

// NewSettle builds the 0500 (批结算): the batch's domestic totals in
// field 48 (no foreign cards: their totals are zeros), 60 = 00 + batch +
// 201, the operator in field 63.
func (t Terminal) NewSettle(trace string, totals connector.BatchTotals, operator string) (*Message, error) {
	f48, err := EncodeTotals(totals, connector.BatchTotals{})
	if err != nil {
		return nil, err
	}
	if len(t.Batch) != 6 {
		return nil, errors.New("bank: a settlement names its batch")
	}
	m := t.base(MTISettle, "", trace)
	m.Currency, m.Field48, m.Field63 = CurrencyCNY, f48, operator
	m.Field60 = "00" + t.Batch + NMCSettle
	return m, nil
}

// typeCodes are field 60.1 of the transactions a batch upload carries.
var typeCodes = map[string]string{"sale": "22", "void": "23", "refund": "25"}

// KindOfType is the transaction kind of a field 60.1 type code ("" for
// none of sale, void or refund).
func KindOfType(code string) string {
	for k, c := range typeCodes {
		if c == code {
			return k
		}
	}
	return ""
}

// NewUploadTxn builds one transaction's 0320 of a batch upload (批上送):
// its own trace, processing code, amount, entry mode, RRN and auth code,
// field 60 = its type code + batch + 201, field 61 as it was sent, and 63
// the card organisation. No card number: the host finds it by terminal,
// merchant, batch and trace.
func (t Terminal) NewUploadTxn(x connector.BatchTxn) (*Message, error) {
	code, ok := typeCodes[x.Kind]
	if !ok {
		return nil, fmt.Errorf("bank: a batch upload of a %q", x.Kind)
	}
	if x.Amount <= 0 {
		return nil, errNoAmount
	}
	if len(t.Batch) != 6 || len(x.Trace) != 6 {
		return nil, errors.New("bank: an uploaded transaction names its batch and trace")
	}
	proc := ProcSale
	if x.Kind != "sale" {
		proc = ProcRefund
	}
	m := t.base(MTIBatchUpload, proc, x.Trace)
	m.Amount, m.ConditionCode, m.Currency = x.Amount, "00", CurrencyCNY
	m.RRN, m.AuthCode, m.Field63 = x.RRN, x.AuthCode, CardOrgCUP
	m.Field60 = code + t.Batch + NMCSettle
	switch x.Kind {
	case "void":
		m.Original = x.OrigBatch + x.OrigTrace
	case "refund":
		m.Original = x.OrigBatch + x.OrigTrace + x.OrigDate
	}
	return m, m.setCard(Card{EntryMode: EntryMode(x.Entry, x.PIN), CardSeq: x.CardSeq})
}

// NewUploadEnd builds the 0320 that ends a batch's settlement (批上送结束):
// field 48 the count uploaded (n4), 60.3 = 207 when the settlement was
// balanced, 202 when it was not.
func (t Terminal) NewUploadEnd(trace string, count int, balanced bool) (*Message, error) {
	if count < 0 || count > 9999 {
		return nil, fmt.Errorf("bank: %d uploaded transactions do not fit n4", count)
	}
	if len(t.Batch) != 6 {
		return nil, errors.New("bank: an upload end names its batch")
	}
	m := t.base(MTIBatchUpload, "", trace)
	m.Field48 = fmt.Sprintf("%04d", count)
	nmc := NMCUploadEndUnbalanced
	if balanced {
		nmc = NMCUploadEndBalanced
	}
	m.Field60 = "00" + t.Batch + nmc
	return m, nil
}

var _ connector.BatchSettler = (*Client)(nil)

// namesBatch refuses a settlement message without its batch: the link's
// default batch would settle another one.
func namesBatch(batch string) error {
	if len(batch) != 6 {
		return fmt.Errorf("bank: settlement of batch %q: a batch is 6 digits", batch)
	}
	return nil
}

// Settle implements connector.BatchSettler with a 0500. Balanced is true
// only when both settle flags of the 0510 say 1. A lost answer is no
// harm: the 0500 moves no money, and is sent again.
func (c *Client) Settle(ctx context.Context, s connector.BatchSettlement) (connector.SettleResult, error) {
	if err := namesBatch(s.Batch); err != nil {
		return connector.SettleResult{}, err
	}
	req, err := c.terminal(s.TerminalID, s.MerchantID, s.Batch).NewSettle(s.Trace, s.Totals, s.Operator)
	if err != nil {
		return connector.SettleResult{}, err
	}
	resp, err := c.Exchange(ctx, req)
	if err != nil {
		return connector.SettleResult{}, err
	}
	if resp.ResponseCode != "00" {
		return connector.SettleResult{}, fmt.Errorf("bank: settlement of batch %s: %w", s.Batch, &DeclinedError{Code: resp.ResponseCode})
	}
	_, _, flags, err := DecodeTotals(resp.Field48)
	if err != nil {
		return connector.SettleResult{}, fmt.Errorf("bank: settlement answer of batch %s: %w", s.Batch, err)
	}
	return connector.SettleResult{
		Balanced: flags[0] == SettleBalanced && flags[1] == SettleBalanced,
		Flag:     string(flags[0]),
	}, nil
}

// UploadBatch implements connector.BatchSettler: one 0320 per
// transaction, in order; it stops at the first that is not answered 00.
// The host takes a repeat of an upload as the same upload.
func (c *Client) UploadBatch(ctx context.Context, u connector.BatchUpload) error {
	if err := namesBatch(u.Batch); err != nil {
		return err
	}
	t := c.terminal(u.TerminalID, u.MerchantID, u.Batch)
	for _, x := range u.Txns {
		req, err := t.NewUploadTxn(x)
		if err != nil {
			return err
		}
		resp, err := c.Exchange(ctx, req)
		if err != nil {
			return fmt.Errorf("bank: upload of trace %s: %w", x.Trace, err)
		}
		if resp.ResponseCode != "00" {
			return fmt.Errorf("bank: upload of trace %s: %w", x.Trace, &DeclinedError{Code: resp.ResponseCode})
		}
	}
	return nil
}

// EndUpload implements connector.BatchSettler with the closing 0320.
// 00 closes the batch (true); 95 says the uploaded detail does not add up
// to the totals settled (false, nil); any other code is an error.
func (c *Client) EndUpload(ctx context.Context, e connector.UploadEnd) (bool, error) {
	if err := namesBatch(e.Batch); err != nil {
		return false, err
	}
	req, err := c.terminal(e.TerminalID, e.MerchantID, e.Batch).NewUploadEnd(e.Trace, e.Count, e.Balanced)
	if err != nil {
		return false, err
	}
	resp, err := c.Exchange(ctx, req)
	if err != nil {
		return false, err
	}
	switch resp.ResponseCode {
	case "00":
		return true, nil
	case CodeReconcileError:
		return false, nil
	}
	return false, fmt.Errorf("bank: end of the upload of batch %s: %w", e.Batch, &DeclinedError{Code: resp.ResponseCode})
}
