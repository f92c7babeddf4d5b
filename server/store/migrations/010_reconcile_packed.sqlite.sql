-- A run's matched lines packed (store.MatchedLine): a day's bill is nearly
-- all matched lines, and a row each made storing a million-line day cost
-- more than matching it. Each blob holds up to 65,536 lines; what a
-- stored line says of the order (its keys, merchant, store, terminal) is
-- read back from transactions by tx_id. Lines with anything to say stay
-- in reconcile_lines.
CREATE TABLE reconcile_matched (
    run_id TEXT    NOT NULL,
    chunk  INTEGER NOT NULL,
    lines  INTEGER NOT NULL,
    data   BLOB    NOT NULL,
    PRIMARY KEY (run_id, chunk)
); -- not WITHOUT ROWID: its rows are large

-- A run's bill lines summed by the merchant, store and terminal that took
-- them: the daily report, without reading a run's lines.
CREATE TABLE reconcile_terminals (
    run_id      TEXT    NOT NULL,
    merchant_id TEXT    NOT NULL,
    store_id    TEXT    NOT NULL,
    terminal_id TEXT    NOT NULL,
    payments    INTEGER NOT NULL,
    refunds     INTEGER NOT NULL,
    gross       BIGINT  NOT NULL,
    refunded    BIGINT  NOT NULL,
    fee_milli   BIGINT  NOT NULL,
    settle      BIGINT  NOT NULL,
    PRIMARY KEY (run_id, merchant_id, store_id, terminal_id)
) WITHOUT ROWID;

-- The runs done before: their totals from their lines.
INSERT INTO reconcile_terminals (run_id, merchant_id, store_id, terminal_id, payments, refunds, gross, refunded, fee_milli, settle)
SELECT run_id, merchant_id, store_id, terminal_id,
    SUM(CASE WHEN kind = 'payment' THEN 1 ELSE 0 END), SUM(CASE WHEN kind = 'refund' THEN 1 ELSE 0 END),
    SUM(CASE WHEN kind = 'payment' THEN channel_amount ELSE 0 END), SUM(CASE WHEN kind = 'refund' THEN channel_amount ELSE 0 END),
    SUM(fee_milli), SUM(settle)
FROM reconcile_lines WHERE bill_row > 0
GROUP BY run_id, merchant_id, store_id, terminal_id;
