-- posserver's schema, the same for SQLite and PostgreSQL: only types and
-- statements both accept (TEXT, INTEGER, BIGINT, partial indexes,
-- ON CONFLICT, RETURNING). Money is BIGINT fen; times are BIGINT
-- microseconds since the Unix epoch, UTC, 0 meaning "none"; flags are
-- INTEGER 0/1.

-- The chain: a merchant has stores, a store has terminals.
CREATE TABLE merchants (
    id         TEXT   PRIMARY KEY,
    name       TEXT   NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);

CREATE TABLE stores (
    merchant_id TEXT   NOT NULL REFERENCES merchants (id),
    id          TEXT   NOT NULL,
    name        TEXT   NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, id)
);

-- A terminal is known by its client certificate: only the certificate
-- whose serial is on file is accepted, so issuing a new one retires the
-- old. The master key is sealed under the server's key-encryption key.
CREATE TABLE terminals (
    id               TEXT    PRIMARY KEY,
    merchant_id      TEXT    NOT NULL,
    store_id         TEXT    NOT NULL,
    enabled          INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    cert_serial      TEXT    NOT NULL,
    cert_not_after   BIGINT  NOT NULL,
    master_key       TEXT    NOT NULL,
    master_kcv       TEXT    NOT NULL,
    created_at       BIGINT  NOT NULL,
    updated_at       BIGINT  NOT NULL,
    last_seen_at     BIGINT  NOT NULL DEFAULT 0,
    last_seen_addr   TEXT    NOT NULL DEFAULT '',
    app_version      TEXT    NOT NULL DEFAULT '',
    FOREIGN KEY (merchant_id, store_id) REFERENCES stores (merchant_id, id)
);

-- Append-only audit of what operators did to terminals.
CREATE TABLE terminal_events (
    id          TEXT   PRIMARY KEY,
    terminal_id TEXT   NOT NULL REFERENCES terminals (id),
    event       TEXT   NOT NULL,
    detail      TEXT   NOT NULL DEFAULT '',
    at          BIGINT NOT NULL
);
CREATE INDEX terminal_events_by_terminal ON terminal_events (terminal_id, at);

-- Limits set for one merchant or one terminal; NULL inherits (from the
-- configuration file's defaults), 0 means no limit.
CREATE TABLE limit_rules (
    scope      TEXT    NOT NULL CHECK (scope IN ('merchant', 'terminal')),
    scope_id   TEXT    NOT NULL,
    channel    TEXT    NOT NULL,
    enabled    INTEGER CHECK (enabled IN (0, 1)),
    single     BIGINT  CHECK (single >= 0),
    daily      BIGINT  CHECK (daily >= 0),
    updated_at BIGINT  NOT NULL,
    PRIMARY KEY (scope, scope_id, channel)
);

-- What each terminal (and each merchant with a daily limit) has taken or
-- has in flight on a channel on a day: kept in the same database
-- transaction as the payments, so the daily limit is exact.
CREATE TABLE daily_totals (
    scope    TEXT   NOT NULL,
    scope_id TEXT   NOT NULL,
    channel  TEXT   NOT NULL,
    day      TEXT   NOT NULL,
    amount   BIGINT NOT NULL,
    PRIMARY KEY (scope, scope_id, channel, day)
);

-- A sale is what the customer owes; it is paid by one or more attempts
-- (transactions), of which at most one succeeds.
CREATE TABLE sales (
    id          TEXT   PRIMARY KEY,
    terminal_id TEXT   NOT NULL,
    merchant_id TEXT   NOT NULL,
    store_id    TEXT   NOT NULL,
    amount      BIGINT NOT NULL CHECK (amount > 0),
    state       TEXT   NOT NULL CHECK (state IN ('OPEN', 'PAID')),
    paid_by     TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- One attempt at a channel. check_after is when the sweeper looks at it
-- next (0: never, it is final); lease_* say which server instance is
-- looking at it, so two instances never work on one transaction at once.
CREATE TABLE transactions (
    id               TEXT    PRIMARY KEY,
    sale_id          TEXT    NOT NULL REFERENCES sales (id),
    terminal_id      TEXT    NOT NULL,
    merchant_id      TEXT    NOT NULL,
    store_id         TEXT    NOT NULL,
    trace            TEXT    NOT NULL,
    channel          TEXT    NOT NULL,
    kind             TEXT    NOT NULL,
    amount           BIGINT  NOT NULL CHECK (amount > 0),
    state            TEXT    NOT NULL CHECK (state IN ('CREATED', 'PENDING', 'UNKNOWN', 'SUCCESS', 'FAILED', 'CLOSED')),
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
    UNIQUE (terminal_id, trace),
    UNIQUE (channel, out_trade_no)
);
-- Every index here is maintained at every state change (a change touches
-- indexed columns, so PostgreSQL cannot update the row in place): only the
-- lookups on the hot path and the sweeper's get one. The rest (a terminal's
-- undelivered results, a merchant's day) go through transactions_by_terminal
-- or are once-a-day scans.
-- The guard behind "at most one attempt succeeds", in the database itself.
CREATE UNIQUE INDEX transactions_one_success ON transactions (sale_id) WHERE state = 'SUCCESS';
CREATE INDEX transactions_by_sale ON transactions (sale_id);
CREATE INDEX transactions_due ON transactions (check_after) WHERE check_after > 0;
CREATE INDEX transactions_by_terminal ON transactions (terminal_id, created_at);

-- Append-only: one row per state change, seq = the version after it.
CREATE TABLE transaction_history (
    tx_id      TEXT    NOT NULL REFERENCES transactions (id),
    seq        INTEGER NOT NULL,
    from_state TEXT    NOT NULL,
    to_state   TEXT    NOT NULL,
    reason     TEXT    NOT NULL DEFAULT '',
    actor      TEXT    NOT NULL DEFAULT '',
    at         BIGINT  NOT NULL,
    PRIMARY KEY (tx_id, seq)
);

-- The server instances sharing this database, each seen every second or so:
-- an instance alone spares itself notifying others of its changes.
CREATE TABLE instances (
    id         TEXT   PRIMARY KEY,
    started_at BIGINT NOT NULL,
    seen_at    BIGINT NOT NULL
);

-- Idempotency: every mutating call names a request id; the first answer is
-- kept and returned to replays.
CREATE TABLE requests (
    terminal_id  TEXT    NOT NULL,
    request_id   TEXT    NOT NULL,
    op           TEXT    NOT NULL,
    request_hash TEXT    NOT NULL,
    tx_id        TEXT    NOT NULL DEFAULT '',
    status       INTEGER NOT NULL DEFAULT 0,
    answer       TEXT    NOT NULL DEFAULT '',
    created_at   BIGINT  NOT NULL,
    answered_at  BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (terminal_id, request_id)
);
CREATE INDEX requests_by_age ON requests (created_at);
