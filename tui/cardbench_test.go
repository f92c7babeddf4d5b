package tui_test

import (
	"context"
	"encoding/hex"
	"io"
	"log/slog"
	"testing"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/demo"
	"github.com/multipos/multipos/posclient"
	"github.com/multipos/multipos/sandbox/acquirer"
)

// BenchmarkPINConfirmToApproval is what follows the cashier's Confirm on the
// PIN screen, up to the approval on screen: the PIN block under the working
// key, the MAC, the sale over mutual TLS to posserver, its journal entry in
// SQLite, the ISO 8583 0200 (MACed) to the acquirer host on loopback and
// its 0210, the answer's MAC checked. One sale per iteration, each under a
// fresh trace.
func BenchmarkPINConfirmToApproval(b *testing.B) {
	env, err := demo.Start(context.Background(), demo.Options{Dir: b.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer env.Close()
	card := acquirer.TestCards()[0]
	ctx := context.Background()
	pin := []byte(card.PIN)
	b.ResetTimer()
	for range b.N {
		trace, err := env.Traces.Next()
		if err != nil {
			b.Fatal(err)
		}
		blk, err := env.CardKeys.EncryptPIN(pin, card.PAN)
		if err != nil {
			b.Fatal(err)
		}
		o, err := env.Client.CardSale(ctx, posclient.NewRequestID(), api.CardSale{Trace: trace, Amount: 1, PAN: card.PAN,
			Expiry: card.Expiry, Track2: card.Track2, Entry: "chip", PINBlock: hex.EncodeToString(blk[:])})
		if err != nil || o.State != api.StateSuccess {
			b.Fatalf("%+v, %v", o, err)
		}
	}
}
