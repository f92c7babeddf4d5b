package pcsc_test

import (
	"context"
	"testing"

	"github.com/ebfe/scard"

	"github.com/multipos/multipos/cards/emv"
	"github.com/multipos/multipos/devices"
	"github.com/multipos/multipos/devices/pcsc"
	"github.com/multipos/multipos/devices/pcsc/pcsctest"
	"github.com/multipos/multipos/sandbox/emvcard"
)

// BenchmarkInsertToPAN measures what the cashier waits for: from the
// virtual card dialing vpcd to CardInserted with the PAN. pcscd polls vpcd
// every 0.4 s, which dominates.
func BenchmarkInsertToPAN(b *testing.B) {
	rig := pcsctest.Start(b)
	name := rig.ReaderName(0)
	r := pcsc.Open(pcsc.Options{Filter: name})
	defer r.Close()
	expect(b, r, name, devices.ReaderAdded)
	card := emvcard.MustNew(emvcard.Data{}, emvcard.Options{Directory: emvcard.DirPSE})
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := rig.Insert(ctx, 0, card); err != nil {
			b.Fatal(err)
		}
		if ev := expect(b, r, name, devices.CardInserted); ev.Card.PAN != emvcard.DefaultData.PAN {
			b.Fatalf("card %s", ev.Card)
		}
		b.StopTimer()
		if err := rig.Remove(0); err != nil {
			b.Fatal(err)
		}
		expect(b, r, name, devices.CardRemoved)
		b.StartTimer()
	}
}

// BenchmarkEMVReadThroughPCSC measures emv.Read alone (PSE, SELECT, GPO,
// three READ RECORDs) through pcscd and vpcd to the virtual card.
func BenchmarkEMVReadThroughPCSC(b *testing.B) {
	rig := pcsctest.Start(b)
	ctx := context.Background()
	if err := rig.Insert(ctx, 0, emvcard.MustNew(emvcard.Data{}, emvcard.Options{Directory: emvcard.DirPSE})); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = rig.Remove(0) }()
	if err := rig.WaitCard(ctx, 0, true); err != nil {
		b.Fatal(err)
	}
	sc, err := scard.EstablishContext()
	if err != nil {
		b.Fatal(err)
	}
	defer sc.Release()
	c, err := sc.Connect(rig.ReaderName(0), scard.ShareShared, scard.ProtocolAny)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Disconnect(scard.LeaveCard)
	card := pcsc.NewCard(c)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := emv.Read(ctx, card, emv.TerminalData{})
		if err != nil || res.PAN != emvcard.DefaultData.PAN {
			b.Fatalf("read: %v", err)
		}
	}
	b.StopTimer() // the deferred removal waits for pcscd's poll
}
