package bank

import (
	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/encoding"
	"github.com/moov-io/iso8583/field"
	"github.com/moov-io/iso8583/padding"
	"github.com/moov-io/iso8583/prefix"
)

// Spec is our UnionPay-style POS message spec (fields 0-64, binary bitmap,
// ASCII numerics). It is shared and must not be modified; copy it for a
// bank's variant.
var Spec = &iso8583.MessageSpec{
	Name: "multipos CUP-style POS (ASCII numerics, binary bitmap)",
	Fields: map[int]field.Field{
		0: str(4, "Message Type Indicator", fixedASCII),
		// Only a primary bitmap: nothing above 64 is used, and refusing to
		// expand keeps a stray bit 1 from swallowing 8 more bytes.
		1: field.NewBitmap(&field.Spec{
			Length:            8,
			Description:       "Bitmap",
			Enc:               encoding.Binary,
			Pref:              prefix.Binary.Fixed,
			DisableAutoExpand: true,
		}),
		2:  str(19, "Primary Account Number", prefix.ASCII.LL),
		3:  str(6, "Processing Code", fixedASCII),
		4:  num(12, "Amount, Transaction (fen)"),
		11: str(6, "System Trace Audit Number", fixedASCII),
		12: str(6, "Time, Local Transaction (hhmmss)", fixedASCII),
		13: str(4, "Date, Local Transaction (MMDD)", fixedASCII),
		14: str(4, "Date, Expiration (YYMM)", fixedASCII),
		22: str(3, "Point of Service Entry Mode", fixedASCII),
		23: str(3, "Card Sequence Number", fixedASCII),
		25: str(2, "Point of Service Condition Code", fixedASCII),
		35: str(37, "Track 2 Data", prefix.ASCII.LL),
		37: str(12, "Retrieval Reference Number", fixedASCII),
		38: str(6, "Authorization Identification Response", fixedASCII),
		39: str(2, "Response Code", fixedASCII),
		41: str(8, "Card Acceptor Terminal Identification", fixedASCII),
		42: str(15, "Card Acceptor Identification Code", fixedASCII),
		// Field 48 carries the batch totals of a settlement and the count
		// of a batch upload's end (n..322 in the CUP POS spec).
		48: str(322, "Additional Data (settlement totals, upload count)", prefix.ASCII.LLL),
		49: str(3, "Currency Code, Transaction", fixedASCII),
		// Field 52 is 8 raw bytes (the encrypted ISO 9564 format 0 block).
		// Spec87ASCII declares it as 16 hex characters and does not
		// round-trip, which is why this spec exists.
		52: bin(8, "PIN Data", prefix.Binary.Fixed),
		53: str(16, "Security Related Control Information", fixedASCII),
		55: bin(255, "ICC Data (EMV TLV)", prefix.ASCII.LLL),
		60: str(999, "Reserved Private (batch, network management code)", prefix.ASCII.LLL),
		61: str(999, "Original Message Data", prefix.ASCII.LLL),
		62: bin(999, "Reserved Private (working keys)", prefix.ASCII.LLL),
		63: str(163, "Reserved Private (operator, card organisation)", prefix.ASCII.LLL),
		64: bin(8, "Message Authentication Code", prefix.Binary.Fixed),
	},
}

var fixedASCII = prefix.ASCII.Fixed

func str(length int, desc string, pref prefix.Prefixer) *field.String {
	return field.NewString(&field.Spec{Length: length, Description: desc, Enc: encoding.ASCII, Pref: pref})
}

func num(length int, desc string) *field.Numeric {
	return field.NewNumeric(&field.Spec{
		Length:      length,
		Description: desc,
		Enc:         encoding.ASCII,
		Pref:        prefix.ASCII.Fixed,
		Pad:         padding.Left('0'),
	})
}

func bin(length int, desc string, pref prefix.Prefixer) *field.Binary {
	return field.NewBinary(&field.Spec{Length: length, Description: desc, Enc: encoding.Binary, Pref: pref})
}
