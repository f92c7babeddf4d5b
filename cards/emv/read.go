package emv

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"

	"github.com/multipos/multipos/cards"
)

// ErrNoApplication means no application on the card is one the terminal
// supports, or every candidate refused selection or GPO.
var ErrNoApplication = errors.New("emv: no supported application")

// Source says how the application was found.
type Source string

const (
	SourcePPSE    Source = "PPSE"
	SourcePSE     Source = "PSE"
	SourceAIDList Source = "AID list"
)

// Result is what Read got from the card. It prints and logs itself masked;
// PAN and Track2 must go no further than the message to the acquirer.
type Result struct {
	AID         string // hex, upper case
	Label       string // 50, else 9F12
	Source      Source
	Interface   Interface // as the terminal read it (TerminalData.Interface)
	PAN         string
	Expiry      string // YYMM
	Holder      string // 5F20, trailing spaces trimmed
	Track2      string // 57 in hex with the D separator, without F padding
	ServiceCode string
	PANSequence string // 5F34 as 2 digits, "" when absent
	AIP         []byte
	AFL         []AFLEntry
	// ICC is the TLV blob for ISO 8583 field 55: the tags of ICCTags that
	// the card or terminal supplied, in that order.
	ICC []byte
}

// ICCTags lists the field 55 tags in the order they are emitted.
var ICCTags = []Tag{
	TagAC, TagCID, TagIAD, TagUnpredictableNumber, TagATC, TagTVR,
	TagTransactionDate, TagTransactionType, TagAmount, TagCurrencyCode,
	TagAIP, TagCountryCode, TagAmountOther, TagTerminalCaps, TagCVMResults,
	TagTerminalType, TagDFName, TagPANSequence,
}

// Card converts the result to the card model shared with the rest of the
// POS.
func (r Result) Card() cards.Card {
	entry := cards.EntryChip
	if r.Source == SourcePPSE || r.Interface == Contactless {
		entry = cards.EntryContactless
	}
	return cards.Card{
		PAN: r.PAN, Expiry: r.Expiry, ServiceCode: r.ServiceCode, Track2: r.Track2,
		Holder: r.Holder, Entry: entry, AID: r.AID, Label: r.Label,
		PANSequence: r.PANSequence, ICC: append([]byte(nil), r.ICC...),
	}
}

// String keeps the PAN and track data out of fmt output.
func (r Result) String() string {
	return fmt.Sprintf("emv %s %q %s exp %s", r.AID, r.Label, cards.Mask(r.PAN), r.Expiry)
}

// GoString keeps the PAN and track data out of %#v output.
func (r Result) GoString() string { return r.String() }

// LogValue keeps the PAN and track data out of slog output.
func (r Result) LogValue() slog.Value {
	return slog.GroupValue(slog.String("aid", r.AID), slog.String("pan", cards.Mask(r.PAN)),
		slog.String("source", string(r.Source)))
}

// candidate is an application the card offers.
type candidate struct {
	aid      []byte
	label    string
	priority int // 1 highest .. 15, 0 = none (sorted last)
}

// Read runs application selection, GPO and READ RECORD and returns the card
// data. Transport errors abort at once; card refusals of one application
// move on to the next candidate.
func Read(ctx context.Context, card Card, terminal TerminalData) (Result, error) {
	values, err := terminal.values()
	if err != nil {
		return Result{}, err
	}
	supported := terminal.AIDs
	if len(supported) == 0 {
		supported = DefaultAIDs
	}
	cands, src, err := candidates(ctx, card, supported, terminal.Interface)
	if err != nil {
		return Result{}, err
	}
	var lastErr error
	for _, c := range cands {
		res, err := readApplication(ctx, card, c, values)
		if err == nil {
			res.Source, res.Interface = src, terminal.Interface
			return res, nil
		}
		// A refused SELECT (6A82, 6283 ...) or GPO 6985 means "try the
		// next application" (EMV Book 1, 12.4); anything else is fatal.
		var se *StatusError
		if !errors.As(err, &se) || (se.Command != "SELECT" && !(se.Command == "GPO" && se.SW == SWConditionsNotSatisfy)) {
			return Result{}, fmt.Errorf("emv: application %X: %w", c.aid, err)
		}
		lastErr = fmt.Errorf("application %X: %w", c.aid, err)
	}
	if lastErr != nil {
		return Result{}, fmt.Errorf("%w (%s, %d candidates; last: %w)", ErrNoApplication, src, len(cands), lastErr)
	}
	return Result{}, fmt.Errorf("%w (%s found no candidate)", ErrNoApplication, src)
}

// candidates returns the applications to try, best first: from the PPSE,
// else from the PSE directory, else the terminal's own list.
func candidates(ctx context.Context, card Card, supported [][]byte, iface Interface) ([]candidate, Source, error) {
	if iface != Contact {
		fci, err := exchange(ctx, card, "SELECT", SelectCommand(PPSE))
		if err == nil {
			list, err := ppseEntries(fci)
			if err != nil {
				return nil, "", fmt.Errorf("emv: PPSE: %w", err)
			}
			if c := filter(list, supported); len(c) > 0 {
				return c, SourcePPSE, nil
			}
		} else if !isStatusErr(err) {
			return nil, "", err
		}
	}

	if iface != Contactless {
		list, err := pseEntries(ctx, card)
		if err == nil {
			if c := filter(list, supported); len(c) > 0 {
				return c, SourcePSE, nil
			}
		} else if !isStatusErr(err) {
			return nil, "", err
		}
	}

	c := make([]candidate, len(supported))
	for i, aid := range supported {
		c[i] = candidate{aid: aid}
	}
	return c, SourceAIDList, nil
}

func isStatusErr(err error) bool {
	var se *StatusError
	return errors.As(err, &se)
}

func ppseEntries(fci []byte) ([]candidate, error) {
	t, err := ParseTLV(fci)
	if err != nil {
		return nil, err
	}
	return entries(t.FindAll(TagDirectoryEntry)), nil
}

// maxDirRecords bounds the directory scan; real PSEs have a handful.
const maxDirRecords = 16

// pseEntries selects the PSE and reads its directory file (SFI in tag 88)
// until the card answers 6A83 (no more records).
func pseEntries(ctx context.Context, card Card) ([]candidate, error) {
	fci, err := exchange(ctx, card, "SELECT", SelectCommand(PSE))
	if err != nil {
		return nil, err
	}
	t, err := ParseTLV(fci)
	if err != nil {
		return nil, fmt.Errorf("emv: PSE FCI: %w", err)
	}
	sfi := t.Value(TagSFI)
	if len(sfi) != 1 || sfi[0] == 0 || sfi[0] > 30 {
		return nil, fmt.Errorf("emv: PSE FCI has no valid directory SFI (tag 88)")
	}
	var list []candidate
	for rec := byte(1); rec <= maxDirRecords; rec++ {
		data, err := exchange(ctx, card, "READ RECORD", ReadRecordCommand(sfi[0], rec))
		if IsStatus(err, SWRecordNotFound) {
			break
		}
		if err != nil {
			return nil, err
		}
		r, err := ParseTLV(data)
		if err != nil {
			return nil, fmt.Errorf("emv: PSE directory record %d: %w", rec, err)
		}
		list = append(list, entries(r.FindAll(TagDirectoryEntry))...)
	}
	return list, nil
}

func entries(objs []TLV) []candidate {
	var out []candidate
	for _, e := range objs {
		aid := e.Children.Value(TagAID)
		if len(aid) < 5 || len(aid) > 16 {
			continue // not a usable ADF name
		}
		c := candidate{aid: aid, label: label(e.Children)}
		if p := e.Children.Value(TagPriority); len(p) == 1 {
			// Bit 8 asks for cardholder confirmation; an unattended
			// read cannot ask, so only the priority nibble is used.
			c.priority = int(p[0] & 0x0F)
		}
		out = append(out, c)
	}
	return out
}

func label(t TLVs) string {
	if l := t.Value(TagLabel); len(l) > 0 {
		return strings.TrimSpace(string(l))
	}
	return strings.TrimSpace(string(t.Value(TagPreferredName)))
}

// filter keeps the card's applications the terminal supports and orders
// them by priority indicator (1 first, "no priority" last), keeping card
// order among equals.
func filter(list []candidate, supported [][]byte) []candidate {
	var out []candidate
	for _, c := range list {
		for _, s := range supported {
			if bytes.HasPrefix(c.aid, s) {
				out = append(out, c)
				break
			}
		}
	}
	rank := func(p int) int {
		if p == 0 {
			return 16
		}
		return p
	}
	sort.SliceStable(out, func(i, j int) bool { return rank(out[i].priority) < rank(out[j].priority) })
	return out
}

// maxRecords bounds the READ RECORDs of one transaction; an AFL can name
// thousands, a real card a dozen.
const maxRecords = 64

func readApplication(ctx context.Context, card Card, c candidate, values map[Tag][]byte) (Result, error) {
	fciData, err := exchange(ctx, card, "SELECT", SelectCommand(c.aid))
	if err != nil {
		return Result{}, err
	}
	fci, err := ParseTLV(fciData)
	if err != nil {
		return Result{}, fmt.Errorf("FCI: %w", err)
	}
	aid := fci.Value(TagDFName)
	if len(aid) == 0 {
		aid = c.aid
	}

	dol, err := ParseDOL(fci.Value(TagPDOL))
	if err != nil {
		return Result{}, fmt.Errorf("PDOL: %w", err)
	}
	pdolData, err := BuildDOLData(dol, values)
	if err != nil {
		return Result{}, err
	}
	gpoData, err := exchange(ctx, card, "GPO", GPOCommand(pdolData))
	if err != nil {
		return Result{}, err
	}
	gpo, aip, aflBytes, err := parseGPO(gpoData)
	if err != nil {
		return Result{}, err
	}
	afl, err := ParseAFL(aflBytes)
	if err != nil {
		return Result{}, err
	}

	var records TLVs
	n := 0
	for _, e := range afl {
		for rec := int(e.First); rec <= int(e.Last); rec++ {
			if n++; n > maxRecords {
				return Result{}, fmt.Errorf("%w: more than %d records", ErrBadAFL, maxRecords)
			}
			data, err := exchange(ctx, card, "READ RECORD", ReadRecordCommand(e.SFI, byte(rec)))
			if err != nil {
				return Result{}, fmt.Errorf("SFI %d record %d: %w", e.SFI, rec, err)
			}
			r, err := ParseTLV(data)
			if err != nil {
				return Result{}, fmt.Errorf("SFI %d record %d: %w", e.SFI, rec, err)
			}
			// Records in SFI 1..10 must be a single template 70 (Book 3,
			// 7.2); files 11..30 are issuer-defined and taken as they come.
			if e.SFI <= 10 && (len(r) != 1 || r[0].Tag != TagRecordTemplate) {
				return Result{}, fmt.Errorf("%w: SFI %d record %d is not a template 70", ErrMalformedTLV, e.SFI, rec)
			}
			records = append(records, r...)
		}
	}

	// Records take precedence, then the GPO response, then the FCI.
	all := append(append(append(TLVs{}, records...), gpo...), fci...)
	res := Result{
		AID:   strings.ToUpper(hex.EncodeToString(aid)),
		Label: label(fci),
		AIP:   aip,
		AFL:   afl,
	}
	if res.Label == "" {
		res.Label = c.label
	}
	if err := fillCardholder(&res, all); err != nil {
		return Result{}, err
	}
	cardVals := map[Tag][]byte{TagAIP: aip, TagDFName: aid}
	res.ICC = buildICC(all, cardVals, values)
	return res, nil
}

// parseGPO splits a GPO response into AIP and AFL. Format 1 is tag 80 with
// AIP (2 bytes) ‖ AFL; format 2 is template 77 holding 82 and 94 and, on
// contactless cards, more data such as 9F26/9F10/9F36.
func parseGPO(data []byte) (TLVs, []byte, []byte, error) {
	t, err := ParseTLV(data)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("GPO response: %w", err)
	}
	if len(t) != 1 {
		return nil, nil, nil, fmt.Errorf("%w: GPO response has %d objects, want one template", ErrMalformedTLV, len(t))
	}
	switch t[0].Tag {
	case TagRMTF1:
		v := t[0].Value
		if len(v) < 2 {
			return nil, nil, nil, fmt.Errorf("%w: GPO format 1 shorter than the AIP", ErrMalformedTLV)
		}
		return t, v[:2], v[2:], nil
	case TagRMTF2:
		aip := t[0].Children.Value(TagAIP)
		if len(aip) != 2 {
			return nil, nil, nil, fmt.Errorf("%w: GPO format 2 without a 2-byte AIP", ErrMalformedTLV)
		}
		return t, aip, t[0].Children.Value(TagAFL), nil
	default:
		return nil, nil, nil, fmt.Errorf("%w: GPO response template %s", ErrMalformedTLV, t[0].Tag)
	}
}

// fillCardholder extracts PAN, expiry, name and track 2, cross-checking 5A
// against 57 so that a card with inconsistent data is refused.
func fillCardholder(res *Result, all TLVs) error {
	var t2 Track2
	if raw := all.Value(TagTrack2); raw != nil {
		var err error
		if t2, err = ParseTrack2(raw); err != nil {
			return err
		}
		res.Track2 = t2.Hex()
		res.ServiceCode = t2.ServiceCode
	}
	if raw := all.Value(TagPAN); raw != nil {
		s := strings.TrimRight(strings.ToUpper(hex.EncodeToString(raw)), "F")
		if len(s) < 12 || len(s) > 19 || !digits(s) {
			return fmt.Errorf("emv: PAN (5A) is not 12 to 19 digits")
		}
		if t2.PAN != "" && t2.PAN != s {
			return fmt.Errorf("emv: PAN in 5A does not match track 2 (57)")
		}
		res.PAN = s
	} else {
		res.PAN = t2.PAN
	}
	if res.PAN == "" {
		return fmt.Errorf("emv: card has neither PAN (5A) nor track 2 (57)")
	}
	if raw := all.Value(TagExpiry); raw != nil {
		s := hex.EncodeToString(raw)
		if len(s) != 6 || !digits(s) {
			return fmt.Errorf("emv: expiry (5F24) is not YYMMDD")
		}
		res.Expiry = s[:4]
	} else {
		res.Expiry = t2.Expiry
	}
	res.Holder = strings.TrimSpace(string(all.Value(TagCardholderName)))
	if raw := all.Value(TagPANSequence); len(raw) == 1 {
		res.PANSequence = hex.EncodeToString(raw)
	}
	return nil
}

// terminalTags are taken from the terminal's values (what was sent in the
// PDOL); everything else in ICCTags comes from the card.
var terminalTags = map[Tag]bool{
	TagUnpredictableNumber: true, TagTVR: true, TagTransactionDate: true,
	TagTransactionType: true, TagAmount: true, TagCurrencyCode: true,
	TagCountryCode: true, TagAmountOther: true, TagTerminalCaps: true,
	TagTerminalType: true,
}

func buildICC(all TLVs, cardVals, termVals map[Tag][]byte) []byte {
	var out []byte
	for _, tag := range ICCTags {
		var v []byte
		switch {
		case terminalTags[tag]:
			v = termVals[tag]
		case cardVals[tag] != nil:
			v = cardVals[tag]
		default:
			if o, ok := all.Find(tag); ok && !tag.Constructed() {
				v = o.Value
			}
		}
		if v != nil {
			out = append(out, EncodeTLV(tag, v)...)
		}
	}
	return out
}
