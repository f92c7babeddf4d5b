package cards

import (
	"crypto/cipher"
	"crypto/des"
	"encoding/hex"
	"errors"
	"fmt"
)

// PIN lengths accepted at the counter (ISO 9564 allows 4 to 12).
const (
	MinPIN = 4
	MaxPIN = 12
)

// ErrPINLength is returned for a PIN shorter than MinPIN or longer than MaxPIN.
var ErrPINLength = fmt.Errorf("PIN must be %d to %d digits", MinPIN, MaxPIN)

// PINBlock0 builds the clear ISO 9564-1 format 0 PIN block:
// (0 L PIN F…F) XOR (0000 + the 12 rightmost PAN digits without the check digit).
// The PIN comes as bytes, never a string, so that callers can wipe it; no
// copy of it outlives this call.
func PINBlock0(pin []byte, pan string) ([8]byte, error) {
	var out [8]byte
	if len(pin) < MinPIN || len(pin) > MaxPIN || !allDigitBytes(pin) {
		return out, ErrPINLength
	}
	if len(pan) < 13 || !allDigits(pan) {
		return out, errors.New("PIN block: card number must be 13 to 19 digits")
	}
	var p, a [16]byte // nibbles
	p[1] = byte(len(pin))
	for i := 2; i < 16; i++ {
		p[i] = 0xF
	}
	for i, d := range pin {
		p[2+i] = d - '0'
	}
	body := pan[:len(pan)-1]
	acct := body[len(body)-12:]
	for i := 0; i < 12; i++ {
		a[4+i] = acct[i] - '0'
	}
	for i := range out {
		out[i] = (p[2*i]^a[2*i])<<4 | (p[2*i+1] ^ a[2*i+1])
	}
	clear(p[:])
	return out, nil
}

// PINFromBlock0 recovers the PIN from a clear format 0 block, checking its structure.
func PINFromBlock0(block [8]byte, pan string) (string, error) {
	if len(pan) < 13 || !allDigits(pan) {
		return "", errors.New("PIN block: card number must be 13 to 19 digits")
	}
	body := pan[:len(pan)-1]
	a, _ := hex.DecodeString("0000" + body[len(body)-12:])
	var p [8]byte
	for i := range p {
		p[i] = block[i] ^ a[i]
	}
	h := fmt.Sprintf("%X", p[:])
	if h[0] != '0' {
		return "", errors.New("PIN block: not format 0")
	}
	n := int(h[1] - '0')
	if h[1] > '9' {
		n = int(h[1]-'A') + 10
	}
	if n < MinPIN || n > MaxPIN {
		return "", errors.New("PIN block: bad PIN length")
	}
	pin := h[2 : 2+n]
	if !allDigits(pin) {
		return "", errors.New("PIN block: PIN is not digits")
	}
	for _, c := range h[2+n:] {
		if c != 'F' {
			return "", errors.New("PIN block: bad padding")
		}
	}
	return pin, nil
}

// EncryptPINBlock encrypts a clear PIN block under a double- or triple-length
// TDES key (16 or 24 bytes), one ECB block as ISO 9564 terminals do.
func EncryptPINBlock(key []byte, block [8]byte) ([8]byte, error) {
	var out [8]byte
	c, err := tdes(key)
	if err != nil {
		return out, err
	}
	c.Encrypt(out[:], block[:])
	return out, nil
}

// DecryptPINBlock reverses EncryptPINBlock.
func DecryptPINBlock(key []byte, enc [8]byte) ([8]byte, error) {
	var out [8]byte
	c, err := tdes(key)
	if err != nil {
		return out, err
	}
	c.Decrypt(out[:], enc[:])
	return out, nil
}

// EncryptPIN builds the format 0 block for pin and pan and encrypts it under
// key. The caller should drop its copy of the clear PIN right after.
func EncryptPIN(key, pin []byte, pan string) ([8]byte, error) {
	b, err := PINBlock0(pin, pan)
	if err != nil {
		return [8]byte{}, err
	}
	enc, err := EncryptPINBlock(key, b)
	clear(b[:])
	return enc, err
}

func tdes(key []byte) (cipher.Block, error) {
	var k []byte
	switch len(key) {
	case 16:
		k = append(append([]byte{}, key...), key[:8]...)
	case 24:
		k = key
	default:
		return nil, fmt.Errorf("PIN key must be 16 or 24 bytes, got %d", len(key))
	}
	c, err := des.NewTripleDESCipher(k)
	if err != nil {
		return nil, fmt.Errorf("PIN key: %w", err)
	}
	return c, nil
}

func allDigitBytes(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
