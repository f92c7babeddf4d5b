// Package dayend runs reconciliation (核销): for one business day and one
// channel it fetches the channel's bill (or takes one downloaded by hand),
// keeps it as received, matches it with the journal (package
// server/reconcile, the pure core), settles what is safe to settle and
// leaves every other difference to an operator as an exception. Nothing is
// ever changed silently: what a run settles goes through the journal's
// normal compare-and-set (its history names the actor "reconcile") and is
// written to the reconciliation audit; an exception stays open until
// someone resolves it with a note (store.ResolveException, audited too).
//
// A channel plugs in with a BillSource: fetch a day's bill as raw bytes,
// parse raw bytes into reconcile.Lines, recognise its own bills (for an
// import that does not name the channel). AlipayBills is Alipay's.
//
// A run (Runner.Run):
//
//  1. claims the day and channel in the database (store.ClaimReconRun):
//     one runner at a time among all instances; a command reruns a day
//     (Force), the daily run never does;
//  2. fetches the bill; one not cut yet (ErrNotReady), or a channel out of
//     reach, leaves the run waiting, tried again RetryEvery later until
//     Wait after its first try, then failed (a run by hand says so at once
//     instead, leaving the day's run as it was);
//  3. keeps the bill as received under Dir/<channel>/ (0600 files in
//     0700 folders), named by day, source and SHA-256, which the run
//     records, so a dispute can be replayed;
//  4. parses the bill while it loads the journal of the day and its
//     neighbours (store.ReconJournal: a payment of 23:59:59 completed at
//     00:00:01 is on the day the channel puts it on; an entry another
//     day's run matched across days is not offered again), then matches;
//     a line matched with a neighbour's entry that the neighbour's own bill
//     matched already is a second line of one payment (billedTwice): at
//     the channel only;
//  5. settles the safe differences, below; marks every other difference an
//     exception;
//  6. stores every result line, the exceptions and the totals in one
//     database transaction (store.FinishReconRun; a payment line that
//     matched a paid order of the day exactly, trade number and all, as a
//     store.MatchedLine, packed). A rerun replaces the
//     lines but keeps each exception it finds again as it was (resolved
//     stays resolved); an open exception it no longer finds, and a
//     neighbouring day's "not at the channel" exception whose entry this
//     bill carries, are resolved by "reconcile", audited.
//
// Safe to settle, and only this: a payment the journal has in flight
// (CREATED, PENDING or UNKNOWN; not CANCELLING, whose money is on its way
// back) that the bill shows paid for the journal's amount, with no refund
// of it on the bill (class state_differs). It moves to SUCCESS with the
// bill's trade number, actor "reconcile". Should the order have moved
// meanwhile, or its sale be paid by another attempt, the difference stays
// an exception. Everything else — at the channel but not in the journal,
// in the journal but not at the channel, amounts, states or refunds that
// differ — is an exception.
//
// The journal's wallet refunds are those of orders closed with their money
// given back (CLOSED, reason refunded, amount_mismatch or double_payment):
// the bill shows the refund (out_refund_no "rf"+order id) or the reversal
// for the whole amount, which matching pairs with the order.
//
// Daily runs the previous business day of every channel each day from a
// time of day in the business zone (config reconcile_at, DefaultAt), on
// every instance; the claim lets one of them run each day and channel.
// Collector exposes the open exceptions and each channel's last run to
// Prometheus (multipos_reconcile_open_exceptions{channel},
// multipos_reconcile_last_run_timestamp_seconds{channel,status},
// multipos_reconcile_last_day_timestamp_seconds{channel}).
package dayend
