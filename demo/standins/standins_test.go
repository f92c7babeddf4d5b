package standins

import (
	"testing"

	"github.com/multipos/multipos/api"
)

func TestStandIns(t *testing.T) {
	s := New(Options{})
	defer s.Stop()
	if w := s.Wallets(); w[api.Alipay] != s.Alipay || w[api.WeChat] != s.WeChat || len(w) != 2 {
		t.Fatalf("wallet table %v", w)
	}
	if a, err := s.Wallet(api.Alipay); err != nil || a != s.Alipay {
		t.Fatalf("alipay stand-in: %v %v", a, err)
	}
	if _, err := s.Wallet(api.Card); err == nil {
		t.Fatal("a card channel has no wallet")
	}
}
