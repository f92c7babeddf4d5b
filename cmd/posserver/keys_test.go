package main

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/multipos/multipos/bundle"
	"github.com/multipos/multipos/posclient"
	"github.com/multipos/multipos/server/pki"
)

// noSealKeyEnv keeps a seal key of the machine running the tests out of
// them.
func noSealKeyEnv(t *testing.T) {
	t.Setenv("CREDENTIALS_DIRECTORY", "")
	t.Setenv(sealEnvDefault, "")
}

// serveFails runs `posserver serve`, which must refuse to start.
func serveFails(t *testing.T) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := dispatch(ctx, []string{"serve", "-listen", "127.0.0.1:0", "-ops-listen", ""}, io.Discard, io.Discard,
		func(string, string) { t.Error("posserver started") })
	if err == nil {
		t.Fatal("posserver served, want a refusal")
	}
	return err
}

func writeConfig(t *testing.T, keys string) {
	t.Helper()
	text := "db = \"posserver.db\"\npki_dir = \"pki\"\nops_listen = \"\"\n" + keys
	if err := os.WriteFile("posserver.toml", []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func wantSealed(t *testing.T, keyID string) {
	t.Helper()
	files, err := pki.Sealing("pki")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !f.Present || f.Sealed != (keyID != "") || f.KeyID != keyID {
			t.Errorf("pki/%s: %+v, want sealed under %q", f.Name, f, keyID)
		}
	}
}

func wantRefused(t *testing.T, err error, target error, parts ...string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("refusal %v, want %v", err, target)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("refusal does not say %q:\n%v", p, err)
		}
	}
}

// keyIDRE reads the id `posserver keys generate -out` reports.
var keyIDRE = regexp.MustCompile(`seal key ([0-9a-f]{16}) written`)

func generate(t *testing.T, path string) string {
	t.Helper()
	out := mustCLI(t, "keys", "generate", "-out", path)
	m := keyIDRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("keys generate said %q", out)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("seal key file: %v %v, want mode 0600", st, err)
	}
	if data, _ := os.ReadFile(path); !regexp.MustCompile(`^[0-9a-f]{64}\n$`).Match(data) {
		t.Errorf("seal key file holds %q, want 64 hex digits", data)
	}
	return m[1]
}

// An operator's move to sealed keys: a plain pki folder from an earlier
// version is sealed with `keys seal` under a key on another mount, the
// server then starts only with that key (from the file, a variable or a
// systemd credential), the key is rotated and, at last, the keys unsealed.
// Every refusal says what to do.
func TestKeysAtRest(t *testing.T) {
	noSealKeyEnv(t)
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := t.TempDir()
	t.Chdir(dir)
	writeConfig(t, "")
	mustCLI(t, "terminal", "add", "-merchant", "898310000000002", "-store", "S01", "-id", "T001")
	for path, want := range map[string]fs.FileMode{"T001.pem": 0o600, "posserver.db": 0o600, "pki": 0o700, "pki/ca.key": 0o600, "pki/kek": 0o600} {
		if st, err := os.Stat(path); err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: %v %v, want mode %04o", path, st.Mode(), err, want)
		}
	}
	wantSealed(t, "")
	if out := mustCLI(t, "keys", "status"); !strings.Contains(out, "no seal key given") || !strings.Contains(out, "plain") {
		t.Errorf("keys status:\n%s", out)
	}
	if _, err := cli(t, "keys", "seal"); err == nil || !strings.Contains(err.Error(), "seal_key_file") {
		t.Errorf("keys seal without a key: %v", err)
	}

	if err := os.Mkdir("mnt", 0o700); err != nil {
		t.Fatal(err)
	}
	k1 := generate(t, "mnt/seal.key")
	if _, err := cli(t, "keys", "generate", "-out", "mnt/seal.key"); err == nil {
		t.Error("keys generate overwrote a key")
	}
	writeConfig(t, "[keys]\nseal_key_file = \"mnt/seal.key\"\n")
	wantRefused(t, serveFails(t), pki.ErrNotSealed, "posserver keys seal")
	if out := mustCLI(t, "keys", "status"); !strings.Contains(out, "would refuse to start") || !strings.Contains(out, "keys seal") {
		t.Errorf("keys status of plain keys with a seal key:\n%s", out)
	}
	out := mustCLI(t, "keys", "seal")
	if !strings.Contains(out, "sealed ca.key, kek, server.key") || !strings.Contains(out, k1) {
		t.Errorf("keys seal said:\n%s", out)
	}
	wantSealed(t, k1)
	servesT001(t)

	// Without the key, or with another, posserver refuses to start.
	writeConfig(t, "")
	wantRefused(t, serveFails(t), pki.ErrSealKeyNeeded, k1, "seal_key_file", sealCredential, sealEnvDefault)
	if _, err := cli(t, "terminal", "add", "-merchant", "898310000000002", "-store", "S01", "-id", "T002"); !errors.Is(err, pki.ErrSealKeyNeeded) {
		t.Errorf("terminal add without the seal key: %v", err)
	}
	writeConfig(t, "[keys]\nseal_key_env = \"POS_TEST_SEAL\"\n")
	t.Setenv("POS_TEST_SEAL", "")
	if err := serveFails(t); !strings.Contains(err.Error(), "environment variable POS_TEST_SEAL is not set") {
		t.Errorf("seal_key_env naming an unset variable: %v", err)
	}
	t.Setenv("POS_TEST_SEAL", strings.Repeat("0", 64))
	wantRefused(t, serveFails(t), pki.ErrWrongSealKey, k1, "POS_TEST_SEAL")
	key, err := os.ReadFile("mnt/seal.key")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("POS_TEST_SEAL", string(key))
	mustCLI(t, "terminal", "add", "-merchant", "898310000000002", "-store", "S01", "-id", "T002")

	// A systemd credential, with nothing in posserver.toml.
	writeConfig(t, "")
	creds := filepath.Join(dir, "credentials")
	if err := os.Mkdir(creds, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(creds, sealCredential), key, 0o400); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CREDENTIALS_DIRECTORY", creds)
	if out := mustCLI(t, "keys", "status"); !strings.Contains(out, "systemd credential") || strings.Contains(out, "refuse") {
		t.Errorf("keys status:\n%s", out)
	}
	servesT001(t)

	// Rotation, then the old key is refused.
	k2 := generate(t, "mnt/new.key")
	if out := mustCLI(t, "keys", "rotate", "-new-key-file", "mnt/new.key"); !strings.Contains(out, k2) {
		t.Errorf("keys rotate said:\n%s", out)
	}
	wantSealed(t, k2)
	wantRefused(t, serveFails(t), pki.ErrWrongSealKey, "keys rotate")
	t.Setenv("CREDENTIALS_DIRECTORY", "")
	newKey, _ := os.ReadFile("mnt/new.key")
	t.Setenv(sealEnvDefault, string(newKey))
	servesT001(t)

	// Unsealed again: posserver wants the key taken away first.
	mustCLI(t, "keys", "unseal")
	wantSealed(t, "")
	wantRefused(t, serveFails(t), pki.ErrNotSealed)
	t.Setenv(sealEnvDefault, "")
	servesT001(t)
}

// A new authority is written sealed when a seal key is given.
func TestNewKeysSealed(t *testing.T) {
	noSealKeyEnv(t)
	t.Chdir(t.TempDir())
	t.Setenv(sealEnvDefault, "  "+strings.Repeat("ab", 32)+"\n")
	writeConfig(t, "")
	mustCLI(t, "terminal", "add", "-merchant", "898310000000002", "-store", "S01", "-id", "T001")
	key, err := pki.NewSealKey([]byte(strings.Repeat("ab", 32)))
	if err != nil {
		t.Fatal(err)
	}
	wantSealed(t, key.ID())
	if out := mustCLI(t, "keys", "seal"); !strings.Contains(out, "nothing to do") {
		t.Errorf("keys seal of sealed keys said:\n%s", out)
	}
	if out := mustCLI(t, "keys", "generate"); !regexp.MustCompile(`^[0-9a-f]{64}\n$`).MatchString(out) {
		t.Errorf("keys generate printed %q", out)
	}
	t.Setenv(sealEnvDefault, "short")
	if _, err := cli(t, "keys", "status"); err == nil || !strings.Contains(err.Error(), "at least 32") {
		t.Errorf("a short seal key: %v", err)
	}
}

// servesT001 starts posserver in the current directory and checks that
// terminal T001 reaches it with its bundle.
func servesT001(t *testing.T) {
	t.Helper()
	addr, _, logs, stop := start(t, "-listen", "127.0.0.1:0")
	defer stop()
	b, err := bundle.Load("T001.pem")
	if err != nil {
		t.Fatal(err)
	}
	c, err := posclient.FromBundle(b, "https://"+addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Terminal(context.Background()); err != nil {
		t.Fatalf("terminal T001: %v\n%s", err, logs)
	}
	for _, secret := range []string{"PRIVATE KEY", strings.Repeat("ab", 32)} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log shows %q", secret)
		}
	}
}
