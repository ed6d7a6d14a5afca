-- vicgo store schema v2 (SQLite): idempotency keys on transactions, and
-- journeys, the records that let a journey wait for a human and move between
-- replicas. Still no column for a PAN, CVV2, OTP, secureToken or clear
-- fidoBlob.

ALTER TABLE transactions ADD COLUMN idempotency_key TEXT NOT NULL DEFAULT '';
ALTER TABLE transactions ADD COLUMN failure_code    TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX transactions_by_key ON transactions (user_id, idempotency_key) WHERE idempotency_key <> '';

CREATE TABLE journeys (
    id                TEXT    NOT NULL PRIMARY KEY,
    kind              TEXT    NOT NULL CHECK (kind IN ('ADD_CARD', 'PURCHASE')),
    user_id           TEXT    NOT NULL,
    idempotency_key   TEXT    NOT NULL DEFAULT '',
    request_hash      TEXT    NOT NULL DEFAULT '',
    status            TEXT    NOT NULL CHECK (status IN ('RUNNING', 'WAITING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'EXPIRED')),
    step              TEXT    NOT NULL,
    next_action       TEXT    NOT NULL DEFAULT '',
    state             BLOB    NOT NULL,
    result_id         TEXT    NOT NULL DEFAULT '',
    failure_code      TEXT    NOT NULL DEFAULT '',
    failure_reason    TEXT    NOT NULL DEFAULT '',
    lease_owner       TEXT    NOT NULL DEFAULT '',
    lease_expires_at  INTEGER,
    expires_at        INTEGER,
    version           INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    completed_at      INTEGER
);
CREATE UNIQUE INDEX journeys_by_key ON journeys (user_id, kind, idempotency_key) WHERE idempotency_key <> '';
CREATE INDEX journeys_by_status ON journeys (status, created_at, id);
CREATE INDEX journeys_by_user   ON journeys (user_id, created_at, id);
