package standins

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/multipos/multipos/cardkeys"
	"github.com/multipos/multipos/sandbox/acquirer"
	"github.com/multipos/multipos/server/connector/bank"
)

// BankOptions configure StartBank.
type BankOptions struct {
	// MasterKey returns a terminal's master key as the bank loaded it into
	// the terminal (posserver's keyring: it provisioned the key).
	MasterKey func(terminalID string) ([]byte, bool)
	// Lookup finds working keys a terminal got through another link; see
	// bank.Config.Lookup.
	Lookup func(ctx context.Context, terminalID string) (cardkeys.WorkingKeys, bool, error)
	// Timeout is how long the link waits for an answer; 0 = 10 s.
	Timeout       time.Duration
	SettlementDir string
	Balance       int64            // see acquirer.Options.Balance
	Now           func() time.Time // nil = time.Now
	Logger        *slog.Logger     // nil = slog.Default()
}

// Bank is the stand-in acquirer host listening on a loopback port, and
// posserver's ISO 8583 link to it: the same client a real bank gets.
type Bank struct {
	Host   *acquirer.Host
	Client *bank.Client
	Addr   string
}

// StartBank starts the host on 127.0.0.1 and connects a link to it.
func StartBank(ctx context.Context, o BankOptions) (*Bank, error) {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	h := acquirer.New(acquirer.Options{Now: o.Now, Logger: o.Logger, MasterKey: o.MasterKey, SettlementDir: o.SettlementDir, Balance: o.Balance})
	addr, err := h.Listen("127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("stand-in bank: %w", err)
	}
	c, err := bank.Dial(ctx, bank.Config{
		Addr:     addr,
		Terminal: bank.Terminal{Batch: acquirer.Batch},
		Timeout:  o.Timeout,
		Lookup:   o.Lookup,
	})
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("stand-in bank: %w", err)
	}
	return &Bank{Host: h, Client: c, Addr: addr}, nil
}

// Close closes the link, then the host.
func (b *Bank) Close() error {
	err := b.Client.Close()
	b.Host.Close()
	if err == nil {
		return nil
	}
	return fmt.Errorf("stand-in bank: %w", err)
}
