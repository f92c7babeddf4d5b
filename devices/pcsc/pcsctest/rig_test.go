package pcsctest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/ebfe/scard"

	"github.com/multipos/multipos/sandbox/emvcard"
)

func TestMain(m *testing.M) { Main(m) }

// waitFlag waits until the reader's event state has (or lacks) flag.
func waitFlag(t *testing.T, reader string, flag scard.StateFlag, want bool) scard.StateFlag {
	t.Helper()
	ctx, err := scard.EstablishContext()
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Release()
	rs := []scard.ReaderState{{Reader: reader, CurrentState: scard.StateUnaware}}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if err := ctx.GetStatusChange(rs, time.Second); err != nil && err != scard.ErrTimeout {
			t.Fatal(err)
		}
		if (rs[0].EventState&flag != 0) == want {
			return rs[0].EventState
		}
		rs[0].CurrentState = rs[0].EventState
	}
	t.Fatalf("%s: flag %#x never became %v", reader, flag, want)
	return 0
}

func TestRigInsertRemove(t *testing.T) {
	rig := Start(t)
	if again := Start(t); again != rig {
		t.Error("Start returned a second rig")
	}
	if got := os.Getenv(SocketEnv); got != rig.Socket {
		t.Errorf("%s = %q, want %q", SocketEnv, got, rig.Socket)
	}
	if rig.ReaderName(0) != "Virtual PCD 00 00" || rig.ReaderName(1) != "Virtual PCD 00 01" {
		t.Errorf("readers %q %q", rig.ReaderName(0), rig.ReaderName(1))
	}
	waitFlag(t, rig.ReaderName(1), scard.StateEmpty, true)
	card := emvcard.MustNew(emvcard.Data{}, emvcard.Options{})
	if err := rig.Insert(context.Background(), 1, card); err != nil {
		t.Fatal(err)
	}
	if err := rig.Insert(context.Background(), 1, card); err == nil {
		t.Error("second insert into a full slot succeeded")
	}
	waitFlag(t, rig.ReaderName(1), scard.StatePresent, true)

	sc, err := scard.EstablishContext()
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Release()
	c, err := sc.Connect(rig.ReaderName(1), scard.ShareShared, scard.ProtocolAny)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Transmit([]byte{0x00, 0xA4, 0x04, 0x00, 0x0E, '2', 'P', 'A', 'Y', '.', 'S', 'Y', 'S', '.', 'D', 'D', 'F', '0', '1', 0x00})
	if err != nil || len(resp) < 2 || resp[len(resp)-2] != 0x90 {
		t.Errorf("SELECT PPSE through pcscd: %X %v", resp, err)
	}
	_ = c.Disconnect(scard.LeaveCard)

	if err := rig.Remove(1); err != nil {
		t.Fatal(err)
	}
	waitFlag(t, rig.ReaderName(1), scard.StatePresent, false)
}
