// Package server is posserver's core, the "PSMA module" of the patent: it
// takes the payments of a chain's terminals at once, journals each one before
// it reaches a channel, drives it through the channel's connector, and tells
// the terminal the result as soon as it is known.
//
// The rules that keep money safe live here rather than in the terminal:
//   - identity: a terminal is its client certificate (mutual TLS), checked
//     against the registered, enabled terminal and its current certificate;
//   - idempotency on terminal id + request id: a retried call never reaches
//     the channel twice and gets the first answer;
//   - sales and attempts: at most one attempt of a sale succeeds (the store
//     enforces it in the schema too);
//   - limits per channel, per merchant and per terminal, single and daily,
//     the daily ones checked in the same database transaction as the payment;
//   - guarded state changes (compare-and-set) with an append-only history;
//   - notifications checked against the order before anything is marked paid;
//   - a sweeper that resolves what is left open: expired QR codes and unknown
//     wallet outcomes are asked about (query) and closed at the channel,
//     unknown card outcomes are reversed at the bank. Its work is leased per
//     transaction, so several instances on one PostgreSQL never do it twice.
//
// Long-polls wake on changes made by any instance (PostgreSQL LISTEN/NOTIFY).
// The connectors are the sandbox stand-ins until the real Alipay, WeChat Pay
// and ISO 8583 connectors plug in behind package connector.
package server
