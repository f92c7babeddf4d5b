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
//   - 0500 settlement (批结算): the terminal's totals in field 48 against
//     the host's books for that terminal, merchant and batch, counted as
//     the terminal counts them (connector.TotalsOf: approved, unreversed
//     sales as debits, voids and refunds as credits). The 0510 says 00 with
//     the settle flag 1 (balanced) or 2 (out of balance) in field 48.
//   - 0320 batch upload (批上送), after out of balance: each transaction is
//     recorded as the terminal uploads it. The end (0320, 60.3 = 202)
//     settles the batch on the terminal's detail when that adds up to its
//     totals (else 95): an entry the host lost comes back into its books,
//     one it has that the terminal did not upload is left out of the batch
//     (Excluded), and both kinds of difference show in Batches. After a
//     balanced settlement the end is 60.3 = 207. Either closes the batch.
//   - A closed batch: a sale, void, refund, balance inquiry or reversal
//     naming it is refused with 77 (the terminal must move to its next
//     batch, where the same trace is a new message), and so is a void of a
//     sale in it (12: refund it instead); a 0500 for it is compared with
//     what it was settled on.
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
// no batch in field 60 (or a settlement's field 48 malformed), 54
// expired, 55 wrong PIN, 75 PIN tries exceeded, 51 insufficient funds, 77
// batch settled and closed, 91 issuer unavailable, 94 trace already used
// in the batch (or another transaction uploaded under an uploaded trace),
// 95 an upload that does not add up to its settlement; 12 also for an
// upload without a settlement under way, and an end with 207 after out of
// balance.
//
// # The daily settlement file (对账文件)
//
// Each business day (China Standard Time, the host's clock) has a file,
// settlement-YYYYMMDD.csv, that follows the batches: day D's lists the
// transactions of every batch settled on D, each once. A batch is settled
// when the terminal closes it (balanced: end 207, status balanced; out of
// balance: on its upload, end 202, status uploaded, with the uploaded
// transactions the host never booked and without those the terminal did
// not upload), or at the host's own day cut (日切) at midnight: what the
// terminals left open is settled on the host's books and listed with
// status host_cut. The batch stays open for its terminal (0500 and 0320
// behave as above); what it books after the cut goes on the file of the
// day the terminal closes it, or of the next cut. Declined and reversed
// transactions, and entries the host lost (DropEntry), are not listed;
// planted ones (AddEntry) are. The cut runs at the first request or file
// request after midnight, or at once when Advance moves the host's
// business clock past midnight (a trainer ending the day); the file is
// then frozen, written to SettlementDir (0600) and served at GET /files/….
//
// The layout is ours (real acquirers each have theirs; the server maps
// columns by header name, see bank.ParseSettlementFile): CSV, UTF-8,
// header line
//
//	settle_date,merchant,terminal,batch,trace,rrn,auth_code,type,txn_time,
//	amount,fee,net,card_no,result,settle_status
//
// settle_date YYYYMMDD; type sale, void or refund; txn_time "2006-01-02
// 15:04:05" CST; amount, fee and net in yuan with two decimals; amount
// positive; fee the merchant discount rate (Options.MDR, basis points,
// default 0.60%, half up to the fen), given back (negative) on voids and
// refunds; net = amount - fee for a sale, -amount - fee otherwise;
// card_no masked; result approved or voided (a sale a void cancelled,
// listed with its void).
//
// Secrets: logs carry masked PANs only (bank.MaskPAN), never track 2, PIN
// blocks or keys. The test cards' full PANs are public demo numbers.
//
// # Control API
//
// Tests drive the host through Go methods (DropNext, DelayNext,
// FailNextReversals, DropNextReversals, DropEntry, AddEntry, EditFileLine,
// Ledger, Batches, Calls, Reversals, SettlementFileData, WriteSettlement,
// Now, Advance); a
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
//	                        auth_code, date, at, lost, planted, excluded,
//	                        listed_on (the settlement file's day, YYYYMMDD)
//	POST /control/faults    {"drop_next":N,"delay_next":"3s","fail_reversals":N,
//	                         "fail_code":"96","drop_reversals":N}
//	                        each field set arms that fault (counts add up)
//	GET  /control/faults    the faults armed and not spent yet, in the same form
//	GET  /control/calls     {"calls":N,"reversals":N}
//	POST /control/books/drop {"terminal":T,"merchant":M,"batch":B,"trace":N}
//	                        the host loses that approved entry (404 if none)
//	POST /control/books/add {"terminal":T,"merchant":M,"batch":B,"trace":N,
//	                         "type":"sale"|"void"|"refund","amount":fen}
//	                        the host books one the terminal never sent; the
//	                        answer is the entry as the ledger shows it
//	GET  /control/batches[?terminal=T…]
//	                        batches with a settlement: terminal, merchant,
//	                        batch, state (settling, closed), flag, claimed,
//	                        books, settled (debit/credit counts and
//	                        amounts), uploaded, not_uploaded, not_booked
//	POST /control/file/line {"terminal":T,"merchant":M,"batch":B,"trace":N,
//	                         "amount":fen,"fee":fen}
//	                        the settlement file lists that entry with
//	                        another amount and/or fee than the books (404
//	                        no such entry, 409 already listed)
//	POST /control/clock {"advance":"27h"}
//	                        moves the business clock ahead (the day cut
//	                        it crosses runs at once); answers {"now":…}
//	GET  /files/settlement-YYYYMMDD.csv
//	                        the day's settlement file (text/csv), 404
//	                        until the host has closed the day
//
// The differences reconciliation must find are planted with these: a sale
// or refund the terminal never sent (books/add), one the host lost
// (books/drop), another amount or fee (file/line).
package acquirer
