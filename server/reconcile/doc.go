// Package reconcile is the matching core of reconciliation (核销): it sets
// the lines of a channel's bill for one business day against the journal's
// orders and refunds and says, for every bill line and every journal entry
// left over, what it found.
//
// Bill lines come from the channels' own files: FromAlipay turns the rows of
// alipay.ParseBill (the 业务明细 of the trade bill) into Lines, FromWeChat
// those of wechat.ParseTradeBill (the ALL trade bill). The journal side is
// Journal, plain rows the store layer fills. Money is int64 fen; fees are
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
// never reported missing; the caller leaves out entries already matched on
// another day's run.
//
// Totals gives, per channel, what the bill says will be settled: counts,
// gross, refunds, fees and net.
//
// Still to come, in later steps: card lines from the acquirer's settlement
// file, matched by terminal, batch, trace, RRN and amount; storing the
// results and the raw bills; turning differences into exceptions (settling
// the safe ones with an audit entry); and the `posserver reconcile`
// command with its daily run.
package reconcile
