package campaign

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/multipos/multipos/api"
)

// RunSeed is run n's seed in a campaign seeded with seed. Run 0's is the
// campaign's own, so that `-seed S -runs 1` replays the run whose seed is S.
func RunSeed(seed uint64, n int) uint64 {
	if n == 0 {
		return seed
	}
	return splitmix(seed + uint64(n)*0x9E3779B97F4A7C15)
}

// splitmix is SplitMix64's finaliser: neighbouring inputs, far-apart outputs.
func splitmix(z uint64) uint64 {
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	return z ^ z>>31
}

// SaleKind is how the customer pays.
type SaleKind string

const (
	KindCard SaleKind = "card" // a bank card, chip or stripe, with a PIN
	KindQR   SaleKind = "qr"   // the customer scans the terminal's QR code
	KindCode SaleKind = "code" // the cashier scans the customer's payment code
)

// What the customer does, per kind of sale.
const (
	// QR codes.
	CustomerPays          = "pays"              // scans and pays soon
	CustomerPaysLate      = "pays_late"         // pays after a while
	CustomerDeclines      = "declines"          // refuses on the phone; the cashier gives up
	CustomerWalksAway     = "walks_away"        // does nothing; the cashier gives up
	CustomerPaysAsCancels = "pays_while_cancel" // pays just as the cashier cancels
	// Payment codes.
	CodePaid             = "paid"                  // pays at once (password-free)
	CodeConfirms         = "confirms"              // confirms on the phone
	CodeDeclinesOnPhone  = "declines_on_phone"     // cancels on the phone
	CodeNeverConfirms    = "never_confirms"        // leaves it: posserver reverses it
	CodeRefused          = "refused"               // the wallet refuses the code (balance)
	CodeConfirmsAsCancel = "confirms_while_cancel" // confirms just as the cashier cancels
)

// SalePlan is one customer's purchase as the seed decides it.
type SalePlan struct {
	Kind     SaleKind
	Channel  api.Channel
	Amount   int64         // fen
	Card     string        // card: the test card's ID (sandbox/acquirer)
	Code     string        // code: the payment code the customer shows
	Customer string        // wallets: what the customer does
	Think    time.Duration // before the sale starts
	Act      time.Duration // how long the customer takes to act
	// Skew is when the cashier cancels relative to the customer acting
	// (the races pays_while_cancel and confirms_while_cancel).
	Skew     time.Duration
	Patience time.Duration // how long the cashier waits before cancelling
	Replay   bool          // the terminal resends the request with the same request id
	Lookup   bool          // the terminal looks the sale up by trace afterwards
	Adjust   api.Kind      // card: a void or a refund of the sale once paid ("": none)
	Refund   int64         // the refund's amount
	// Again is a second attempt of the same sale when the first fails.
	Again *SalePlan
}

// TerminalPlan is what one terminal does in a run.
type TerminalPlan struct {
	Sales []SalePlan
}

// FaultKind names an injected fault.
type FaultKind string

const (
	FaultKill              FaultKind = "kill"                // kill -9 of posserver, restarted after Down
	FaultWipe              FaultKind = "wipe"                // a terminal's state folder (trace counter) is wiped
	FaultBankDrop          FaultKind = "bank-drop"           // the bank's next N answers are lost
	FaultBankLate          FaultKind = "bank-late"           // the bank's next answer comes after the channel timeout
	FaultBankFailReversals FaultKind = "bank-fail-reversals" // the next N reversals are refused (96)
	FaultBankDropReversals FaultKind = "bank-drop-reversals" // the next N reversals are booked, unanswered
	FaultAlipayLost        FaultKind = "alipay-lost"         // Alipay acts on a call, the answer is lost
	FaultAlipayLate        FaultKind = "alipay-late"         // Alipay answers a call after the channel timeout
	FaultAlipayError       FaultKind = "alipay-error"        // Alipay answers 20000 or ACQ.SYSTEM_ERROR (acting or not)
	FaultWeChatLost        FaultKind = "wechat-lost"
	FaultWeChatLate        FaultKind = "wechat-late"
	FaultWeChatError       FaultKind = "wechat-error"
	FaultNotifyDuplicate   FaultKind = "notify-duplicate" // a wallet's next notification arrives twice
	FaultNotifyLate        FaultKind = "notify-late"      // a wallet holds its notifications back for Down
	FaultNotifyLost        FaultKind = "notify-lost"      // the next N notifications are lost on the way
	FaultAnswerLost        FaultKind = "answer-lost"      // posserver's answers to a terminal's next N requests are lost
	FaultRequestDup        FaultKind = "request-dup"      // a terminal's next N requests go out twice at once
)

// faultKinds are the faults drawn besides kills and wipes.
var faultKinds = []FaultKind{FaultBankDrop, FaultBankLate, FaultBankFailReversals, FaultBankDropReversals,
	FaultAlipayLost, FaultAlipayLate, FaultAlipayError, FaultWeChatLost, FaultWeChatLate, FaultWeChatError,
	FaultNotifyDuplicate, FaultNotifyLate, FaultNotifyLost, FaultAnswerLost, FaultRequestDup}

// FaultPlan is one fault at a moment of the run.
type FaultPlan struct {
	At       time.Duration // after the run starts
	Kind     FaultKind
	N        int
	Down     time.Duration // kill: until the restart; notify-late: how long notifications are held
	Delay    time.Duration // late answers
	Instance int           // kill: which posserver (PostgreSQL runs two)
	Channel  api.Channel   // notify faults: whose notifications
	Method   string        // wallet faults: the call (Alipay method, WeChat op)
	Answer   string        // alipay-error: 20000 or ACQ.SYSTEM_ERROR
	Applied  bool          // alipay-error: the call acts before the error answer
	Reverse  bool          // notify-late: released newest first
	Terminal int           // wipe, answer-lost, request-dup: which terminal of the run
	Before   int           // wipe: before which of its sales
}

func (f FaultPlan) String() string {
	s := string(f.Kind)
	switch f.Kind {
	case FaultKill:
		s += fmt.Sprintf("(#%d %v)", f.Instance, f.Down.Round(time.Millisecond))
	case FaultWipe:
		s += fmt.Sprintf("(t%d before sale %d)", f.Terminal, f.Before+1)
	case FaultAnswerLost, FaultRequestDup:
		s += fmt.Sprintf("(t%d ×%d)", f.Terminal, f.N)
	case FaultAlipayLost, FaultAlipayLate, FaultAlipayError, FaultWeChatLost, FaultWeChatLate, FaultWeChatError:
		s += "(" + f.Method + ")"
	}
	return s
}

// Sizes are what a run is made of.
type Sizes struct {
	Terminals      int           // terminals per run
	Sales          int           // sales per terminal per run
	Window         time.Duration // faults fall within this much of the run's start
	MaxFaults      int           // faults per run besides kills and wipes: 0 to this
	KillChance     float64       // chance of a kill -9 in a run
	WipeChance     float64       // chance of a terminal's state folder wiped in a run
	Instances      int           // posserver instances (1 on SQLite, 2 on PostgreSQL)
	ChannelTimeout time.Duration // posserver's, so that late answers come after it
	ConfirmWindow  time.Duration // how long posserver follows a code awaiting confirmation
}

// RunPlan is everything a run's seed decides: the terminals' sales, the
// customers, and the faults with their moments.
type RunPlan struct {
	Seed      uint64
	Terminals []TerminalPlan
	Faults    []FaultPlan
}

// NewPlan draws a run's plan from its seed. The same seed and sizes give
// the same plan.
func NewPlan(seed uint64, s Sizes) RunPlan {
	p := RunPlan{Seed: seed}
	r := rand.New(rand.NewPCG(seed, 0x6d756c7469706f73)) // "multipos"
	for range s.Terminals {
		var t TerminalPlan
		for range s.Sales {
			t.Sales = append(t.Sales, drawSale(r, s))
		}
		p.Terminals = append(p.Terminals, t)
	}
	if r.Float64() < s.KillChance {
		p.Faults = append(p.Faults, FaultPlan{Kind: FaultKill, At: between(r, 0, s.Window),
			Down: between(r, 200*time.Millisecond, 2*time.Second), Instance: r.IntN(max(s.Instances, 1))})
	}
	if s.Sales > 1 && r.Float64() < s.WipeChance {
		p.Faults = append(p.Faults, FaultPlan{Kind: FaultWipe, Terminal: r.IntN(s.Terminals), Before: 1 + r.IntN(s.Sales-1)})
	}
	for range r.IntN(s.MaxFaults + 1) {
		p.Faults = append(p.Faults, drawFault(r, s))
	}
	return p
}

// between draws a duration in [lo, hi).
func between(r *rand.Rand, lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(r.Int64N(int64(hi-lo)))
}

// pick draws one of choices by weight.
func pick[T any](r *rand.Rand, choices []T, weights []int) T {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := r.IntN(total)
	for i, w := range weights {
		if n < w {
			return choices[i]
		}
		n -= w
	}
	return choices[len(choices)-1]
}

func drawSale(r *rand.Rand, s Sizes) SalePlan {
	p := SalePlan{Amount: 100 + r.Int64N(49_900), Think: between(r, 0, 300*time.Millisecond),
		Replay: r.IntN(10) == 0, Lookup: r.IntN(10) == 0}
	p.Kind = pick(r, []SaleKind{KindCard, KindQR, KindCode}, []int{40, 35, 25})
	switch p.Kind {
	case KindCard:
		drawCard(r, &p)
	case KindQR:
		drawQR(r, &p)
	case KindCode:
		drawCode(r, s, &p)
	}
	if r.IntN(3) == 0 {
		// A customer whose first attempt fails pays again, by card.
		again := SalePlan{Kind: KindCard, Amount: p.Amount, Think: between(r, 0, 200*time.Millisecond)}
		drawCard(r, &again)
		again.Adjust, again.Refund = "", 0
		p.Again = &again
	}
	return p
}

func drawCard(r *rand.Rand, p *SalePlan) {
	p.Channel = api.Card
	p.Card = pick(r, []string{"approved", "stripe-only", "insufficient", "wrong-pin", "expired", "issuer-unavailable", "no-answer"},
		[]int{64, 8, 5, 5, 5, 5, 8})
	switch n := r.IntN(100); {
	case n < 12:
		p.Adjust = api.KindCardVoid
	case n < 30:
		p.Adjust = api.KindCardRefund
		p.Refund = max(1, p.Amount*int64(10+r.IntN(91))/100)
	}
}

func drawQR(r *rand.Rand, p *SalePlan) {
	p.Channel = pick(r, []api.Channel{api.Alipay, api.WeChat}, []int{1, 1})
	p.Customer = pick(r, []string{CustomerPays, CustomerPaysLate, CustomerDeclines, CustomerWalksAway, CustomerPaysAsCancels},
		[]int{45, 10, 15, 10, 20})
	switch p.Customer {
	case CustomerPaysLate:
		p.Act = between(r, time.Second, 2500*time.Millisecond)
	default:
		p.Act = between(r, 50*time.Millisecond, 500*time.Millisecond)
	}
	p.Patience = p.Act + between(r, 300*time.Millisecond, 1500*time.Millisecond)
	if p.Customer == CustomerPaysAsCancels {
		p.Skew = between(r, -40*time.Millisecond, 40*time.Millisecond)
	}
}

func drawCode(r *rand.Rand, s Sizes, p *SalePlan) {
	p.Channel = pick(r, []api.Channel{api.Alipay, api.WeChat}, []int{1, 1})
	p.Code = payCode(r, p.Channel)
	p.Customer = pick(r, []string{CodePaid, CodeConfirms, CodeDeclinesOnPhone, CodeNeverConfirms, CodeRefused, CodeConfirmsAsCancel},
		[]int{40, 20, 10, 10, 10, 10})
	window := max(s.ConfirmWindow, time.Second)
	switch p.Customer {
	case CodeConfirms:
		// Mostly well inside the window; now and then at its very end.
		p.Act = between(r, 50*time.Millisecond, window*9/10)
	case CodeConfirmsAsCancel:
		p.Act = between(r, 50*time.Millisecond, window/2)
		p.Skew = between(r, -40*time.Millisecond, 40*time.Millisecond)
	default:
		p.Act = between(r, 50*time.Millisecond, window/2)
	}
}

// payCode draws a payment code of the wallet (paycode): WeChat
// Pay 18 digits starting 10–15, Alipay 16–24 digits starting 25–30.
func payCode(r *rand.Rand, ch api.Channel) string {
	var b strings.Builder
	n := 18
	if ch == api.WeChat {
		b.WriteString(fmt.Sprint(10 + r.IntN(6)))
	} else {
		b.WriteString(fmt.Sprint(25 + r.IntN(6)))
		n = 16 + r.IntN(9)
	}
	for b.Len() < n {
		b.WriteByte(byte('0' + r.IntN(10)))
	}
	return b.String()
}

func drawFault(r *rand.Rand, s Sizes) FaultPlan {
	f := FaultPlan{Kind: faultKinds[r.IntN(len(faultKinds))], At: between(r, 0, s.Window), N: 1 + r.IntN(2)}
	late := s.ChannelTimeout + between(r, 200*time.Millisecond, time.Second)
	switch f.Kind {
	case FaultBankLate, FaultAlipayLate, FaultWeChatLate:
		f.Delay = late
	case FaultNotifyLate:
		f.Down = between(r, 500*time.Millisecond, 3*time.Second)
		f.Reverse = r.IntN(2) == 0
	}
	switch f.Kind {
	case FaultAlipayLost, FaultAlipayLate, FaultAlipayError:
		f.Method = pick(r, []string{"alipay.trade.precreate", "alipay.trade.pay", "alipay.trade.query", "alipay.trade.close", "alipay.trade.cancel"},
			[]int{3, 3, 2, 2, 2})
	case FaultWeChatLost, FaultWeChatLate, FaultWeChatError:
		f.Method = pick(r, []string{"native", "codepay", "query", "close", "reverse"}, []int{3, 3, 2, 2, 2})
	case FaultNotifyDuplicate, FaultNotifyLate:
		f.Channel = pick(r, []api.Channel{api.Alipay, api.WeChat}, []int{1, 1})
	}
	if f.Kind == FaultAnswerLost || f.Kind == FaultRequestDup {
		f.Terminal = r.IntN(max(s.Terminals, 1))
	}
	if f.Kind == FaultAlipayError {
		f.Answer = pick(r, []string{"20000", "ACQ.SYSTEM_ERROR"}, []int{1, 1})
		f.Applied = r.IntN(2) == 0
	}
	return f
}
