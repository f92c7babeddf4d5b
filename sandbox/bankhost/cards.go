package bankhost

import "github.com/multipos/multipos/sandbox/acquirer"

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

// TestCard is a card this host knows. The same PANs as sandbox/acquirer's
// TestCards behave the same way here, so the simulated card reader and the
// trainer work against either stand-in; two more cards cover what only a
// wire-level host can show (91 and a lost answer).
type TestCard struct {
	acquirer.TestCard
	Behaviour Behaviour
	Balance   int64 // fen, initial balance for Approve cards
}

// InitialBalance is what an approving card starts with, in fen.
const InitialBalance = 1_000_000

// TestCards returns the cards this host knows.
func TestCards() []TestCard {
	var out []TestCard
	for _, c := range acquirer.TestCards() {
		tc := TestCard{TestCard: c}
		switch c.ID {
		case "approved":
			tc.Behaviour, tc.Balance = Approve, InitialBalance
		case "insufficient":
			tc.Behaviour = Insufficient
		case "wrong-pin":
			tc.Behaviour = RefusePIN
		case "expired":
			tc.Behaviour = Expired
		default:
			continue
		}
		out = append(out, tc)
	}
	return append(out,
		TestCard{TestCard: acquirer.TestCard{ID: "issuer-unavailable", LabelZH: "发卡行无法联系",
			LabelEN: "Issuer unavailable", PAN: "6212345678900044", Expiry: "3012", PIN: "123456",
			Track2: "6212345678900044=30122200000000000"}, Behaviour: IssuerUnavailable},
		TestCard{TestCard: acquirer.TestCard{ID: "no-answer", LabelZH: "无应答（需冲正）",
			LabelEN: "No answer (reversal needed)", PAN: "6212345678900051", Expiry: "3012", PIN: "123456",
			Track2: "6212345678900051=30122200000000000"}, Behaviour: NoAnswer, Balance: InitialBalance},
	)
}
