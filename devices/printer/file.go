package printer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/multipos/multipos/devices"
	"github.com/multipos/multipos/internal/privfile"
)

const (
	// fileStallTimeout bounds each chunk of a Write whose ctx has no
	// deadline. A serial printer at 9600 baud takes seconds for a receipt
	// with a logo, so a whole-write limit would be wrong; no progress for
	// this long means the printer stopped taking data (paper out, offline).
	fileStallTimeout = 10 * time.Second
	// fileChunk is small enough that a slow serial line still makes
	// progress within fileStallTimeout (4 KiB at 9600 baud is ~4 s).
	fileChunk = 4096
)

// fileLink is a printer reached through a file: a usblp node, a serial
// port, or a plain file standing in for a printer.
type fileLink struct {
	path string
	f    *os.File
	// canRead is false for a file opened write-only or one the poller
	// cannot wait on: a Read there would return file contents or block
	// with no way to time out, never a status answer.
	canRead bool
	// canDeadline is whether writes can be cut short by a deadline.
	canDeadline bool
}

// OpenFile opens a printer device such as /dev/usb/lp0, /dev/ttyUSB0 or
// /dev/ttyS0. Any other path is a plain file that receipts are appended
// to, created if missing; a missing path under /dev is an unplugged
// printer instead, so it is never created.
func OpenFile(path string) (Link, error) {
	// O_NONBLOCK keeps open(2) of a serial port from waiting for carrier
	// detect when CLOCAL is off; the poller handles the non-blocking I/O.
	f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NOCTTY|syscall.O_NONBLOCK, 0)
	readable := err == nil
	if err == nil {
		if fi, serr := f.Stat(); serr == nil && fi.Mode().IsRegular() {
			// Read-write would overwrite the file from offset 0.
			f.Close()
			f, err = fileOpenAppend(path, false)
			readable = false
		}
	} else if fileTryAppend(path, err) {
		f, err = fileOpenAppend(path, errors.Is(err, fs.ErrNotExist))
		readable = false
	}
	if err != nil {
		return nil, fmt.Errorf("printer %s: open: %w: %w", path, devices.ErrOffline, err)
	}

	l := &fileLink{path: path, f: f}
	// SetReadDeadline is the only portable way to ask whether os put the
	// fd in the poller; regular files and some char devices are not.
	l.canDeadline = f.SetReadDeadline(time.Time{}) == nil
	l.canRead = readable && l.canDeadline
	if err := l.setup(); err != nil {
		f.Close()
		return nil, fmt.Errorf("printer %s: open: %w: %w", path, devices.ErrOffline, err)
	}
	return l, nil
}

// fileTryAppend says whether a failed read-write open should be retried as
// an append-only open: a plain file that does not exist yet, or a file or
// device we may only write to.
func fileTryAppend(path string, err error) bool {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return !fileUnderDev(path)
	case errors.Is(err, fs.ErrPermission), errors.Is(err, syscall.EROFS):
		return true
	}
	return false
}

func fileUnderDev(path string) bool {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = filepath.Clean(path)
	}
	return abs == "/dev" || strings.HasPrefix(abs, "/dev/")
}

func fileOpenAppend(path string, create bool) (*os.File, error) {
	flag := os.O_WRONLY | os.O_APPEND | syscall.O_NOCTTY | syscall.O_NONBLOCK
	if create {
		flag |= os.O_CREATE
	}
	f, err := os.OpenFile(path, flag, privfile.FileMode)
	if err != nil {
		return nil, err
	}
	// Receipts kept in a plain file are private; a device keeps the
	// system's mode (TightenFile leaves devices alone).
	if err := privfile.TightenFile(f, nil); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// setup puts a tty into raw mode and makes sure a non-pollable fd blocks.
func (l *fileLink) setup() error {
	rc, err := l.f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	// Control rather than f.Fd(): Fd switches the fd to blocking mode,
	// which would disable the deadlines Read and Write rely on.
	err = rc.Control(func(fd uintptr) {
		if !l.canDeadline {
			// We opened with O_NONBLOCK; without the poller to retry
			// EAGAIN, writes would fail spuriously instead of waiting.
			if serr = unix.SetNonblock(int(fd), false); serr != nil {
				return
			}
		}
		serr = fileMakeRaw(int(fd))
	})
	if err != nil {
		return err
	}
	return serr
}

// fileMakeRaw is cfmakeraw for a serial printer, applied only to ttys. It
// keeps the baud rate and the flow control (IXON/IXOFF, CRTSCTS): both
// must match the printer's DIP switches and are set by the installer
// (stty), not guessed here. XON/XOFF cannot eat a status byte: DLE EOT
// answers have bit 1 set and bit 0 clear, so they are never 0x11 or 0x13.
func fileMakeRaw(fd int) error {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		if errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EINVAL) {
			return nil // not a tty: usblp or a plain file
		}
		return fmt.Errorf("get termios: %w", err)
	}
	// ONLCR would turn every LF into CR LF and ISTRIP/ICRNL would mangle
	// status bytes and binary ESC/POS parameters (QR data, images).
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP |
		unix.INLCR | unix.IGNCR | unix.ICRNL
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	// CLOCAL: printers rarely wire DCD, and without it reads hang or the
	// line hangs up. CREAD: without it no status byte is received.
	t.Cflag |= unix.CS8 | unix.CLOCAL | unix.CREAD
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, t); err != nil {
		return fmt.Errorf("set termios: %w", err)
	}
	return nil
}

func (l *fileLink) String() string { return l.path }

func (l *fileLink) Write(ctx context.Context, p []byte) error {
	if err := ctx.Err(); err != nil {
		return l.fail("write", ctx, err)
	}
	if !l.canDeadline {
		// A regular file or non-pollable device: the write cannot be
		// interrupted, but a local file does not stall like a printer.
		if _, err := l.f.Write(p); err != nil {
			return l.fail("write", ctx, err)
		}
		return nil
	}
	if deadline, ok := ctx.Deadline(); ok {
		if err := l.f.SetWriteDeadline(deadline); err != nil {
			return l.fail("write", ctx, err)
		}
		stop := interruptOnCancel(ctx, l.f.SetWriteDeadline)
		defer stop()
		// os.File.Write loops until all of p is written or it fails.
		if _, err := l.f.Write(p); err != nil {
			return l.fail("write", ctx, err)
		}
		return nil
	}
	stop := interruptOnCancel(ctx, l.f.SetWriteDeadline)
	defer stop()
	for len(p) > 0 {
		n := min(len(p), fileChunk)
		if err := l.f.SetWriteDeadline(time.Now().Add(fileStallTimeout)); err != nil {
			return l.fail("write", ctx, err)
		}
		// A cancel that landed before the line above had its past
		// deadline overwritten; one after it is caught by the deadline.
		if err := ctx.Err(); err != nil {
			return l.fail("write", ctx, err)
		}
		if _, err := l.f.Write(p[:n]); err != nil {
			return l.fail("write", ctx, err)
		}
		p = p[n:]
	}
	return nil
}

func (l *fileLink) Read(ctx context.Context, p []byte) (int, error) {
	if !l.canRead {
		return 0, ErrNoReadBack
	}
	n, err := readCtx(ctx, l.f, p)
	if n > 0 {
		return n, nil
	}
	return 0, l.fail("read", ctx, err)
}

func (l *fileLink) Close() error {
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("printer %s: close: %w", l.path, err)
	}
	return nil
}

func (l *fileLink) fail(op string, ctx context.Context, err error) error {
	return linkErr(l.path, op, ctx, err)
}
