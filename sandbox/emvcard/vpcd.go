package emvcard

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"

	"golang.org/x/sys/unix"
)

// DefaultVPCDAddr is where vpcd listens for its first slot ("Virtual PCD 00
// 00"); the second slot is the next port.
const DefaultVPCDAddr = "127.0.0.1:35963"

// DialFunc opens the connection to vpcd. Tests give one that creates the
// socket inside pcscd's network namespace.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Errors from Insert and Remove.
var (
	ErrInserted    = errors.New("emvcard: card already inserted")
	ErrNotInserted = errors.New("emvcard: card not inserted")
)

// vpcd control bytes (a one-byte frame from vpcd).
const (
	ctlPowerOff = 0x00
	ctlPowerOn  = 0x01
	ctlReset    = 0x02
	ctlGetATR   = 0x04
)

type connState struct {
	mu   sync.Mutex
	conn net.Conn
	done chan struct{}
}

// Insert puts the card in a vpcd reader slot by dialing addr (vpcd's
// default mode: the card is the TCP client). It returns once connected; the
// card then serves vpcd until Remove or until vpcd hangs up.
func (c *Card) Insert(ctx context.Context, addr string) error {
	var d net.Dialer
	return c.InsertVia(ctx, d.DialContext, addr)
}

// InsertVia is Insert with the connection opened by dial.
func (c *Card) InsertVia(ctx context.Context, dial DialFunc, addr string) error {
	c.conn.mu.Lock()
	defer c.conn.mu.Unlock()
	if c.conn.conn != nil {
		select {
		case <-c.conn.done: // vpcd hung up: the slot is free again
		default:
			return ErrInserted
		}
	}
	conn, err := dial(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("emvcard: insert into vpcd at %s: %w", addr, err)
	}
	c.Reset()
	done := make(chan struct{})
	c.conn.conn, c.conn.done = conn, done
	go func() {
		defer close(done)
		// serve ends only on an error: a close by Remove or by vpcd is
		// the normal way out.
		if err := c.serve(conn); !errors.Is(err, net.ErrClosed) && !errors.Is(err, io.EOF) {
			slog.Warn("emvcard: vpcd connection ended", "err", err)
		}
	}()
	return nil
}

// Remove takes the card out: it closes the connection, which vpcd reports
// to pcscd as an empty slot, and waits for the card to stop serving.
func (c *Card) Remove() error {
	c.conn.mu.Lock()
	defer c.conn.mu.Unlock()
	if c.conn.conn == nil {
		return ErrNotInserted
	}
	err := c.conn.conn.Close()
	<-c.conn.done
	c.conn.conn, c.conn.done = nil, nil
	if err != nil {
		return fmt.Errorf("emvcard: remove: %w", err)
	}
	return nil
}

// serve answers vpcd's frames: a uint16 big-endian length, then the
// payload; one byte is a control code, anything longer a command APDU.
func (c *Card) serve(conn net.Conn) error {
	quickAck := quickAcker(conn)
	hdr := make([]byte, 2)
	buf := make([]byte, 0, 512)
	for {
		// Debian's vpcd 3.3 writes length and payload in two segments
		// without TCP_NODELAY, so Nagle holds the payload until the
		// length is acknowledged: 40 ms of delayed ACK per command.
		// Setting TCP_QUICKACK sends the pending ACK at once; the kernel
		// clears it again, hence after every read.
		if _, err := io.ReadFull(conn, hdr); err != nil {
			return err
		}
		quickAck()
		n := int(binary.BigEndian.Uint16(hdr))
		buf = buf[:n]
		if _, err := io.ReadFull(conn, buf); err != nil {
			return err
		}
		quickAck()
		var resp []byte
		switch {
		case n == 0:
			continue
		case n == 1:
			switch buf[0] {
			case ctlGetATR:
				resp = c.ATR()
			case ctlPowerOff, ctlPowerOn, ctlReset:
				c.Reset()
				continue
			default:
				continue
			}
		default:
			var err error
			if resp, err = c.Transmit(context.Background(), buf); err != nil {
				return err
			}
		}
		out := make([]byte, 2+len(resp))
		binary.BigEndian.PutUint16(out, uint16(len(resp)))
		copy(out[2:], resp)
		if _, err := conn.Write(out); err != nil {
			return err
		}
	}
}

// quickAcker returns a function setting TCP_QUICKACK on conn, or a no-op
// for a connection that is not TCP (tests use pipes).
func quickAcker(conn net.Conn) func() {
	tc, ok := conn.(*net.TCPConn)
	if !ok {
		return func() {}
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return func() {}
	}
	return func() {
		_ = raw.Control(func(fd uintptr) {
			_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_QUICKACK, 1)
		})
	}
}
