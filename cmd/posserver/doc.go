// Command posserver is the server behind a chain's POS stations: it
// registers terminals and issues their credentials, serves the terminal API
// of package server/api over mutual TLS, keeps the journal in SQLite or
// PostgreSQL, and resolves payments whose outcome is unknown.
//
//	posserver [serve] [-config posserver.toml] [-listen addr] [-ops-listen addr] [-db path|postgres://…]
//	posserver terminal add -merchant M -store S -id T001 [-merchant-name NAME] [-out T001.pem]
//	posserver terminal list [-merchant M]
//	posserver terminal disable|enable|reissue ID
//	posserver limits set (-merchant M | -terminal T) -channel alipay|wechat|card [-single YUAN] [-daily YUAN] [-enabled true|false]
//	posserver limits clear (-merchant M | -terminal T) -channel C
//	posserver limits show -terminal T
//	posserver migrate
//	posserver loadtest [-terminals 1,100,1000] [-duration 10s] [-db …]
//
// Every subcommand takes -config and -db, so it works on the database the
// server uses; several server instances may share one PostgreSQL database.
// Until the real Alipay, WeChat Pay and ISO 8583 connectors exist the
// server runs on the in-process stand-ins of package sandbox, in demo mode
// (the trainer endpoints that play the customer are on), and says so in its
// log. It stops cleanly on SIGINT or SIGTERM: it reports itself not ready,
// answers long-polls, finishes payments already sent to a channel, then
// closes the database.
package main
