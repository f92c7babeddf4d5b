package emvcard

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/multipos/multipos/cards/emv"
)

// fakeVPCD accepts one card connection the way vpcd does.
func fakeVPCD(t *testing.T) (net.Listener, <-chan net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	ch := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			ch <- c
		}
	}()
	return ln, ch
}

func frame(t *testing.T, c net.Conn, payload []byte) []byte {
	t.Helper()
	out := binary.BigEndian.AppendUint16(nil, uint16(len(payload)))
	if _, err := c.Write(append(out, payload...)); err != nil {
		t.Fatal(err)
	}
	if len(payload) == 1 && payload[0] != ctlGetATR {
		return nil
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	hdr := make([]byte, 2)
	if _, err := io.ReadFull(c, hdr); err != nil {
		t.Fatal(err)
	}
	resp := make([]byte, binary.BigEndian.Uint16(hdr))
	if _, err := io.ReadFull(c, resp); err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestVPCDProtocol(t *testing.T) {
	ln, accepted := fakeVPCD(t)
	card := MustNew(Data{}, Options{Protocol: T0})
	ctx := context.Background()
	if err := card.Insert(ctx, ln.Addr().String()); err != nil {
		t.Fatal(err)
	}
	if err := card.Insert(ctx, ln.Addr().String()); !errors.Is(err, ErrInserted) {
		t.Errorf("second insert: %v", err)
	}
	vpcd := <-accepted
	defer vpcd.Close()

	frame(t, vpcd, []byte{ctlPowerOn}) // no answer expected
	if atr := frame(t, vpcd, []byte{ctlGetATR}); !bytes.Equal(atr, ATRT0) {
		t.Errorf("ATR %X", atr)
	}
	// A T=0 SELECT answers 61xx; GET RESPONSE returns the FCI.
	r := frame(t, vpcd, emv.SelectCommand(mustHex("A000000333010101")))
	if len(r) != 2 || r[0] != 0x61 {
		t.Fatalf("T=0 SELECT: %X", r)
	}
	if r = frame(t, vpcd, emv.GetResponseCommand(r[1])); !bytes.HasSuffix(r, swOK) || r[0] != 0x6F {
		t.Errorf("GET RESPONSE: %X", r)
	}

	if err := card.Remove(); err != nil {
		t.Fatal(err)
	}
	_ = vpcd.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := vpcd.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("vpcd side after Remove: %v, want EOF", err)
	}
	if err := card.Remove(); !errors.Is(err, ErrNotInserted) {
		t.Errorf("second remove: %v", err)
	}
}

func TestInsertViaUsesDialHook(t *testing.T) {
	called := ""
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		called = network + " " + addr
		return nil, errors.New("no route in this namespace")
	}
	err := MustNew(Data{}, Options{}).InsertVia(context.Background(), dial, "10.9.9.9:1")
	if err == nil || called != "tcp 10.9.9.9:1" {
		t.Errorf("InsertVia: err %v, dial saw %q", err, called)
	}
}

func TestInsertNoVPCD(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	if err := MustNew(Data{}, Options{}).Insert(context.Background(), addr); err == nil {
		t.Error("insert with nothing listening succeeded")
	}
}
