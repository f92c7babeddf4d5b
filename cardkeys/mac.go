package cardkeys

import (
	"crypto/des" //nolint:gosec // X9.19 is single-DES CBC by definition; the key is double length.
	"crypto/subtle"
	"errors"
	"fmt"
)

// The POS MAC (field 64) is ANSI X9.19 / ISO/IEC 9797-1 MAC algorithm 3
// ("retail MAC") with padding method 1, which is what UnionPay terminals
// that use double-length keys compute. The message spec is our own, and so
// is the choice of one MAC for it: the bank connector
// (server/connector/bank) computes it over ISO 8583 messages, the acquirer
// sandbox (sandbox/acquirer) checks the same one, and posserver and the
// station use it over the MACData of api.CardSale and api.Order.
//
//  1. data = the packed message from the MTI up to the end of field 63,
//     with bit 64 already set in the bitmap, i.e. the packed message minus
//     its last 8 bytes;
//  2. pad data with 0x00 to a multiple of 8 bytes (nothing if it already is;
//     one zero block if it is empty);
//  3. H = the last block of single-DES CBC under K1 (the left 8 key bytes),
//     IV = 0;
//  4. MAC = DES_K1(DES⁻¹_K2(H)), K2 the right 8 key bytes; all 8 bytes go in
//     field 64.
//
// Test vectors, ISO/IEC 9797-1 Annex B (algorithm 3, padding method 1),
// K1 = 0123456789ABCDEF, K2 = FEDCBA9876543210, also recomputed with
// `openssl enc -des-cbc` and `-des-ecb`:
//
//	"Now is the time for all " -> A1C72E74EA3FA9B6
//	"Now is the time for it"   -> 2E2B1428CC78254F
//
// The last step with two keys is why a retail MAC costs a forger 2^112, not
// 2^56, while the terminal pays for only two extra DES operations.

// MACSize is the length of field 64.
const MACSize = 8

// ErrBadMAC is returned by Verify when field 64 does not match.
var ErrBadMAC = errors.New("cardkeys: MAC mismatch")

// MACKey is a double-length (16-byte) TDES MAC working key, from sign-on.
type MACKey struct {
	k1, k2 [8]byte
}

// NewMACKey checks and copies a 16-byte key.
func NewMACKey(key []byte) (*MACKey, error) {
	if len(key) != 16 {
		return nil, fmt.Errorf("cardkeys: MAC key must be 16 bytes, got %d", len(key))
	}
	var k MACKey
	copy(k.k1[:], key[:8])
	copy(k.k2[:], key[8:])
	return &k, nil
}

// Compute returns the X9.19 MAC of data (padding included here).
func (k *MACKey) Compute(data []byte) [MACSize]byte {
	c1, _ := des.NewCipher(k.k1[:]) // 8-byte keys never fail
	c2, _ := des.NewCipher(k.k2[:])
	var h, blk [8]byte
	for off := 0; off < len(data) || off == 0; off += 8 {
		blk = [8]byte{}
		if off < len(data) {
			copy(blk[:], data[off:])
		}
		for i := range h {
			h[i] ^= blk[i]
		}
		c1.Encrypt(h[:], h[:])
	}
	c2.Decrypt(h[:], h[:])
	c1.Encrypt(h[:], h[:])
	return h
}

// SignBytes fills the last 8 bytes of packed (field 64, which must be
// present in the bitmap) with the MAC of everything before them.
func (k *MACKey) SignBytes(packed []byte) error {
	if err := hasMACField(packed); err != nil {
		return err
	}
	mac := k.Compute(packed[:len(packed)-MACSize])
	copy(packed[len(packed)-MACSize:], mac[:])
	return nil
}

// VerifyBytes checks the MAC at the end of packed, in constant time.
func (k *MACKey) VerifyBytes(packed []byte) error {
	if err := hasMACField(packed); err != nil {
		return err
	}
	mac := k.Compute(packed[:len(packed)-MACSize])
	if subtle.ConstantTimeCompare(mac[:], packed[len(packed)-MACSize:]) != 1 {
		return ErrBadMAC
	}
	return nil
}

// hasMACField checks that bit 64 is set in the binary bitmap after the
// 4-byte MTI: field 64 is then the last 8 bytes of the message.
func hasMACField(packed []byte) error {
	if len(packed) < 4+8+MACSize || packed[4+7]&0x01 == 0 {
		return errors.New("cardkeys: message has no field 64")
	}
	return nil
}
