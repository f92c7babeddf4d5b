package standins

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/sandbox/wallet"
	"github.com/multipos/multipos/server/connector"
)

// Options configure the stand-ins.
type Options struct {
	Now    func() time.Time // nil = time.Now
	Logger *slog.Logger     // nil = slog.Default()
}

// StandIns are the in-process wallet stand-ins behind the server's
// connectors (the load test's; the demo runs the protocol-faithful ones of
// StartWallets, and the bank is StartBank's host on a socket).
type StandIns struct {
	Alipay *wallet.Wallet
	WeChat *wallet.Wallet
}

// New builds the stand-ins.
func New(o Options) *StandIns {
	return &StandIns{
		Alipay: wallet.New(wallet.Alipay, wallet.Options{Now: o.Now, Logger: o.Logger}),
		WeChat: wallet.New(wallet.WeChat, wallet.Options{Now: o.Now, Logger: o.Logger}),
	}
}

// Wallets is the server's wallet connector table.
func (s *StandIns) Wallets() map[api.Channel]connector.Wallet {
	return map[api.Channel]connector.Wallet{api.Alipay: s.Alipay, api.WeChat: s.WeChat}
}

// Wallet returns the stand-in of a wallet channel, for playing the customer.
func (s *StandIns) Wallet(ch api.Channel) (*wallet.Wallet, error) {
	switch ch {
	case api.Alipay:
		return s.Alipay, nil
	case api.WeChat:
		return s.WeChat, nil
	}
	return nil, fmt.Errorf("no wallet stand-in for channel %q", ch)
}

// SetNotifier sends the wallets' asynchronous notifications to n.
func (s *StandIns) SetNotifier(n connector.Notifier) {
	s.Alipay.SetNotifier(n)
	s.WeChat.SetNotifier(n)
}

// Stop ends the wallets' notification retries.
func (s *StandIns) Stop() {
	s.Alipay.Stop()
	s.WeChat.Stop()
}
