package pki

import (
	"bytes"
	"encoding/pem"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

func sealKey(t *testing.T, fill string) *SealKey {
	t.Helper()
	k, err := NewSealKey([]byte(strings.Repeat(fill, 64) + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// wantSealing checks how each private file in dir is kept: sealed under
// keyID, or plain when keyID is "".
func wantSealing(t *testing.T, dir, keyID string) {
	t.Helper()
	files, err := Sealing(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !f.Present || f.Sealed != (keyID != "") || f.KeyID != keyID {
			t.Errorf("%s: %+v, want sealed under %q", f.Name, f, keyID)
		}
		data := mustRead(t, filepath.Join(dir, f.Name))
		if plain := bytes.Contains(data, []byte("PRIVATE KEY-----")) || f.Name == kekFile && len(data) == 65; plain == (keyID != "") {
			t.Errorf("%s: plain %v, want sealed under %q:\n%s", f.Name, plain, keyID, data)
		}
	}
}

func TestSealKey(t *testing.T) {
	if _, err := NewSealKey([]byte("too short\n")); err == nil || !strings.Contains(err.Error(), "at least 32") {
		t.Errorf("short key: %v", err)
	}
	a, b := sealKey(t, "a"), sealKey(t, "b")
	if len(a.ID()) != 16 || a.ID() == b.ID() {
		t.Errorf("ids %q and %q", a.ID(), b.ID())
	}
	trimmed, err := NewSealKey([]byte(strings.Repeat("a", 64)))
	if err != nil || trimmed.ID() != a.ID() {
		t.Errorf("a trailing newline changed the key: %v", err)
	}
}

// A folder created with a seal key has its private files sealed under it;
// it opens again with that key only, and says which key it needs.
func TestOpenSealed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	key := sealKey(t, "k")
	a, err := OpenSealed(dir, nil, key)
	if err != nil {
		t.Fatal(err)
	}
	wantSealing(t, dir, key.ID())
	for _, name := range privateFiles {
		if st, err := os.Stat(filepath.Join(dir, name)); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v, want mode 0600", name, st.Mode(), err)
		}
	}
	if blk, _ := pem.Decode(mustRead(t, filepath.Join(dir, caKeyFile))); blk == nil || blk.Type != sealedBlock ||
		blk.Headers[hdrSealVersion] != "1" || blk.Headers[hdrSealKeyID] != key.ID() || blk.Headers[hdrSealName] != caKeyFile {
		t.Errorf("ca.key is not a version 1 sealed file: %+v", blk)
	}
	sealedMK, err := a.Seal([]byte("master key"), "T-001")
	if err != nil {
		t.Fatal(err)
	}

	b, err := OpenSealed(dir, nil, sealKey(t, "k"))
	if err != nil {
		t.Fatal(err)
	}
	if Fingerprint(b.CACert()) != Fingerprint(a.CACert()) || !bytes.Equal(b.server.Leaf.Raw, a.server.Leaf.Raw) {
		t.Error("reopened with the seal key: another CA or server certificate")
	}
	if got, err := b.Unseal(sealedMK, "T-001"); err != nil || string(got) != "master key" {
		t.Errorf("reopened KEK does not open what the first sealed: %q, %v", got, err)
	}

	_, err = Open(dir, nil)
	if !errors.Is(err, ErrSealKeyNeeded) {
		t.Fatalf("no seal key: %v, want ErrSealKeyNeeded", err)
	}
	wantErr(t, err, filepath.Join(dir, caKeyFile), key.ID())
	other := sealKey(t, "x")
	_, err = OpenSealed(dir, nil, other)
	if !errors.Is(err, ErrWrongSealKey) {
		t.Fatalf("wrong seal key: %v, want ErrWrongSealKey", err)
	}
	wantErr(t, err, key.ID(), other.ID())
	wantSealing(t, dir, key.ID()) // refusing changed nothing
}

// A sealed file that was altered, relabelled or put in another file's place
// does not open, and says so rather than blaming the key.
func TestSealedFileTampered(t *testing.T) {
	dir := t.TempDir()
	key := sealKey(t, "k")
	if _, err := OpenSealed(dir, nil, key); err != nil {
		t.Fatal(err)
	}
	caKey, srvKey := filepath.Join(dir, caKeyFile), filepath.Join(dir, serverKeyFile)
	good := mustRead(t, caKey)
	blk, _ := pem.Decode(good)
	cases := map[string]struct {
		data []byte
		want string
	}{
		"flipped bit": {sealedWith(blk, func(b *pem.Block) { b.Bytes[len(b.Bytes)-1] ^= 1 }), "altered or damaged"},
		"renamed":     {sealedWith(blk, func(b *pem.Block) { b.Headers[hdrSealName] = kekFile }), "holds the sealed kek"},
		"new salt":    {sealedWith(blk, func(b *pem.Block) { b.Headers[hdrSealSalt] = strings.Repeat("0", 32) }), "altered or damaged"},
		"version 2":   {sealedWith(blk, func(b *pem.Block) { b.Headers[hdrSealVersion] = "2" }), `version "2"`},
		"other file":  {mustRead(t, srvKey), "holds the sealed server.key"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(caKey, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := OpenSealed(dir, nil, key)
			wantErr(t, err, caKey, tc.want)
			if errors.Is(err, ErrWrongSealKey) {
				t.Error("a damaged file reported as a wrong key")
			}
		})
	}
}

// An existing plain folder is sealed, moved to a new key and unsealed
// again by Reseal, keeping its CA and KEK; a wrong key changes nothing, and
// a run cut short is finished by running it again.
func TestReseal(t *testing.T) {
	dir := t.TempDir()
	a, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	sealedMK, err := a.Seal([]byte("master key"), "T-001")
	if err != nil {
		t.Fatal(err)
	}
	k1, k2 := sealKey(t, "1"), sealKey(t, "2")
	if _, err := OpenSealed(dir, nil, k1); !errors.Is(err, ErrNotSealed) {
		t.Fatalf("plain folder with a seal key: %v, want ErrNotSealed", err)
	}
	same := func(key *SealKey) {
		t.Helper()
		b, err := OpenSealed(dir, nil, key)
		if err != nil {
			t.Fatal(err)
		}
		if Fingerprint(b.CACert()) != Fingerprint(a.CACert()) {
			t.Error("another CA")
		}
		if got, err := b.Unseal(sealedMK, "T-001"); err != nil || string(got) != "master key" {
			t.Errorf("the KEK changed: %q, %v", got, err)
		}
	}
	all := []string{caKeyFile, kekFile, serverKeyFile}

	if done, err := Reseal(dir, nil, k1); err != nil || !slices.Equal(done, all) {
		t.Fatalf("seal: %v, %v", done, err)
	}
	wantSealing(t, dir, k1.ID())
	same(k1)
	if done, err := Reseal(dir, k1, k1); err != nil || len(done) != 0 {
		t.Errorf("sealing a sealed folder again: %v, %v; want nothing to do", done, err)
	}

	if _, err := Reseal(dir, k2, k2); !errors.Is(err, ErrWrongSealKey) {
		t.Errorf("rotation from the wrong key: %v", err)
	}
	wantSealing(t, dir, k1.ID())

	// A rotation cut short after its first file: running it again finishes.
	plain, err := readPrivate(filepath.Join(dir, caKeyFile), k1)
	if err != nil {
		t.Fatal(err)
	}
	if err := writePrivate(filepath.Join(dir, caKeyFile), plain, k2, true); err != nil {
		t.Fatal(err)
	}
	if done, err := Reseal(dir, k1, k2); err != nil || !slices.Equal(done, []string{kekFile, serverKeyFile}) {
		t.Fatalf("rotate: %v, %v", done, err)
	}
	wantSealing(t, dir, k2.ID())
	same(k2)

	if done, err := Reseal(dir, k2, nil); err != nil || !slices.Equal(done, all) {
		t.Fatalf("unseal: %v, %v", done, err)
	}
	wantSealing(t, dir, "")
	same(nil)

	if _, err := Reseal(t.TempDir(), nil, k1); err == nil || !strings.Contains(err.Error(), "no keys") {
		t.Errorf("empty folder: %v", err)
	}
}

// Under a umask that takes nothing away the folder is 0700 and its keys
// 0600; a folder and keys an older version left open are tightened.
func TestOpenPrivateModes(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "pki")
	if _, err := Open(dir, nil); err != nil {
		t.Fatal(err)
	}
	want := map[string]fs.FileMode{".": 0o700, caKeyFile: 0o600, kekFile: 0o600, serverKeyFile: 0o600, caCertFile: 0o644}
	check := func() {
		t.Helper()
		for name, mode := range want {
			if st, err := os.Stat(filepath.Join(dir, name)); err != nil || st.Mode().Perm() != mode {
				t.Errorf("%s: %v %v, want %04o", name, st.Mode(), err, mode)
			}
		}
	}
	check()
	for name := range want {
		if err := os.Chmod(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	want[caCertFile] = 0o755 // a certificate is public: left as it is
	if _, err := Open(dir, nil); err != nil {
		t.Fatal(err)
	}
	check()
}

// sealedWith is a copy of a sealed file's block changed by change.
func sealedWith(blk *pem.Block, change func(*pem.Block)) []byte {
	c := &pem.Block{Type: blk.Type, Headers: maps.Clone(blk.Headers), Bytes: bytes.Clone(blk.Bytes)}
	change(c)
	return pem.EncodeToMemory(c)
}
