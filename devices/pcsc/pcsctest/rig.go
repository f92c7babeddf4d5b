package pcsctest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ebfe/scard"
	"golang.org/x/sys/unix"

	"github.com/multipos/multipos/devices/pcsc"
	"github.com/multipos/multipos/sandbox/emvcard"
)

// Install is what the failure messages tell the developer to do.
const Install = "install pcscd vsmartcard-vpcd util-linux iproute2 (make test does)"

// vpcdDriver is where Debian's vsmartcard-vpcd puts the IFD handler.
const vpcdDriver = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"

// vpcdPort is the first slot's port inside the namespace; the slot n card
// dials vpcdPort+n.
const vpcdPort = 35963

// Slots is how many readers one vpcd entry creates.
const Slots = 2

// Rig is a running private pcscd with two virtual readers.
type Rig struct {
	Dir    string // the socket directory (PCSCLITE_CSOCK_NAME is Dir/pcscd.comm)
	Socket string
	Log    string // pcscd's output, for failure messages

	cmd     *exec.Cmd
	netns   string
	readers []string

	exited chan error

	mu    sync.Mutex
	cards map[int]*emvcard.Card
}

// The process's rig. Its socket path is fixed at the first Start or
// Reserve, because the client library reads it only once.
var (
	mu     sync.Mutex
	shared *Rig
	inMain bool
)

// Start returns the test binary's rig, starting pcscd if it is not
// running. It fails the test when pcscd cannot run here. Under Main, pcscd
// runs until the tests end; without it, pcscd is stopped when the calling
// test ends (and a later Start runs a new one at the same socket path).
func Start(tb testing.TB) *Rig {
	tb.Helper()
	mu.Lock()
	defer mu.Unlock()
	if shared == nil {
		r, err := newRig()
		if err != nil {
			tb.Fatalf("pcsctest: %v", err)
		}
		shared = r
	}
	r := shared
	if r.cmd != nil {
		return r
	}
	if err := preflight(); err != nil {
		tb.Fatalf("pcsctest: %v", err)
	}
	if err := r.launch(); err != nil {
		_ = r.stop()
		tb.Fatalf("pcsctest: %v", err)
	}
	if !inMain {
		tb.Cleanup(func() {
			mu.Lock()
			defer mu.Unlock()
			if err := r.stop(); err != nil {
				tb.Errorf("pcsctest: %v", err)
			}
		})
	}
	return r
}

// Reserve sets PCSCLITE_CSOCK_NAME to the rig's socket path without
// starting pcscd, for a test of what a PC/SC client does while pcscd is not
// running; a later Start runs pcscd there. It must come before the
// process's first PC/SC call.
func Reserve(tb testing.TB) string {
	tb.Helper()
	mu.Lock()
	defer mu.Unlock()
	if shared == nil {
		r, err := newRig()
		if err != nil {
			tb.Fatalf("pcsctest: %v", err)
		}
		shared = r
	}
	return shared.Socket
}

// Main runs the tests and then stops pcscd if a test started it. Use it as
// `func TestMain(m *testing.M) { pcsctest.Main(m) }`.
func Main(m *testing.M) {
	mu.Lock()
	inMain = true
	mu.Unlock()
	code := m.Run()
	mu.Lock()
	if shared != nil {
		if err := shared.stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pcsctest:", err)
			if code == 0 {
				code = 1
			}
		}
	}
	mu.Unlock()
	os.Exit(code)
}

// SocketEnv is the variable the PC/SC client library reads for the socket
// path.
const SocketEnv = "PCSCLITE_CSOCK_NAME"

func preflight() error {
	for _, tool := range []string{"unshare", "ip", "pcscd", "sh", "mount"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found: %s", tool, Install)
		}
	}
	if _, err := os.Stat(vpcdDriver); err != nil {
		return fmt.Errorf("vpcd driver %s missing: %s", vpcdDriver, Install)
	}
	if os.Geteuid() != 0 {
		return errors.New("pcscd in a private namespace needs root (unshare --mount --net)")
	}
	return nil
}

// newRig makes the socket directory and points the client library at it.
func newRig() (*Rig, error) {
	if v := os.Getenv(SocketEnv); v != "" {
		return nil, fmt.Errorf("%s is already set to %s: one pcscd per test process", SocketEnv, v)
	}
	dir, err := os.MkdirTemp("", "pcsctest-")
	if err != nil {
		return nil, fmt.Errorf("socket directory: %w", err)
	}
	r := &Rig{Dir: dir, Socket: filepath.Join(dir, "pcscd.comm"), Log: filepath.Join(dir, "pcscd.log"), cards: map[int]*emvcard.Card{}}
	if err := os.Setenv(SocketEnv, r.Socket); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("set %s: %w", SocketEnv, err)
	}
	return r, nil
}

func (r *Rig) launch() error {
	conf := filepath.Join(r.Dir, "reader.conf.d")
	if err := os.MkdirAll(conf, 0o755); err != nil {
		return fmt.Errorf("reader.conf.d: %w", err)
	}
	entry := fmt.Sprintf("FRIENDLYNAME \"Virtual PCD\"\nDEVICENAME /dev/null:0x%X\nLIBPATH %s\nCHANNELID 0x%X\n",
		vpcdPort, vpcdDriver, vpcdPort)
	if err := os.WriteFile(filepath.Join(conf, "vpcd"), []byte(entry), 0o644); err != nil {
		return fmt.Errorf("vpcd entry: %w", err)
	}
	logf, err := os.Create(r.Log)
	if err != nil {
		return fmt.Errorf("pcscd log: %w", err)
	}
	defer logf.Close()
	// /run/pcscd may not exist on the host: a tmpfs over /run, private to
	// the namespace, gives a place to mount the socket directory on
	// without creating anything on the host.
	script := `set -e
ip link set lo up
if [ ! -d /run/pcscd ]; then mount -t tmpfs -o mode=0755 tmpfs /run; mkdir -p /run/pcscd; fi
mount --bind "$1" /run/pcscd
exec pcscd -f -c "$2"`
	cmd := exec.Command("unshare", "--mount", "--net", "--propagation", "private", "sh", "-c", script, "sh", r.Dir, conf)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start unshare: %w", err)
	}
	r.cmd = cmd
	// unshare and sh exec in place, so the pid is pcscd's and its
	// network namespace is the one vpcd listens in.
	r.netns = "/proc/" + strconv.Itoa(cmd.Process.Pid) + "/ns/net"
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	r.exited = exited

	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err := os.Stat(r.Socket); err == nil {
			break
		}
		select {
		case err := <-exited:
			r.cmd, r.exited = nil, nil
			return fmt.Errorf("pcscd exited at start (%v): %s", err, r.tail())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pcscd socket %s did not appear: %s", r.Socket, r.tail())
		}
	}
	return r.waitReaders(deadline)
}

// waitReaders waits for vpcd's two readers to be listed.
func (r *Rig) waitReaders(deadline time.Time) error {
	ctx, err := scard.EstablishContext()
	if err != nil {
		return fmt.Errorf("connect to the private pcscd: %w", err)
	}
	defer func() { _ = ctx.Release() }()
	for {
		names, err := ctx.ListReaders()
		var vp []string
		for _, n := range names {
			if strings.HasPrefix(n, "Virtual PCD") {
				vp = append(vp, n)
			}
		}
		if err == nil && len(vp) >= Slots {
			r.readers = vp[:Slots]
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("vpcd readers did not appear (have %q, %v): %s", names, err, r.tail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ReaderName is the PC/SC name of slot 0 or 1, e.g. "Virtual PCD 00 00".
func (r *Rig) ReaderName(slot int) string { return r.readers[slot] }

// Dial opens a TCP connection from inside pcscd's network namespace. A
// socket stays in the namespace it was created in, so only the creating
// thread has to switch, and it switches back before anyone else can use it.
func (r *Rig) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		c, restored, err := r.dialInNS(ctx, network, addr)
		if restored {
			runtime.UnlockOSThread()
		} // else the goroutine exits locked and Go discards the thread
		ch <- result{c, err}
	}()
	res := <-ch
	return res.c, res.err
}

func (r *Rig) dialInNS(ctx context.Context, network, addr string) (net.Conn, bool, error) {
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return nil, true, fmt.Errorf("pcsctest: own network namespace: %w", err)
	}
	defer self.Close()
	target, err := os.Open(r.netns)
	if err != nil {
		return nil, true, fmt.Errorf("pcsctest: pcscd's network namespace: %w", err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		return nil, true, fmt.Errorf("pcsctest: enter pcscd's network namespace: %w", err)
	}
	var d net.Dialer
	c, dialErr := d.DialContext(ctx, network, addr)
	if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
		if c != nil {
			_ = c.Close()
		}
		return nil, false, fmt.Errorf("pcsctest: leave pcscd's network namespace: %w", err)
	}
	if dialErr != nil {
		return nil, true, fmt.Errorf("pcsctest: dial vpcd: %w", dialErr)
	}
	return c, true, nil
}

// Insert puts card in slot 0 or 1. pcscd notices within its poll interval
// (up to about 0.4 s).
func (r *Rig) Insert(ctx context.Context, slot int, card *emvcard.Card) error {
	if slot < 0 || slot >= Slots {
		return fmt.Errorf("pcsctest: no slot %d", slot)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cards[slot] != nil {
		return fmt.Errorf("pcsctest: slot %d already has a card", slot)
	}
	if err := card.InsertVia(ctx, r.Dial, fmt.Sprintf("127.0.0.1:%d", vpcdPort+slot)); err != nil {
		return err
	}
	r.cards[slot] = card
	return nil
}

// Remove takes the card out of slot and waits until pcscd has seen the
// slot empty: vpcd only notices at its next poll, and a card inserted
// before that would pass for the old one. An empty slot is not an error,
// so that tests can clean up unconditionally.
func (r *Rig) Remove(slot int) error {
	r.mu.Lock()
	c := r.cards[slot]
	delete(r.cards, slot)
	r.mu.Unlock()
	if c == nil {
		return nil
	}
	if err := c.Remove(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return pcsc.WaitCard(ctx, r.readers[slot], false)
}

// WaitCard waits until pcscd reports a card in slot (present) or the slot
// empty, e.g. before a doctor run that must see the card.
func (r *Rig) WaitCard(ctx context.Context, slot int, present bool) error {
	return pcsc.WaitCard(ctx, r.readers[slot], present)
}

func (r *Rig) tail() string {
	b, _ := os.ReadFile(r.Log)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return "pcscd log: " + strings.TrimSpace(string(b))
}

// stop removes the cards, kills pcscd's process group and deletes the
// socket directory.
func (r *Rig) stop() error {
	r.mu.Lock()
	for slot, c := range r.cards {
		_ = c.Remove()
		delete(r.cards, slot)
	}
	r.mu.Unlock()
	if r.cmd != nil && r.cmd.Process != nil {
		_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-r.exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
			<-r.exited
		}
		r.cmd, r.exited = nil, nil
	}
	if err := os.RemoveAll(r.Dir); err != nil {
		return fmt.Errorf("remove %s: %w", r.Dir, err)
	}
	return nil
}
