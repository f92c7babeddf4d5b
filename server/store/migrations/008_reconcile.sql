-- Reconciliation (核销): one run per business day and channel (a rerun
-- replaces its lines), the result of every bill line and left-over journal
-- entry, the differences left for an operator (exceptions, which outlive
-- reruns) and an append-only audit of what reconciliation changed itself
-- and of every resolution.
-- The lines' table is in 009 (SQLite's is WITHOUT ROWID, PostgreSQL's
-- is not).
CREATE TABLE reconcile_runs (
    id          TEXT    PRIMARY KEY,
    day         TEXT    NOT NULL,
    channel     TEXT    NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('running', 'waiting', 'done', 'failed')),
    source      TEXT    NOT NULL DEFAULT '' CHECK (source IN ('', 'fetched', 'imported')),
    bill_path   TEXT    NOT NULL DEFAULT '',
    bill_sha256 TEXT    NOT NULL DEFAULT '',
    owner       TEXT    NOT NULL DEFAULT '',
    lease_until BIGINT  NOT NULL DEFAULT 0,
    retry_at    BIGINT  NOT NULL DEFAULT 0,
    deadline    BIGINT  NOT NULL DEFAULT 0,
    attempts    INTEGER NOT NULL DEFAULT 0,
    error       TEXT    NOT NULL DEFAULT '',
    started_at  BIGINT  NOT NULL,
    finished_at BIGINT  NOT NULL DEFAULT 0,
    lines       INTEGER NOT NULL DEFAULT 0,
    matched     INTEGER NOT NULL DEFAULT 0,
    differences INTEGER NOT NULL DEFAULT 0,
    settled     INTEGER NOT NULL DEFAULT 0,
    payments    INTEGER NOT NULL DEFAULT 0,
    refunds     INTEGER NOT NULL DEFAULT 0,
    gross       BIGINT  NOT NULL DEFAULT 0,
    settle      BIGINT  NOT NULL DEFAULT 0,
    refunded    BIGINT  NOT NULL DEFAULT 0,
    fee_milli   BIGINT  NOT NULL DEFAULT 0,
    fees        BIGINT  NOT NULL DEFAULT 0,
    net         BIGINT  NOT NULL DEFAULT 0,
    UNIQUE (day, channel)
);

-- A difference an operator settles. diff_key names the difference (day,
-- channel, class, keys, amounts): a rerun finding the same one keeps it,
-- resolved or not.
CREATE TABLE reconcile_exceptions (
    id             TEXT   PRIMARY KEY,
    diff_key       TEXT   NOT NULL UNIQUE,
    run_id         TEXT   NOT NULL,
    day            TEXT   NOT NULL,
    channel        TEXT   NOT NULL,
    class          TEXT   NOT NULL,
    kind           TEXT   NOT NULL,
    out_trade_no   TEXT   NOT NULL DEFAULT '',
    out_refund_no  TEXT   NOT NULL DEFAULT '',
    tx_id          TEXT   NOT NULL DEFAULT '',
    channel_amount BIGINT NOT NULL DEFAULT 0,
    journal_amount BIGINT NOT NULL DEFAULT 0,
    note           TEXT   NOT NULL DEFAULT '',
    state          TEXT   NOT NULL CHECK (state IN ('open', 'resolved')),
    resolution     TEXT   NOT NULL DEFAULT '',
    resolved_by    TEXT   NOT NULL DEFAULT '',
    resolved_at    BIGINT NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL
);
CREATE INDEX reconcile_exceptions_open ON reconcile_exceptions (channel) WHERE state = 'open';
CREATE INDEX reconcile_exceptions_by_run ON reconcile_exceptions (day, channel);

-- Append-only: what reconciliation settled itself, and every resolution.
CREATE TABLE reconcile_audit (
    id           TEXT   PRIMARY KEY,
    at           BIGINT NOT NULL,
    actor        TEXT   NOT NULL,
    action       TEXT   NOT NULL,
    run_id       TEXT   NOT NULL DEFAULT '',
    exception_id TEXT   NOT NULL DEFAULT '',
    tx_id        TEXT   NOT NULL DEFAULT '',
    day          TEXT   NOT NULL DEFAULT '',
    channel      TEXT   NOT NULL DEFAULT '',
    out_trade_no TEXT   NOT NULL DEFAULT '',
    detail       TEXT   NOT NULL DEFAULT ''
);

-- A day's wallet orders of a channel, for reconciliation's journal: without
-- it the day's lookup walks every order of the channel. channel and day
-- never change after the insert: on SQLite it costs the insert only (SQLite
-- updates only the indexes whose columns change); on PostgreSQL a state
-- change touches indexed columns already (001_init.sql), so it writes a new
-- entry here at each one too: its cost on a sale is in BENCHMARKS.md
-- (reconciliation).
CREATE INDEX transactions_by_day ON transactions (channel, day);
