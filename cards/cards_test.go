package cards

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

func TestMask(t *testing.T) {
	for pan, want := range map[string]string{
		"6212345678900001":    "621234******0001",
		"4000001234562":       "400000***4562",
		"6212345678901234567": "621234*********4567",
		"123456":              "**3456",
		"":                    "",
	} {
		if got := Mask(pan); got != want {
			t.Errorf("Mask(%q) = %q, want %q", pan, got, want)
		}
	}
}

func TestCardNeverPrintsFullPAN(t *testing.T) {
	c := Card{PAN: "6212345678900001", Track2: "6212345678900001=30122010000000000", Entry: EntryChip}
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, c)} {
		if strings.Contains(s, "5678900") || strings.Contains(s, "=3012") {
			t.Fatalf("card leaked in %q", s)
		}
	}
}

func TestLuhn(t *testing.T) {
	if !Luhn("4000001234562") || !Luhn("79927398713") {
		t.Fatal("valid numbers rejected")
	}
	if Luhn("4000001234563") || Luhn("79927398710") || Luhn("12a4") {
		t.Fatal("invalid numbers accepted")
	}
}

// Published vectors (ID TECH; and the one in the project notes).
func TestPINBlock0Vectors(t *testing.T) {
	for _, v := range []struct{ pin, pan, want string }{
		{"1234", "43219876543210987", "0412AC89ABCDEF67"},
		{"92389", "4000001234562", "0592789FFFEDCBA9"},
	} {
		b, err := PINBlock0([]byte(v.pin), v.pan)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.ToUpper(hex.EncodeToString(b[:])); got != v.want {
			t.Errorf("PINBlock0(%s, %s) = %s, want %s", v.pin, v.pan, got, v.want)
		}
		pin, err := PINFromBlock0(b, v.pan)
		if err != nil || pin != v.pin {
			t.Errorf("PINFromBlock0 = %q, %v", pin, err)
		}
	}
}

func TestPINLength(t *testing.T) {
	for _, pin := range []string{"123", "1234567890123", "12a4"} {
		if _, err := PINBlock0([]byte(pin), "4000001234562"); err == nil {
			t.Errorf("PIN %q accepted", pin)
		}
	}
}

func TestEncryptRoundTrip(t *testing.T) {
	key, _ := hex.DecodeString("0123456789ABCDEFFEDCBA9876543210")
	enc, err := EncryptPIN(key, []byte("123456"), "6212345678900001")
	if err != nil {
		t.Fatal(err)
	}
	clear, _ := PINBlock0([]byte("123456"), "6212345678900001")
	if enc == clear {
		t.Fatal("block not encrypted")
	}
	dec, err := DecryptPINBlock(key, enc)
	if err != nil {
		t.Fatal(err)
	}
	if pin, err := PINFromBlock0(dec, "6212345678900001"); err != nil || pin != "123456" {
		t.Fatalf("round trip gave %q, %v", pin, err)
	}
	// A different key must not recover the PIN.
	other, _ := hex.DecodeString("FEDCBA98765432100123456789ABCDEF")
	dec2, _ := DecryptPINBlock(other, enc)
	if pin, err := PINFromBlock0(dec2, "6212345678900001"); err == nil && pin == "123456" {
		t.Fatal("wrong key recovered the PIN")
	}
	if _, err := EncryptPINBlock([]byte("short"), clear); err == nil {
		t.Fatal("short key accepted")
	}
}

// The service code's first digit says whether the card has a chip: 2
// (international) and 6 (national) do.
func TestHasChip(t *testing.T) {
	for svc, chip := range map[string]bool{"201": true, "220": true, "601": true, "101": false, "501": false, "": false, "9": false} {
		if got := HasChip(svc); got != chip {
			t.Errorf("HasChip(%q) = %v, want %v", svc, got, chip)
		}
	}
}
