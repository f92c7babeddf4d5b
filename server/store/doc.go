// Package store is posserver's journal of transactions. Every payment is
// written here in state CREATED before anything reaches a channel, so that a
// crash, a timeout or a duplicate request can always be answered from the
// journal instead of by asking the channel twice.
//
// State changes are compare-and-set on (state, version): two racing writers
// (a notification and a cancel, say) cannot both win, and a final state
// (SUCCESS, FAILED, CLOSED) never changes. Each change appends a row to the
// history in the same database transaction, so the history is the audit
// trail of how an order got where it is.
//
// The default engine is SQLite (pure Go, nothing to install). The SQL stays
// within what PostgreSQL also accepts (BIGINT microsecond timestamps,
// INSERT … ON CONFLICT DO NOTHING, CASE) so that a PostgreSQL store can take
// the same schema later. A full card number, track data or PIN block never
// reaches this package: only the masked number is accepted.
package store
