package campaign

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/multipos/multipos/api"
)

// Sale is a customer's purchase as the terminal lived it: what it sent and
// what it was told. The checker compares it with the journal and the
// channels' books.
type Sale struct {
	Run      int
	Terminal string
	N        int // the sale's number within the terminal's run
	Plan     SalePlan
	Amount   int64

	mu         sync.Mutex
	Attempts   []*Attempt
	Paid       bool   // the terminal saw it paid (and told the customer so)
	PaidBy     string // the order the terminal saw SUCCESS
	PaidAmount int64  // that order's amount as the terminal was told
	PaidTrace  string
	Adjust     *Adjustment
	events     []string
	start      time.Time
}

// Attempt is one attempt to pay a sale as the terminal knows it.
type Attempt struct {
	Kind       api.Kind
	Channel    api.Channel
	Trace      string
	RequestIDs []string // every request id the attempt was sent under
	OrderID    string   // the order the server answered with, when it did
	SaleID     string   // the journal's sale, when the server said
	OutTradeNo string
	Saw        api.State // the last state the terminal was told ("" none)
	Code       string    // card: the bank's response code it was told
	Card       string    // card: the test card's ID
}

// Adjustment is a void or refund as the terminal knows it.
type Adjustment struct {
	Kind       api.Kind
	Original   string // the sale's order id
	Amount     int64
	Trace      string
	RequestIDs []string
	OrderID    string
	Saw        api.State
}

func newSale(run int, terminal string, n int, p SalePlan) *Sale {
	return &Sale{Run: run, Terminal: terminal, N: n, Plan: p, Amount: p.Amount, start: time.Now()}
}

// note records what happened, for the failure report.
func (s *Sale) note(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, fmt.Sprintf("%5dms ", time.Since(s.start).Milliseconds())+fmt.Sprintf(format, args...))
}

// Events returns what happened to the sale, oldest first.
func (s *Sale) Events() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.events...)
}

func (s *Sale) newAttempt(kind api.Kind, ch api.Channel) *Attempt {
	a := &Attempt{Kind: kind, Channel: ch}
	s.mu.Lock()
	s.Attempts = append(s.Attempts, a)
	s.mu.Unlock()
	return a
}

// see records an answer about the attempt's order: the terminal believes
// it, as a station does (card answers have had their MAC checked).
func (s *Sale) see(a *Attempt, o api.Order, how string) {
	s.mu.Lock()
	if a.OrderID == "" {
		a.OrderID, a.SaleID, a.OutTradeNo = o.ID, o.SaleID, o.OutTradeNo
	}
	other := o.ID != a.OrderID
	a.Saw = o.State
	if o.ResponseCode != "" {
		a.Code = o.ResponseCode
	}
	if o.State == api.StateSuccess && !s.Paid {
		s.Paid, s.PaidBy, s.PaidAmount, s.PaidTrace = true, o.ID, o.Amount, o.Trace
	}
	s.mu.Unlock()
	what := string(o.State)
	if o.Reason != "" {
		what += " (" + o.Reason + ")"
	}
	if o.ResponseCode != "" && o.State != api.StateSuccess {
		what += " rc " + o.ResponseCode
	}
	if other {
		what += " [order " + o.ID + ", not the attempt's " + a.OrderID + "]"
	}
	s.note("%s → %s %s", how, o.ID, what)
}

// Describe is one line saying what the sale was.
func (s *Sale) Describe() string {
	p := s.Plan
	var b strings.Builder
	fmt.Fprintf(&b, "%s sale %d of run %d: %s %s %s", s.Terminal, s.N+1, s.Run+1, p.Kind, p.Channel, yuan(s.Amount))
	switch {
	case p.Kind == KindCard:
		b.WriteString(" card " + p.Card)
	case p.Customer != "":
		b.WriteString(" customer " + p.Customer)
	}
	if p.Adjust != "" {
		b.WriteString(" then " + strings.TrimPrefix(string(p.Adjust), "card_"))
	}
	return b.String()
}

// Saw says what the terminal was told.
func (s *Sale) Saw() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Paid {
		return fmt.Sprintf("paid by %s (trace %s, %s)", s.PaidBy, s.PaidTrace, yuan(s.PaidAmount))
	}
	var parts []string
	for _, a := range s.Attempts {
		st := string(a.Saw)
		if st == "" {
			st = "no answer"
		}
		parts = append(parts, fmt.Sprintf("%s trace %s: %s", a.Kind, a.Trace, st))
	}
	return "not paid (" + strings.Join(parts, "; ") + ")"
}

// AttemptsText lists the sale's attempts as the terminal knows them: kind,
// trace, request ids, the order and the last state it was told.
func (s *Sale) AttemptsText() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for i, a := range s.Attempts {
		saw := string(a.Saw)
		if saw == "" {
			saw = "no answer"
		}
		out = append(out, fmt.Sprintf("attempt %d: %s %s trace %s, request %s, order %s, told %s",
			i+1, a.Kind, a.Channel, a.Trace, strings.Join(a.RequestIDs, "/"), orNone(a.OrderID), saw))
	}
	if a := s.Adjust; a != nil {
		saw := string(a.Saw)
		if saw == "" {
			saw = "no answer"
		}
		out = append(out, fmt.Sprintf("%s of %s: %s trace %s, request %s, order %s, told %s",
			strings.TrimPrefix(string(a.Kind), "card_"), a.Original, yuan(a.Amount), a.Trace, strings.Join(a.RequestIDs, "/"), orNone(a.OrderID), saw))
	}
	return out
}

// yuan formats fen as yuan.
func yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s¥%d.%02d", sign, fen/100, fen%100)
}
