// Package campaign is multipos's fault campaign (issue 11): posserver run
// as its own process against the wallet and bank sandboxes, themselves a
// process of their own, with many simulated terminals selling through it
// while faults strike at seeded moments, and after each run a check of
// every money invariant against the journal and against each channel's
// own books. `make campaign` runs it (cmd/poscampaign).
//
// # Processes, ports and files
//
// Everything lives in the campaign's folder (0700; a new one under $TMPDIR
// unless -dir says, removed when every run passed):
//
//   - `posserver sandbox` (logs/sandbox.log): the Alipay and WeChat Pay
//     sandboxes (HTTP, with their control APIs) and the acquirer host (ISO
//     8583 over TCP, its control API over HTTP), which learns each
//     terminal's master key from its bundle in bundles/. It writes
//     keys/posserver-wallets.toml, the [alipay], [wechat] and [bank]
//     sections, the wallets' notify_urls pointing at the notify front.
//   - posserver (logs/posserver-N.log, posserver-N.toml): one on a SQLite
//     file (posserver.db), or two on one PostgreSQL database the campaign
//     creates (and drops) next to the -pg URL's. Short timing keys
//     (channel_timeout, sweep_interval, [confirm.*], the shortest qr_ttl)
//     and no daily limits. pki/ is shared by the instances.
//   - `posserver terminal add` for each terminal of the pool, its bundle
//     written to bundles/.
//   - In the campaign's process: the notify front, which passes each
//     wallet notification to a live instance (and loses some on
//     command); the terminals, each the station's own client code
//     (posclient.Client over mutual TLS, posclient.CardKeys for sign-on, PIN
//     blocks and MACs, the trace counter in terminals/<id>/), moving to
//     the other instance when theirs does not answer; and a read-only view
//     of the journal (store.OpenReadOnly).
//
// Every port is a free loopback port chosen at start.
//
// # Runs
//
// Run n's seed is derived from the campaign's seed (run 0's is the
// campaign seed itself) and decides the run's plan (NewPlan): for each of
// its terminals a queue of sales — card sales (approved, declined, no
// answer, swiped), Alipay and WeChat Pay QR codes (the customer pays, pays
// late, declines, walks away, or pays just as the cashier cancels),
// payment codes (paid at once, confirmed on the phone, declined on it,
// never confirmed, refused, confirmed as the cashier cancels), voids and
// partial refunds of card sales, second attempts of failed sales, replays
// with the same request id and look-ups by trace — and the faults with
// their moments: kill -9 of posserver (one of the two on PostgreSQL) and
// its restart, the bank's answers lost or late and its reversals refused
// or lost, the wallets' answers lost, late or in error, notifications
// duplicated, held back or lost, and a terminal's state folder wiped.
//
// The terminals act as the station does: a request is resent with the
// same request id when its answer is lost, then looked up by trace; a QR
// order whose creation was lost is found by trace and closed; the cashier
// waits for the customer and cancels. The customers are played through
// the wallet sandboxes' control APIs.
//
// Several runs are in flight at once (-parallel), each on terminals of its
// own, sharing the processes: a kill in one run hits the others too.
// After its traffic a run waits until each of its transactions is final
// or past its deadline (what posserver's sweeper needs, lease and
// back-off included, plus any time a posserver was down), then checks.
//
// # Invariants (Check)
//
//   - lost: a sale the terminal saw paid that the journal does not have
//     (SUCCESS, of its amount, made by the sale's own request);
//   - double charged: more money kept at the channels for a sale (its
//     attempts) than the sale's amount;
//   - disagreements: the journal has it paid and the channel kept nothing;
//     the channel kept money for what the journal has failed, closed or
//     reversed, voided or refunded; a channel holds money for what the
//     journal does not have; a void or refund the terminal announced that
//     the journal does not have; daily totals that are not what was paid;
//   - stuck: a transaction not final after its deadline.
//
// The channels' books are their own: the Alipay sandbox's trades and
// refunds, the WeChat Pay sandbox's orders, the acquirer's ledger. Card
// sales and totals are checked whole at every run (a later reversal can
// undo an earlier sale); a last check at the end reads every book whole.
//
// A failing run prints its seed, what each side says (the terminal, the
// journal with the transaction's history, the channel) and the terminal's
// events, and `make campaign SEED=<seed>` replays it: the same plan, the
// same faults at the same moments. The processes' timing is not the
// seed's, so a race may need a few replays. A finding that involves what
// an earlier run left on the same terminal (a trace used again after its
// state folder was wiped) says so, with the campaign seed and run count
// that rebuild that history.
package campaign
