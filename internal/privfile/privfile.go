// Package privfile keeps the files that hold payments, logs, receipts and
// keys private to their owner: 0600 files in 0700 folders, whatever the
// umask, because anyone else on the machine could otherwise read card
// journals, receipts or the keys that open them.
//
// Files an older version (or an operator) left open to group or others are
// tightened when they are ours, and the change is logged with the file's
// name, so that an operator who relied on the old mode can tell why it
// changed. A file owned by another user is left alone with a warning: we
// may not change it, and a root-run program should not take over files it
// was merely pointed at.
package privfile

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"syscall"
)

// Modes of private files and folders.
const (
	FileMode fs.FileMode = 0o600
	DirMode  fs.FileMode = 0o700
)

// MkdirAll makes dir and any missing parents; dir itself ends up 0700,
// created so or tightened when it existed open to group or others. Missing
// parents are created 0700 too (less what the umask takes). log nil means
// slog.Default().
func MkdirAll(dir string, log *slog.Logger) error {
	_, statErr := os.Stat(dir)
	if err := os.MkdirAll(dir, DirMode); err != nil {
		return fmt.Errorf("create folder %s: %w", dir, err)
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		// Ours and new: set the exact mode in case the umask took more
		// than group and others.
		if err := os.Chmod(dir, DirMode); err != nil {
			return fmt.Errorf("create folder %s: %w", dir, err)
		}
		return nil
	}
	return Tighten(dir, log)
}

// OpenAppend opens path for appending (a log), creating it 0600 or
// tightening an existing one.
func OpenAppend(path string, log *slog.Logger) (*os.File, error) {
	return open(path, os.O_WRONLY|os.O_APPEND, log)
}

// Ensure makes path exist as a private regular file without changing its
// contents: a new one is empty and 0600, an existing one is tightened. It
// is for files another library creates or opens afterwards (a SQLite
// database), which then keeps the mode given here.
func Ensure(path string, log *slog.Logger) error {
	f, err := open(path, os.O_RDWR, log)
	if err != nil {
		return err
	}
	return f.Close()
}

// WriteFile writes data to path, truncating it, as os.WriteFile does, but
// a new file is 0600 and an existing one is tightened.
func WriteFile(path string, data []byte, log *slog.Logger) error {
	f, err := open(path, os.O_WRONLY|os.O_TRUNC, log)
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	if err := errors.Join(werr, f.Close()); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// open opens path with flag, creating it 0600 (exactly) or tightening the
// existing file through the open descriptor, so a rename in between cannot
// redirect the chmod to another file.
func open(path string, flag int, log *slog.Logger) (*os.File, error) {
	f, err := os.OpenFile(path, flag|os.O_CREATE|os.O_EXCL, FileMode)
	if err == nil {
		if err := f.Chmod(FileMode); err != nil {
			f.Close()
			return nil, fmt.Errorf("create %s: %w", path, err)
		}
		return f, nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	f, err = os.OpenFile(path, flag&^os.O_EXCL, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := TightenFile(f, log); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Tighten makes an existing file 0600 or folder 0700 when it is open to
// group or others and ours, and logs it. A missing path is not an error,
// and a file that is already private (0600, 0400 …) is left as it is.
// Anything but a regular file or a folder (a device, a socket) is left
// alone.
func Tighten(path string, log *slog.Logger) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check %s: %w", path, err)
	}
	return tighten(path, fi, func(m fs.FileMode) error { return os.Chmod(path, m) }, log)
}

// TightenFile is Tighten for an open file. Devices (a printer at
// /dev/usb/lp0) are left alone: their mode belongs to the system.
func TightenFile(f *os.File, log *slog.Logger) error {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("check %s: %w", f.Name(), err)
	}
	return tighten(f.Name(), fi, f.Chmod, log)
}

func tighten(name string, fi fs.FileInfo, chmod func(fs.FileMode) error, log *slog.Logger) error {
	want := FileMode
	switch {
	case fi.IsDir():
		want = DirMode
	case !fi.Mode().IsRegular():
		return nil
	}
	perm := fi.Mode().Perm()
	if perm&0o077 == 0 {
		return nil
	}
	if log == nil {
		log = slog.Default()
	}
	if uid, ok := owner(fi); ok && uid != os.Geteuid() {
		log.Warn("private file is open to group or others but belongs to another user: left as it is",
			"file", name, "mode", fmt.Sprintf("%04o", perm), "owner_uid", uid)
		return nil
	}
	if err := chmod(want); err != nil {
		return fmt.Errorf("make %s private (mode %04o): %w", name, want, err)
	}
	log.Warn("private file was open to group or others: permissions tightened",
		"file", name, "from", fmt.Sprintf("%04o", perm), "to", fmt.Sprintf("%04o", want))
	return nil
}

func owner(fi fs.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}
