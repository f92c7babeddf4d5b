package pcsc

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ebfe/scard"

	"github.com/multipos/multipos/cards/emv"
)

// SlotState is a reader's state as the doctor reports it.
type SlotState string

const (
	SlotEmpty       SlotState = "empty"
	SlotCard        SlotState = "card present"
	SlotMute        SlotState = "mute"
	SlotInUse       SlotState = "in use"
	SlotUnavailable SlotState = "unavailable"
)

var slotZh = map[SlotState]string{
	SlotEmpty: "无卡", SlotCard: "有卡", SlotMute: "卡片无响应", SlotInUse: "被占用", SlotUnavailable: "不可用",
}

// ReaderReport is one reader in the doctor's report. It holds the masked
// card number only.
type ReaderReport struct {
	Name   string
	State  SlotState
	ATR    string // hex, when a card is in
	AID    string // the application read, when a card was read
	Label  string
	Source emv.Source
	Masked string // 621234******0001
	Expiry string // MM/YY
	Err    error  // why the card in the reader could not be read
}

// Report is what Doctor found.
type Report struct {
	Readers []ReaderReport
}

// Doctor lists every PC/SC reader with its state and reads the card in
// each reader that has one. It fails with ErrNoService when pcscd is not
// running and ErrNoReader when it has no reader; a card that cannot be
// read is reported in its reader's entry, not as an error.
func Doctor(ctx context.Context, td emv.TerminalData) (Report, error) {
	sc, err := scard.EstablishContext()
	if err != nil {
		return Report{}, serviceErr("connect to pcscd", err)
	}
	defer func() { _ = sc.Release() }()
	names, err := sc.ListReaders()
	if err != nil {
		return Report{}, serviceErr("list readers", err)
	}
	if len(names) == 0 {
		return Report{}, ErrNoReader
	}
	rs := make([]scard.ReaderState, len(names))
	for i, n := range names {
		rs[i] = scard.ReaderState{Reader: n, CurrentState: scard.StateUnaware}
	}
	if err := getStatusChange(sc, rs, 0); err != nil && !errors.Is(err, scard.ErrTimeout) {
		return Report{}, serviceErr("reader states", err)
	}
	var rep Report
	for i, n := range names {
		ev := rs[i].EventState
		rr := ReaderReport{Name: n, State: StateOf(ev)}
		if ev&scard.StatePresent != 0 && len(rs[i].Atr) > 0 {
			rr.ATR = fmt.Sprintf("%X", rs[i].Atr)
		}
		if rr.State == SlotCard {
			res, err := readCard(ctx, sc, n, td)
			if err != nil {
				rr.Err = err
			} else {
				c := res.Card()
				rr.AID, rr.Label, rr.Source, rr.Masked, rr.Expiry = res.AID, res.Label, res.Source, c.Masked(), c.ExpiryText()
			}
		}
		rep.Readers = append(rep.Readers, rr)
	}
	return rep, nil
}

// StateOf reads a reader's state from the flag bits of an EventState; the
// upper 16 bits are an event counter and are ignored.
func StateOf(ev scard.StateFlag) SlotState {
	switch {
	case ev&(scard.StateUnavailable|scard.StateUnknown|scard.StateIgnore) != 0:
		return SlotUnavailable
	case ev&scard.StateEmpty != 0:
		return SlotEmpty
	case ev&scard.StateMute != 0:
		return SlotMute
	case ev&scard.StateExclusive != 0:
		return SlotInUse
	case ev&scard.StatePresent != 0:
		return SlotCard
	default:
		return SlotUnavailable
	}
}

// Text renders the report with each line in Chinese and English, e.g.
// "读卡器 Virtual PCD 00 00: 有卡 card present — A000000333010101 UnionPay
// Debit 621234******0001 12/30 (PSE)".
func (r Report) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "读卡器检查 PC/SC reader check: %d 个读卡器 reader(s)\n", len(r.Readers))
	for _, rr := range r.Readers {
		fmt.Fprintf(&b, "读卡器 %s: %s %s", rr.Name, slotZh[rr.State], rr.State)
		switch {
		case rr.Err != nil:
			zh, en := Message(rr.Err)
			fmt.Fprintf(&b, " — %s %s (%v)", zh, en, rr.Err)
		case rr.AID != "":
			fmt.Fprintf(&b, " — %s %s %s %s (%s)", rr.AID, rr.Label, rr.Masked, rr.Expiry, rr.Source)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// ErrorText renders a Doctor error as one Chinese and one English line.
func ErrorText(err error) string {
	zh, en := Message(err)
	return fmt.Sprintf("%s\n%s (%v)\n", zh, en, err)
}
