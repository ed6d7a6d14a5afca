-- vicgo store schema v1 (SQLite). Time stamps are INTEGER microseconds since
-- the Unix epoch, UTC. There is no column for a PAN, CVV2, OTP, secureToken or
-- clear fidoBlob, by design.

CREATE TABLE users (
    id          TEXT    NOT NULL PRIMARY KEY,
    email       TEXT    NOT NULL,
    country     TEXT    NOT NULL DEFAULT '',
    language    TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE cards (
    token_id            TEXT    NOT NULL PRIMARY KEY,
    user_id             TEXT    NOT NULL REFERENCES users (id),
    token_reference_id  TEXT    NOT NULL DEFAULT '',
    last4               TEXT    NOT NULL CHECK (length(last4) = 4),
    expiry_month        INTEGER NOT NULL CHECK (expiry_month BETWEEN 1 AND 12),
    expiry_year         INTEGER NOT NULL,
    card_art_url        TEXT    NOT NULL DEFAULT '',
    token_status        TEXT    NOT NULL CHECK (token_status IN ('INACTIVE', 'ACTIVE', 'SUSPENDED', 'DELETED')),
    vic_enrollment      TEXT    NOT NULL CHECK (vic_enrollment IN ('NONE', 'ENROLLED')),
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    UNIQUE (token_id, user_id)
);
CREATE INDEX cards_by_user ON cards (user_id, created_at, token_id);

CREATE TABLE passkeys (
    token_id     TEXT    NOT NULL,
    device_id    TEXT    NOT NULL,
    user_id      TEXT    NOT NULL,
    identifier   TEXT    NOT NULL,
    sealed_blob  BLOB    NOT NULL,
    rp_id        TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (token_id, device_id),
    FOREIGN KEY (token_id, user_id) REFERENCES cards (token_id, user_id) ON DELETE CASCADE
);

CREATE TABLE transactions (
    id                        TEXT    NOT NULL PRIMARY KEY,
    user_id                   TEXT    NOT NULL REFERENCES users (id),
    token_id                  TEXT    NOT NULL,
    instruction_id            TEXT    NOT NULL DEFAULT '',
    client_reference_id       TEXT    NOT NULL DEFAULT '',
    transaction_reference_id  TEXT    NOT NULL DEFAULT '',
    mandate_id                TEXT    NOT NULL DEFAULT '',
    amount                    TEXT    NOT NULL,
    currency                  TEXT    NOT NULL CHECK (length(currency) = 3),
    merchant_name             TEXT    NOT NULL DEFAULT '',
    merchant_url              TEXT    NOT NULL DEFAULT '',
    status                    TEXT    NOT NULL CHECK (status IN ('PENDING', 'AUTHENTICATED', 'INSTRUCTED',
                                  'CREDENTIALS_REQUESTED', 'CREDENTIALS_ISSUED', 'AUTHORIZING', 'AUTHORIZED',
                                  'DECLINED', 'COMPLETED', 'FAILED', 'CANCELLED')),
    response_code             TEXT    NOT NULL DEFAULT '',
    authorization_code        TEXT    NOT NULL DEFAULT '',
    dynamic_data_id           TEXT    NOT NULL DEFAULT '',
    failure_reason            TEXT    NOT NULL DEFAULT '',
    created_at                INTEGER NOT NULL,
    updated_at                INTEGER NOT NULL,
    completed_at              INTEGER,
    confirmed_at              INTEGER
);
CREATE INDEX transactions_by_time   ON transactions (created_at, id);
CREATE INDEX transactions_by_user   ON transactions (user_id, created_at, id);
CREATE INDEX transactions_by_token  ON transactions (token_id, created_at, id);
CREATE INDEX transactions_by_status ON transactions (status, created_at, id);
