package printer

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/multipos/multipos/devices"
)

// tcpPeer is a fake network printer: a real listener whose single
// accepted connection is handed to serve.
func tcpPeer(t *testing.T, serve func(c net.Conn)) string {
	return tcpPeerBuf(t, 0, serve)
}

// tcpPeerBuf is tcpPeer with the receive buffer fixed at rcvbuf bytes, the
// way a printer's small input buffer is. Set on the listener, it is
// inherited by the accepted socket and turns off autotuning, which could
// otherwise let a peer that never reads absorb tens of MB (tcp_rmem).
func tcpPeerBuf(t *testing.T, rcvbuf int, serve func(c net.Conn)) string {
	t.Helper()
	var lc net.ListenConfig
	if rcvbuf > 0 {
		lc.Control = func(network, address string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf)
			})
			if err != nil {
				return err
			}
			return serr
		}
	}
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		serve(c)
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return ln.Addr().String()
}

func tcpDial(t *testing.T, addr string) Link {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	l, err := DialTCP(ctx, addr)
	if err != nil {
		t.Fatalf("DialTCP(%s): %v", addr, err)
	}
	return l
}

// tcpReceipt has what a transport must not alter: LF, NUL, ESC/POS
// parameters and every high byte (GBK text, images).
func tcpReceipt() []byte {
	p := []byte("\x1b@\x1ba\x01MULTIPOS\n\x1bE\x01TOTAL 12.34\x1bE\x00\r\n\x00")
	for b := 0x80; b <= 0xff; b++ {
		p = append(p, byte(b))
	}
	return append(p, 0x0a, 0x1d, 0x56, 0x42, 0x00)
}

func TestTCPWriteArrives(t *testing.T) {
	got := make(chan []byte, 1)
	addr := tcpPeer(t, func(c net.Conn) {
		b, _ := io.ReadAll(c)
		got <- b
	})
	l := tcpDial(t, addr)
	if want := "tcp " + addr; l.String() != want {
		t.Errorf("String() = %q, want %q", l.String(), want)
	}
	want := tcpReceipt()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	// Two writes, to show the stream is not reframed between them.
	if err := l.Write(ctx, want[:10]); err != nil {
		t.Fatal(err)
	}
	if err := l.Write(context.Background(), want[10:]); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-got:
		if !bytes.Equal(b, want) {
			t.Errorf("peer got % x\nwant % x", b, want)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("peer got nothing")
	}
}

func TestTCPStatusQuery(t *testing.T) {
	const paperOut = 0x72 // DLE EOT 4: bits 5,6 paper end, fixed bits 1,4
	queries := make(chan []byte, 1)
	addr := tcpPeer(t, func(c net.Conn) {
		q := make([]byte, 3)
		if _, err := io.ReadFull(c, q); err != nil {
			queries <- nil
			return
		}
		queries <- q
		c.Write([]byte{paperOut})
		io.Copy(io.Discard, c)
	})
	l := tcpDial(t, addr)
	defer l.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := l.Write(ctx, []byte{0x10, 0x04, 0x04}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	n, err := l.Read(ctx, buf)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 || buf[0] != paperOut {
		t.Errorf("Read = % x, want %x", buf[:n], paperOut)
	}
	if q := <-queries; !bytes.Equal(q, []byte{0x10, 0x04, 0x04}) {
		t.Errorf("peer got query % x", q)
	}
}

func TestTCPWriteToStalledPrinterFails(t *testing.T) {
	// The peer accepts but never reads, like a printer out of paper with
	// its buffer full: the socket buffers fill and Write blocks.
	release := make(chan struct{})
	addr := tcpPeerBuf(t, 64<<10, func(c net.Conn) { <-release })
	defer close(release)
	l := tcpDial(t, addr)
	defer l.Close()

	// Far more than the peer's 64 KB plus our send buffer (4 MB at most).
	big := bytes.Repeat([]byte("0123456789abcdef"), 8<<20/16)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := l.Write(ctx, big)
	elapsed := time.Since(start)
	if err == nil {
		t.Fatal("Write of 8 MB to a peer that never reads succeeded")
	}
	if !errors.Is(err, devices.ErrOffline) {
		t.Errorf("err = %v, want ErrOffline", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want it to wrap context.DeadlineExceeded", err)
	}
	if !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "write") {
		t.Errorf("err = %q, want it to name %s and the write", err, addr)
	}
	if elapsed > 2*time.Second {
		t.Errorf("Write returned after %v, want about 300ms", elapsed)
	}
}

func TestTCPWriteCancelled(t *testing.T) {
	release := make(chan struct{})
	addr := tcpPeerBuf(t, 64<<10, func(c net.Conn) { <-release })
	defer close(release)
	l := tcpDial(t, addr)
	defer l.Close()

	big := bytes.Repeat([]byte{0x55}, 8<<20)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	err := l.Write(ctx, big)
	if !errors.Is(err, devices.ErrOffline) || !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want ErrOffline and context.Canceled", err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("Write returned after %v, want about 100ms", elapsed)
	}
}

func TestTCPDialClosedPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	l, err := DialTCP(ctx, addr)
	if err == nil {
		l.Close()
		t.Fatalf("DialTCP(%s) to a closed port succeeded", addr)
	}
	if !errors.Is(err, devices.ErrOffline) {
		t.Errorf("err = %v, want ErrOffline", err)
	}
	if !strings.Contains(err.Error(), addr) {
		t.Errorf("err = %q, want it to name %s", err, addr)
	}
}

func TestTCPReadNoAnswer(t *testing.T) {
	release := make(chan struct{})
	addr := tcpPeer(t, func(c net.Conn) { <-release })
	defer close(release)
	l := tcpDial(t, addr)
	defer l.Close()

	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
		defer cancel()
		start := time.Now()
		n, err := l.Read(ctx, make([]byte, 1))
		elapsed := time.Since(start)
		if n != 0 || !errors.Is(err, devices.ErrOffline) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Read = %d, %v; want 0, ErrOffline and DeadlineExceeded", n, err)
		}
		if elapsed < 100*time.Millisecond || elapsed > 2*time.Second {
			t.Errorf("Read returned after %v, want about 150ms", elapsed)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		// No deadline at all: only the cancellation can end the Read.
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		_, err := l.Read(ctx, make([]byte, 1))
		if !errors.Is(err, devices.ErrOffline) || !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want ErrOffline and context.Canceled", err)
		}
		if elapsed := time.Since(start); elapsed > 2*time.Second {
			t.Errorf("Read returned after %v, want about 100ms", elapsed)
		}
	})
	t.Run("after a timeout the link still works", func(t *testing.T) {
		// An expired deadline from the earlier Reads must not stick.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := l.Write(ctx, []byte{0x10, 0x04, 0x01}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestTCPReadPeerClosed(t *testing.T) {
	addr := tcpPeer(t, func(c net.Conn) {})
	l := tcpDial(t, addr)
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := l.Read(ctx, make([]byte, 1))
	if !errors.Is(err, devices.ErrOffline) || !errors.Is(err, io.EOF) {
		t.Errorf("err = %v, want ErrOffline and io.EOF", err)
	}
}

func TestTCPNormalizeAddr(t *testing.T) {
	for in, want := range map[string]string{
		"192.168.1.80":      "192.168.1.80:9100",
		"192.168.1.80:9101": "192.168.1.80:9101",
		"printer.local":     "printer.local:9100",
		" printer.local ":   "printer.local:9100",
		"fe80::1":           "[fe80::1]:9100",
		"[fe80::1]":         "[fe80::1]:9100",
		"[fe80::1]:9100":    "[fe80::1]:9100",
	} {
		if got := tcpNormalizeAddr(in); got != want {
			t.Errorf("tcpNormalizeAddr(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTCPDialDefaultPortString(t *testing.T) {
	// Nothing listens on 127.0.0.1:9100 in CI, so the dial itself may
	// fail; the error must still name the address with the default port.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l, err := DialTCP(ctx, "127.0.0.1")
	if err == nil {
		defer l.Close()
		if l.String() != "tcp 127.0.0.1:9100" {
			t.Errorf("String() = %q", l.String())
		}
		return
	}
	if !strings.Contains(err.Error(), "127.0.0.1:9100") || !errors.Is(err, devices.ErrOffline) {
		t.Errorf("err = %v, want ErrOffline naming 127.0.0.1:9100", err)
	}
}
