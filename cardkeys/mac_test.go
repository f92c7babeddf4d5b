package cardkeys

import (
	"encoding/hex"
	"errors"
	"testing"
)

func hexb(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ISO/IEC 9797-1 Annex B, MAC algorithm 3, padding method 1 (= ANSI X9.19),
// checked independently with openssl des-cbc / des-ecb.
func TestX919Vectors(t *testing.T) {
	k, err := NewMACKey(hexb(t, "0123456789ABCDEFFEDCBA9876543210"))
	if err != nil {
		t.Fatal(err)
	}
	for data, want := range map[string]string{
		"Now is the time for all ": "A1C72E74EA3FA9B6",
		"Now is the time for it":   "2E2B1428CC78254F",
	} {
		got := k.Compute([]byte(data))
		if hex.EncodeToString(got[:]) != hex.EncodeToString(hexb(t, want)) {
			t.Errorf("MAC(%q) = %X, want %s", data, got, want)
		}
	}
	// Empty data is one zero block, not no block at all.
	e, z := k.Compute(nil), k.Compute(make([]byte, 8))
	if e != z {
		t.Error("empty data must MAC like one zero block")
	}
	if _, err := NewMACKey(make([]byte, 8)); err == nil {
		t.Error("8-byte MAC key accepted")
	}
}

// TestSignVerifyBytes: field 64 is the last 8 bytes and covers everything
// before it; bit 64 must be set in the bitmap after the 4-byte MTI.
func TestSignVerifyBytes(t *testing.T) {
	k, _ := NewMACKey(hexb(t, "0123456789ABCDEFFEDCBA9876543210"))
	packed := append([]byte("0200"), 0x70, 0, 0, 0, 0, 0, 0, 0x01)
	packed = append(packed, []byte("000000012345")...)
	packed = append(packed, make([]byte, MACSize)...)
	if err := k.SignBytes(packed); err != nil {
		t.Fatal(err)
	}
	want := k.Compute(packed[:len(packed)-MACSize])
	if string(packed[len(packed)-MACSize:]) != string(want[:]) {
		t.Fatal("field 64 is not the MAC of the rest of the message")
	}
	if err := k.VerifyBytes(packed); err != nil {
		t.Fatal(err)
	}
	tampered := append([]byte(nil), packed...)
	tampered[14]++
	if err := k.VerifyBytes(tampered); !errors.Is(err, ErrBadMAC) {
		t.Fatalf("tampered: %v", err)
	}
	other, _ := NewMACKey(hexb(t, "00112233445566778899AABBCCDDEEFF"))
	if err := other.VerifyBytes(packed); !errors.Is(err, ErrBadMAC) {
		t.Fatalf("wrong key: %v", err)
	}
	noField := append([]byte(nil), packed...)
	noField[4+7] = 0
	if err := k.VerifyBytes(noField); err == nil || errors.Is(err, ErrBadMAC) {
		t.Fatalf("message without field 64: %v", err)
	}
}

func TestWorkingKeys(t *testing.T) {
	tmk := hexb(t, "0123456789ABCDEFFEDCBA9876543210")
	keys := WorkingKeys{PIN: hexb(t, "11111111111111112222222222222222"), MAC: hexb(t, "33333333333333334444444444444444")}
	f62, err := EncodeWorkingKeys(tmk, keys)
	if err != nil {
		t.Fatal(err)
	}
	if len(f62) != 40 {
		t.Fatalf("field 62 is %d bytes", len(f62))
	}
	got, err := DecodeWorkingKeys(tmk, f62)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.PIN) != string(keys.PIN) || string(got.MAC) != string(keys.MAC) {
		t.Fatal("keys differ")
	}
	if _, err := DecodeWorkingKeys(hexb(t, "00112233445566778899AABBCCDDEEFF"), f62); !errors.Is(err, ErrKeyCheck) {
		t.Fatalf("wrong master key: %v", err)
	}
	// Check value of a well-known test key: TDES(0123456789ABCDEFFEDCBA9876543210, 0^8) = 08D7B4FB629D0885.
	cv, _ := CheckValue(tmk)
	if hex.EncodeToString(cv) != "08d7b4fb" {
		t.Fatalf("check value %x", cv)
	}
}
