// Package server is posserver's core, the "PSMA module" of the patent: it
// takes the payments of a chain's terminals at once, journals each one before
// it reaches a channel, drives it through the channel's connector (Alipay
// on github.com/smartwalle/alipay, WeChat Pay on its official SDK, the
// acquirer over ISO 8583), and tells the terminal the result as soon as it
// is known.
//
// The rules that keep money safe live here rather than in the terminal:
//   - identity: a terminal is its client certificate (mutual TLS), checked
//     against the registered, enabled terminal and its current certificate;
//   - idempotency on terminal id + request id: a retried call never reaches
//     the channel twice and gets the first answer;
//   - trace numbers (ISO 8583 field 11) unique per terminal and batch (field
//     60.2) across every message it sends; the server is the source of
//     truth for both, the terminal's counter a cache every answer keeps in
//     step (traces.go);
//   - sales and attempts: at most one attempt of a sale succeeds (the store
//     enforces it in the schema too);
//   - limits per channel, per merchant and per terminal, single and daily,
//     the daily ones checked in the same database transaction as the payment;
//   - guarded state changes (compare-and-set) with an append-only history;
//   - the journal ends where the channel's books end: a notification is
//     checked against the order before anything is marked paid, an amount
//     other than the order's is given back, never taken, and an order being
//     closed never becomes paid (below);
//   - every non-final state has a deadline and an exit (the table below),
//     worked by the sweeper, whose work is leased per transaction so that
//     several instances on one PostgreSQL never do it twice.
//
// # Cancel raced payment
//
// The customer may pay at the very moment the order is closed (the
// cashier's Esc, the code's expiry, a code never confirmed). The rule: what
// the wallet has when posserver asks it (the query every close starts with)
// stands; a payment found then is kept and the order is SUCCESS (the
// terminal shows it paid). Otherwise the order is journaled CANCELLING
// before the close is sent, and from then on whatever the customer pays is
// given back: Alipay's cancel refunds it by itself (action=refund), a
// WeChat Pay order its close finds paid is refunded in full. The order ends
// CLOSED, reason refunded, and the terminal says the money went back to the
// customer; a notification of the payment changes nothing. It is never
// SUCCESS followed by a refund nobody sees.
//
// # States, deadlines and exits
//
//	state       what moves it                    deadline                       what happens then
//	CREATED     the channel's answer to the      channel timeout + 10 s         as UNKNOWN: a wallet order is
//	            request (precreate, pay, sale)   (the server died meanwhile)    asked about and closed; a card
//	                                                                            sale is reversed
//	PENDING     a notification; the terminal's   the code's expiry (qr_ttl)     asked about, then closed:
//	(QR)        long-poll watch (the wallet                                     CANCELLING → CLOSED expired
//	            asked every 3 s); the sweeper's                                 (or SUCCESS if it was paid)
//	            query every 15 s; the cashier's
//	            cancel
//	PENDING     the confirmation follower's      confirmation window (Alipay    reversed: CANCELLING →
//	(code)      queries; the cashier's cancel    60 s, WeChat 30 s) + 15 s      CLOSED not_confirmed
//	UNKNOWN     the sweeper                      5 s, then 10 s, 20 s … 5 min   wallet: asked; paid → SUCCESS,
//	                                                                            else closed (CANCELLING →
//	                                                                            CLOSED); card: reversal 0400 →
//	                                                                            CLOSED reversed, or not_booked
//	                                                                            when the bank never had it
//	CANCELLING  the close's, cancel's, reversal's 5 s, then 10 s, 20 s … 5 min  the close is sent again (every
//	            or refund's answer                                              step is safe to repeat) →
//	                                                                            CLOSED (its reason, or refunded
//	                                                                            / amount_mismatch when money
//	                                                                            went back)
//
// Voids and refunds of card sales (adjust.go) have their own CREATED and
// UNKNOWN: an answer lost, or a server that died with the request out
// (channel timeout + 10 s), is reversed every 5 s until the bank answers:
// CLOSED reversed, or not_booked. A channel that does not answer keeps a
// transaction in its state, retried at the deadlines above, until it
// does; only a channel's answer moves money state, never a guess. Two
// answers need an operator and are logged as errors at every try until
// one acts: a reversal the bank refuses as not matching its original (a
// bug of ours, which must show rather than be guessed around), and a
// refund the wallet ends without paying it back (WeChat Pay's ABNORMAL,
// settled in its merchant platform). The campaign (make campaign) counts
// a transaction past its deadline as stuck.
//
// A card batch's settlement (批结算, settle.go) has its own state, a row
// per terminal and batch (store: settlements):
//
//	state       what moves it                    deadline                       what happens then
//	SETTLING    the claimant: reversals owed,    its lease, (messages + 6) ×    another claimant takes it over
//	            0500, upload 0320s and the end   channel timeout + 30 s; after  (the station asking again, or
//	            (the acquirer closes the batch), a failed try, free at once     any instance's settlement loop,
//	            then SETTLED and the next batch  for the station and in 1 min   settlecutoff.go) and finishes
//	            in one database transaction      for the loop                   it under the same traces
//	SETTLED     (final)
//
// The claim is one database transaction (exactly one claimant of several
// instances wins). A batch holding a transaction still at the acquirer is
// not settled until it is answered or, past its deadline, reversed, and no
// card sale, void or refund joins a batch being settled (409 settling):
// totals must not change under the settlement. At the cut-off (settle_cutoff,
// default 23:00 in the business zone) every instance's settlement loop
// settles the batches holding card transactions from before it; the claim
// decides which instance does each, once.
//
// Long-polls wake on changes made by any instance (PostgreSQL LISTEN/NOTIFY).
//
// # Reconciliation
//
// Each day at reconcile_at (default 10:30, business zone) posserver serve
// reconciles (核销) the previous business day: package server/dayend
// fetches every channel's bill (the wallets' trade bills, the acquirer's
// settlement file), keeps it as received, matches it with the journal
// (server/reconcile) and stores every result. One instance does each day
// and channel, claimed in the database; a bill not cut yet is fetched
// again until a deadline. A payment the journal has in flight that the
// bill shows paid is moved to SUCCESS through the normal compare-and-set
// (actor "reconcile", audited); every other difference is an exception an
// operator resolves with a note (posserver reconcile). The server package
// itself knows nothing of it.
//
// # Where its parts are
//
// The terminal API's bodies are package api, which the station's client
// (posclient) shares; a terminal's identity and bundle are package bundle,
// the certificates are issued by server/pki; the card keys and MAC the
// server checks are package cardkeys. The journal is server/store (SQLite,
// or PostgreSQL when server/store/postgres is linked), the channels are
// server/connector/alipay, wechat and bank, and what the server records
// goes to the Metrics interface, which server/metrics implements on
// Prometheus. Reconciliation is server/dayend over server/reconcile. posserver (cmd/posserver) links all of it; the cashier app's
// demo (package demo) runs a Server in-process on SQLite with no metrics,
// with the sandboxes behind its connectors (demo/standins).
package server
