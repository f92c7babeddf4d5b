package emvcard

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/multipos/multipos/cards"
	"github.com/multipos/multipos/cards/emv"
)

// App is one payment application on the card.
type App struct {
	AID      string // hex, e.g. "A000000333010101"
	Label    string // tag 50, e.g. "UnionPay Debit"
	Priority int    // tag 87, 1 (highest) .. 15; 0 leaves the tag out
}

// Data is what the card holds. Zero fields get the defaults of DefaultData.
type Data struct {
	PAN         string // digits
	Expiry      string // YYMM
	Holder      string // tag 5F20, e.g. "TEST/CARDHOLDER"
	ServiceCode string // 3 digits, from track 2
	PANSequence string // tag 5F34, 2 digits
	Apps        []App
}

// DefaultData is a UnionPay debit card with a Luhn-valid test number.
var DefaultData = Data{
	PAN:         "6212340000000001",
	Expiry:      "3012",
	Holder:      "TEST/CARDHOLDER",
	ServiceCode: "220",
	PANSequence: "01",
	Apps:        []App{{AID: "A000000333010101", Label: "UnionPay Debit", Priority: 1}},
}

// Directory says which directories the card answers SELECT for.
type Directory int

const (
	// DirBoth answers both the PPSE and the PSE; a reader trying the PPSE
	// first takes the card as contactless.
	DirBoth Directory = iota
	// DirPPSE is a contactless card: SELECT PSE gets 6A82.
	DirPPSE
	// DirPSE is a contact card without a PPSE: SELECT PPSE gets 6A82 and
	// the applications are listed in the PSE's directory file.
	DirPSE
	// DirNone has neither: the applications can only be selected by AID,
	// which forces the reader to fall back to its own AID list.
	DirNone
)

// Protocol is the transport protocol the card announces in its ATR and
// behaves as.
type Protocol int

const (
	// T1 answers every command directly.
	T1 Protocol = iota
	// T0 answers case-4 commands with 61xx (fetch with GET RESPONSE) and
	// a case-2 command with the wrong Le with 6Cxx (resend with Le=xx).
	T0
)

// Options select the card's behaviour.
type Options struct {
	Protocol  Protocol
	Directory Directory
	// Garbage makes the card answer every command with bytes that are not
	// TLV, status 9000: a broken card the reader must report, not crash on.
	Garbage bool
	// ATR overrides the answer to reset sent over vpcd.
	ATR []byte
	// Trace, when set, sees every command and response (full data: test
	// use only).
	Trace func(cmd, resp []byte)
}

// ATRs announced over vpcd. The T=0 one is the vsmartcard default; the T=1
// one has TD1 = 01 and the check byte T=1 requires.
var (
	ATRT0 = []byte{0x3B, 0x68, 0x00, 0x00, 0x56, 0x43, 0x41, 0x52, 0x44, 0x30, 0x30, 0x31}
	ATRT1 = []byte{0x3B, 0x80, 0x01, 0x81}
	// ATRContactless is the ATR a PC/SC reader makes up for a tapped
	// ISO 14443-4 card (PC/SC part 3: 3B 8n 80 01, no historical bytes,
	// check byte): how a reader tells a tap from an insert.
	ATRContactless = []byte{0x3B, 0x80, 0x80, 0x01, 0x01}
)

// SFIs of the card's files.
const (
	sfiDirectory = 1 // PSE directory
	sfiTrack     = 2 // track 2 equivalent and name
	sfiCardData  = 3 // PAN, expiry, sequence number, usage control
)

// Status words the card answers with.
var (
	swOK           = []byte{0x90, 0x00}
	swFileNotFound = []byte{0x6A, 0x82}
	swRecNotFound  = []byte{0x6A, 0x83}
	swWrongLength  = []byte{0x67, 0x00}
	swINSNotSupp   = []byte{0x6D, 0x00}
	swCondNotSat   = []byte{0x69, 0x85}
)

// pdol asks for what a UnionPay terminal supplies: amount, country,
// currency, date, unpredictable number.
var pdol = []byte{0x9F, 0x02, 0x06, 0x9F, 0x1A, 0x02, 0x5F, 0x2A, 0x02, 0x9A, 0x03, 0x9F, 0x37, 0x04}

// pdolLen is the data length the PDOL asks for.
const pdolLen = 6 + 2 + 2 + 3 + 4

// Card is a virtual EMV card. It is safe for concurrent use; commands are
// answered one at a time, as a real card does.
type Card struct {
	data Data
	opts Options
	apps [][]byte

	mu       sync.Mutex
	selected []byte // AID of the selected application, PSE, or nil
	pending  []byte // T=0 response data waiting for GET RESPONSE
	pendSW   []byte
	atc      uint16

	conn connState
}

var _ emv.Card = (*Card)(nil)

// New returns a card holding data, with defaults filled in from
// DefaultData. It fails on data the card could not encode.
func New(data Data, opts Options) (*Card, error) {
	d := DefaultData
	if data.PAN != "" {
		d.PAN = data.PAN
	}
	if data.Expiry != "" {
		d.Expiry = data.Expiry
	}
	if data.Holder != "" {
		d.Holder = data.Holder
	}
	if data.ServiceCode != "" {
		d.ServiceCode = data.ServiceCode
	}
	if data.PANSequence != "" {
		d.PANSequence = data.PANSequence
	}
	if len(data.Apps) > 0 {
		d.Apps = data.Apps
	}
	if len(d.PAN) < 12 || len(d.PAN) > 19 || !digits(d.PAN) {
		return nil, fmt.Errorf("emvcard: PAN %s is not 12 to 19 digits", cards.Mask(d.PAN))
	}
	if len(d.Expiry) != 4 || !digits(d.Expiry) {
		return nil, errors.New("emvcard: expiry is not YYMM")
	}
	if len(d.ServiceCode) != 3 || !digits(d.ServiceCode) {
		return nil, errors.New("emvcard: service code is not 3 digits")
	}
	if len(d.PANSequence) != 2 || !digits(d.PANSequence) {
		return nil, errors.New("emvcard: PAN sequence is not 2 digits")
	}
	c := &Card{data: d, opts: opts}
	for _, a := range d.Apps {
		aid, err := hex.DecodeString(a.AID)
		if err != nil || len(aid) < 5 || len(aid) > 16 {
			return nil, fmt.Errorf("emvcard: AID %q is not 5 to 16 bytes of hex", a.AID)
		}
		c.apps = append(c.apps, aid)
	}
	return c, nil
}

// MustNew is New for test and demo data known to be valid.
func MustNew(data Data, opts Options) *Card {
	c, err := New(data, opts)
	if err != nil {
		panic(err)
	}
	return c
}

// Data returns the card's data with defaults applied.
func (c *Card) Data() Data { return c.data }

// ATR returns the answer to reset the card announces over vpcd.
func (c *Card) ATR() []byte {
	switch {
	case c.opts.ATR != nil:
		return c.opts.ATR
	case c.opts.Directory == DirPPSE:
		return ATRContactless // a contactless-only card is tapped
	case c.opts.Protocol == T0:
		return ATRT0
	default:
		return ATRT1
	}
}

// Reset puts the card back in its power-on state.
func (c *Card) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.selected, c.pending, c.pendSW = nil, nil, nil
}

// Transmit answers one command APDU with data followed by SW1 SW2.
func (c *Card) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("emvcard: %w", err)
	}
	c.mu.Lock()
	resp := c.respond(apdu)
	c.mu.Unlock()
	if c.opts.Trace != nil {
		c.opts.Trace(append([]byte(nil), apdu...), append([]byte(nil), resp...))
	}
	return resp, nil
}

// command is a parsed short APDU.
type command struct {
	cla, ins, p1, p2 byte
	data             []byte
	le               int  // -1 when absent; 0 means 256
	case4            bool // has both data and Le
}

func parseCommand(b []byte) (command, bool) {
	if len(b) < 4 {
		return command{}, false
	}
	c := command{cla: b[0], ins: b[1], p1: b[2], p2: b[3], le: -1}
	switch rest := b[4:]; {
	case len(rest) == 0:
	case len(rest) == 1:
		c.le = int(rest[0])
	default:
		lc := int(rest[0])
		switch len(rest) {
		case 1 + lc:
			c.data = rest[1:]
		case 2 + lc:
			c.data, c.le, c.case4 = rest[1:1+lc], int(rest[1+lc]), true
		default:
			return command{}, false
		}
	}
	return c, true
}

func (c *Card) respond(apdu []byte) []byte {
	if c.opts.Garbage {
		return []byte{0xDE, 0xAD, 0xBE, 0xEF, 0x90, 0x00}
	}
	cmd, ok := parseCommand(apdu)
	if !ok {
		return swWrongLength
	}
	if cmd.ins == 0xC0 && cmd.cla == 0x00 {
		return c.getResponse(cmd)
	}
	c.pending, c.pendSW = nil, nil
	data, sw := c.execute(cmd)
	if c.opts.Protocol != T0 || len(data) == 0 {
		return append(data, sw...)
	}
	// T=0 cannot send data and status after a case-4 command in one go:
	// the terminal must fetch the data with GET RESPONSE.
	if cmd.case4 {
		c.pending, c.pendSW = data, sw
		return c.more()
	}
	if cmd.le >= 0 && le(cmd.le) != len(data) && len(data) < 256 {
		return []byte{0x6C, byte(len(data))}
	}
	return append(data, sw...)
}

func le(v int) int {
	if v == 0 {
		return 256
	}
	return v
}

func (c *Card) getResponse(cmd command) []byte {
	if c.pending == nil {
		return swCondNotSat
	}
	n := le(max(cmd.le, 0))
	if n > len(c.pending) {
		if n != 256 {
			return []byte{0x6C, byte(len(c.pending))}
		}
		n = len(c.pending)
	}
	out := append([]byte(nil), c.pending[:n]...)
	c.pending = c.pending[n:]
	return append(out, c.more()...)
}

// more is the status after a T=0 chunk: 61xx while data waits.
func (c *Card) more() []byte {
	if len(c.pending) == 0 {
		sw := c.pendSW
		c.pending, c.pendSW = nil, nil
		return append([]byte(nil), sw...)
	}
	return []byte{0x61, byte(min(len(c.pending), 256))}
}

func (c *Card) execute(cmd command) ([]byte, []byte) {
	switch {
	case cmd.cla == 0x00 && cmd.ins == 0xA4 && cmd.p1 == 0x04:
		return c.selectName(cmd.data)
	case cmd.cla == 0x80 && cmd.ins == 0xA8:
		return c.gpo(cmd.data)
	case cmd.cla == 0x00 && cmd.ins == 0xB2 && cmd.p2&0x07 == 0x04:
		return c.readRecord(cmd.p2>>3, cmd.p1)
	default:
		return nil, swINSNotSupp
	}
}

func (c *Card) selectName(name []byte) ([]byte, []byte) {
	dir := c.opts.Directory
	switch {
	case bytes.Equal(name, emv.PPSE) && (dir == DirBoth || dir == DirPPSE):
		c.selected = emv.PPSE
		var entries []byte
		for i := range c.apps {
			entries = append(entries, c.dirEntry(i)...)
		}
		return tlv(emv.TagFCI, tlv(emv.TagDFName, name),
			tlv(emv.TagFCIProprietary, tlv(emv.TagFCIDiscretionary, entries))), swOK
	case bytes.Equal(name, emv.PSE) && (dir == DirBoth || dir == DirPSE):
		c.selected = emv.PSE
		return tlv(emv.TagFCI, tlv(emv.TagDFName, name),
			tlv(emv.TagFCIProprietary, tlv(emv.TagSFI, []byte{sfiDirectory}))), swOK
	}
	// Partial selection: the name may be a prefix of the AID (EMV Book 1,
	// 12.3.3).
	for i, aid := range c.apps {
		if len(name) >= 5 && bytes.HasPrefix(aid, name) {
			c.selected = aid
			a := c.data.Apps[i]
			prop := tlv(emv.TagLabel, []byte(a.Label))
			if a.Priority > 0 {
				prop = append(prop, tlv(emv.TagPriority, []byte{byte(a.Priority)})...)
			}
			prop = append(prop, tlv(emv.TagPDOL, pdol)...)
			prop = append(prop, tlv(0x5F2D, []byte("zhen"))...)
			return tlv(emv.TagFCI, tlv(emv.TagDFName, aid), tlv(emv.TagFCIProprietary, prop)), swOK
		}
	}
	c.selected = nil
	return nil, swFileNotFound
}

func (c *Card) dirEntry(i int) []byte {
	a := c.data.Apps[i]
	e := append(tlv(emv.TagAID, c.apps[i]), tlv(emv.TagLabel, []byte(a.Label))...)
	if a.Priority > 0 {
		e = append(e, tlv(emv.TagPriority, []byte{byte(a.Priority)})...)
	}
	return tlv(emv.TagDirectoryEntry, e)
}

func (c *Card) app() bool {
	return c.selected != nil && !bytes.Equal(c.selected, emv.PSE) && !bytes.Equal(c.selected, emv.PPSE)
}

func (c *Card) gpo(data []byte) ([]byte, []byte) {
	if !c.app() {
		return nil, swCondNotSat
	}
	if len(data) != 2+pdolLen || data[0] != byte(emv.TagCommandTemplate) || int(data[1]) != pdolLen {
		return nil, swWrongLength
	}
	c.atc++
	pd := data[2:]
	// A made-up cryptogram that changes with the terminal's unpredictable
	// number and the counter, so field 55 looks like a real one.
	ac := make([]byte, 8)
	for i := range ac {
		ac[i] = pd[len(pd)-4+i%4] ^ byte(c.atc>>(8*(i%2))) ^ byte(0x5A+i)
	}
	afl := []byte{sfiTrack << 3, 1, 1, 0, sfiCardData << 3, 1, 2, 1}
	body := bytes.Join([][]byte{
		tlv(emv.TagAIP, []byte{0x1C, 0x00}),
		tlv(emv.TagAFL, afl),
		tlv(emv.TagATC, []byte{byte(c.atc >> 8), byte(c.atc)}),
		tlv(emv.TagCID, []byte{0x80}),
		tlv(emv.TagAC, ac),
		tlv(emv.TagIAD, []byte{0x07, 0x01, 0x01, 0x03, 0xA0, 0x00, 0x00, 0x01, 0x0A, 0x01}),
	}, nil)
	return tlv(emv.TagRMTF2, body), swOK
}

func (c *Card) readRecord(sfi, rec byte) ([]byte, []byte) {
	switch {
	case bytes.Equal(c.selected, emv.PSE) && sfi == sfiDirectory:
		if int(rec) < 1 || int(rec) > len(c.apps) {
			return nil, swRecNotFound
		}
		return tlv(emv.TagRecordTemplate, c.dirEntry(int(rec)-1)), swOK
	case !c.app():
		return nil, swCondNotSat
	case sfi == sfiTrack && rec == 1:
		return tlv(emv.TagRecordTemplate, tlv(emv.TagTrack2, c.track2()),
			tlv(emv.TagCardholderName, []byte(c.data.Holder))), swOK
	case sfi == sfiCardData && rec == 1:
		return tlv(emv.TagRecordTemplate, tlv(emv.TagPAN, padF(c.data.PAN)),
			tlv(emv.TagExpiry, bcd(c.data.Expiry+lastDay(c.data.Expiry))),
			tlv(0x5F25, bcd("240101")),
			tlv(emv.TagPANSequence, bcd(c.data.PANSequence))), swOK
	case sfi == sfiCardData && rec == 2:
		return tlv(emv.TagRecordTemplate, tlv(0x9F07, []byte{0xFF, 0x00}),
			tlv(0x5F28, bcd("0156")), tlv(0x9F08, []byte{0x00, 0x30})), swOK
	default:
		return nil, swRecNotFound
	}
}

// track2 is tag 57: PAN D YYMM SVC discretionary, F-padded, with as much
// discretionary data as the 37 digits of track 2 leave room for.
func (c *Card) track2() []byte {
	s := c.data.PAN + "D" + c.data.Expiry + c.data.ServiceCode
	return padF(s + "1234567890123"[:min(13, 37-len(s))])
}

// tlv wraps the concatenated parts in one object.
func tlv(tag emv.Tag, parts ...[]byte) []byte {
	return emv.EncodeTLV(tag, bytes.Join(parts, nil))
}

func padF(s string) []byte {
	if len(s)%2 == 1 {
		s += "F"
	}
	return bcd(s)
}

// bcd decodes digits (and the nibbles D and F) that New has validated.
func bcd(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(fmt.Sprintf("emvcard: bad BCD of length %d", len(s)))
	}
	return b
}

// lastDay is the DD of an EMV expiry date: cards expire at the end of the
// month.
func lastDay(yymm string) string {
	switch yymm[2:] {
	case "02":
		return "28"
	case "04", "06", "09", "11":
		return "30"
	default:
		return "31"
	}
}

func digits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}
