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
);

-- The runs done before: their totals from their lines.
INSERT INTO reconcile_terminals (run_id, merchant_id, store_id, terminal_id, payments, refunds, gross, refunded, fee_milli, settle)
SELECT run_id, merchant_id, store_id, terminal_id,
    SUM(CASE WHEN kind = 'payment' THEN 1 ELSE 0 END), SUM(CASE WHEN kind = 'refund' THEN 1 ELSE 0 END),
    SUM(CASE WHEN kind = 'payment' THEN channel_amount ELSE 0 END), SUM(CASE WHEN kind = 'refund' THEN channel_amount ELSE 0 END),
    SUM(fee_milli), SUM(settle)
FROM reconcile_lines WHERE bill_row > 0
GROUP BY run_id, merchant_id, store_id, terminal_id;
