package campaign

import (
	"testing"
	"time"

	"github.com/multipos/multipos/api"
	"github.com/multipos/multipos/server/store"
)

// A deadline follows posserver's own: a code payment's confirmation window,
// a QR code's life, the sweeper's lease and back-off, more for one the
// sweeper keeps trying (within bounds), and the time posserver was down.
func TestDeadline(t *testing.T) {
	w := &World{cfg: DefaultConfig()}
	card := store.JournalTx{Order: api.Order{Kind: api.KindCardSale, Channel: api.Card, CreatedAt: t0}}
	qr := store.JournalTx{Order: api.Order{Kind: api.KindWalletQR, Channel: api.Alipay, CreatedAt: t0}}
	base := w.deadline(card, false)
	if base.Sub(t0) < time.Minute || base.Sub(t0) > 2*time.Minute {
		t.Fatalf("card deadline %v after", base.Sub(t0))
	}
	if q := w.deadline(qr, false); !q.After(base) {
		t.Fatalf("a QR code's deadline %v is not after its 30 s life and the sweeper's", q.Sub(t0))
	}
	card.Sweeps = 4
	if d := w.deadline(card, false).Sub(base); d != 40*time.Second {
		t.Fatalf("a fourth try adds %v", d)
	}
	card.Sweeps = 50
	if d := w.deadline(card, false).Sub(base); d != 120*time.Second {
		t.Fatalf("tries forever: %v more, want the bound", d)
	}
	card.Sweeps = 0
	w.outages.add(t0.Add(10*time.Second), t0.Add(13*time.Second))
	if d := w.deadline(card, false).Sub(base); d != 3*time.Second {
		t.Fatalf("3 s of outage add %v", d)
	}
}
