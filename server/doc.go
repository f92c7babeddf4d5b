// Package server is posserver's core, the "PSMA module" of the patent: it
// takes the payments of many terminals at once, journals each one before it
// reaches a channel, drives it through the channel's connector, and tells
// the terminal the result as soon as it is known.
//
// The rules that keep money safe live here rather than in the terminal:
// idempotency on terminal id + trace (a retried request never reaches the
// channel twice), per-channel limits, guarded state changes through package
// store, a long-poll that answers the moment an order changes, notifications
// checked against the order before anything is marked paid, and a sweeper
// that closes unpaid QR codes at the channel when they expire.
//
// Seams for later issues: the terminal is identified by a header today
// (mutual TLS later); the store is SQLite (PostgreSQL later); the order
// broadcaster is in-process (LISTEN/NOTIFY once several instances share a
// database); the connectors are the sandbox stand-ins until the real Alipay,
// WeChat Pay and ISO 8583 connectors exist; UNKNOWN outcomes wait for the
// query/reversal engine.
package server
