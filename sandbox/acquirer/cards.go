package acquirer

// TestCard is a card the stand-in bank knows. The PAN is the full number on
// purpose: these are demo cards that exist nowhere else.
type TestCard struct {
	ID      string // stable name, e.g. "approved"
	LabelZH string
	LabelEN string
	PAN     string // 16-digit UnionPay number (BIN 62), Luhn-valid
	Expiry  string // YYMM
	PIN     string // what the cardholder types
	Track2  string // PAN=YYMM, service code, discretionary data
}

// Response codes the stand-in answers (ISO 8583 field 39).
const (
	CodeApproved          = "00"
	CodeInvalidAmount     = "13"
	CodeInvalidCard       = "14"
	CodeInsufficientFunds = "51"
	CodeExpiredCard       = "54"
	CodeIncorrectPIN      = "55"
	CodeSecurityViolation = "63" // no PIN key for the terminal
	CodeDuplicate         = "94" // the terminal's trace was already approved
)

// issuerRule is how the issuer treats a card once the PIN checks out; an
// empty code approves.
type issuerRule struct {
	card       TestCard
	code       string
	refusesPIN bool
}

var testCards = []issuerRule{
	{card: TestCard{ID: "approved", LabelZH: "正常卡（批准）", LabelEN: "Good card (approved)",
		PAN: "6212345678900002", Expiry: "3012", PIN: "123456",
		Track2: "6212345678900002=30122200000000000"}},
	{card: TestCard{ID: "insufficient", LabelZH: "余额不足", LabelEN: "Insufficient funds",
		PAN: "6212345678900010", Expiry: "3012", PIN: "123456",
		Track2: "6212345678900010=30122200000000000"}, code: CodeInsufficientFunds},
	{card: TestCard{ID: "wrong-pin", LabelZH: "密码错误（任何密码都被拒绝）", LabelEN: "Wrong PIN (every PIN refused)",
		PAN: "6212345678900028", Expiry: "3012", PIN: "123456",
		Track2: "6212345678900028=30122200000000000"}, refusesPIN: true},
	{card: TestCard{ID: "expired", LabelZH: "过期卡", LabelEN: "Expired card",
		PAN: "6212345678900036", Expiry: "2001", PIN: "123456",
		Track2: "6212345678900036=20012200000000000"}},
}

// TestCards returns the cards the stand-in bank knows, for the simulated
// card reader and the trainer.
func TestCards() []TestCard {
	out := make([]TestCard, len(testCards))
	for i, r := range testCards {
		out[i] = r.card
	}
	return out
}

func lookup(pan string) (issuerRule, bool) {
	for _, r := range testCards {
		if r.card.PAN == pan {
			return r, true
		}
	}
	return issuerRule{}, false
}
