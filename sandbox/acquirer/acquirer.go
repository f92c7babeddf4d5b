package acquirer

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/multipos/multipos/cards"
	"github.com/multipos/multipos/server/connector"
)

// Batch is the settlement batch the stand-in approves into (no settlement yet).
const Batch = "000001"

// Options configures the stand-in bank.
type Options struct {
	// PINKey returns the key a terminal encrypts PIN blocks under (16 or 24
	// bytes, TDES); false when the bank does not know the terminal.
	PINKey func(terminalID string) ([]byte, bool)
	Now    func() time.Time // default time.Now
	Logger *slog.Logger     // default slog.Default()
}

// Approval is one approved sale in the bank's ledger.
type Approval struct {
	TerminalID string
	MerchantID string
	Trace      string
	Amount     int64 // fen
	MaskedPAN  string
	AuthCode   string
	RRN        string
	Batch      string
	At         time.Time
	Reversed   bool // undone by a reversal
}

type fault struct {
	err   error
	after bool // decide, then lose the reply
}

// Acquirer is the stand-in bank. It is safe for concurrent use.
type Acquirer struct {
	opts Options
	log  *slog.Logger

	mu        sync.Mutex
	seq       int
	calls     int
	reversals int
	ledger    []Approval
	byTrace   map[string]int // terminal|trace|batch → index in ledger
	faults    []fault
	revFaults []error
}

// New returns a stand-in bank.
func New(opts Options) *Acquirer {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.PINKey == nil {
		opts.PINKey = func(string) ([]byte, bool) { return nil, false }
	}
	return &Acquirer{opts: opts, log: opts.Logger.With("sandbox", "acquirer"), byTrace: map[string]int{}}
}

// Sale authorises a card sale.
func (a *Acquirer) Sale(ctx context.Context, s connector.Sale) (connector.SaleResult, error) {
	if err := ctx.Err(); err != nil {
		return connector.SaleResult{}, fmt.Errorf("acquirer sale: %w: %w", connector.ErrUnknownOutcome, err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls++
	var f *fault
	if len(a.faults) > 0 {
		f = &a.faults[0]
		a.faults = a.faults[1:]
		if !f.after {
			return connector.SaleResult{}, fmt.Errorf("acquirer sale %s/%s: %w", s.TerminalID, s.Trace, f.err)
		}
	}
	res := a.decide(s)
	a.log.Info("sale", "terminal", s.TerminalID, "trace", s.Trace, "pan", cards.Mask(s.PAN),
		"amount", s.Amount, "response_code", res.ResponseCode)
	if f != nil {
		return connector.SaleResult{}, fmt.Errorf("acquirer sale %s/%s: %w", s.TerminalID, s.Trace, f.err)
	}
	return res, nil
}

// decide runs the issuer's checks in the order a host does. Called with a.mu held.
func (a *Acquirer) decide(s connector.Sale) connector.SaleResult {
	decline := func(code string) connector.SaleResult { return connector.SaleResult{ResponseCode: code} }
	if s.Amount <= 0 {
		return decline(CodeInvalidAmount)
	}
	rule, ok := lookup(s.PAN)
	if !ok || s.Expiry != rule.card.Expiry {
		return decline(CodeInvalidCard)
	}
	if expired(rule.card.Expiry, a.opts.Now()) {
		return decline(CodeExpiredCard)
	}
	key, ok := a.opts.PINKey(s.TerminalID)
	if !ok {
		return decline(CodeSecurityViolation)
	}
	clear, err := cards.DecryptPINBlock(key, s.PINBlock)
	if err != nil {
		return decline(CodeSecurityViolation)
	}
	pin, err := cards.PINFromBlock0(clear, s.PAN)
	if err != nil || pin != rule.card.PIN || rule.refusesPIN {
		return decline(CodeIncorrectPIN)
	}
	if rule.code != "" {
		return decline(rule.code)
	}
	if _, dup := a.byTrace[traceKey(s.TerminalID, s.Trace)]; dup {
		return decline(CodeDuplicate)
	}
	now := a.opts.Now()
	a.seq++
	res := connector.SaleResult{
		ResponseCode: CodeApproved,
		AuthCode:     fmt.Sprintf("%06d", rand.IntN(1_000_000)),
		RRN:          fmt.Sprintf("%s%06d", now.Format("060102"), a.seq%1_000_000),
		Batch:        Batch,
	}
	a.byTrace[traceKey(s.TerminalID, s.Trace)] = len(a.ledger)
	a.ledger = append(a.ledger, Approval{TerminalID: s.TerminalID, MerchantID: s.MerchantID, Trace: s.Trace,
		Amount: s.Amount, MaskedPAN: cards.Mask(s.PAN), AuthCode: res.AuthCode, RRN: res.RRN, Batch: res.Batch, At: now})
	return res
}

func traceKey(terminalID, trace string) string { return terminalID + "|" + trace + "|" + Batch }

// Reverse undoes the sale the terminal sent with that trace, if the bank
// approved it; a reversal of a sale it never booked is answered all the
// same (the host's "unable to locate", which the terminal treats as done).
// Reversals are idempotent: a repeated one changes nothing.
func (a *Acquirer) Reverse(ctx context.Context, r connector.Reversal) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("acquirer reversal: %w: %w", connector.ErrUnknownOutcome, err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.revFaults) > 0 {
		err := a.revFaults[0]
		a.revFaults = a.revFaults[1:]
		return fmt.Errorf("acquirer reversal %s/%s: %w", r.TerminalID, r.Trace, err)
	}
	a.reversals++
	i, ok := a.byTrace[traceKey(r.TerminalID, r.Trace)]
	if !ok {
		a.log.Info("reversal of a sale not booked", "terminal", r.TerminalID, "trace", r.Trace, "amount", r.Amount)
		return nil
	}
	if a.ledger[i].Amount != r.Amount {
		return fmt.Errorf("acquirer reversal %s/%s: amount %d does not match the sale's %d", r.TerminalID, r.Trace, r.Amount, a.ledger[i].Amount)
	}
	a.ledger[i].Reversed = true
	a.log.Info("sale reversed", "terminal", r.TerminalID, "trace", r.Trace, "amount", r.Amount, "rrn", a.ledger[i].RRN)
	return nil
}

// Reversals returns how many reversals arrived.
func (a *Acquirer) Reversals() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.reversals
}

// FailNextReversal makes the next reversal fail with err.
func (a *Acquirer) FailNextReversal(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.revFaults = append(a.revFaults, err)
}

// expired reports whether a YYMM expiry is before the month of now (a card
// is valid through the last day of its expiry month).
func expired(yymm string, now time.Time) bool {
	if len(yymm) != 4 {
		return true
	}
	return yymm < now.Format("0601")
}

// Ledger returns the approved sales, oldest first.
func (a *Acquirer) Ledger() []Approval {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Approval(nil), a.ledger...)
}

// Calls returns how many sales were sent.
func (a *Acquirer) Calls() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.calls
}

// FailNext makes the next sale fail with err before the bank decides
// (e.g. connector.ErrUnknownOutcome for a request lost on the way).
func (a *Acquirer) FailNext(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.faults = append(a.faults, fault{err: err})
}

// LoseNextReply makes the next sale be decided (and, if approved, booked)
// and then answer ErrUnknownOutcome: the case a reversal exists for.
func (a *Acquirer) LoseNextReply() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.faults = append(a.faults, fault{err: fmt.Errorf("reply lost: %w", connector.ErrUnknownOutcome), after: true})
}
