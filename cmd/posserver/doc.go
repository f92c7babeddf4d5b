// Command posserver is the server behind a chain's POS stations: it
// registers terminals and issues their credentials, serves the terminal API
// of package api over mutual TLS, keeps the journal in SQLite or
// PostgreSQL, and resolves payments whose outcome is unknown.
//
//	posserver serve [--listen addr] [--ops-listen addr] [--demo]
//	posserver terminal add --merchant M --store S --id T001 [--merchant-name NAME] [--out T001.pem]
//	posserver terminal list [--merchant M]
//	posserver terminal disable|enable ID
//	posserver terminal reissue ID [--out FILE]
//	posserver limits set (--merchant M | --terminal T) --channel alipay|wechat|card [--single YUAN] [--daily YUAN] [--enabled true|false]
//	posserver limits clear (--merchant M | --terminal T) --channel C
//	posserver limits show --terminal T
//	posserver keys status|seal|unseal|rotate|generate
//	posserver migrate
//	posserver sandbox [--alipay ADDR] [--wechat ADDR] [--dir DIR] [--bank ADDR --bundles DIR] …
//	posserver loadtest [--terminals 1,100,1000] [--duration 10s] …
//	posserver reconcile [--date D] [--channel alipay|wechat|card] [--bill FILE]
//	posserver reconcile exceptions [--all] [--format table|csv|json]
//	posserver reconcile resolve ID --note TEXT [--by WHO]
//	posserver report daily [--date D] [--format table|csv|json]
//	posserver reconbench [--lines 20000] [--runs 3] [--engines sqlite,postgres] …
//
// The command line is cobra's (package cmd/internal/cmdline): posserver
// alone prints its help and does nothing else, every command has --help, and
// Go-style single-dash flags still work. Every subcommand that works on the
// server's data takes --config and --db, so it works on the database the
// server uses; several server instances may share one PostgreSQL database.
// A channel is on when its section ([alipay], [wechat], [bank]) is in the
// configuration; without it the channel is off, and terminals show it as
// not set up. Only in demo mode (serve --demo, or demo = true) does a
// channel without its section run on an in-process stand-in of package
// sandbox, with the trainer endpoints that play the customer on; the log
// says at start which channels are on, off or stand-ins. serve stops
// cleanly on SIGINT or SIGTERM: it reports itself not ready, answers
// long-polls, finishes payments already sent to a channel, then closes the
// database. Package internal/loadtest is the load generator behind
// `posserver loadtest`; package internal/reconbench, the reconciliation
// benchmark behind `posserver reconbench`. serve also runs the daily
// reconciliation at reconcile_at and exports its gauges
// (multipos_reconcile_open_exceptions,
// multipos_reconcile_last_run_timestamp_seconds,
// multipos_reconcile_last_day_timestamp_seconds) on /metrics; `reconcile`
// runs or reruns a day by hand, or imports a bill downloaded by hand.
package main
