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
func PINBlock0(pin, pan string) ([8]byte, error) {
	var out [8]byte
	if len(pin) < MinPIN || len(pin) > MaxPIN || !allDigits(pin) {
		return out, ErrPINLength
	}
	if len(pan) < 13 || !allDigits(pan) {
		return out, errors.New("PIN block: card number must be 13 to 19 digits")
	}
	pinField := fmt.Sprintf("0%X%s", len(pin), pin)
	for len(pinField) < 16 {
		pinField += "F"
	}
	body := pan[:len(pan)-1]
	panField := "0000" + body[len(body)-12:]
	p, _ := hex.DecodeString(pinField)
	a, _ := hex.DecodeString(panField)
	for i := range out {
		out[i] = p[i] ^ a[i]
	}
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
func EncryptPIN(key []byte, pin, pan string) ([8]byte, error) {
	b, err := PINBlock0(pin, pan)
	if err != nil {
		return [8]byte{}, err
	}
	enc, err := EncryptPINBlock(key, b)
	for i := range b {
		b[i] = 0
	}
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

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
