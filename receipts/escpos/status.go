package escpos

import "fmt"

// Status queries (DLE EOT n). Each is answered by one byte whose bits 1 and
// 4 are always set and bits 0 and 7 always clear, which is how an answer
// is told from noise.
const (
	StatusPrinter byte = 1 // bit 3: offline
	StatusOffline byte = 2 // why offline: bit 2 cover open, bit 5 paper end, bit 6 error
	StatusError   byte = 3 // bit 3 cutter, bit 5 unrecoverable, bit 6 auto-recoverable
	StatusPaper   byte = 4 // bits 2+3: near end, bits 5+6: paper out
)

// TransmitPaper is GS r 1: "transmit paper sensor status". Unlike DLE
// EOT it waits its turn in the data, so its answer says the printer has
// got through everything sent before it.
func TransmitPaper() []byte { return []byte{GS, 'r', 1} }

// ValidPaper says b can be an answer to GS r 1: bits 4 and 7 clear, which
// no DLE EOT answer is. Bits 0–1 are paper near end, bits 2–3 paper out.
func ValidPaper(b byte) bool { return b&0x90 == 0 }

// PaperAnswer is the GS r 1 answer of a printer in state s.
func (s Status) PaperAnswer() byte {
	var b byte
	if s.PaperLow {
		b |= 0x03
	}
	if s.PaperOut {
		b |= 0x0C
	}
	return b
}

// Query is the DLE EOT n command.
func Query(n byte) []byte { return []byte{DLE, EOT, n} }

// Status is what a printer said about itself.
type Status struct {
	Offline     bool
	CoverOpen   bool
	PaperOut    bool
	PaperLow    bool // near end: print, but tell the cashier
	Error       bool // cutter jam, head too hot, …
	Unrecovered bool // needs service: switch off and on at least
}

// Ready says a receipt can be printed now.
func (s Status) Ready() bool {
	return !s.Offline && !s.CoverOpen && !s.PaperOut && !s.Error && !s.Unrecovered
}

// ErrBadStatus is an answer that is not a DLE EOT status byte.
type ErrBadStatus struct {
	Query, Answer byte
}

func (e ErrBadStatus) Error() string {
	return fmt.Sprintf("printer answered DLE EOT %d with %#02x, not a status byte", e.Query, e.Answer)
}

// Valid says b has the fixed bits of a status byte.
func Valid(b byte) bool { return b&0x93 == 0x12 }

// Apply adds the answer b to query n to s.
func (s *Status) Apply(n, b byte) error {
	if !Valid(b) {
		return ErrBadStatus{n, b}
	}
	switch n {
	case StatusPrinter:
		s.Offline = s.Offline || b&0x08 != 0
	case StatusOffline:
		s.CoverOpen = s.CoverOpen || b&0x04 != 0
		s.PaperOut = s.PaperOut || b&0x20 != 0
		s.Error = s.Error || b&0x40 != 0
	case StatusError:
		s.Error = s.Error || b&0x48 != 0
		s.Unrecovered = s.Unrecovered || b&0x20 != 0
	case StatusPaper:
		s.PaperLow = s.PaperLow || b&0x0C != 0
		s.PaperOut = s.PaperOut || b&0x60 != 0
	}
	return nil
}

// Answer is the byte a printer in state s gives to query n: the other half
// of Apply, for printer peers in tests and the demo.
func (s Status) Answer(n byte) byte {
	b := byte(0x12)
	set := func(on bool, bits byte) {
		if on {
			b |= bits
		}
	}
	switch n {
	case StatusPrinter:
		set(s.Offline || s.CoverOpen || s.PaperOut || s.Error || s.Unrecovered, 0x08)
	case StatusOffline:
		set(s.CoverOpen, 0x04)
		set(s.PaperOut, 0x20)
		set(s.Error || s.Unrecovered, 0x40)
	case StatusError:
		set(s.Error, 0x40)
		set(s.Unrecovered, 0x20)
	case StatusPaper:
		set(s.PaperLow, 0x0C)
		set(s.PaperOut, 0x60)
	}
	return b
}

// String says what is wrong, most pressing first, in words for logs.
func (s Status) String() string {
	switch {
	case s.CoverOpen:
		return "cover open"
	case s.PaperOut:
		return "paper out"
	case s.Unrecovered:
		return "unrecoverable error"
	case s.Error:
		return "error"
	case s.Offline:
		return "offline"
	case s.PaperLow:
		return "ready, paper low"
	}
	return "ready"
}
