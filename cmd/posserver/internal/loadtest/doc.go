// Package loadtest measures posserver under load: Run starts a complete
// server (store, certificate authority, channel stand-ins, the terminal API
// over mutual TLS on a loopback port) and drives it with N simulated
// terminals, each with its own certificate, TLS connection and trace
// counter, doing wallet and card sales back to back as a busy till would:
//
//   - a wallet sale creates a QR order, plays the customer paying at the
//     Alipay or WeChat Pay stand-in (alternately), and long-polls the order
//     until the wallet's asynchronous notification has made it SUCCESS;
//   - a card sale sends the stand-in bank's approved test card with its PIN
//     block under the terminal's PIN working key (every terminal signs on
//     first) and gets SUCCESS back, after posserver's MACed 0200/0210 with
//     the acquirer host on a loopback socket.
//
// A sale's latency runs from its first request until the terminal sees
// SUCCESS. Every terminal makes its TLS handshake (a ping) before the clock
// starts; an unmeasured warm-up follows, then the measured period. Sales
// completed within the measured period give the rate and the latency
// percentiles; anything that does not end in SUCCESS is an error, counted
// and reported, never retried into a success.
//
// Each run uses a database of its own: a new SQLite file, or a new schema
// in the PostgreSQL database named (dropped again afterwards). RunPgbench
// takes pgbench's TPC-B-like figure on the same PostgreSQL cluster, the
// yardstick the server's sales per second are held against, and Markdown
// writes the results with the two bars the benchmark must clear.
//
// `posserver loadtest` (package main above) is the command line front end.
package loadtest
