package paycode

import (
	"errors"
	"fmt"

	"github.com/multipos/multipos/api"
)

// ErrNotPayCode is returned for digits that are no wallet's payment code.
var ErrNotPayCode = errors.New("not a wallet payment code")

// WrongWallet is returned by Check for a code of the other wallet.
type WrongWallet struct {
	Want, Got api.Channel
}

func (e *WrongWallet) Error() string {
	return fmt.Sprintf("a %s payment code, not %s", e.Got, e.Want)
}

// Classify returns the wallet a payment code belongs to.
//   - WeChat Pay: 18 digits starting 10 to 15.
//   - Alipay: 16 to 24 digits starting 25 to 30.
func Classify(code string) (api.Channel, error) {
	n := len(code)
	if n < 2 || !digits(code) {
		return "", fmt.Errorf("%w: %d characters, digits only expected", ErrNotPayCode, n)
	}
	prefix := int(code[0]-'0')*10 + int(code[1]-'0')
	switch {
	case n == 18 && prefix >= 10 && prefix <= 15:
		return api.WeChat, nil
	case n >= 16 && n <= 24 && prefix >= 25 && prefix <= 30:
		return api.Alipay, nil
	}
	return "", fmt.Errorf("%w: %d digits starting %02d", ErrNotPayCode, n, prefix)
}

// Check classifies the code and refuses one of another wallet than want
// (a *WrongWallet).
func Check(code string, want api.Channel) error {
	got, err := Classify(code)
	if err != nil {
		return err
	}
	if got != want {
		return &WrongWallet{Want: want, Got: got}
	}
	return nil
}

// Mask shows enough of a code to recognise it in a log or on a screen,
// never the whole: it pays once, for about a minute, but pays.
func Mask(code string) string {
	if len(code) <= 8 {
		return "****"
	}
	return code[:4] + "******" + code[len(code)-4:]
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
