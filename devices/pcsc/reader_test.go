package pcsc_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ebfe/scard"

	"github.com/multipos/multipos/cards"
	"github.com/multipos/multipos/cards/emv"
	"github.com/multipos/multipos/devices"
	"github.com/multipos/multipos/devices/pcsc"
	"github.com/multipos/multipos/devices/pcsc/pcsctest"
	"github.com/multipos/multipos/sandbox/emvcard"
)

func TestMain(m *testing.M) { pcsctest.Main(m) }

// wait is generous: pcscd polls vpcd every 0.4 s and the test machine is
// slow and busy.
const wait = 30 * time.Second

var kindName = map[devices.CardEventKind]string{
	devices.CardInserted: "CardInserted", devices.CardRemoved: "CardRemoved", devices.CardSwiped: "CardSwiped",
	devices.CardReadError: "CardReadError", devices.ReaderAdded: "ReaderAdded", devices.ReaderRemoved: "ReaderRemoved",
}

// expect returns the next event of kind from reader, failing on any other
// card event (reader events are passed over unless asked for).
func expect(t testing.TB, r *pcsc.Reader, reader string, kind devices.CardEventKind) devices.CardEvent {
	t.Helper()
	timeout := time.After(wait)
	for {
		select {
		case ev, ok := <-r.Events():
			if !ok {
				t.Fatalf("events closed while waiting for %s", kindName[kind])
			}
			if ev.Kind == kind && (reader == "" || ev.Reader == reader) {
				return ev
			}
			if ev.Kind == devices.ReaderAdded || ev.Kind == devices.ReaderRemoved {
				continue
			}
			t.Fatalf("waiting for %s on %q, got %s on %q (err %v)", kindName[kind], reader, kindName[ev.Kind], ev.Reader, ev.Err)
		case <-timeout:
			t.Fatalf("no %s on %q within %v", kindName[kind], reader, wait)
		}
	}
}

func open(t *testing.T, opts pcsc.Options) *pcsc.Reader {
	t.Helper()
	r := pcsc.Open(opts)
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func insert(t testing.TB, rig *pcsctest.Rig, slot int, c *emvcard.Card) {
	t.Helper()
	if err := rig.Insert(context.Background(), slot, c); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rig.Remove(slot) })
}

func TestInsertReadRemove(t *testing.T) {
	rig := pcsctest.Start(t)
	name := rig.ReaderName(0)
	var mu sync.Mutex
	var onRead []emv.Result
	r := open(t, pcsc.Options{Filter: name, OnRead: func(reader string, res emv.Result) {
		mu.Lock()
		defer mu.Unlock()
		onRead = append(onRead, res)
	}})
	if ev := expect(t, r, "", devices.ReaderAdded); ev.Reader != name {
		t.Errorf("ReaderAdded for %q", ev.Reader)
	}
	if got := r.Readers(); len(got) != 1 || got[0] != name || r.Name() != name {
		t.Errorf("filter %q watches %q, name %q", name, got, r.Name())
	}
	if r.State() != devices.ReaderReady || r.Err() != nil {
		t.Errorf("before the card: state %v err %v", r.State(), r.Err())
	}

	insert(t, rig, 0, emvcard.MustNew(emvcard.Data{}, emvcard.Options{Directory: emvcard.DirPSE}))
	ev := expect(t, r, name, devices.CardInserted)
	c := ev.Card
	if c.PAN != emvcard.DefaultData.PAN || c.Expiry != "3012" || c.Holder != "TEST/CARDHOLDER" ||
		c.AID != "A000000333010101" || c.Label != "UnionPay Debit" || c.Entry != cards.EntryChip {
		t.Errorf("card %s exp %s holder %q aid %s label %q entry %s", c, c.Expiry, c.Holder, c.AID, c.Label, c.Entry)
	}
	if r.State() != devices.ReaderCardPresent {
		t.Errorf("state with the card in: %v", r.State())
	}
	res, ok := r.LastRead(name)
	if !ok || res.Source != emv.SourcePSE || len(res.ICC) == 0 {
		t.Fatalf("LastRead: ok %v source %s ICC %d bytes", ok, res.Source, len(res.ICC))
	}
	if icc, err := emv.ParseTLV(res.ICC); err != nil || icc.Value(emv.TagAC) == nil {
		t.Errorf("field 55 without a cryptogram: %v", err)
	}
	mu.Lock()
	if len(onRead) != 1 || onRead[0].PAN != c.PAN {
		t.Errorf("OnRead saw %d reads", len(onRead))
	}
	mu.Unlock()

	if err := rig.Remove(0); err != nil {
		t.Fatal(err)
	}
	expect(t, r, name, devices.CardRemoved)
	if _, ok := r.LastRead(name); ok || r.State() != devices.ReaderReady {
		t.Errorf("after removal: LastRead kept %v, state %v", ok, r.State())
	}
}

func TestCardKinds(t *testing.T) {
	rig := pcsctest.Start(t)
	name := rig.ReaderName(1)
	r := open(t, pcsc.Options{Filter: "00 01"})
	expect(t, r, name, devices.ReaderAdded)
	credit := emvcard.Data{PAN: "6228480000000000018", Expiry: "2906", Holder: "ZHANG/SAN",
		Apps: []emvcard.App{{AID: "A000000333010102", Label: "UnionPay Credit"}}}
	for _, tc := range []struct {
		name   string
		data   emvcard.Data
		opts   emvcard.Options
		source emv.Source
		entry  cards.Entry
	}{
		{"T=0", emvcard.Data{}, emvcard.Options{Protocol: emvcard.T0, Directory: emvcard.DirPSE}, emv.SourcePSE, cards.EntryChip},
		// A card with both directories: inserted, the contact one (PSE) is
		// read; tapped (a contactless ATR), the PPSE.
		{"T=1 inserted", emvcard.Data{}, emvcard.Options{Protocol: emvcard.T1}, emv.SourcePSE, cards.EntryChip},
		{"T=1 tapped", emvcard.Data{}, emvcard.Options{Protocol: emvcard.T1, ATR: emvcard.ATRContactless}, emv.SourcePPSE, cards.EntryContactless},
		{"contactless only", emvcard.Data{}, emvcard.Options{Directory: emvcard.DirPPSE}, emv.SourcePPSE, cards.EntryContactless},
		{"PSE only", emvcard.Data{}, emvcard.Options{Directory: emvcard.DirPSE}, emv.SourcePSE, cards.EntryChip},
		{"AID list only", credit, emvcard.Options{Protocol: emvcard.T0, Directory: emvcard.DirNone}, emv.SourceAIDList, cards.EntryChip},
	} {
		t.Run(tc.name, func(t *testing.T) {
			card := emvcard.MustNew(tc.data, tc.opts)
			want := card.Data()
			insert(t, rig, 1, card)
			c := expect(t, r, name, devices.CardInserted).Card
			res, _ := r.LastRead(name)
			if c.PAN != want.PAN || c.Expiry != want.Expiry || c.Holder != want.Holder ||
				c.AID != want.Apps[0].AID || res.Source != tc.source || c.Entry != tc.entry {
				t.Errorf("read %s exp %s holder %q aid %s source %s entry %s", c, c.Expiry, c.Holder, c.AID, res.Source, c.Entry)
			}
			if err := rig.Remove(1); err != nil {
				t.Fatal(err)
			}
			expect(t, r, name, devices.CardRemoved)
		})
	}
}

func TestGarbageCardIsReadError(t *testing.T) {
	rig := pcsctest.Start(t)
	name := rig.ReaderName(0)
	r := open(t, pcsc.Options{Filter: name})
	expect(t, r, name, devices.ReaderAdded)
	insert(t, rig, 0, emvcard.MustNew(emvcard.Data{}, emvcard.Options{Garbage: true}))
	ev := expect(t, r, name, devices.CardReadError)
	if !errors.Is(ev.Err, pcsc.ErrCardRead) || !errors.Is(ev.Err, emv.ErrMalformedTLV) {
		t.Errorf("read error %v, want ErrCardRead wrapping a malformed-TLV error", ev.Err)
	}
	if strings.Contains(ev.Err.Error(), emvcard.DefaultData.PAN) {
		t.Error("read error carries the PAN")
	}
	if zh, en := pcsc.Message(ev.Err); !strings.Contains(zh, "读卡失败") || !strings.Contains(en, "could not be read") {
		t.Errorf("message %q / %q", zh, en)
	}
	if r.State() != devices.ReaderError {
		t.Errorf("state with an unreadable card: %v", r.State())
	}
	if err := rig.Remove(0); err != nil {
		t.Fatal(err)
	}
	expect(t, r, name, devices.CardRemoved)
}

func TestCardAlreadyInWhenOpened(t *testing.T) {
	rig := pcsctest.Start(t)
	name := rig.ReaderName(0)
	insert(t, rig, 0, emvcard.MustNew(emvcard.Data{}, emvcard.Options{}))
	waitPresent(t, name)
	r := open(t, pcsc.Options{})
	seen := map[string]bool{}
	for len(seen) < pcsctest.Slots {
		seen[expect(t, r, "", devices.ReaderAdded).Reader] = true
	}
	if ev := expect(t, r, name, devices.CardInserted); ev.Card.PAN != emvcard.DefaultData.PAN {
		t.Errorf("card %s", ev.Card)
	}
}

// waitPresent waits until pcscd reports a card in reader, so that a test
// can tell "present before Open" apart.
func waitPresent(t *testing.T, reader string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := pcsc.WaitCard(ctx, reader, true); err != nil {
		t.Fatal(err)
	}
}

func TestCloseIsPromptAndClosesEvents(t *testing.T) {
	pcsctest.Start(t)
	r := pcsc.Open(pcsc.Options{Poll: time.Hour}) // only SCardCancel can end the wait
	expect(t, r, "", devices.ReaderAdded)
	time.Sleep(100 * time.Millisecond) // let it block in pcscd
	done := make(chan error, 1)
	go func() { done <- r.Close() }()
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatal("Close did not interrupt the wait")
	}
	for range r.Events() { // drains, then ends: the channel is closed
	}
	if r.State() != devices.ReaderNone {
		t.Errorf("state after Close: %v", r.State())
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestDoctor(t *testing.T) {
	rig := pcsctest.Start(t)
	insert(t, rig, 0, emvcard.MustNew(emvcard.Data{}, emvcard.Options{Directory: emvcard.DirPSE, Protocol: emvcard.T0}))
	waitPresent(t, rig.ReaderName(0))
	rep, err := pcsc.Doctor(context.Background(), emv.TerminalData{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Readers) != 2 {
		t.Fatalf("%d readers", len(rep.Readers))
	}
	r0, r1 := rep.Readers[0], rep.Readers[1]
	if r0.Name != rig.ReaderName(0) || r0.State != pcsc.SlotCard || r0.AID != "A000000333010101" ||
		r0.Masked != "621234******0001" || r0.Expiry != "12/30" || r0.Source != emv.SourcePSE || r0.ATR != fmt.Sprintf("%X", emvcard.ATRT0) {
		t.Errorf("reader 0: %+v", r0)
	}
	if r1.State != pcsc.SlotEmpty || r1.AID != "" {
		t.Errorf("reader 1: %+v", r1)
	}
	text := rep.Text()
	for _, want := range []string{
		"读卡器 Virtual PCD 00 00: 有卡 card present — A000000333010101 UnionPay Debit 621234******0001 12/30 (PSE)",
		"读卡器 Virtual PCD 00 01: 无卡 empty",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, emvcard.DefaultData.PAN) {
		t.Error("report shows the full card number")
	}
}

func TestStateOfTestsFlagBits(t *testing.T) {
	// pcscd puts an event counter in the upper 16 bits (0x2C0000 here).
	const counter = 0x2C0000
	for _, tc := range []struct {
		ev   uint32
		want pcsc.SlotState
	}{
		{counter | 0x0012, pcsc.SlotEmpty}, // CHANGED|EMPTY
		{counter | 0x0022, pcsc.SlotCard},  // CHANGED|PRESENT
		{counter | 0x0122, pcsc.SlotCard},  // PRESENT|INUSE (shared): readable
		{counter | 0x00A2, pcsc.SlotInUse}, // PRESENT|EXCLUSIVE
		{counter | 0x0222, pcsc.SlotMute},  // PRESENT|MUTE
		{counter | 0x0008, pcsc.SlotUnavailable},
		{0x0020, pcsc.SlotCard},
	} {
		if got := pcsc.StateOf(scard.StateFlag(tc.ev)); got != tc.want {
			t.Errorf("state %#x: %s, want %s", tc.ev, got, tc.want)
		}
	}
}

func TestServiceAppearsLater(t *testing.T) {
	const child = "MULTIPOS_PCSC_CHILD"
	if os.Getenv(child) == "" {
		// The client library caches the socket path at its first call, so
		// "pcscd not running yet" needs a fresh process.
		cmd := exec.Command(os.Args[0], "-test.run=^TestServiceAppearsLater$", "-test.v", "-test.count=1")
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, pcsctest.SocketEnv+"=") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(cmd.Env, child+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestServiceAppearsLater") {
			t.Fatalf("child: %v\n%s", err, out)
		}
		return
	}
	pcsctest.Reserve(t)
	_, err := pcsc.Doctor(context.Background(), emv.TerminalData{})
	if !errors.Is(err, pcsc.ErrNoService) || !strings.Contains(err.Error(), "Service not available") {
		t.Fatalf("doctor without pcscd: %v", err)
	}
	if text := pcsc.ErrorText(err); !strings.Contains(text, "pcscd 未运行") || !strings.Contains(text, "pcscd is not running") {
		t.Errorf("error text %q", text)
	}
	r := open(t, pcsc.Options{Retry: 100 * time.Millisecond})
	deadline := time.Now().Add(wait)
	for !errors.Is(r.Err(), pcsc.ErrNoService) {
		if time.Now().After(deadline) {
			t.Fatalf("Err never said pcscd is down: %v", r.Err())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r.State() != devices.ReaderNone {
		t.Errorf("state without pcscd: %v", r.State())
	}
	rig := pcsctest.Start(t)
	seen := map[string]bool{}
	for len(seen) < pcsctest.Slots {
		seen[expect(t, r, "", devices.ReaderAdded).Reader] = true
	}
	if !seen[rig.ReaderName(0)] || r.Err() != nil {
		t.Errorf("readers added %v, err %v", seen, r.Err())
	}
	insert(t, rig, 0, emvcard.MustNew(emvcard.Data{}, emvcard.Options{}))
	if ev := expect(t, r, rig.ReaderName(0), devices.CardInserted); ev.Card.PAN != emvcard.DefaultData.PAN {
		t.Errorf("card %s", ev.Card)
	}
}

func TestMessage(t *testing.T) {
	for _, err := range []error{pcsc.ErrNoService, pcsc.ErrNoReader, pcsc.ErrCardMute, fmt.Errorf("%w: x", pcsc.ErrCardRead)} {
		zh, en := pcsc.Message(err)
		if zh == "" || en == "" || zh == en {
			t.Errorf("%v: %q %q", err, zh, en)
		}
	}
	if zh, en := pcsc.Message(nil); zh != "" || en != "" {
		t.Error("message for no error")
	}
}
