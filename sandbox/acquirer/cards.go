package acquirer

// Behaviour is what the issuer does with a card once it is known.
type Behaviour int

// Card behaviours.
const (
	Approve           Behaviour = iota // approves while the balance lasts
	Insufficient                       // 51
	RefusePIN                          // 55 for every PIN (counts towards 75)
	Expired                            // 54 (its expiry is in the past)
	IssuerUnavailable                  // 91
	NoAnswer                           // approved and booked, but never answered
)

// TestCard is a card this host knows. The PAN is the full number on
// purpose: these are demo cards that exist nowhere else. The simulated
// reader, the trainer's card list and the tests all take them from here.
type TestCard struct {
	ID        string // stable name, e.g. "approved"
	LabelZH   string
	LabelEN   string
	PAN       string // 16-digit UnionPay number (BIN 62), Luhn-valid
	Expiry    string // YYMM
	PIN       string // what the cardholder types
	Track2    string // PAN=YYMM, service code, discretionary data
	Holder    string // cardholder name on the chip
	Behaviour Behaviour
	Balance   int64 // fen, initial balance for Approve and NoAnswer cards
}

// InitialBalance is what an approving card starts with, in fen.
const InitialBalance = 1_000_000

// Batch is a terminal's first batch (field 60.2). The host keeps no batch
// number of its own: each message names the one it belongs to, as the
// terminal's server keeps it; the host only knows which ones it settled
// and closed.
const Batch = "000001"

var testCards = []TestCard{
	{ID: "approved", LabelZH: "正常卡（批准）", LabelEN: "Good card (approved)",
		PAN: "6212345678900002", Expiry: "3012", PIN: "123456", Holder: "ZHANG/SAN",
		Track2: "6212345678900002=30122200000000000", Behaviour: Approve, Balance: InitialBalance},
	{ID: "insufficient", LabelZH: "余额不足", LabelEN: "Insufficient funds",
		PAN: "6212345678900010", Expiry: "3012", PIN: "123456", Holder: "LI/SI",
		Track2: "6212345678900010=30122200000000000", Behaviour: Insufficient},
	{ID: "wrong-pin", LabelZH: "密码错误（任何密码都被拒绝）", LabelEN: "Wrong PIN (every PIN refused)",
		PAN: "6212345678900028", Expiry: "3012", PIN: "123456", Holder: "WANG/WU",
		Track2: "6212345678900028=30122200000000000", Behaviour: RefusePIN},
	{ID: "expired", LabelZH: "过期卡", LabelEN: "Expired card",
		PAN: "6212345678900036", Expiry: "2001", PIN: "123456", Holder: "ZHAO/LIU",
		Track2: "6212345678900036=20012200000000000", Behaviour: Expired},
	{ID: "issuer-unavailable", LabelZH: "发卡行无法联系", LabelEN: "Issuer unavailable",
		PAN: "6212345678900044", Expiry: "3012", PIN: "123456", Holder: "SUN/QI",
		Track2: "6212345678900044=30122200000000000", Behaviour: IssuerUnavailable},
	{ID: "stripe-only", LabelZH: "磁条卡（无芯片，刷卡）", LabelEN: "Stripe-only card (swipe it)",
		PAN: "6212345678900069", Expiry: "3012", PIN: "123456", Holder: "WU/JIU",
		Track2: "6212345678900069=30121200000000000", Behaviour: Approve, Balance: InitialBalance},
	{ID: "no-answer", LabelZH: "无应答（需冲正）", LabelEN: "No answer (reversal needed)",
		PAN: "6212345678900051", Expiry: "3012", PIN: "123456", Holder: "ZHOU/BA",
		Track2: "6212345678900051=30122200000000000", Behaviour: NoAnswer, Balance: InitialBalance},
}

// TestCards returns the cards this host knows.
func TestCards() []TestCard { return append([]TestCard(nil), testCards...) }
