-- Transactions, one row per terminal request (terminal_id + trace).
-- Amounts are fen (BIGINT: money.Max does not fit 32 bits).
-- Times are microseconds since the Unix epoch, UTC; 0 means "none".
CREATE TABLE transactions (
    id            TEXT    PRIMARY KEY,
    terminal_id   TEXT    NOT NULL,
    trace         TEXT    NOT NULL,
    channel       TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    amount        BIGINT  NOT NULL CHECK (amount > 0),
    state         TEXT    NOT NULL CHECK (state IN ('CREATED', 'PENDING', 'UNKNOWN', 'SUCCESS', 'FAILED', 'CLOSED')),
    reason        TEXT    NOT NULL DEFAULT '',
    version       INTEGER NOT NULL,
    out_trade_no  TEXT,
    trade_no      TEXT    NOT NULL DEFAULT '',
    qr_content    TEXT    NOT NULL DEFAULT '',
    expires_at    BIGINT  NOT NULL DEFAULT 0,
    masked_pan    TEXT    NOT NULL DEFAULT '',
    entry         TEXT    NOT NULL DEFAULT '',
    response_code TEXT    NOT NULL DEFAULT '',
    auth_code     TEXT    NOT NULL DEFAULT '',
    rrn           TEXT    NOT NULL DEFAULT '',
    batch         TEXT    NOT NULL DEFAULT '',
    request_hash  TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    UNIQUE (terminal_id, trace),
    UNIQUE (channel, out_trade_no)
);

CREATE INDEX transactions_by_state ON transactions (state, expires_at);
CREATE INDEX transactions_by_day ON transactions (terminal_id, channel, state, created_at);

-- Append-only: one row per state change, seq = the order's version after it.
CREATE TABLE transaction_history (
    tx_id      TEXT    NOT NULL REFERENCES transactions (id),
    seq        INTEGER NOT NULL,
    from_state TEXT    NOT NULL,
    to_state   TEXT    NOT NULL,
    reason     TEXT    NOT NULL DEFAULT '',
    at         BIGINT  NOT NULL,
    PRIMARY KEY (tx_id, seq)
);
