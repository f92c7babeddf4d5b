-- Voids (消费撤销) and refunds (退货) of card sales. They are not payments
-- of a sale, so they live apart from transactions, but they are journaled
-- the same way: the row exists before the message leaves for the bank, and
-- one whose answer was lost (UNKNOWN) is reversed by the sweeper.
CREATE TABLE card_adjustments (
    id            TEXT    PRIMARY KEY,
    terminal_id   TEXT    NOT NULL REFERENCES terminals (id),
    request_id    TEXT    NOT NULL,
    request_hash  TEXT    NOT NULL,
    kind          TEXT    NOT NULL CHECK (kind IN ('card_void', 'card_refund')),
    trace         TEXT    NOT NULL,
    original_id   TEXT    NOT NULL REFERENCES transactions (id),
    amount        BIGINT  NOT NULL CHECK (amount > 0),
    state         TEXT    NOT NULL CHECK (state IN ('CREATED', 'UNKNOWN', 'SUCCESS', 'FAILED', 'CLOSED')),
    reason        TEXT    NOT NULL DEFAULT '',
    version       INTEGER NOT NULL,
    masked_pan    TEXT    NOT NULL DEFAULT '',
    entry         TEXT    NOT NULL DEFAULT '',
    response_code TEXT    NOT NULL DEFAULT '',
    auth_code     TEXT    NOT NULL DEFAULT '',
    rrn           TEXT    NOT NULL DEFAULT '',
    batch         TEXT    NOT NULL DEFAULT '',
    day           TEXT    NOT NULL,
    check_after   BIGINT  NOT NULL DEFAULT 0,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    UNIQUE (terminal_id, request_id),
    UNIQUE (terminal_id, trace)
);
CREATE INDEX card_adjustments_by_original ON card_adjustments (original_id);
CREATE INDEX card_adjustments_due ON card_adjustments (check_after) WHERE check_after > 0;
