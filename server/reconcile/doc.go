// Package reconcile is the matching core of reconciliation (核销): it sets
// the lines of a channel's bill for one business day against the journal's
// orders and refunds and says, for every bill line and every journal entry
// left over, what it found.
//
// Bill lines come from the channels' own files: AlipayBill reads the
// 业务明细 of an Alipay trade bill straight into Lines (FromAlipay turns
// rows of alipay.ParseBill into the same), FromWeChat the rows of
// wechat.ParseTradeBill (the ALL trade bill), FromSettlementFile the
// acquirer's file. The journal side is Journal, plain rows the store layer
// fills; Journal.Prepare builds its index ahead of Match. Money is int64 fen; fees are
// kept in 0.001 fen (WeChat Pay bills them to 0.00001 yuan) and rounded only
// in the totals.
//
// Match keys a payment line by out_trade_no (trade_no when the line has
// none) and a refund line by out_trade_no and the refund number
// (out_refund_no, Alipay's out_request_no). Each result has one Class:
//
//	Matched        the line and the journal agree
//	ChannelOnly    at the channel, not in the journal (长款: a payment the journal never saw)
//	JournalOnly    a payment the journal shows paid that no bill line carries (短款)
//	AmountDiffers  both have the payment, for different amounts
//	StateDiffers   the channel kept money for a sale the journal shows in flight,
//	               failed, closed or reversed; or the journal shows it paid and
//	               the bill has lines of it but no payment
//	RefundDiffers  a refund at the channel the journal lacks, one the journal has
//	               that the channel lacks, another amount, or another outcome
//
// A refund line of a sale the journal shows reversed or closed, for its
// whole amount, is the channel's own record of the reversal (WeChat Pay's
// REVOKED row): matched, as is the payment line it cancels. A WeChat refund
// the bill still shows PROCESSING matches a refund the journal has as done:
// the bill is frozen when it is cut. Journal entries of the neighbouring days
// may be passed too: they match lines (a payment made at 23:59:59 and
// completed after midnight is on the day the channel puts it on) but are
// never reported missing; the caller leaves out entries another day's run
// matched across days, and sees to a line matching an entry its own day's
// bill matched too.
//
// Card lines (Channel Card) come from the acquirer's daily settlement file:
// FromSettlementFile turns the rows of bank.ParseSettlementFile into
// Lines (sales are payments, voids and refunds are refunds; the fee as the
// file charges it, negative when given back). The journal side is
// Journal.Cards: the card sales, voids and refunds, keyed as the terminal
// sent them. A card line is matched by terminal, batch and trace (by
// terminal and RRN when the file has no trace or batch); an entry under
// that key with another RRN is another transaction (the line is
// ChannelOnly, the entry left over). Then, as for the wallets: a sale of
// another amount is AmountDiffers; one the journal shows in flight,
// failed, reversed or not booked is StateDiffers (the acquirer settled
// it); a void or refund the journal lacks, has of another kind or amount,
// or has in flight or failed is RefundDiffers; a sale the journal shows
// approved that no line carries is JournalOnly, a done void or refund
// RefundDiffers. A voided sale stays paid in the journal: the file lists
// it with its void, and both match.
//
// The acquirer's file follows its batches and its clock, so a card
// transaction near midnight, or in a batch settled the next day, can be on
// another day's file than its journal day. Card lines of the neighbouring
// days' files may be passed too (their SettleDay is not the day): they
// match after the day's own lines, so that a journal entry they carry is
// not reported missing, and their results are marked Neighbour and left
// out of the totals; their own day's run reports them.
//
// Totals gives, per channel, what the bill says will be settled: counts,
// gross, refunds, fees and net; for cards, net is the file's: sales less
// voids, refunds and the acquirer's fees.
//
// Storing the results and the raw bills, turning differences into
// exceptions (settling the safe ones with an audit entry) and the daily
// run are package server/dayend's; this package changes nothing.
package reconcile
