-- The results of reconciliation runs (008): every bill line's and every
-- left-over journal entry's.

-- Every result of a run. cross_day marks a line matched with a journal
-- entry of a neighbouring day: that entry is offered to no other day's run
-- again. No index on tx_id: it would cost more than the rows it indexes
-- (a run writes a million lines in one go, by COPY).
CREATE TABLE reconcile_lines (
    run_id         TEXT    NOT NULL,
    seq            INTEGER NOT NULL,
    class          TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    bill_row       INTEGER NOT NULL DEFAULT 0,
    out_trade_no   TEXT    NOT NULL DEFAULT '',
    out_refund_no  TEXT    NOT NULL DEFAULT '',
    trade_no       TEXT    NOT NULL DEFAULT '',
    channel_amount BIGINT  NOT NULL DEFAULT 0,
    journal_amount BIGINT  NOT NULL DEFAULT 0,
    settle         BIGINT  NOT NULL DEFAULT 0,
    fee_milli      BIGINT  NOT NULL DEFAULT 0,
    tx_id          TEXT    NOT NULL DEFAULT '',
    tx_day         TEXT    NOT NULL DEFAULT '',
    cross_day      INTEGER NOT NULL DEFAULT 0,
    merchant_id    TEXT    NOT NULL DEFAULT '',
    store_id       TEXT    NOT NULL DEFAULT '',
    terminal_id    TEXT    NOT NULL DEFAULT '',
    outcome        TEXT    NOT NULL DEFAULT '',
    note           TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX reconcile_lines_cross_day ON reconcile_lines (tx_day) WHERE cross_day = 1;
