package cards

import (
	"crypto/aes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
)

// ISO 9564-1 format 4: the PIN block for AES keys (16 bytes). The PIN field
// (4, the length, the PIN, 'A' fill to 16 nibbles, then 16 random nibbles)
// is enciphered, XORed with the PAN field, and enciphered again: unlike
// format 0, the same PIN and card give a different block every time.

// PANField4 is the format 4 PAN field: M (the PAN's length less 12, 0 when
// shorter), the PAN left-padded with zeros to 12 digits, zero fill to 32
// nibbles.
func PANField4(pan string) ([16]byte, error) {
	var out [16]byte
	if len(pan) < 1 || len(pan) > 19 || !allDigits(pan) {
		return out, errors.New("PIN block: card number must be 1 to 19 digits")
	}
	m := max(len(pan)-12, 0)
	digits := pan
	if len(digits) < 12 {
		digits = fmt.Sprintf("%012s", pan)
	}
	var n [32]byte
	n[0] = byte(m)
	for i := range len(digits) {
		n[1+i] = digits[i] - '0'
	}
	for i := range out {
		out[i] = n[2*i]<<4 | n[2*i+1]
	}
	return out, nil
}

// EncryptPINBlock4 builds and enciphers a format 4 PIN block under an AES
// key. random supplies the 8 random bytes (crypto/rand when nil). The PIN
// comes as bytes so that callers can wipe it; no copy outlives this call.
func EncryptPINBlock4(key, pin []byte, pan string, random io.Reader) ([16]byte, error) {
	var out [16]byte
	if len(pin) < MinPIN || len(pin) > MaxPIN || !allDigitBytes(pin) {
		return out, ErrPINLength
	}
	panField, err := PANField4(pan)
	if err != nil {
		return out, err
	}
	c, err := aes.NewCipher(key)
	if err != nil {
		return out, fmt.Errorf("PIN block: AES key: %w", err)
	}
	if random == nil {
		random = rand.Reader
	}
	var n [16]byte // the first 16 nibbles of the PIN field
	n[0], n[1] = 4, byte(len(pin))
	for i := 2; i < 16; i++ {
		n[i] = 0xA
	}
	for i, d := range pin {
		n[2+i] = d - '0'
	}
	var field [16]byte
	for i := range 8 {
		field[i] = n[2*i]<<4 | n[2*i+1]
	}
	if _, err := io.ReadFull(random, field[8:]); err != nil {
		return out, fmt.Errorf("PIN block: random fill: %w", err)
	}
	clear(n[:])
	c.Encrypt(out[:], field[:])
	clear(field[:])
	for i := range out {
		out[i] ^= panField[i]
	}
	c.Encrypt(out[:], out[:])
	return out, nil
}

// DecryptPINBlock4 recovers the PIN from an enciphered format 4 block,
// checking its structure (a wrong key or card number fails the check).
func DecryptPINBlock4(key []byte, block [16]byte, pan string) (string, error) {
	panField, err := PANField4(pan)
	if err != nil {
		return "", err
	}
	c, err := aes.NewCipher(key)
	if err != nil {
		return "", fmt.Errorf("PIN block: AES key: %w", err)
	}
	var b [16]byte
	c.Decrypt(b[:], block[:])
	for i := range b {
		b[i] ^= panField[i]
	}
	c.Decrypt(b[:], b[:])
	defer clear(b[:])
	nib := func(i int) byte {
		if i%2 == 0 {
			return b[i/2] >> 4
		}
		return b[i/2] & 0xF
	}
	l := int(nib(1))
	if nib(0) != 4 || l < MinPIN || l > MaxPIN {
		return "", errors.New("PIN block: not a format 4 block under this key and card")
	}
	pin := make([]byte, l)
	for i := range l {
		d := nib(2 + i)
		if d > 9 {
			return "", errors.New("PIN block: not a format 4 block under this key and card")
		}
		pin[i] = '0' + d
	}
	for i := 2 + l; i < 16; i++ {
		if nib(i) != 0xA {
			return "", errors.New("PIN block: not a format 4 block under this key and card")
		}
	}
	return string(pin), nil
}
