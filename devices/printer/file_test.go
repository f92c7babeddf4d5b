package printer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/multipos/multipos/devices"
)

// filePty opens a pseudo-terminal pair whose slave stands in for a
// serial printer port: what OpenFile(slave) writes is read at the
// master, with the slave's termios applied exactly as on /dev/ttyS0.
func filePty(t *testing.T) (master *os.File, slave string) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { master.Close() })
	rc, err := master.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var n uint32
	var ierr error
	// Control, not Fd: Fd would make the master blocking and disable the
	// read deadlines the tests use.
	err = rc.Control(func(fd uintptr) {
		if ierr = unix.IoctlSetPointerInt(int(fd), unix.TIOCSPTLCK, 0); ierr != nil {
			return
		}
		n, ierr = unix.IoctlGetUint32(int(fd), unix.TIOCGPTN)
	})
	if err == nil {
		err = ierr
	}
	if err != nil {
		t.Fatalf("pty: %v", err)
	}
	return master, fmt.Sprintf("/dev/pts/%d", n)
}

// fileTermios reads the slave's settings through a separate descriptor,
// as stty would.
func fileTermios(t *testing.T, slave string, change func(*unix.Termios)) unix.Termios {
	t.Helper()
	fd, err := unix.Open(slave, unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	tio, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if change != nil {
		change(tio)
		if err := unix.IoctlSetTermios(fd, unix.TCSETS, tio); err != nil {
			t.Fatal(err)
		}
	}
	return *tio
}

func fileOpen(t *testing.T, path string) Link {
	t.Helper()
	l, err := OpenFile(path)
	if err != nil {
		t.Fatalf("OpenFile(%s): %v", path, err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestFileTTYWriteIsRaw(t *testing.T) {
	master, slave := filePty(t)
	// The installer set the printer's baud with stty; OpenFile must keep it.
	fileTermios(t, slave, func(tio *unix.Termios) {
		// TCSETS takes the speed from CBAUD; Ispeed/Ospeed are termios2's.
		tio.Cflag = tio.Cflag&^unix.CBAUD | unix.B9600
	})
	l := fileOpen(t, slave)
	if l.String() != slave {
		t.Errorf("String() = %q, want %q", l.String(), slave)
	}

	// A cooked tty would turn 0x0A into 0D 0A (ONLCR), so every byte
	// value goes through, LF included.
	want := tcpReceipt()
	for b := 0; b < 0x80; b++ {
		want = append(want, byte(b))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := l.Write(ctx, want); err != nil {
		t.Fatal(err)
	}
	master.SetReadDeadline(time.Now().Add(2 * time.Second))
	got := make([]byte, len(want))
	if _, err := io.ReadFull(master, got); err != nil {
		t.Fatalf("master read: %v (got % x)", err, got)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("master got % x\nwant % x", got, want)
	}
	// Nothing more: no CR was inserted anywhere.
	master.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
	if n, _ := master.Read(make([]byte, 16)); n != 0 {
		t.Errorf("master got %d extra bytes", n)
	}

	tio := fileTermios(t, slave, nil)
	// A pty starts at B38400, so B9600 here is the installer's setting.
	if tio.Cflag&unix.CBAUD != unix.B9600 {
		t.Errorf("baud changed: CBAUD %#o, want B9600 %#o", tio.Cflag&unix.CBAUD, unix.B9600)
	}
	if tio.Oflag&unix.OPOST != 0 || tio.Lflag&(unix.ECHO|unix.ICANON) != 0 || tio.Cflag&unix.CSIZE != unix.CS8 {
		t.Errorf("not raw: oflag %#o lflag %#o cflag %#o", tio.Oflag, tio.Lflag, tio.Cflag)
	}
}

func TestFileTTYStatusRead(t *testing.T) {
	master, slave := filePty(t)
	l := fileOpen(t, slave)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()

	if err := l.Write(ctx, []byte{0x10, 0x04, 0x01}); err != nil {
		t.Fatal(err)
	}
	master.SetReadDeadline(time.Now().Add(2 * time.Second))
	q := make([]byte, 3)
	if _, err := io.ReadFull(master, q); err != nil || !bytes.Equal(q, []byte{0x10, 0x04, 0x01}) {
		t.Fatalf("master read % x, %v", q, err)
	}
	// 0x16: online with drawer pin 3 high. A 0x0D answer would become
	// 0x0A under ICRNL, so test that one too.
	for _, status := range []byte{0x16, 0x0d, 0x92} {
		if _, err := master.Write([]byte{status}); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4)
		n, err := l.Read(ctx, buf)
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 || buf[0] != status {
			t.Errorf("Read = % x, want %02x", buf[:n], status)
		}
	}
	// With echo on, the tty would send the status bytes back to the
	// printer as data.
	master.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
	if n, _ := master.Read(make([]byte, 16)); n != 0 {
		t.Errorf("master got %d echoed bytes", n)
	}
}

func TestFileTTYReadNoAnswer(t *testing.T) {
	_, slave := filePty(t)
	l := fileOpen(t, slave)

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

	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	if _, err := l.Read(ctx, make([]byte, 1)); !errors.Is(err, context.Canceled) || !errors.Is(err, devices.ErrOffline) {
		t.Errorf("Read after cancel: %v, want ErrOffline and context.Canceled", err)
	}
}

func TestFileTTYWriteToStalledPrinterFails(t *testing.T) {
	// The master never reads, like a serial printer holding XOFF or CTS:
	// the tty buffers fill (a few KB) and Write must give up at ctx's end.
	_, slave := filePty(t)
	l := fileOpen(t, slave)

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := l.Write(ctx, bytes.Repeat([]byte("x"), 1<<20))
	elapsed := time.Since(start)
	if !errors.Is(err, devices.ErrOffline) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want ErrOffline and DeadlineExceeded", err)
	}
	if err != nil && !strings.Contains(err.Error(), slave) {
		t.Errorf("err = %q, want it to name %s", err, slave)
	}
	if elapsed > 2*time.Second {
		t.Errorf("Write returned after %v, want about 200ms", elapsed)
	}
}

func TestFilePlainFileAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "receipts.bin")
	if err := os.WriteFile(path, []byte("earlier receipt\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l := fileOpen(t, path)
	if l.String() != path {
		t.Errorf("String() = %q, want %q", l.String(), path)
	}
	want := tcpReceipt()
	for _, ctx := range []context.Context{context.Background(), t.Context()} {
		if err := l.Write(ctx, want); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := l.Read(t.Context(), make([]byte, 8)); n != 0 || !errors.Is(err, ErrNoReadBack) {
		t.Errorf("Read = %d, %v; want 0, ErrNoReadBack", n, err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if wantAll := append(append([]byte("earlier receipt\n"), want...), want...); !bytes.Equal(got, wantAll) {
		t.Errorf("file has % x\nwant % x", got, wantAll)
	}
}

func TestFilePlainFileCreated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "demo-printer.bin")
	l := fileOpen(t, path)
	if err := l.Write(t.Context(), []byte("\x1b@hello\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Read(t.Context(), make([]byte, 1)); !errors.Is(err, ErrNoReadBack) {
		t.Errorf("Read: %v, want ErrNoReadBack", err)
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != "\x1b@hello\n" {
		t.Errorf("file has %q, %v", got, err)
	}
}

func TestFileMissingDevice(t *testing.T) {
	// An unplugged usblp printer: its /dev node is gone. It must not be
	// created as a plain file, or receipts would silently go to tmpfs.
	devPath := fmt.Sprintf("/dev/multipos-test-lp%d", os.Getpid())
	for _, path := range []string{"/nonexistent/lp9", devPath} {
		l, err := OpenFile(path)
		if err == nil {
			l.Close()
			os.Remove(path)
			t.Errorf("OpenFile(%s) succeeded", path)
			continue
		}
		if !errors.Is(err, devices.ErrOffline) || !errors.Is(err, os.ErrNotExist) {
			t.Errorf("OpenFile(%s): %v, want ErrOffline and ErrNotExist", path, err)
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("err = %q, want it to name %s", err, path)
		}
	}
	if _, err := os.Stat(devPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s was created: %v", devPath, err)
	}
}

func TestFileWriteAfterCloseIsOffline(t *testing.T) {
	_, slave := filePty(t)
	l, err := OpenFile(slave)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if err := l.Write(t.Context(), []byte{0x0a}); !errors.Is(err, devices.ErrOffline) {
		t.Errorf("Write after Close: %v, want ErrOffline", err)
	}
}

func TestFileUnpollableDevice(t *testing.T) {
	// /dev/null has no poll method, like some char-device printer
	// drivers: no deadlines, so writes must block normally (not fail
	// with EAGAIN from the O_NONBLOCK open) and reads cannot time out.
	l := fileOpen(t, "/dev/null")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := l.Write(ctx, bytes.Repeat([]byte{0x0a}, 1<<16)); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Read(ctx, make([]byte, 1)); !errors.Is(err, ErrNoReadBack) {
		t.Errorf("Read: %v, want ErrNoReadBack", err)
	}
}
