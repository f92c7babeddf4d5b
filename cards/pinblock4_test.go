package cards

import (
	"bytes"
	"crypto/aes"
	"encoding/hex"
	"strings"
	"testing"
)

// The published PAN field vector (psec, ISO 9564-1 format 4).
func TestPANField4Vector(t *testing.T) {
	f, err := PANField4("112233445566778899")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.ToUpper(hex.EncodeToString(f[:])); got != "61122334455667788990000000000000" {
		t.Fatalf("PAN field %s", got)
	}
	short, _ := PANField4("12345")
	if got := hex.EncodeToString(short[:]); got != "00000000123450000000000000000000" {
		t.Fatalf("short PAN field %s", got)
	}
}

func TestPINBlock4RoundTrip(t *testing.T) {
	key, _ := hex.DecodeString("00112233445566778899AABBCCDDEEFF")
	pan := "6212340000000001"
	a, err := EncryptPINBlock4(key, []byte("123456"), pan, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := EncryptPINBlock4(key, []byte("123456"), pan, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Fatal("two blocks of the same PIN are equal: the random fill is missing")
	}
	for _, blk := range [][16]byte{a, b} {
		if pin, err := DecryptPINBlock4(key, blk, pan); err != nil || pin != "123456" {
			t.Fatalf("decrypt: %q, %v", pin, err)
		}
	}
	other := bytes.Repeat([]byte{7}, 16)
	if pin, err := DecryptPINBlock4(other, a, pan); err == nil {
		t.Fatalf("another key read PIN %q", pin)
	}
	if pin, err := DecryptPINBlock4(key, a, "6212340000000019"); err == nil {
		t.Fatalf("another card read PIN %q", pin)
	}
	if _, err := EncryptPINBlock4(key, []byte("12"), pan, nil); err != ErrPINLength {
		t.Fatalf("two-digit PIN: %v", err)
	}
	if _, err := EncryptPINBlock4(key[:7], []byte("1234"), pan, nil); err == nil {
		t.Fatal("a 7-byte key accepted")
	}
}

// The random fill decides the block: with a fixed fill the block is fixed,
// which lets the known structure be checked after one decipherment.
func TestPINBlock4Structure(t *testing.T) {
	key := bytes.Repeat([]byte{0x11}, 32) // AES-256
	pan := "4000001234562"
	fill := bytes.NewReader(bytes.Repeat([]byte{0x5A}, 8))
	blk, err := EncryptPINBlock4(key, []byte("92389"), pan, fill)
	if err != nil {
		t.Fatal(err)
	}
	pin, err := DecryptPINBlock4(key, blk, pan)
	if err != nil || pin != "92389" {
		t.Fatalf("%q, %v", pin, err)
	}
	// Undo the two encipherments by hand: the PIN field as ISO 9564 lays it out.
	c, _ := aes.NewCipher(key)
	panField, _ := PANField4(pan)
	var b [16]byte
	c.Decrypt(b[:], blk[:])
	for i := range b {
		b[i] ^= panField[i]
	}
	c.Decrypt(b[:], b[:])
	if got := strings.ToUpper(hex.EncodeToString(b[:])); got != "4592389AAAAAAAAA5A5A5A5A5A5A5A5A" {
		t.Fatalf("PIN field %s", got)
	}
}
