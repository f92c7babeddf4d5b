-- Trace numbers (ISO 8583 field 11) are unique per terminal within its
-- batch (field 60.2), across every message it sends: sales, voids,
-- refunds, balance inquiries, sign-ons and wallet orders alike, so that a
-- reversal or a void can only ever name one transaction. The server is the
-- source of truth for a terminal's open batch and the traces used in it;
-- the terminal's own counter is a cache.
ALTER TABLE terminals ADD COLUMN batch TEXT NOT NULL DEFAULT '000001';

CREATE TABLE traces (
    terminal_id TEXT   NOT NULL,
    batch       TEXT   NOT NULL,
    trace       TEXT   NOT NULL,
    kind        TEXT   NOT NULL, -- what used it: card_sale, card_void, card_refund, balance, signon, wallet_qr, wallet_barcode
    ref         TEXT   NOT NULL DEFAULT '', -- the transaction or adjustment id, when there is one
    at          BIGINT NOT NULL,
    PRIMARY KEY (terminal_id, batch, trace)
);

-- A card sale's PAN sequence number (field 23), kept so that a reversal
-- can repeat the original's fields exactly. Not sensitive.
ALTER TABLE transactions ADD COLUMN card_seq TEXT NOT NULL DEFAULT '';
ALTER TABLE card_adjustments ADD COLUMN card_seq TEXT NOT NULL DEFAULT '';

-- Every transaction belongs to a batch from now on (wallet orders too:
-- their traces come from the same counter).
UPDATE transactions SET batch = '000001' WHERE batch = '';
UPDATE card_adjustments SET batch = '000001' WHERE batch = '';
-- A terminal goes on in the latest batch its card messages were sent in.
UPDATE terminals SET batch = COALESCE(
    (SELECT MAX(t.batch) FROM transactions t WHERE t.terminal_id = terminals.id), '000001');

-- The traces used so far. Before this migration a void could reuse a
-- sale's trace (the defect this fixes): such a repeat keeps the first use.
INSERT INTO traces (terminal_id, batch, trace, kind, ref, at)
    SELECT terminal_id, batch, trace, kind, id, created_at FROM transactions WHERE true
    ON CONFLICT DO NOTHING;
INSERT INTO traces (terminal_id, batch, trace, kind, ref, at)
    SELECT terminal_id, batch, trace, kind, id, created_at FROM card_adjustments WHERE true
    ON CONFLICT DO NOTHING;
