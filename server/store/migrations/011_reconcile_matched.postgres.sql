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
    data   BYTEA    NOT NULL,
    PRIMARY KEY (run_id, chunk)
);
-- Stored as it is, not compressed: varints of ids compress little, and
-- pglz on a million lines' blobs took longer than writing them.
ALTER TABLE reconcile_matched ALTER COLUMN data SET STORAGE EXTERNAL;
