// Package store is posserver's database: the chain's merchants, stores and
// terminals, the limits set for them, and the journal of sales and their
// transactions. Every payment is written here in state CREATED before
// anything reaches a channel, so that a crash, a timeout or a duplicate
// request can always be answered from the journal instead of by asking the
// channel twice.
//
// One schema (migrations/, embedded, applied in order and checksummed) runs
// on SQLite (pure Go, nothing to install; the default) and on PostgreSQL,
// with the SQL kept to what both accept; files named *.postgres.sql
// hold PostgreSQL's own tuning of it. On PostgreSQL the hot path (journal
// entries and state changes) is one statement each, group-committed with
// concurrent calls' (group.go). State changes are
// compare-and-set on (state, version): two racing writers (a notification and
// a cancel, say) cannot both win, and a final state (SUCCESS, FAILED,
// CLOSED) never changes. Each change appends a row to the history in the
// same database transaction, so the history is the audit trail of how a
// transaction got where it is. An attempt becomes SUCCESS only together
// with its sale's compare-and-set from OPEN to PAID, so "at most one
// successful attempt per sale" holds in the data (on SQLite a partial unique
// index says it a second time), and the daily totals move in the same
// database transaction as the payment that moves them.
//
// The PostgreSQL driver (pgx) is not linked by this package: what the store
// needs of it beyond database/sql is the PostgresDriver interface, which
// package server/store/postgres implements and registers when imported.
// posserver imports it; the cashier app, whose demo server runs on SQLite,
// does not.
//
// Reconciliation (recon*.go, migrations 008–011) keeps one run per
// business day and channel (claimed by one instance at a time) and every
// result line, written inside one transaction: a line with anything to
// say a row of reconcile_lines (by COPY on PostgreSQL through the
// driver's CopyFrom, in large multi-row INSERTs on SQLite); a payment line
// that matched its order exactly, nearly all of a day's, packed with the
// others into a few blobs of reconcile_matched (MatchedLine), its keys
// read back from transactions; the bill lines' totals per terminal for the
// daily report; the exceptions, which outlive reruns with their
// resolutions; and an append-only audit. ReconJournal and ReconCards load
// a day's journal, with its neighbours', for matching.
//
// Card batches: the traces table knows each terminal's open batch; a
// batch's settlement is a row of settlements (settlements.go), claimed
// under a lease by one claimant at a time (INSERT … ON CONFLICT, or a
// conditional UPDATE of a lapsed or given-back lease, behind a lock of the
// terminal's row on PostgreSQL), and closed SETTLED in the same database
// transaction that moves the terminal to its next batch. BatchTxns is a
// batch as its settlement counts and uploads it: approved sales (voided
// ones too) as debits, approved voids and refunds as credits. While a
// batch is SETTLING no card sale, void or refund may claim a trace in it
// (ErrSettling), on the hot path too.
//
// A full card number, track data or PIN block never reaches this package:
// only the masked number is accepted.
package store
