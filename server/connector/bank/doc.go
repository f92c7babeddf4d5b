// Package bank is the ISO 8583 connector to a bank card acquirer (银行卡收单),
// in the style of a China UnionPay POS terminal: it builds and parses the
// 0200/0210, 0220/0230, 0400/0410, 0800/0810 and the settlement's 0500/0510
// and 0320/0330 messages, computes the POS MAC in field 64, and talks to the
// host over TCP with a 2-byte binary length header. Client implements
// connector.Acquirer and connector.BatchSettler.
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
// # Batch settlement (批结算)
//
// As UnionPay POS settle (sources: ../shared/notes/emv-and-settlement.md
// §D; [LYPOS] is CaoEnXin/LiaoYang_POS Src/, a production-style UnionPay
// POS application; [FS-5] is com.centerm.epos SettlementTrade.java):
//   - 0500 (Settle, NewSettle): no field 3 or 4; 11 a new trace of the
//     batch, 41, 42, 49 = 156, 63 the operator, 60 = 00 + batch + 201, and
//     48 = 62 digits: domestic (内卡) debit amount n12, debit count n3,
//     credit amount n12, credit count n3, settle flag n1 (0), then the same
//     31 digits for foreign cards (外卡) [LYPOS tranproc.c PosSettleTran,
//     globalvar.c]. We have no foreign cards: their 31 digits are zeros.
//   - What counts (connector.TotalsOf) [LYPOS posfiles.c ComputeTransTotal]:
//     debits are the sales, voided or not; credits are the voids and the
//     refunds. A void nets out its sale while both stay counted.
//   - 0510: 39 = 00 and field 48 the same 62 digits with the settle flags
//     at offsets 30 (domestic) and 61 (foreign): 1 balanced (对账平), 2 out
//     of balance (对账不平), 3 error [LYPOS trancomm.c]. Balanced means
//     both flags are 1.
//   - Out of balance: the batch is uploaded (UploadBatch, NewUploadTxn),
//     one 0320 per transaction: its own trace in 11, 3 (000000 sale, 200000
//     void or refund), 4, 22, 23, 25, 37 and 38 of its answer, 49, 60 = its
//     type code (22, 23, 25) + batch + 201, 61 as it was sent, 63 = CUP.
//     LYPOS uploads refunds and chip transactions one per 0320 like this,
//     but magnetic-stripe ones 8 to a message in field 48, with their card
//     numbers; ours go one per 0320 and without the card number, which the
//     server never keeps: the host finds each by terminal, merchant, batch
//     and trace [LYPOS tranproc.c BatchSendOffTrans2_Refund,
//     BatchMagOnLineTrans, BatchSendICCOnLineTrans].
//   - The end (批上送结束, EndUpload, NewUploadEnd): 0320 with a new
//     trace, 48 = the count uploaded (n4) and 60 = 00 + batch + 202 after
//     an out-of-balance settlement, 207 after a balanced one (then with
//     nothing uploaded: chip data uploads (203) need the TC, which we do
//     not keep) [LYPOS tranproc.c PosBatchUp; FS-5: "对账不平，批上送结束为
//     207，应该为202"]. The 0330's 00 closes the batch; the terminal then
//     starts its next batch number.
//   - Our host's choices where the sources are silent: an end whose upload
//     does not add up to the totals settled is answered 95 (ISO 8583
//     "reconcile error"): upload and end again; a 0500 for a batch already
//     closed is compared with what it was settled on, so settling again
//     after the upload (or after a lost answer) says balanced.
//
// The acquirer's daily settlement file (对账文件, settlefile.go): its
// layout differs from acquirer to acquirer, so ParseSettlementFile finds
// columns by header name, English or Chinese (终端号, 批次号, 凭证号/流水号,
// 参考号, 授权码, 交易类型 消费/撤销/退货, 交易时间, 交易金额, 手续费, 结算金额,
// 卡号, 清算日期, 结算状态…; bilingual names such as "终端号/terminal"
// too), in any order, amounts in yuan unless the header says fen (分); it
// takes UTF-8 with or without a BOM or GBK, CRLF, trailing separators, tab
// separation, title lines before the header and summary lines (合计)
// after, and masks a full card number if a file carries one. One line is
// one record: quoted fields spanning lines are not read. The layout
// sandbox/acquirer writes is ours, not any acquirer's; map a real one by
// adding its names to settleNames. FetchSettlementFile gets day's file
// from [bank] settlement_files ({date} = YYYYMMDD): a folder the acquirer
// drops files into by SFTP, or an https URL; ImportSettlementFile reads
// one a clerk downloaded; SaveSettlementFile keeps it 0600 in a 0700
// folder. Not produced yet is ErrSettlementFileNotReady.
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
