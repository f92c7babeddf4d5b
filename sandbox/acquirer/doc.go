// Package acquirer is the stand-in acquirer host (银行卡收单主机) that
// posserver's bank link talks to in demo mode, in tests and wherever no
// bank is configured. It speaks, over TCP, exactly what
// server/connector/bank's Client speaks: our CUP-style ISO 8583 spec
// (bank.Spec) framed with a 2-byte length header, X9.19 MACs in field 64,
// and working keys delivered in field 62 of the 0810 sign-on.
//
// Why a wire-level host rather than an in-process fake: framing, MACs, PIN
// block encryption, sign-on keys, timeouts and reversals of lost answers are
// where a bank link breaks, and they are only exercised on a real socket.
//
// What it does:
//   - 0800 sign-on: fresh PIN and MAC working keys per terminal, sent in
//     field 62 under the terminal master key (Options.MasterKey).
//   - Every other request must carry a valid MAC under the terminal's MAC
//     working key; otherwise 39=A0, MACed when the host has a key.
//   - 0200 sale (000000): the PIN block (format 0 under the PIN working key)
//     is checked against the test card's PIN; see TestCards for the cards
//     and what each one answers. Three wrong PINs lock the card (75).
//   - 0200 void (200000, field 61 = batch+trace of the sale): same day,
//     full amount, original approved and neither voided nor reversed.
//   - 0220 refund (field 61 = batch+trace+MMDD): partial allowed while the
//     refunds add up to at most the original amount.
//   - 0200 balance inquiry (310000): bank.Spec has no field 54, so the
//     balance goes in field 4 of the 0210, n12 fen (absent means 0).
//   - 0400 reversal: a copy of the original, as UnionPay POS send it.
//
// Messages are matched as a real host matches them: by terminal (41),
// merchant (42), batch (60.2) and trace (11). A trace names one message in
// a batch: a repeat of the same message gets the same answer (re-MACed
// under the current key) and books nothing twice; another message under a
// trace the batch has used (a void reusing a sale's trace, a balance
// inquiry reusing a refund's) is refused with 94 and booked nowhere. A
// reversal must name its original exactly: found by the same key, with
// its processing code, amount, entry mode, card sequence number, condition
// code, currency and fields 60 and 61 as the original had them. Then the
// original is undone if it was booked approved (00, and repeatable); a
// reversal that matches nothing is refused with 25 (and an original that
// arrives after it, with 94); one that disagrees with its original is
// refused with 12 and undoes nothing.
//
// Response codes when a request is refused: 03 unknown terminal, 12 void or
// refund of a transaction that cannot be voided or refunded, or a reversal
// that disagrees with its original, 13 amount (void not the full amount,
// refunds above the original), 14 unknown card, 25 original not found, 30
// no batch in field 60, 54 expired, 55 wrong PIN, 75 PIN tries exceeded,
// 51 insufficient funds, 91 issuer unavailable, 94 trace already used in
// the batch.
//
// Secrets: logs carry masked PANs only (bank.MaskPAN), never track 2, PIN
// blocks or keys. The test cards' full PANs are public demo numbers.
//
// # Control API
//
// Tests drive the host through Go methods (DropNext, DelayNext,
// FailNextReversals, DropNextReversals, Ledger, Calls, Reversals); a
// process of its own (`posserver sandbox -bank … -bank-control …`) offers
// the same over HTTP from ControlHandler: JSON in, JSON out, errors as
// {"error":"…"} with 400 or 404. It has no authentication: never expose it
// beyond the machine or a test network.
//
//	GET  /control/ledger[?terminal=T…][&since=N]
//	                        the ledger from index N on (of those terminals):
//	                        index, type, terminal, merchant, trace, batch
//	                        (when kept), original, amount, masked_pan,
//	                        response_code, approved, reversed, voided,
//	                        refunded, charged (what it still takes), rrn,
//	                        auth_code, date, at
//	POST /control/faults    {"drop_next":N,"delay_next":"3s","fail_reversals":N,
//	                         "fail_code":"96","drop_reversals":N}
//	                        each field set arms that fault (counts add up)
//	GET  /control/faults    the faults armed and not spent yet, in the same form
//	GET  /control/calls     {"calls":N,"reversals":N}
package acquirer
