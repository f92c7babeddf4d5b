package sandbox

import (
	"testing"

	"github.com/multipos/multipos/config"
	"github.com/multipos/multipos/server/api"
)

func TestNewChecksPINKeys(t *testing.T) {
	if _, err := New(Options{Terminals: []config.TerminalEntry{{ID: "T1", PINKey: "abcd"}}}); err == nil {
		t.Fatal("a short PIN key was accepted")
	}
	s, err := New(Options{Terminals: []config.TerminalEntry{{ID: "T1", PINKey: config.DemoPINKey}}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	if w := s.Wallets(); w[api.Alipay] != s.Alipay || w[api.WeChat] != s.WeChat || len(w) != 2 {
		t.Fatalf("wallet table %v", w)
	}
	if _, err := s.Wallet(api.Card); err == nil {
		t.Fatal("a card channel has no wallet")
	}
}
