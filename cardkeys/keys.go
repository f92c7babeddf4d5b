package cardkeys

import (
	"bytes"
	"crypto/cipher"
	"crypto/des"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// WorkingKeys are the session keys from an 0810 sign-on, in the clear. Keep
// them in memory only.
type WorkingKeys struct {
	PIN []byte // 16 bytes, encrypts field 52 (cards.EncryptPINBlock)
	MAC []byte // 16 bytes, field 64
}

// Field 62 of the 0810, as this package reads it (double-length keys):
//
//	PIK under TMK (16) | PIK check value (4) | MAK under TMK (16) | MAK check value (4)
//
// Each key is TDES-ECB encrypted under the terminal master key; its check
// value is the first 4 bytes of TDES_key(0000000000000000). The check values
// are what catch a terminal loaded with the wrong master key: decryption
// itself never fails.
const field62Len = 40

// ErrKeyCheck is returned when a working key does not match its check value.
var ErrKeyCheck = errors.New("cardkeys: working key check value mismatch")

// DecodeWorkingKeys decrypts and checks field 62 under the master key (16
// or 24 bytes).
func DecodeWorkingKeys(tmk, f62 []byte) (WorkingKeys, error) {
	if len(f62) != field62Len {
		return WorkingKeys{}, fmt.Errorf("cardkeys: field 62 is %d bytes, want %d", len(f62), field62Len)
	}
	master, err := tdes(tmk)
	if err != nil {
		return WorkingKeys{}, err
	}
	var keys [2][]byte
	for i := range keys {
		part := f62[i*20 : i*20+20]
		k := make([]byte, 16)
		master.Decrypt(k[:8], part[:8])
		master.Decrypt(k[8:], part[8:16])
		cv, err := CheckValue(k)
		if err != nil {
			return WorkingKeys{}, err
		}
		if subtle.ConstantTimeCompare(cv, part[16:20]) != 1 {
			return WorkingKeys{}, ErrKeyCheck
		}
		keys[i] = k
	}
	return WorkingKeys{PIN: keys[0], MAC: keys[1]}, nil
}

// EncodeWorkingKeys is the host side of DecodeWorkingKeys (used by tests and
// by a host simulator).
func EncodeWorkingKeys(tmk []byte, k WorkingKeys) ([]byte, error) {
	master, err := tdes(tmk)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	for _, key := range [][]byte{k.PIN, k.MAC} {
		if len(key) != 16 {
			return nil, errors.New("cardkeys: working keys must be 16 bytes")
		}
		enc := make([]byte, 16)
		master.Encrypt(enc[:8], key[:8])
		master.Encrypt(enc[8:], key[8:])
		cv, err := CheckValue(key)
		if err != nil {
			return nil, err
		}
		out.Write(enc)
		out.Write(cv)
	}
	return out.Bytes(), nil
}

// CheckValue is the 4-byte key check value: TDES_key(0^8)[:4].
func CheckValue(key []byte) ([]byte, error) {
	c, err := tdes(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 8)
	c.Encrypt(out, out)
	return out[:4], nil
}

func tdes(key []byte) (cipher.Block, error) {
	var k []byte
	switch len(key) {
	case 16:
		k = append(append([]byte(nil), key...), key[:8]...)
	case 24:
		k = key
	default:
		return nil, fmt.Errorf("cardkeys: TDES key must be 16 or 24 bytes, got %d", len(key))
	}
	return des.NewTripleDESCipher(k)
}

// KCV is the key check value as people compare it: the first 3 bytes (6
// upper-case hex digits) of CheckValue. It lets people compare keys without
// showing them.
func KCV(key []byte) (string, error) {
	cv, err := CheckValue(key)
	if err != nil {
		return "", fmt.Errorf("cardkeys: kcv: %w", err)
	}
	return strings.ToUpper(hex.EncodeToString(cv[:3])), nil
}
