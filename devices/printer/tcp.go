package printer

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/multipos/multipos/devices"
)

const (
	// tcpDefaultPort is the de facto raw-print port (HP JetDirect, and every
	// Ethernet ESC/POS printer copies it).
	tcpDefaultPort = "9100"
	// tcpDialTimeout caps a dial without a ctx deadline: a printer on the
	// shop LAN answers in milliseconds, and a cashier should not wait for
	// the kernel's two-minute SYN retries to learn it is switched off.
	tcpDialTimeout = 3 * time.Second
	// tcpWriteTimeout bounds a Write whose ctx has no deadline. A receipt
	// fits in the socket buffers at once, so a write that takes this long
	// means the printer stopped reading (paper out, buffer full, hung).
	tcpWriteTimeout = 10 * time.Second
)

// tcpLink is a raw socket to a network printer's port 9100.
type tcpLink struct {
	addr string
	conn *net.TCPConn
}

// DialTCP connects to a network printer. addr is "host:port" or just
// "host", which means port 9100.
func DialTCP(ctx context.Context, addr string) (Link, error) {
	addr = tcpNormalizeAddr(addr)
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, tcpDialTimeout)
		defer cancel()
	}
	d := net.Dialer{
		// Keepalive notices a printer that was unplugged or powered off
		// between receipts, when the link is otherwise idle; the
		// defaults (15 s idle, 15 s x 9 probes) are too slow for that.
		KeepAliveConfig: net.KeepAliveConfig{
			Enable:   true,
			Idle:     15 * time.Second,
			Interval: 5 * time.Second,
			Count:    3,
		},
	}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("printer tcp %s: dial: %w: %w", addr, devices.ErrOffline, err)
	}
	tc, ok := c.(*net.TCPConn)
	if !ok {
		c.Close()
		return nil, fmt.Errorf("printer tcp %s: dial: %w: unexpected connection type %T", addr, devices.ErrOffline, c)
	}
	return &tcpLink{addr: addr, conn: tc}, nil
}

// tcpNormalizeAddr adds the default port, including to bare or bracketed
// IPv6 literals, which net.SplitHostPort rejects without a port.
func tcpNormalizeAddr(addr string) string {
	addr = strings.TrimSpace(addr)
	if _, _, err := net.SplitHostPort(addr); err == nil {
		return addr
	}
	host := strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")
	return net.JoinHostPort(host, tcpDefaultPort)
}

func (l *tcpLink) String() string { return "tcp " + l.addr }

func (l *tcpLink) Write(ctx context.Context, p []byte) error {
	if err := ctx.Err(); err != nil {
		return l.fail("write", ctx, err)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(tcpWriteTimeout)
	}
	if err := l.conn.SetWriteDeadline(deadline); err != nil {
		return l.fail("write", ctx, err)
	}
	stop := interruptOnCancel(ctx, l.conn.SetWriteDeadline)
	defer stop()
	// net.Conn.Write only returns early with an error, so a nil error
	// means every byte reached the socket buffer.
	if _, err := l.conn.Write(p); err != nil {
		return l.fail("write", ctx, err)
	}
	return nil
}

func (l *tcpLink) Read(ctx context.Context, p []byte) (int, error) {
	n, err := readCtx(ctx, l.conn, p)
	if n > 0 {
		// Bytes that arrived are the printer's answer even if the
		// connection broke right after them.
		return n, nil
	}
	return 0, l.fail("read", ctx, err)
}

func (l *tcpLink) Close() error {
	if err := l.conn.Close(); err != nil {
		return fmt.Errorf("printer tcp %s: close: %w", l.addr, err)
	}
	return nil
}

func (l *tcpLink) fail(op string, ctx context.Context, err error) error {
	return linkErr("tcp "+l.addr, op, ctx, err)
}
