package emv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

const (
	tracePAN    = "6212340000000001"
	traceTrack2 = "6212340000000001D30122201234567890123"
)

func traceTerminal() TerminalData {
	return TerminalData{
		Amount:              1234,
		Date:                time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
		UnpredictableNumber: [4]byte{0xDE, 0xAD, 0xBE, 0xEF},
	}
}

// traceCard replays the recorded PPSE trace from the cards notes (section
// A.1): SELECT PPSE, SELECT A000000333010101 with a 4-tag PDOL, GPO format 2
// with AFL 08010100 10010200, and three records.
func traceCard() *mapCard {
	c := newMapCard()
	aid := h("A000000333010101")
	c.on(h("00A404000E325041592E5359532E444446303100"), ok(tlv(TagFCI,
		tlv(TagDFName, PPSE),
		tlv(TagFCIProprietary, tlv(TagFCIDiscretionary, tlv(TagDirectoryEntry,
			tlv(TagAID, aid), tlv(TagLabel, []byte("UnionPay Debit")), tlv(TagPriority, []byte{1})))))))
	c.on(h("00A4040008A00000033301010100"), ok(tlv(TagFCI,
		tlv(TagDFName, aid),
		tlv(TagFCIProprietary, tlv(TagLabel, []byte("PBOC DEBIT")), tlv(TagPriority, []byte{1}),
			tlv(TagPDOL, h("9F0206 9F1A02 5F2A02 9F3704"))))))
	// 83 0E ‖ amount 000000001234 ‖ 0156 ‖ 0156 ‖ DEADBEEF
	c.on(h("80A8000010830E 000000001234 0156 0156 DEADBEEF 00"), ok(h("770E82021C0094080801010010010200")))
	c.on(h("00B2010C00"), ok(tlv(TagRecordTemplate,
		tlv(TagTrack2, h("6212340000000001D30122201234567890123F")),
		tlv(TagCardholderName, []byte("TEST/CARDHOLDER")))))
	c.on(h("00B2011400"), ok(tlv(TagRecordTemplate,
		tlv(TagPAN, h("6212340000000001")), tlv(TagExpiry, h("301231")))))
	c.on(h("00B2021400"), ok(tlv(TagRecordTemplate,
		tlv(TagPANSequence, []byte{0x01}), tlv(TagIAD, h("07010103A00000")))))
	return c
}

func TestReadRecordedTracePPSE(t *testing.T) {
	card := traceCard()
	res, err := Read(context.Background(), card, traceTerminal())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"00A404000E325041592E5359532E444446303100",
		"00A4040008A00000033301010100",
		"80A8000010830E00000000123401560156DEADBEEF00",
		"00B2010C00", "00B2011400", "00B2021400",
	}
	if strings.Join(card.seen, " ") != strings.Join(want, " ") {
		t.Errorf("commands:\n got %v\nwant %v", card.seen, want)
	}
	checkTraceResult(t, res)
	if res.Source != SourcePPSE || res.Card().Entry != "contactless" {
		t.Errorf("source %q entry %q", res.Source, res.Card().Entry)
	}
}

func checkTraceResult(t *testing.T, res Result) {
	t.Helper()
	if res.AID != "A000000333010101" || res.Label != "PBOC DEBIT" {
		t.Errorf("AID %q label %q", res.AID, res.Label)
	}
	if res.PAN != tracePAN || res.Expiry != "3012" || res.Holder != "TEST/CARDHOLDER" {
		t.Errorf("PAN ok=%v expiry %q holder %q", res.PAN == tracePAN, res.Expiry, res.Holder)
	}
	if res.Track2 != traceTrack2 || res.ServiceCode != "220" || res.PANSequence != "01" {
		t.Errorf("track2 ok=%v svc %q seq %q", res.Track2 == traceTrack2, res.ServiceCode, res.PANSequence)
	}
	if !bytes.Equal(res.AIP, h("1C00")) || len(res.AFL) != 2 || res.AFL[1] != (AFLEntry{SFI: 2, First: 1, Last: 2}) {
		t.Errorf("AIP %X AFL %+v", res.AIP, res.AFL)
	}
	icc, err := ParseTLV(res.ICC)
	if err != nil {
		t.Fatalf("ICC does not parse: %v", err)
	}
	wantICC := map[Tag]string{
		TagIAD: "07010103A00000", TagUnpredictableNumber: "DEADBEEF", TagTVR: "0000000000",
		TagTransactionDate: "261125", TagTransactionType: "00", TagAmount: "000000001234",
		TagCurrencyCode: "0156", TagAIP: "1C00", TagCountryCode: "0156", TagAmountOther: "000000000000",
		TagTerminalCaps: "E0F0C8", TagTerminalType: "22", TagDFName: "A000000333010101", TagPANSequence: "01",
	}
	if len(icc) != len(wantICC) {
		t.Errorf("ICC has %d tags, want %d: %X", len(icc), len(wantICC), res.ICC)
	}
	for tag, v := range wantICC {
		if got := fmt.Sprintf("%X", icc.Value(tag)); got != v {
			t.Errorf("ICC %s = %s, want %s", tag, got, v)
		}
	}
	if _, ok := icc.Find(TagAC); ok {
		t.Error("ICC has 9F26 although no GENERATE AC was run")
	}
}

func TestReadT0GetResponseAndResend(t *testing.T) {
	card := &t0Card{inner: traceCard(), chunk: 20}
	res, err := Read(context.Background(), card, traceTerminal())
	if err != nil {
		t.Fatal(err)
	}
	checkTraceResult(t, res)
	if card.getResp < 4 || card.resends != 3 {
		t.Errorf("GET RESPONSE %d times, 6Cxx resends %d; want the T=0 paths exercised", card.getResp, card.resends)
	}
}

func TestReadPSEOnly(t *testing.T) {
	c := newMapCard() // PPSE → 6A82 by default
	aid := h("A000000333010102")
	c.on(SelectCommand(PSE), ok(tlv(TagFCI, tlv(TagDFName, PSE), tlv(TagFCIProprietary, tlv(TagSFI, []byte{1})))))
	c.on(ReadRecordCommand(1, 1), ok(tlv(TagRecordTemplate, tlv(TagDirectoryEntry,
		tlv(TagAID, aid), tlv(TagLabel, []byte("UnionPay Credit")), tlv(TagPriority, []byte{1})))))
	c.on(ReadRecordCommand(1, 2), []byte{0x6A, 0x83})
	c.on(SelectCommand(aid), ok(tlv(TagFCI, tlv(TagDFName, aid), tlv(TagFCIProprietary))))
	c.on(GPOCommand(nil), ok(tlv(TagRMTF1, h("5C00"), h("10010100"))))
	c.on(ReadRecordCommand(2, 1), ok(tlv(TagRecordTemplate,
		tlv(TagTrack2, h("6212340000000001D3012220123F")), tlv(TagCardholderName, []byte("ZHANG/SAN ")))))
	res, err := Read(context.Background(), c, traceTerminal())
	if err != nil {
		t.Fatal(err)
	}
	if res.Source != SourcePSE || res.AID != "A000000333010102" || res.Label != "UnionPay Credit" {
		t.Errorf("source %q AID %q label %q", res.Source, res.AID, res.Label)
	}
	if res.PAN != tracePAN || res.Expiry != "3012" || res.ServiceCode != "220" || res.Holder != "ZHANG/SAN" {
		t.Errorf("PAN ok=%v expiry %q svc %q holder %q", res.PAN == tracePAN, res.Expiry, res.ServiceCode, res.Holder)
	}
	if c.seen[0] != "00A404000E325041592E5359532E444446303100" || c.seen[1] != "00A404000E315041592E5359532E444446303100" {
		t.Errorf("want PPSE then PSE, got %v", c.seen[:2])
	}
	if res.Card().Entry != "chip" {
		t.Errorf("entry %q", res.Card().Entry)
	}
}

// multiAIDCard offers five applications through the PPSE, one of them not
// supported by the terminal. GPO and READ RECORD are answered by
// selectAwareCard, because all applications share one GPO command.
func multiAIDCard() *mapCard {
	c := newMapCard()
	type app struct {
		aid  string
		prio byte
	}
	apps := []app{
		{"A0000000031010", 3},
		{"A0000009999999", 1}, // not supported by the terminal
		{"A000000333010102", 0},
		{"A000000333010101", 2},
		{"A0000000041010", 1},
	}
	var dir [][]byte
	for _, a := range apps {
		dir = append(dir, tlv(TagDirectoryEntry, tlv(TagAID, h(a.aid)), tlv(TagLabel, []byte("L"+a.aid)), tlv(TagPriority, []byte{0x80 | a.prio})))
		aid := h(a.aid)
		c.on(SelectCommand(aid), ok(tlv(TagFCI, tlv(TagDFName, aid), tlv(TagFCIProprietary))))
	}
	c.on(SelectCommand(PPSE), ok(tlv(TagFCI, tlv(TagDFName, PPSE), tlv(TagFCIProprietary, tlv(TagFCIDiscretionary, dir...)))))
	return c
}

// selectAwareCard routes GPO by the last selected AID.
type selectAwareCard struct {
	*mapCard
	last     string
	gpoFails map[string]bool
}

func (c *selectAwareCard) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	if apdu[1] == 0xA4 {
		c.last = fmt.Sprintf("%X", apdu[5:5+int(apdu[4])])
	}
	if apdu[1] == 0xA8 && c.gpoFails[c.last] {
		c.mapCard.seen = append(c.mapCard.seen, "GPO-refused")
		return []byte{0x69, 0x85}, nil
	}
	if apdu[1] == 0xA8 {
		return ok(tlv(TagRMTF2, tlv(TagAIP, h("1800")), tlv(TagAFL, h("08010100")),
			tlv(TagATC, h("0042")), tlv(TagAC, h("1122334455667788")), tlv(TagCID, h("80")))), nil
	}
	if apdu[1] == 0xB2 {
		return ok(tlv(TagRecordTemplate, tlv(TagPAN, h("6212340000000001")), tlv(TagExpiry, h("301231")))), nil
	}
	return c.mapCard.Transmit(ctx, apdu)
}

func TestReadPriorities(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fails map[string]bool
		want  string
	}{
		{"highest priority wins", nil, "A0000000041010"},
		{"6985 on GPO moves to the next", map[string]bool{"A0000000041010": true}, "A000000333010101"},
		{"no priority is last", map[string]bool{"A0000000041010": true, "A000000333010101": true, "A0000000031010": true}, "A000000333010102"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			card := &selectAwareCard{mapCard: multiAIDCard(), gpoFails: tc.fails}
			res, err := Read(context.Background(), card, traceTerminal())
			if err != nil {
				t.Fatal(err)
			}
			if res.AID != tc.want || res.Label != "L"+tc.want {
				t.Errorf("selected %s %q, want %s", res.AID, res.Label, tc.want)
			}
			icc, _ := ParseTLV(res.ICC)
			if fmt.Sprintf("%X/%X/%X", icc.Value(TagAC), icc.Value(TagCID), icc.Value(TagATC)) != "1122334455667788/80/0042" {
				t.Errorf("GPO format 2 data not in ICC: %X", res.ICC)
			}
		})
	}
	card := &selectAwareCard{mapCard: multiAIDCard(), gpoFails: map[string]bool{
		"A0000000041010": true, "A000000333010101": true, "A0000000031010": true, "A000000333010102": true}}
	if _, err := Read(context.Background(), card, traceTerminal()); !errors.Is(err, ErrNoApplication) {
		t.Errorf("all refused: %v", err)
	}
}

func TestReadNoApplication(t *testing.T) {
	card := newMapCard() // 6A82 to everything
	_, err := Read(context.Background(), card, traceTerminal())
	if !errors.Is(err, ErrNoApplication) || !strings.Contains(err.Error(), "no supported application") {
		t.Fatalf("err = %v", err)
	}
	// PPSE, PSE, then every AID of the fallback list.
	if len(card.seen) != 2+len(DefaultAIDs) {
		t.Errorf("sent %d commands: %v", len(card.seen), card.seen)
	}
	if !IsStatus(err, SWFileNotFound) {
		t.Errorf("cause not wrapped: %v", err)
	}
}

func TestReadFallbackAIDList(t *testing.T) {
	c := traceCard()
	delete(c.resp, "00A404000E325041592E5359532E444446303100")
	res, err := Read(context.Background(), c, traceTerminal())
	if err != nil {
		t.Fatal(err)
	}
	if res.Source != SourceAIDList || res.PAN != tracePAN {
		t.Errorf("source %q", res.Source)
	}
}

type errCard struct{ err error }

func (c errCard) Transmit(context.Context, []byte) ([]byte, error) { return nil, c.err }

func TestReadTransportErrorAborts(t *testing.T) {
	boom := errors.New("reader unplugged")
	_, err := Read(context.Background(), errCard{boom}, traceTerminal())
	if !errors.Is(err, boom) || errors.Is(err, ErrNoApplication) {
		t.Fatalf("err = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Read(ctx, traceCard(), traceTerminal()); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

func TestReadBadData(t *testing.T) {
	for _, tc := range []struct {
		name  string
		mod   func(c *mapCard)
		want  error
		check string
	}{
		{"bad AFL", func(c *mapCard) {
			c.on(h("80A8000010830E00000000123401560156DEADBEEF00"), ok(h("770E82021C0094080800010010010200")))
		}, ErrBadAFL, ""},
		{"truncated record", func(c *mapCard) { c.on(h("00B2010C00"), ok(h("7010570812"))) }, ErrTruncated, ""},
		{"PAN mismatch", func(c *mapCard) {
			c.on(h("00B2011400"), ok(tlv(TagRecordTemplate, tlv(TagPAN, h("6212340000000019")))))
		}, nil, "does not match"},
		{"bad track 2", func(c *mapCard) {
			c.on(h("00B2010C00"), ok(tlv(TagRecordTemplate, tlv(TagTrack2, h("6212340000000001E30122")))))
		}, ErrBadTrack2, ""},
		{"record error", func(c *mapCard) { c.on(h("00B2021400"), []byte{0x6A, 0x83}) }, nil, "READ RECORD returned SW 6A83"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := traceCard()
			tc.mod(c)
			_, err := Read(context.Background(), c, traceTerminal())
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) || !strings.Contains(err.Error(), tc.check) {
				t.Fatalf("err = %v", err)
			}
			if errors.Is(err, ErrNoApplication) {
				t.Errorf("card data error reported as no application: %v", err)
			}
			if strings.Contains(err.Error(), "621234000000") {
				t.Errorf("error leaks the PAN: %v", err)
			}
		})
	}
}

func TestResultNeverPrintsPAN(t *testing.T) {
	res, err := Read(context.Background(), traceCard(), traceTerminal())
	if err != nil {
		t.Fatal(err)
	}
	t2, _ := ParseTrack2(h("6212340000000001D30122201234567890123F"))
	var logBuf bytes.Buffer
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("read", "card", res, "t2", t2)
	out := fmt.Sprintf("%v %+v %#v %s %v %+v %#v", res, res, res, res, t2, t2, t2) + logBuf.String()
	for _, secret := range []string{tracePAN, "1234567890123", "D3012"} {
		if strings.Contains(out, secret) {
			t.Errorf("output contains %q: %s", secret, out)
		}
	}
	if !strings.Contains(out, "621234******0001") {
		t.Errorf("masked PAN missing: %s", out)
	}
}

func TestTerminalDataErrors(t *testing.T) {
	for _, td := range []TerminalData{{Amount: -1}, {Amount: 1e12}, {CountryCode: "156"}, {CurrencyCode: "CNY1"}} {
		if _, err := Read(context.Background(), traceCard(), td); err == nil {
			t.Errorf("%+v accepted", td)
		}
	}
}

// loopCard answers 61 01 forever; Transceive must give up, not spin.
type loopCard struct{ n int }

func (c *loopCard) Transmit(context.Context, []byte) ([]byte, error) {
	c.n++
	return []byte{0x00, 0x61, 0x01}, nil
}

func TestTransceiveBounds(t *testing.T) {
	c := &loopCard{}
	if _, _, err := Transceive(context.Background(), c, "SELECT", SelectCommand(PPSE)); err == nil || c.n != maxChained {
		t.Errorf("err %v after %d commands", err, c.n)
	}
	short := newMapCard()
	short.on(SelectCommand(PPSE), []byte{0x90})
	if _, _, err := Transceive(context.Background(), short, "SELECT", SelectCommand(PPSE)); err == nil {
		t.Error("1-byte response accepted")
	}
}

func TestReadPPSEWithoutSupportedAIDFallsBack(t *testing.T) {
	c := traceCard()
	c.on(SelectCommand(PPSE), ok(tlv(TagFCI, tlv(TagFCIProprietary, tlv(TagFCIDiscretionary,
		tlv(TagDirectoryEntry, tlv(TagAID, h("A0000009999999"))))))))
	res, err := Read(context.Background(), c, traceTerminal())
	if err != nil {
		t.Fatal(err)
	}
	if res.Source != SourceAIDList || res.AID != "A000000333010101" {
		t.Errorf("source %q AID %q", res.Source, res.AID)
	}
}
