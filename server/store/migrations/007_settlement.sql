-- Card batch settlements (批结算): one row per terminal and batch, from
-- the moment an instance claims the batch to settle it. SETTLING is held
-- under a lease (lease_owner until lease_until): when the lease runs out,
-- whoever holds it died or gave up, and another claim (the station asking
-- again, or an instance's settlement loop) takes it over. SETTLED is
-- final, written in the same database transaction that moves the
-- terminal to its next batch. Totals are what the 0500 carried; answer is
-- the api.Settlement the station was given (JSON).
CREATE TABLE settlements (
    terminal_id   TEXT    NOT NULL,
    batch         TEXT    NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('SETTLING', 'SETTLED')),
    lease_owner   TEXT    NOT NULL DEFAULT '',
    lease_until   BIGINT  NOT NULL DEFAULT 0,
    settled_by    TEXT    NOT NULL DEFAULT '', -- the operator who asked, or 'cutoff'
    settle_trace  TEXT    NOT NULL DEFAULT '', -- the 0500's trace, kept for a retry
    end_trace     TEXT    NOT NULL DEFAULT '', -- the upload end's trace, kept for a retry
    debit_count   INTEGER NOT NULL DEFAULT 0,
    debit_amount  BIGINT  NOT NULL DEFAULT 0,
    credit_count  INTEGER NOT NULL DEFAULT 0,
    credit_amount BIGINT  NOT NULL DEFAULT 0,
    balanced      INTEGER NOT NULL DEFAULT 0,
    uploaded      INTEGER NOT NULL DEFAULT 0,
    reversals     INTEGER NOT NULL DEFAULT 0,
    from_at       BIGINT  NOT NULL DEFAULT 0,
    to_at         BIGINT  NOT NULL DEFAULT 0,
    settled_at    BIGINT  NOT NULL DEFAULT 0,
    next_batch    TEXT    NOT NULL DEFAULT '',
    answer        TEXT    NOT NULL DEFAULT '',
    last_error    TEXT    NOT NULL DEFAULT '',
    tries         INTEGER NOT NULL DEFAULT 0,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    PRIMARY KEY (terminal_id, batch)
);
-- The settlement loop's look for settlements left behind.
CREATE INDEX settlements_open ON settlements (lease_until) WHERE state = 'SETTLING';
-- Batch look-ups of the card journal (totals, upload, pending reversals).
CREATE INDEX transactions_by_batch ON transactions (terminal_id, batch);
CREATE INDEX card_adjustments_by_batch ON card_adjustments (terminal_id, batch);
