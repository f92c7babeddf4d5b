// Package demo assembles training mode in one process: posserver on a random
// loopback port with a fresh SQLite file under the user's state directory,
// the Alipay, WeChat Pay and bank sandboxes behind the server's real
// connectors (wired by demo/standins), a simulated card reader and a
// simulated printer that saves each receipt as a text file. Env also plays
// the customer for the trainer keys. `pos --demo` runs on it, and so do the
// cashier app's end-to-end tests.
//
// The run's folder also holds posserver.toml: this run's journal
// (posserver.db; SQLite in WAL mode with a busy timeout, so a second
// process can use it while the demo runs), the sandboxes' addresses and
// keys (standins.WriteServerFiles, under keys/), bills_dir, and [bank]
// settlement_files pointing at the acquirer's SettlementDir (settlement/).
// With it, `posserver reconcile --config <folder>/posserver.toml -date D`
// reconciles the demo's day from a second shell.
//
// The trainer's end of the day (日结, Env.EndTheDay, the F9 key) plants a
// fixed set of differences in the channels' books of today (business
// zone), then moves the sandboxes' business clocks to 10:30 the next day,
// when the wallets' bills of today are ready and the acquirer has cut the
// day (its settlement file is written): an Alipay payment the journal
// never saw (DEMO_ALIPAY_UNKNOWN_1, 18.88: channel_only); a refund made in
// WeChat Pay's merchant platform of the trainer's first WeChat payment of
// the day (DEMO_WECHAT_REFUND_1, 1.00 or the whole of a cheaper one:
// refund_differs), or without one a WeChat payment the journal never saw
// (DEMO_WECHAT_UNKNOWN_1, 6.66: channel_only); a card sale the acquirer
// booked that the terminal never sent (the open batch, trace 900001,
// 25.00: channel_only). end-of-day.txt in the run's folder lists them with
// the command. The server keeps the real clock, so the station goes on
// taking payments; the day ends once a run.
//
// The in-process server keeps its journal in SQLite and records no
// metrics: the cashier app links neither the PostgreSQL driver
// (server/store/postgres) nor Prometheus (server/metrics), which only
// posserver imports (cmd/pos tests this).
package demo
