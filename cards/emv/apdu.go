package emv

import (
	"context"
	"errors"
	"fmt"
)

// Card is a smart card seen through a reader: it takes a command APDU and
// returns the response APDU, data followed by SW1 SW2. Implementations wrap
// PC/SC (SCardTransmit), a virtual card or a test script.
type Card interface {
	Transmit(ctx context.Context, apdu []byte) ([]byte, error)
}

// Directory names for SELECT by name.
var (
	PSE  = []byte("1PAY.SYS.DDF01") // contact payment system environment
	PPSE = []byte("2PAY.SYS.DDF01") // proximity (contactless) PSE
)

// Status words this package reacts to.
const (
	SWOK                   uint16 = 0x9000
	SWFileNotFound         uint16 = 0x6A82
	SWRecordNotFound       uint16 = 0x6A83
	SWConditionsNotSatisfy uint16 = 0x6985
)

// StatusError is a response whose status word is not 9000.
type StatusError struct {
	Command string // e.g. "SELECT", "GPO", "READ RECORD"
	SW      uint16
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("emv: %s returned SW %04X", e.Command, e.SW)
}

// IsStatus reports whether err is (or wraps) a StatusError with the given
// status word.
func IsStatus(err error, sw uint16) bool {
	var se *StatusError
	return errors.As(err, &se) && se.SW == sw
}

// SelectCommand builds SELECT by name (first or only occurrence), with Le=00.
func SelectCommand(name []byte) []byte {
	c := []byte{0x00, 0xA4, 0x04, 0x00, byte(len(name))}
	c = append(c, name...)
	return append(c, 0x00)
}

// GPOCommand builds GET PROCESSING OPTIONS with the PDOL data wrapped in
// command template 83. pdolData may be empty (no PDOL: 83 00).
func GPOCommand(pdolData []byte) []byte {
	body := EncodeTLV(TagCommandTemplate, pdolData)
	c := []byte{0x80, 0xA8, 0x00, 0x00, byte(len(body))}
	c = append(c, body...)
	return append(c, 0x00)
}

// ReadRecordCommand builds READ RECORD for record rec of short file sfi
// (P2 = SFI<<3 | 4, "P1 is a record number").
func ReadRecordCommand(sfi, rec byte) []byte {
	return []byte{0x00, 0xB2, rec, sfi<<3 | 0x04, 0x00}
}

// GetResponseCommand builds GET RESPONSE for le bytes (0 means 256).
func GetResponseCommand(le byte) []byte {
	return []byte{0x00, 0xC0, 0x00, 0x00, le}
}

// maxChained bounds 61xx/6Cxx round trips so that a broken card cannot keep
// the reader in a loop.
const maxChained = 32

// Transceive sends a command and returns the response data and status word.
// It hides the T=0 transport quirks (EMV Book 1, 9.3): 61xx means more data
// is waiting and is fetched with GET RESPONSE (repeatedly, concatenating),
// and 6Cxx means "wrong Le, resend with Le=xx". The command name is used in
// errors only.
func Transceive(ctx context.Context, card Card, name string, apdu []byte) ([]byte, uint16, error) {
	var data []byte
	cmd := apdu
	for i := 0; i < maxChained; i++ {
		if err := ctx.Err(); err != nil {
			return nil, 0, fmt.Errorf("emv: %s: %w", name, err)
		}
		resp, err := card.Transmit(ctx, cmd)
		if err != nil {
			return nil, 0, fmt.Errorf("emv: %s: transmit: %w", name, err)
		}
		if len(resp) < 2 {
			return nil, 0, fmt.Errorf("emv: %s: response of %d bytes has no status word", name, len(resp))
		}
		sw1, sw2 := resp[len(resp)-2], resp[len(resp)-1]
		data = append(data, resp[:len(resp)-2]...)
		switch sw1 {
		case 0x61:
			cmd = GetResponseCommand(sw2)
		case 0x6C:
			if len(cmd) < 5 {
				return nil, 0, fmt.Errorf("emv: %s: card asked for Le=%02X on a command without Le", name, sw2)
			}
			// The last byte of a case-2/case-4 short APDU is Le.
			c := append([]byte(nil), cmd...)
			c[len(c)-1] = sw2
			cmd = c
		default:
			return data, uint16(sw1)<<8 | uint16(sw2), nil
		}
	}
	return nil, 0, fmt.Errorf("emv: %s: more than %d chained responses", name, maxChained)
}

// exchange is Transceive that turns any status other than 9000 into a
// StatusError.
func exchange(ctx context.Context, card Card, name string, apdu []byte) ([]byte, error) {
	data, sw, err := Transceive(ctx, card, name, apdu)
	if err != nil {
		return nil, err
	}
	if sw != SWOK {
		return nil, &StatusError{Command: name, SW: sw}
	}
	return data, nil
}
