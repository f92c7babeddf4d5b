package bank

import (
	"encoding/hex"
	"errors"
	"testing"

	"github.com/multipos/multipos/cardkeys"
)

func hexb(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSignVerify(t *testing.T) {
	k, _ := cardkeys.NewMACKey(hexb(t, "0123456789ABCDEFFEDCBA9876543210"))
	sale := mustMsg(t)(testTerm.NewSale("000124", 12345, testCard))
	msg, err := sale.ToISO()
	if err != nil {
		t.Fatal(err)
	}
	if err := SignMessage(k, msg); err != nil {
		t.Fatal(err)
	}
	packed, err := msg.Pack()
	if err != nil {
		t.Fatal(err)
	}
	// The MAC covers everything but itself, with bit 64 set in the bitmap.
	want := k.Compute(packed[:len(packed)-8])
	if string(packed[len(packed)-8:]) != string(want[:]) || packed[11]&1 != 1 {
		t.Fatal("field 64 is not the MAC of the rest of the message")
	}
	if err := k.VerifyBytes(packed); err != nil {
		t.Fatal(err)
	}
	// What the peer sees: unpack, verify.
	got, err := unpackISO(packed)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyMessage(k, got); err != nil {
		t.Fatal(err)
	}

	// Tampered: one digit of the amount changed in transit.
	tampered := append([]byte(nil), packed...)
	i := len("0200") + 8 + len("166212340000000001") + len("000000") + 7
	tampered[i]++
	if err := k.VerifyBytes(tampered); !errors.Is(err, cardkeys.ErrBadMAC) {
		t.Fatalf("tampered amount: %v", err)
	}
	tm, err := unpackISO(tampered)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyMessage(k, tm); !errors.Is(err, cardkeys.ErrBadMAC) {
		t.Fatalf("tampered message: %v", err)
	}
	// Another key does not verify.
	other, _ := cardkeys.NewMACKey(hexb(t, "00112233445566778899AABBCCDDEEFF"))
	if err := other.VerifyBytes(packed); !errors.Is(err, cardkeys.ErrBadMAC) {
		t.Fatalf("wrong key: %v", err)
	}
	// No field 64 at all.
	plain, _ := sale.Pack()
	if err := k.VerifyBytes(plain); err == nil || errors.Is(err, cardkeys.ErrBadMAC) {
		t.Fatalf("message without field 64: %v", err)
	}
}
