package emvcard

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/multipos/multipos/cards"
	"github.com/multipos/multipos/cards/emv"
)

// terminal is fixed so that the commands, and so the traces, are
// reproducible.
var terminal = emv.TerminalData{
	Amount:              12345,
	Date:                time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC),
	UnpredictableNumber: [4]byte{0x11, 0x22, 0x33, 0x44},
}

// recorder keeps a trace as "INS SW" steps, e.g. "SELECT 6A82".
type recorder struct{ steps []string }

func (r *recorder) trace(cmd, resp []byte) {
	name := map[byte]string{0xA4: "SELECT", 0xA8: "GPO", 0xB2: "READ", 0xC0: "GETRESP"}[cmd[1]]
	r.steps = append(r.steps, fmt.Sprintf("%s %X", name, resp[len(resp)-2:]))
}

func read(t *testing.T, data Data, opts Options) (emv.Result, []string) {
	t.Helper()
	var rec recorder
	opts.Trace = rec.trace
	c, err := New(data, opts)
	if err != nil {
		t.Fatal(err)
	}
	res, err := emv.Read(context.Background(), c, terminal)
	if err != nil {
		t.Fatalf("emv.Read: %v\ntrace: %v", err, rec.steps)
	}
	return res, rec.steps
}

func checkDefault(t *testing.T, res emv.Result) {
	t.Helper()
	if res.PAN != DefaultData.PAN || res.Expiry != "3012" || res.Holder != "TEST/CARDHOLDER" ||
		res.AID != "A000000333010101" || res.Label != "UnionPay Debit" || res.ServiceCode != "220" ||
		res.PANSequence != "01" {
		t.Errorf("result %s holder %q label %q svc %q seq %q", res, res.Holder, res.Label, res.ServiceCode, res.PANSequence)
	}
	if !strings.HasPrefix(res.Track2, DefaultData.PAN+"D3012220") {
		t.Errorf("track 2 does not carry PAN, expiry and service code (masked: %s)", cards.Mask(res.PAN))
	}
	icc, err := emv.ParseTLV(res.ICC)
	if err != nil {
		t.Fatalf("ICC: %v", err)
	}
	for _, tag := range []emv.Tag{emv.TagAC, emv.TagATC, emv.TagIAD, emv.TagCID, emv.TagAIP, emv.TagDFName, emv.TagPANSequence} {
		if _, ok := icc.Find(tag); !ok {
			t.Errorf("field 55 lacks %s", tag)
		}
	}
	if un := icc.Value(emv.TagUnpredictableNumber); !bytes.Equal(un, terminal.UnpredictableNumber[:]) {
		t.Errorf("field 55 9F37 = %X", un)
	}
	if amt := icc.Value(emv.TagAmount); hex.EncodeToString(amt) != "000000012345" {
		t.Errorf("field 55 9F02 = %X", amt)
	}
}

func same(t *testing.T, got []string, want string) {
	t.Helper()
	if g := strings.Join(got, ", "); g != want {
		t.Errorf("trace\n got  %s\n want %s", g, want)
	}
}

func TestT1BothDirectories(t *testing.T) {
	res, steps := read(t, Data{}, Options{})
	checkDefault(t, res)
	if res.Source != emv.SourcePPSE || res.Card().Entry != cards.EntryContactless {
		t.Errorf("source %s entry %s, want PPSE/contactless", res.Source, res.Card().Entry)
	}
	same(t, steps, "SELECT 9000, SELECT 9000, GPO 9000, READ 9000, READ 9000, READ 9000")
}

func TestT0(t *testing.T) {
	res, steps := read(t, Data{}, Options{Protocol: T0, Directory: DirPSE})
	checkDefault(t, res)
	// Every case-4 command gets 61xx and GET RESPONSE; every READ RECORD
	// with Le=00 gets 6Cxx and is resent with the right Le.
	same(t, steps, "SELECT 6A82, "+
		"SELECT 6117, GETRESP 9000, READ 6C21, READ 9000, READ 6A83, "+ // PSE and its directory
		"SELECT 6139, GETRESP 9000, GPO 6131, GETRESP 9000, "+
		"READ 6C29, READ 9000, READ 6C1C, READ 9000, READ 6C11, READ 9000")
}

func TestPSEOnly(t *testing.T) {
	res, steps := read(t, Data{}, Options{Directory: DirPSE})
	checkDefault(t, res)
	if res.Source != emv.SourcePSE || res.Card().Entry != cards.EntryChip {
		t.Errorf("source %s entry %s, want PSE/chip", res.Source, res.Card().Entry)
	}
	same(t, steps, "SELECT 6A82, SELECT 9000, READ 9000, READ 6A83, SELECT 9000, GPO 9000, READ 9000, READ 9000, READ 9000")
}

func TestPPSEOnlyIsContactless(t *testing.T) {
	res, _ := read(t, Data{}, Options{Directory: DirPPSE})
	if res.Source != emv.SourcePPSE || res.Card().Entry != cards.EntryContactless {
		t.Errorf("source %s entry %s", res.Source, res.Card().Entry)
	}
}

func TestNoDirectoryFallsBackToAIDList(t *testing.T) {
	credit := Data{Apps: []App{{AID: "A000000333010102", Label: "UnionPay Credit"}}}
	res, steps := read(t, credit, Options{Directory: DirNone})
	if res.Source != emv.SourceAIDList || res.AID != "A000000333010102" || res.Label != "UnionPay Credit" {
		t.Errorf("result %s source %s label %q", res, res.Source, res.Label)
	}
	// PPSE, PSE, then the terminal's list: debit refused, credit taken.
	same(t, steps, "SELECT 6A82, SELECT 6A82, SELECT 6A82, SELECT 9000, GPO 9000, READ 9000, READ 9000, READ 9000")
}

func TestSeveralAIDsPickByPriority(t *testing.T) {
	apps := Data{Apps: []App{
		{AID: "A000000333010102", Label: "UnionPay Credit", Priority: 2},
		{AID: "A000000333010101", Label: "UnionPay Debit", Priority: 1},
	}}
	for _, dir := range []Directory{DirPPSE, DirPSE} {
		res, _ := read(t, apps, Options{Directory: dir})
		if res.AID != "A000000333010101" || res.Label != "UnionPay Debit" {
			t.Errorf("directory %d chose %s %q, want the priority-1 debit app", dir, res.AID, res.Label)
		}
	}
	apps.Apps[0].Priority = 1
	apps.Apps[1].Priority = 3
	if res, _ := read(t, apps, Options{Directory: DirPSE}); res.AID != "A000000333010102" {
		t.Errorf("with credit at priority 1 chose %s", res.AID)
	}
}

func TestGarbage(t *testing.T) {
	c := MustNew(Data{}, Options{Garbage: true})
	_, err := emv.Read(context.Background(), c, terminal)
	if !errors.Is(err, emv.ErrMalformedTLV) {
		t.Fatalf("read of a garbage card: %v, want malformed TLV", err)
	}
	if strings.Contains(err.Error(), DefaultData.PAN) {
		t.Error("error carries the PAN")
	}
}

func TestGPOChecksPDOLLength(t *testing.T) {
	c := MustNew(Data{}, Options{})
	ctx := context.Background()
	if r, _ := c.Transmit(ctx, emv.SelectCommand(mustHex("A000000333010101"))); !bytes.HasSuffix(r, swOK) {
		t.Fatalf("select: %X", r)
	}
	if r, _ := c.Transmit(ctx, emv.GPOCommand(nil)); !bytes.Equal(r, swWrongLength) {
		t.Errorf("GPO without PDOL data: %X, want 6700", r)
	}
}

func TestNewRejectsBadData(t *testing.T) {
	for _, d := range []Data{{PAN: "12"}, {Expiry: "3"}, {Apps: []App{{AID: "zz"}}}, {ServiceCode: "2x0"}} {
		if _, err := New(d, Options{}); err == nil {
			t.Errorf("New(%+v) accepted", d.Apps)
		}
	}
	_, err := New(Data{PAN: "6212340000000001X"}, Options{})
	if err == nil || strings.Contains(err.Error(), "6212340000000001") {
		t.Errorf("bad PAN error %v must exist and be masked", err)
	}
}

func TestCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := MustNew(Data{}, Options{}).Transmit(ctx, emv.SelectCommand(emv.PPSE)); !errors.Is(err, context.Canceled) {
		t.Errorf("Transmit on a cancelled context: %v", err)
	}
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// BenchmarkReadInProcess is the demo reader's path: emv.Read straight
// against the virtual card, no pcscd.
func BenchmarkReadInProcess(b *testing.B) {
	c := MustNew(Data{}, Options{Directory: DirPSE})
	ctx := context.Background()
	for b.Loop() {
		if _, err := emv.Read(ctx, c, terminal); err != nil {
			b.Fatal(err)
		}
	}
}
