package bank

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

var testTerm = Terminal{TerminalID: "12345678", MerchantID: "898310048990001", Batch: "000001"}

// testPIN is an encrypted PIN block that contains the bytes a text codec
// would mangle (NUL, high bit, '0').
var testPIN = []byte{0x00, 0x9f, 0x30, 0xff, 0x12, 0x80, 0x7f, 0x01}

// testICC is EMV TLV (9F26 ARQC, 9F27, 9F36, 95) with a NUL inside.
var testICC = []byte{
	0x9f, 0x26, 0x08, 0x11, 0x22, 0x00, 0x44, 0x55, 0x66, 0x77, 0x88,
	0x9f, 0x27, 0x01, 0x80,
	0x9f, 0x36, 0x02, 0x00, 0x31,
	0x95, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00,
}

var testCard = Card{
	PAN:       "6212340000000001",
	Expiry:    "3012",
	Track2:    "6212340000000001=30122201234567890123",
	EntryMode: "051",
	CardSeq:   "001",
	PINBlock:  testPIN,
	ICCData:   testICC,
}

func mustMsg(t testing.TB) func(*Message, error) *Message {
	return func(m *Message, err error) *Message {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
}

func allMessages(t testing.TB) map[string]*Message {
	must := mustMsg(t)
	orig := Original{Batch: "000001", Trace: "000123", RRN: "123456789012", Date: "1124"}
	sale := must(testTerm.NewSale("000124", 12345, testCard))
	answer := func(req *Message, mti string) *Message {
		a := *req
		a.MTI = mti
		a.PINBlock, a.SecurityInfo, a.Track2 = nil, "", ""
		a.LocalTime, a.LocalDate = "153022", "1125"
		a.RRN, a.AuthCode, a.ResponseCode = "532915000124", "A1B2C3", "00"
		a.MAC = []byte{1, 2, 3, 4, 5, 6, 7, 0}
		return &a
	}
	signOnResp := testTerm.NewSignOn("000001")
	signOnResp.MTI, signOnResp.ResponseCode = MTISignOnResponse, "00"
	signOnResp.Field62 = bytes.Repeat([]byte{0x00, 0xa5, 0x5a, 0xff}, 10)
	return map[string]*Message{
		"0200 sale":         sale,
		"0210 sale":         answer(sale, MTISaleResponse),
		"0200 balance":      must(testTerm.NewBalance("000125", testCard)),
		"0200 void":         must(testTerm.NewVoid("000126", 12345, testCard, orig)),
		"0220 refund":       must(testTerm.NewRefund("000127", 100, testCard, orig)),
		"0230 refund":       answer(must(testTerm.NewRefund("000127", 100, testCard, orig)), MTIRefundResponse),
		"0400 reversal":     NewReversal(sale),
		"0410 reversal":     answer(NewReversal(sale), MTIReversalResp),
		"0800 sign-on":      testTerm.NewSignOn("000001"),
		"0810 sign-on":      signOnResp,
		"0210 balance resp": {MTI: MTISaleResponse, ProcCode: ProcBalance, Trace: "000125", ResponseCode: "51", TerminalID: "12345678", MerchantID: "898310048990001"},
	}
}

func TestPackUnpackRoundTrip(t *testing.T) {
	for name, m := range allMessages(t) {
		t.Run(name, func(t *testing.T) {
			b, err := m.Pack()
			if err != nil {
				t.Fatal(err)
			}
			got, err := Unpack(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, m) {
				t.Fatalf("round trip differs:\n got %s\nwant %s", got, m)
			}
			b2, err := got.Pack()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, b2) {
				t.Fatalf("repack differs:\n%x\n%x", b, b2)
			}
			if m.PINBlock != nil && !bytes.Contains(b, testPIN) {
				t.Fatal("field 52 is not the 8 raw bytes on the wire")
			}
			if m.ICCData != nil && !bytes.Contains(b, append([]byte("027"), testICC...)) {
				t.Fatal("field 55 is not LLL + raw TLV on the wire")
			}
		})
	}
}

func TestFieldsOnTheWire(t *testing.T) {
	sale := mustMsg(t)(testTerm.NewSale("000124", 12345, testCard))
	b, err := sale.Pack()
	if err != nil {
		t.Fatal(err)
	}
	// MTI, then the 8-byte binary bitmap, then field 2 (LL), 3, 4 (n12 fen).
	if string(b[:4]) != "0200" {
		t.Fatalf("MTI %q", b[:4])
	}
	rest := string(b[12:])
	if !strings.HasPrefix(rest, "166212340000000001"+"000000"+"000000012345"+"000124") {
		t.Fatalf("fields 2-11 on the wire: %q", rest[:40])
	}
	// bitmap bits 2,3,4 set in the first byte (0111 0000) and bit 64 clear
	if b[4] != 0x70 || b[11]&1 != 0 {
		t.Fatalf("bitmap %x", b[4:12])
	}
}

func TestZeroAmountKept(t *testing.T) {
	m := NewReversal(&Message{ProcCode: ProcSale, Trace: "000001", TerminalID: "12345678"})
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("000000"+"000000000000"+"000001")) {
		t.Fatalf("field 3 and the zero field 4 must be packed: %q", b)
	}
	bal := mustMsg(t)(testTerm.NewBalance("000002", Card{PAN: "6212340000000001"}))
	mi, err := bal.ToISO()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := mi.GetFields()[4]; ok {
		t.Fatal("balance inquiry must not carry field 4")
	}
}

func TestBuilderErrors(t *testing.T) {
	if _, err := testTerm.NewSale("000001", 0, testCard); err == nil {
		t.Fatal("zero-amount sale accepted")
	}
	c := testCard
	c.PINBlock = []byte{1, 2, 3}
	if _, err := testTerm.NewSale("000001", 1, c); err == nil {
		t.Fatal("short PIN block accepted")
	}
	if _, err := testTerm.NewRefund("000001", 1, testCard, Original{}); err == nil {
		t.Fatal("refund without original date accepted")
	}
	if _, err := (&Message{MTI: "02"}).Pack(); err == nil {
		t.Fatal("bad MTI accepted")
	}
}

func TestStringMasksSecrets(t *testing.T) {
	for name, m := range allMessages(t) {
		s := m.String()
		for _, secret := range []string{"6212340000000001", "30122201234567890123", "3012"} {
			if strings.Contains(s, secret) {
				t.Errorf("%s: String leaks %q: %s", name, secret, s)
			}
		}
	}
	if got := MaskPAN("6212340000000001"); got != "621234******0001" {
		t.Fatal(got)
	}
}

func TestUnpackGarbage(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("02"), []byte("0200\xff\xff\xff\xff\xff\xff\xff\xff")} {
		if _, err := Unpack(b); err == nil {
			t.Errorf("Unpack(%x) succeeded", b)
		}
	}
}

// A reversal repeats its original's trace: the original's late answer
// must not be matched to it.
func TestRequestIDTellsAReversalFromItsOriginal(t *testing.T) {
	id := func(mti string) string {
		t.Helper()
		m, err := (&Message{MTI: mti, Trace: "000123", TerminalID: "T1"}).ToISO()
		if err != nil {
			t.Fatal(err)
		}
		s, err := RequestID{}.GenerateRequestID(m)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if id(MTISale) != id(MTISaleResponse) || id(MTIReversal) != id(MTIReversalResp) {
		t.Fatal("an answer does not match its request")
	}
	if id(MTISaleResponse) == id(MTIReversalResp) {
		t.Fatal("a sale's answer matches its reversal")
	}
}
