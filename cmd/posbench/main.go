// Command posbench measures the cashier app from the outside.
//
//	posbench startup [-n 10] [-bin bin/pos] [-control]
//
// starts `pos --demo` on a fresh pseudo-terminal that, like a bare console,
// never answers terminal queries, and reports the time from exec to the first
// frame and to the channel list with its limits (the server reached). With
// -control the start-up guard is turned off, to show the stall it prevents.
//
//	posbench wallets [-n 1000]
//
// runs n QR payments through demo mode, whose wallets are the Alipay and
// WeChat Pay sandboxes on their real protocols behind posserver's real
// connectors, and reports two waits of the cashier's: Confirm → QR code on
// screen, and the wallet's notification leaving → the paid result on screen.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) >= 2 && os.Args[1] == "wallets" {
		fs := flag.NewFlagSet("wallets", flag.ExitOnError)
		n := fs.Int("n", 1000, "payments (half Alipay, half WeChat Pay)")
		_ = fs.Parse(os.Args[2:])
		if err := wallets(*n); err != nil {
			fmt.Fprintln(os.Stderr, "posbench:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) < 2 || os.Args[1] != "startup" {
		fmt.Fprintln(os.Stderr, "usage: posbench startup [-n 10] [-bin bin/pos] [-control]\n       posbench wallets [-n 1000]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet("startup", flag.ExitOnError)
	n := fs.Int("n", 10, "runs")
	bin := fs.String("bin", "bin/pos", "the pos binary")
	control := fs.Bool("control", false, "turn the start-up guard off (MULTIPOS_NO_TERMGUARD=1)")
	_ = fs.Parse(os.Args[2:])
	if err := startup(*bin, *n, *control); err != nil {
		fmt.Fprintln(os.Stderr, "posbench:", err)
		os.Exit(1)
	}
}

func startup(bin string, n int, control bool) error {
	state, err := os.MkdirTemp("", "posbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(state)
	var first, ready []time.Duration
	queried := 0
	for i := range n {
		r, err := runOnce(bin, state, control)
		if err != nil {
			return fmt.Errorf("run %d: %w", i+1, err)
		}
		first = append(first, r.first)
		ready = append(ready, r.ready)
		if r.queried {
			queried++
		}
	}
	fmt.Printf("pos --demo start-up on a silent 80x24 PTY, TERM=xterm-256color, %d runs%s\n", n, map[bool]string{true: " (guard OFF)"}[control])
	fmt.Printf("  exec → first frame:            %s\n", stats(first))
	fmt.Printf("  exec → channel list with limits: %s\n", stats(ready))
	fmt.Printf("  runs that sent a colour query (OSC 11): %d/%d\n", queried, n)
	return nil
}

func stats(d []time.Duration) string {
	s := slices.Clone(d)
	slices.Sort(s)
	ms := func(x time.Duration) string { return fmt.Sprintf("%.1f ms", float64(x.Microseconds())/1000) }
	return fmt.Sprintf("min %s  median %s  max %s", ms(s[0]), ms(s[len(s)/2]), ms(s[len(s)-1]))
}

type result struct {
	first, ready time.Duration
	queried      bool
}

func runOnce(bin, state string, control bool) (result, error) {
	master, slave, err := openPTY(24, 80)
	if err != nil {
		return result{}, err
	}
	defer master.Close()
	cmd := exec.Command(bin, "--demo")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.Env = append(os.Environ(), "TERM=xterm-256color", "XDG_STATE_HOME="+state, "XDG_CONFIG_HOME="+state)
	if control {
		cmd.Env = append(cmd.Env, "MULTIPOS_NO_TERMGUARD=1")
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		slave.Close()
		return result{}, fmt.Errorf("start %s: %w", bin, err)
	}
	slave.Close()

	var out bytes.Buffer
	var res result
	chunks := make(chan []byte)
	go func() {
		buf := make([]byte, 64<<10)
		for {
			k, err := master.Read(buf)
			if k > 0 {
				chunks <- append([]byte(nil), buf[:k]...)
			}
			if err != nil {
				close(chunks)
				return
			}
		}
	}()
	deadline := time.After(20 * time.Second)
	for res.ready == 0 {
		select {
		case b, ok := <-chunks:
			if !ok {
				return res, fmt.Errorf("pos exited early: %q", tail(out.String()))
			}
			out.Write(b)
			s := out.String()
			if strings.Contains(s, "]11;?") {
				res.queried = true
			}
			if res.first == 0 && strings.Contains(s, "多通道收银") {
				res.first = time.Since(start)
			}
			if strings.Contains(s, "单笔限额 ¥") {
				res.ready = time.Since(start)
			}
		case <-deadline:
			_ = cmd.Process.Kill()
			return res, fmt.Errorf("no channel list within 20s: %q", tail(out.String()))
		}
	}
	_, _ = master.Write([]byte{3}) // Ctrl+C: quit from the channel list
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	go func() { _, _ = io.Copy(io.Discard, chanReader(chunks)) }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			return res, err
		}
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		return res, errors.New("pos did not quit on Ctrl+C")
	}
	return res, nil
}

func tail(s string) string {
	if len(s) > 300 {
		return s[len(s)-300:]
	}
	return s
}

type chanReader <-chan []byte

func (c chanReader) Read(p []byte) (int, error) {
	b, ok := <-c
	if !ok {
		return 0, io.EOF
	}
	return copy(p, b), nil
}

// openPTY opens a pseudo-terminal pair of the given size.
func openPTY(rows, cols uint16) (master, slave *os.File, err error) {
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open /dev/ptmx: %w", err)
	}
	fd := int(m.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("unlock pty: %w", err)
	}
	num, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("pty number: %w", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", num), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("open pty slave: %w", err)
	}
	if err := unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}); err != nil {
		m.Close()
		s.Close()
		return nil, nil, fmt.Errorf("pty size: %w", err)
	}
	return m, s, nil
}
