package privfile

import (
	"bytes"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/multipos/multipos/internal/privfile/privfiletest"
)

func logger() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(slog.NewTextHandler(&buf, nil)), &buf
}

func TestCreatedPrivate(t *testing.T) {
	privfiletest.Permissive(t)
	log, logs := logger()
	dir := filepath.Join(t.TempDir(), "state", "sub")
	if err := MkdirAll(dir, log); err != nil {
		t.Fatal(err)
	}
	privfiletest.Want(t, dir, DirMode)
	privfiletest.Want(t, filepath.Dir(dir), DirMode)

	f, err := OpenAppend(filepath.Join(dir, "pos.log"), log)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("one\n")
	f.Close()
	privfiletest.Want(t, filepath.Join(dir, "pos.log"), FileMode)

	if err := Ensure(filepath.Join(dir, "db"), log); err != nil {
		t.Fatal(err)
	}
	privfiletest.Want(t, filepath.Join(dir, "db"), FileMode)

	if err := WriteFile(filepath.Join(dir, "key"), []byte("secret"), log); err != nil {
		t.Fatal(err)
	}
	privfiletest.Want(t, filepath.Join(dir, "key"), FileMode)
	if logs.Len() != 0 {
		t.Errorf("nothing was tightened, yet the log says:\n%s", logs)
	}
}

func TestExistingTightened(t *testing.T) {
	privfiletest.Permissive(t)
	log, logs := logger()
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]fs.FileMode{"pos.log": 0o644, "db": 0o664, "key": 0o640, "private": 0o600, "readonly": 0o400}
	for name, mode := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("old\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := MkdirAll(dir, log); err != nil {
		t.Fatal(err)
	}
	privfiletest.Want(t, dir, DirMode)

	f, err := OpenAppend(filepath.Join(dir, "pos.log"), log)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("new\n")
	f.Close()
	if data, _ := os.ReadFile(filepath.Join(dir, "pos.log")); string(data) != "old\nnew\n" {
		t.Errorf("pos.log: %q, want appended", data)
	}
	if err := Ensure(filepath.Join(dir, "db"), log); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "db")); string(data) != "old\n" {
		t.Errorf("Ensure changed the contents: %q", data)
	}
	if err := WriteFile(filepath.Join(dir, "key"), []byte("new"), log); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"private", "readonly", "missing"} {
		if err := Tighten(filepath.Join(dir, name), log); err != nil {
			t.Fatal(err)
		}
	}
	for name, want := range map[string]fs.FileMode{"pos.log": 0o600, "db": 0o600, "key": 0o600, "private": 0o600, "readonly": 0o400} {
		privfiletest.Want(t, filepath.Join(dir, name), want)
	}
	out := logs.String()
	if n := strings.Count(out, "permissions tightened"); n != 4 {
		t.Errorf("want 4 tightened lines (folder, pos.log, db, key), got %d:\n%s", n, out)
	}
	for _, want := range []string{filepath.Join(dir, "pos.log"), "from=0644", "to=0600", "from=0755", "to=0700"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

func TestDevicesLeftAlone(t *testing.T) {
	log, logs := logger()
	f, err := os.OpenFile("/dev/null", os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := TightenFile(f, log); err != nil {
		t.Fatal(err)
	}
	privfiletest.Want(t, "/dev/null", 0o666)
	if logs.Len() != 0 {
		t.Errorf("a device was reported:\n%s", logs)
	}
}

func TestOthersFilesLeftAlone(t *testing.T) {
	privfiletest.Permissive(t)
	log, logs := logger()
	path := othersFile(t)
	if err := Tighten(path, log); err != nil {
		t.Fatal(err)
	}
	privfiletest.Want(t, path, 0o644)
	if !strings.Contains(logs.String(), "belongs to another user") {
		t.Errorf("want a warning:\n%s", logs)
	}
}

// othersFile is a world-readable file owned by another user: one made and
// given to nobody (65534) when the tests run as root, else /etc/passwd
// (root's, 0644 on every Debian system).
func othersFile(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		return "/etc/passwd"
	}
	path := filepath.Join(t.TempDir(), "theirs.log")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	return path
}
