// Command posserver is the server behind the POS stations: it serves the
// terminal API of package server/api from a SQLite journal.
//
//	posserver [--config posserver.toml] [--listen addr] [--db path]
//
// Until the real Alipay, WeChat Pay and ISO 8583 connectors exist it runs on
// the in-process stand-ins of package sandbox, in demo mode (the trainer
// endpoints that play the customer are on), and says so in its log. It stops
// cleanly on SIGINT or SIGTERM: long-polls are answered, payments already
// sent to a channel are finished and journaled, then the database is closed.
package main
