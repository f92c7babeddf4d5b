package pki

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/multipos/multipos/internal/pemfile"
)

// A sealed private file is one PEM block of type sealedBlock, so that it is
// recognisable (by people, `file` and Open) and a later format can be told
// from this one by its Seal-Version:
//
//	-----BEGIN MULTIPOS SEALED FILE-----
//	Name: ca.key
//	Salt: <32 hex digits>
//	Seal-Key-Id: <16 hex digits>
//	Seal-Version: 1
//
//	<base64 of nonce (12 bytes) || AES-256-GCM ciphertext and tag>
//	-----END MULTIPOS SEALED FILE-----
//
// The AES key is HKDF-SHA256 of the seal key with the file's random salt,
// so no two files share a key; the headers are the GCM additional data, so
// a file renamed (ca.key sealed as kek) or relabelled does not open. The
// key id is HKDF of the seal key too, separate from the AES key, and lets a
// wrong seal key be named as such instead of as a damaged file.
const (
	sealedBlock    = "MULTIPOS SEALED FILE"
	hdrSealVersion = "Seal-Version"
	hdrSealKeyID   = "Seal-Key-Id"
	hdrSealName    = "Name"
	hdrSealSalt    = "Salt"
	sealVersion    = "1"

	sealInfoKey = "multipos pki seal v1 aes-256-gcm"
	sealInfoID  = "multipos pki seal v1 key id"
	sealSalt    = 16
	sealKeyLen  = 32
)

// MinSealKeyLen is the shortest seal key accepted, in bytes: the key is
// meant to be random (`posserver keys generate`), not a password, since
// HKDF does nothing to slow down guessing.
const MinSealKeyLen = 32

// sealedComment heads a sealed file; PEM ignores text outside blocks.
const sealedComment = "# multipos: a private key sealed (AES-256-GCM) under a seal key kept outside\n" +
	"# this folder. posserver opens it with the seal key it is given (README, \"Keys at rest\").\n"

// Errors about sealing; callers test them with errors.Is to say what to do.
var (
	ErrSealKeyNeeded = errors.New("no seal key given")
	ErrWrongSealKey  = errors.New("wrong seal key")
	ErrNotSealed     = errors.New("not sealed")
)

// privateFiles are the files of an authority's folder that are secret, and
// sealed when a seal key is given: the CA key, the KEK and the server key.
// Certificates are public and stay plain.
var privateFiles = []string{caKeyFile, kekFile, serverKeyFile}

// SealKey is a key from outside the authority's folder (another mount, an
// environment variable, a systemd credential) under which the folder's
// private files are sealed, so that a copy of the folder, or of a backup
// holding it beside the database, reveals no key.
type SealKey struct {
	secret []byte
	id     string
}

// NewSealKey makes a seal key of secret, surrounding white space (a
// trailing newline in a file or variable) removed. It must be at least
// MinSealKeyLen bytes.
func NewSealKey(secret []byte) (*SealKey, error) {
	s := bytes.TrimSpace(secret)
	if len(s) < MinSealKeyLen {
		return nil, fmt.Errorf("pki: seal key is %d bytes, want at least %d (a random key, e.g. 64 hex digits)", len(s), MinSealKeyLen)
	}
	id, err := hkdf.Key(sha256.New, s, nil, sealInfoID, 8)
	if err != nil {
		return nil, fmt.Errorf("pki: seal key: %w", err)
	}
	return &SealKey{secret: bytes.Clone(s), id: hex.EncodeToString(id)}, nil
}

// ID names the key without revealing it (16 hex digits), as sealed files
// record it, so that an operator can tell which key a folder needs.
func (k *SealKey) ID() string { return k.id }

// sealed is a sealed file's parts.
type sealed struct {
	name, keyID, salt string
	body              []byte
}

func (s sealed) aad() []byte {
	return []byte("multipos sealed file v" + sealVersion + "\x00" + s.name + "\x00" + s.keyID + "\x00" + s.salt)
}

func (k *SealKey) gcm(saltHex string) (cipher.AEAD, error) {
	salt, err := hex.DecodeString(saltHex)
	if err != nil || len(salt) != sealSalt {
		return nil, fmt.Errorf("bad %s header %q", hdrSealSalt, saltHex)
	}
	key, err := hkdf.Key(sha256.New, k.secret, salt, sealInfoKey, sealKeyLen)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// seal returns the sealed file holding plain, bound to the file name.
func (k *SealKey) seal(name string, plain []byte) ([]byte, error) {
	salt := make([]byte, sealSalt)
	rand.Read(salt)
	s := sealed{name: name, keyID: k.id, salt: hex.EncodeToString(salt)}
	g, err := k.gcm(s.salt)
	if err != nil {
		return nil, fmt.Errorf("seal %s: %w", name, err)
	}
	nonce := make([]byte, g.NonceSize())
	rand.Read(nonce)
	body := g.Seal(nonce, nonce, plain, s.aad())
	out := []byte(sealedComment)
	return append(out, pem.EncodeToMemory(&pem.Block{Type: sealedBlock, Headers: map[string]string{
		hdrSealVersion: sealVersion, hdrSealKeyID: s.keyID, hdrSealName: s.name, hdrSealSalt: s.salt,
	}, Bytes: body})...), nil
}

// open returns what s holds; the key id must already match.
func (k *SealKey) open(s sealed) ([]byte, error) {
	g, err := k.gcm(s.salt)
	if err != nil {
		return nil, err
	}
	if len(s.body) < g.NonceSize()+g.Overhead() {
		return nil, errors.New("sealed file too short")
	}
	plain, err := g.Open(nil, s.body[:g.NonceSize()], s.body[g.NonceSize():], s.aad())
	if err != nil {
		return nil, fmt.Errorf("altered or damaged: it does not open under seal key %s, the one it names", s.keyID)
	}
	return plain, nil
}

// parseSealed reads a sealed file; ok is false when data is not one (a
// plain PEM key or a hex KEK).
func parseSealed(data []byte) (s sealed, ok bool, err error) {
	block, rest := pem.Decode(data)
	if block == nil || block.Type != sealedBlock {
		return sealed{}, false, nil
	}
	if next, _ := pem.Decode(rest); next != nil {
		return sealed{}, true, errors.New("sealed file holds more than one PEM block")
	}
	if v := block.Headers[hdrSealVersion]; v != sealVersion {
		return sealed{}, true, fmt.Errorf("sealed file of format version %q; this posserver reads version %s (upgrade it)", v, sealVersion)
	}
	s = sealed{name: block.Headers[hdrSealName], keyID: block.Headers[hdrSealKeyID], salt: block.Headers[hdrSealSalt], body: block.Bytes}
	if s.name == "" || s.keyID == "" || s.salt == "" {
		return sealed{}, true, errors.New("sealed file lacks its Name, Seal-Key-Id or Salt")
	}
	return s, true, nil
}

// unseal returns the plain contents of the private file at path, whose
// contents are data: with a seal key it must be sealed under that key,
// without one it must be plain, so a folder is never half sealed without
// anyone noticing.
func unseal(path string, data []byte, key *SealKey) ([]byte, error) {
	s, isSealed, err := parseSealed(data)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s: %w", path, err)
	case !isSealed && key == nil:
		return data, nil
	case !isSealed:
		return nil, fmt.Errorf("%s is %w, though a seal key (%s) was given", path, ErrNotSealed, key.ID())
	case key == nil:
		return nil, fmt.Errorf("%s is sealed under seal key %s: %w", path, s.keyID, ErrSealKeyNeeded)
	case s.keyID != key.ID():
		return nil, fmt.Errorf("%s is sealed under seal key %s, not %s, the one given: %w", path, s.keyID, key.ID(), ErrWrongSealKey)
	case s.name != filepath.Base(path):
		return nil, fmt.Errorf("%s holds the sealed %s, not its own key", path, s.name)
	}
	plain, err := key.open(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return plain, nil
}

// readPrivate reads a private file and unseals it (see unseal).
func readPrivate(path string, key *SealKey) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return unseal(path, data, key)
}

// writePrivate writes a private file, 0600 and atomically, sealed under key
// when there is one.
func writePrivate(path string, plain []byte, key *SealKey, overwrite bool) error {
	data := plain
	if key != nil {
		var err error
		if data, err = key.seal(filepath.Base(path), plain); err != nil {
			return err
		}
	}
	return pemfile.WriteAtomic(path, data, 0o600, overwrite)
}

// FileSeal says how one private file of an authority's folder is kept.
type FileSeal struct {
	Name    string // ca.key, kek or server.key
	Present bool
	Sealed  bool
	KeyID   string // the seal key it is sealed under
}

// Sealing reports how the private files in dir are kept, for an operator
// checking a folder before and after sealing it.
func Sealing(dir string) ([]FileSeal, error) {
	var out []FileSeal
	for _, name := range privateFiles {
		fsl := FileSeal{Name: name}
		data, err := os.ReadFile(filepath.Join(dir, name))
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("pki: %w", err)
		default:
			s, isSealed, err := parseSealed(data)
			if err != nil {
				return nil, fmt.Errorf("pki: %s: %w", filepath.Join(dir, name), err)
			}
			fsl.Present, fsl.Sealed, fsl.KeyID = true, isSealed, s.keyID
		}
		out = append(out, fsl)
	}
	return out, nil
}

// Reseal rewrites the private files in dir (those present of ca.key, kek
// and server.key) sealed under to, or plain when to is nil, opening sealed
// ones with from. It seals a plain folder (from nil or the same as to),
// unseals one (to nil) and moves one to a new key. Every file is read,
// opened and checked before any is written, so a wrong key changes
// nothing, and a file already as wanted is left alone, so a run that was
// cut short can simply be repeated. It returns the names it rewrote.
func Reseal(dir string, from, to *SealKey) ([]string, error) {
	type pending struct {
		path  string
		plain []byte
	}
	var todo []pending
	found := 0
	for _, name := range privateFiles {
		path := filepath.Join(dir, name)
		data, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("pki: %w", err)
		}
		found++
		s, isSealed, err := parseSealed(data)
		if err != nil {
			return nil, fmt.Errorf("pki: %s: %w", path, err)
		}
		if isSealed == (to != nil) && (to == nil || s.keyID == to.ID()) {
			// Already as wanted; it must still open.
			if _, err := unseal(path, data, to); err != nil {
				return nil, fmt.Errorf("pki: %w", err)
			}
			continue
		}
		opener := from
		if !isSealed {
			opener = nil
		}
		plain, err := unseal(path, data, opener)
		if err != nil {
			return nil, fmt.Errorf("pki: %w", err)
		}
		if err := checkPrivate(name, plain); err != nil {
			return nil, fmt.Errorf("pki: %s: %w", path, err)
		}
		todo = append(todo, pending{path, plain})
	}
	if found == 0 {
		return nil, fmt.Errorf("pki: no keys in %s (ca.key, kek, server.key)", dir)
	}
	var done []string
	for _, p := range todo {
		if err := writePrivate(p.path, p.plain, to, true); err != nil {
			return done, fmt.Errorf("pki: %w", err)
		}
		done = append(done, filepath.Base(p.path))
	}
	return done, nil
}

// checkPrivate makes sure a private file's plain contents are what its
// name says, so that nothing unreadable gets sealed.
func checkPrivate(name string, plain []byte) error {
	if name == kekFile {
		_, err := parseKEK(plain)
		return err
	}
	_, err := pemfile.ParseKey(plain)
	return err
}
