// Package demo assembles training mode in one process: posserver on a random
// loopback port with a fresh SQLite file under the user's state directory,
// the Alipay, WeChat Pay and bank sandboxes behind the server's real
// connectors (wired by demo/standins), a simulated card reader and a
// simulated printer that saves each receipt as a text file. Env also plays
// the customer for the trainer keys. `pos --demo` runs on it, and so do the
// cashier app's end-to-end tests.
//
// The in-process server keeps its journal in SQLite and records no
// metrics: the cashier app links neither the PostgreSQL driver
// (server/store/postgres) nor Prometheus (server/metrics), which only
// posserver imports (cmd/pos tests this).
package demo
