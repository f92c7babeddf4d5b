// Package bank is the ISO 8583 connector to a bank card acquirer (银行卡收单),
// in the style of a China UnionPay POS terminal: it builds and parses the
// 0200/0210, 0220/0230, 0400/0410 and 0800/0810 messages, computes the POS
// MAC in field 64, and talks to the host over TCP with a 2-byte binary length
// header. Client implements connector.Acquirer.
//
// Why our own spec: real CUPS and acquirer specifications are confidential and
// differ per bank (BCD or ASCII numerics, TPDU headers, field 60 layout). The
// spec here is data (Spec), so a bank's variant is a copy with a few fields
// changed, not a new code path. It also fixes two moov-io/iso8583 v0.26.1
// traps: its stock Spec87ASCII field 52 does not round-trip (it is defined
// here as 8 raw bytes), and zero values are skipped unless tagged keepzero.
//
// Encoding: MTI and every numeric or text field are ASCII, LLVAR/LLLVAR
// lengths are ASCII digits, the bitmap and fields 52, 55, 62 and 64 are raw
// binary. Many CUP hosts use BCD numerics instead; switching means editing
// Spec only.
//
// Message choices (the ones a bank spec leaves open):
//   - sale: 0200, processing code 000000, condition code 00.
//   - balance inquiry: 0200, processing code 310000, no amount.
//   - void (消费撤销): 0200, processing code 200000, condition code 00, field 37
//     the sale's RRN and field 61 = original batch(6) + original trace(6).
//   - refund (退货): 0220, processing code 200000, condition code 00, field 37
//     the sale's RRN and field 61 = batch(6) + trace(6) + original date MMDD(4).
//     The host answers 0230. We chose 0220 rather than 0200+200000 because
//     an 0200 with 200000 is already the void; the MTI, not the presence of a
//     date, then tells the host which one we mean.
//   - reversal (冲正): 0400 with the original message's trace in field 11 and
//     reason code 98 (no response) in field 39; the host answers 0410.
//   - sign-on (签到): 0800 with field 60 = "00" + batch(6) + "004" (double
//     length keys); the host answers 0810 with field 62 = the PIN key
//     encrypted under the terminal master key (16) + its check value (4) +
//     the MAC key encrypted likewise (16) + its check value (4).
//
// Field 60 of financial messages = transaction type (2: 22 sale, 23 void,
// 25 refund, 01 balance) + batch (6), the CUP 60.1/60.2 layout.
//
// What the terminal side shares with this connector lives in packages of
// their own, so that the station's client links no ISO 8583: the working
// keys, key check values and the X9.19 MAC in cardkeys (SignMessage and
// VerifyMessage here apply the MAC to field 64), the cashier's texts of
// the response codes in cards (cards.ResponseText).
//
// Secrets: never log a full PAN, track 2 or PIN block. Message.String masks
// them; use it rather than %v on the fields.
//
// Money is int64 fen everywhere (field 4 is n12 fen).
package bank
