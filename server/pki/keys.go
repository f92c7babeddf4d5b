package pki

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"math/bits"
	"strings"
)

// sealPrefix versions the sealed format so that a later change of cipher
// or KEK can tell old rows from new ones.
const sealPrefix = "v1:"

// Seal encrypts a secret (a terminal master key) under the KEK with
// AES-256-GCM and a random nonce, returning text safe for a database
// column: "v1:" + base64(nonce||ciphertext). aad binds it to its owner
// (pass the terminal id), so a sealed key copied to another terminal's row
// does not open; it must not be empty, since an empty owner would make
// every such row interchangeable.
func (a *Authority) Seal(secret []byte, aad string) (string, error) {
	if aad == "" {
		return "", errors.New("pki: seal: empty owner (aad)")
	}
	g, err := a.gcm()
	if err != nil {
		return "", fmt.Errorf("pki: seal: %w", err)
	}
	nonce := make([]byte, g.NonceSize())
	rand.Read(nonce)
	out := g.Seal(nonce, nonce, secret, []byte(aad))
	return sealPrefix + base64.StdEncoding.EncodeToString(out), nil
}

// Unseal opens what Seal returned for the same aad. It fails when the text
// was altered, belongs to another owner or was sealed under another KEK,
// without saying which, as GCM cannot tell them apart.
func (a *Authority) Unseal(sealed string, aad string) ([]byte, error) {
	if aad == "" {
		return nil, errors.New("pki: unseal: empty owner (aad)")
	}
	body, ok := strings.CutPrefix(sealed, sealPrefix)
	if !ok {
		return nil, fmt.Errorf("pki: unseal: not a %q sealed value", sealPrefix)
	}
	raw, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return nil, fmt.Errorf("pki: unseal: %w", err)
	}
	g, err := a.gcm()
	if err != nil {
		return nil, fmt.Errorf("pki: unseal: %w", err)
	}
	if len(raw) < g.NonceSize()+g.Overhead() {
		return nil, errors.New("pki: unseal: sealed value too short")
	}
	nonce, ct := raw[:g.NonceSize()], raw[g.NonceSize():]
	secret, err := g.Open(nil, nonce, ct, []byte(aad))
	if err != nil {
		return nil, fmt.Errorf("pki: unseal for %q: wrong owner, wrong KEK or altered value: %w", aad, err)
	}
	return secret, nil
}

func (a *Authority) gcm() (cipher.AEAD, error) {
	block, err := aes.NewCipher(a.kek)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// NewMasterKey returns a random double-length TDES key (16 bytes) with odd
// parity on every byte, as HSMs and PIN pads expect of a DES key.
func NewMasterKey() ([]byte, error) {
	key := make([]byte, 16)
	for {
		rand.Read(key)
		for i, b := range key {
			key[i] = withOddParity(b)
		}
		// Equal halves would make the key single DES in disguise.
		if !bytes.Equal(key[:8], key[8:]) {
			return key, nil
		}
	}
}

// withOddParity sets the low bit of b, the DES parity bit, so that b has an
// odd number of ones.
func withOddParity(b byte) byte {
	b &^= 1
	if bits.OnesCount8(b)%2 == 0 {
		b |= 1
	}
	return b
}
