-- multipos: foreign keys off
-- Traces are unique per batch (the traces table says so), no longer per
-- terminal forever, and a wallet order may be CANCELLING. SQLite cannot
-- drop a constraint, so both tables are rebuilt the way its documentation
-- prescribes (new table, copy, drop, rename), with foreign keys off and
-- checked before the commit.
CREATE TABLE transactions_new (
    id               TEXT    PRIMARY KEY,
    sale_id          TEXT    NOT NULL REFERENCES sales (id),
    terminal_id      TEXT    NOT NULL,
    merchant_id      TEXT    NOT NULL,
    store_id         TEXT    NOT NULL,
    trace            TEXT    NOT NULL,
    channel          TEXT    NOT NULL,
    kind             TEXT    NOT NULL,
    amount           BIGINT  NOT NULL CHECK (amount > 0),
    state            TEXT    NOT NULL CHECK (state IN ('CREATED', 'PENDING', 'UNKNOWN', 'CANCELLING', 'SUCCESS', 'FAILED', 'CLOSED')),
    reason           TEXT    NOT NULL DEFAULT '',
    version          INTEGER NOT NULL,
    out_trade_no     TEXT,
    trade_no         TEXT    NOT NULL DEFAULT '',
    qr_content       TEXT    NOT NULL DEFAULT '',
    expires_at       BIGINT  NOT NULL DEFAULT 0,
    masked_pan       TEXT    NOT NULL DEFAULT '',
    entry            TEXT    NOT NULL DEFAULT '',
    response_code    TEXT    NOT NULL DEFAULT '',
    auth_code        TEXT    NOT NULL DEFAULT '',
    rrn              TEXT    NOT NULL DEFAULT '',
    batch            TEXT    NOT NULL DEFAULT '',
    day              TEXT    NOT NULL,
    merchant_counted INTEGER NOT NULL DEFAULT 0,
    check_after      BIGINT  NOT NULL DEFAULT 0,
    sweeps           INTEGER NOT NULL DEFAULT 0,
    lease_owner      TEXT    NOT NULL DEFAULT '',
    lease_until      BIGINT  NOT NULL DEFAULT 0,
    delivered_at     BIGINT  NOT NULL DEFAULT 0,
    created_at       BIGINT  NOT NULL,
    updated_at       BIGINT  NOT NULL,
    card_seq         TEXT    NOT NULL DEFAULT '',
    UNIQUE (channel, out_trade_no)
);
INSERT INTO transactions_new (id, sale_id, terminal_id, merchant_id, store_id, trace, channel, kind, amount, state,
    reason, version, out_trade_no, trade_no, qr_content, expires_at, masked_pan, entry, response_code, auth_code, rrn,
    batch, day, merchant_counted, check_after, sweeps, lease_owner, lease_until, delivered_at, created_at, updated_at, card_seq)
SELECT id, sale_id, terminal_id, merchant_id, store_id, trace, channel, kind, amount, state,
    reason, version, out_trade_no, trade_no, qr_content, expires_at, masked_pan, entry, response_code, auth_code, rrn,
    batch, day, merchant_counted, check_after, sweeps, lease_owner, lease_until, delivered_at, created_at, updated_at, card_seq
FROM transactions;
DROP TABLE transactions;
ALTER TABLE transactions_new RENAME TO transactions;
CREATE UNIQUE INDEX transactions_one_success ON transactions (sale_id) WHERE state = 'SUCCESS';
CREATE INDEX transactions_by_sale ON transactions (sale_id);
CREATE INDEX transactions_due ON transactions (check_after) WHERE check_after > 0;
CREATE INDEX transactions_by_terminal ON transactions (terminal_id, created_at);
CREATE INDEX transactions_by_trace ON transactions (terminal_id, trace);

CREATE TABLE card_adjustments_new (
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
    card_seq      TEXT    NOT NULL DEFAULT '',
    UNIQUE (terminal_id, request_id)
);
INSERT INTO card_adjustments_new (id, terminal_id, request_id, request_hash, kind, trace, original_id, amount, state,
    reason, version, masked_pan, entry, response_code, auth_code, rrn, batch, day, check_after, created_at, updated_at, card_seq)
SELECT id, terminal_id, request_id, request_hash, kind, trace, original_id, amount, state,
    reason, version, masked_pan, entry, response_code, auth_code, rrn, batch, day, check_after, created_at, updated_at, card_seq
FROM card_adjustments;
DROP TABLE card_adjustments;
ALTER TABLE card_adjustments_new RENAME TO card_adjustments;
CREATE INDEX card_adjustments_by_original ON card_adjustments (original_id);
CREATE INDEX card_adjustments_due ON card_adjustments (check_after) WHERE check_after > 0;
CREATE INDEX card_adjustments_by_trace ON card_adjustments (terminal_id, trace);
