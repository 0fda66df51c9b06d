-- Webhooks (issue 17): subscriptions, and the outbox of their deliveries. A delivery row is
-- written in the same transaction as the change it announces, so a crash between commit and
-- sending loses nothing.

CREATE TABLE webhooks (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    url                   TEXT    NOT NULL,
    -- Comma-separated event types (`item.published,item.deleted`).
    events                TEXT    NOT NULL,
    description           TEXT,
    -- `whsec_` and base64: kept as written, since signing needs the secret itself.
    secret                TEXT    NOT NULL,
    -- The secret before the last rotation, still signing until `previous_secret_until`.
    previous_secret       TEXT,
    previous_secret_until INTEGER,
    enabled               BOOLEAN NOT NULL DEFAULT 1,
    disabled_reason       TEXT,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
);

-- One row per event per subscription. Times the deliverer schedules by are in milliseconds
-- (`next_attempt_at`, `lease_until`); the others in whole seconds like every API time.
CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id      INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    -- `webhook-id`: the same across retries and redeliveries of one message.
    message_id      TEXT    NOT NULL,
    event_type      TEXT    NOT NULL,
    item_id         INTEGER NOT NULL,
    slug            TEXT    NOT NULL,
    item_status     TEXT    NOT NULL,
    occurred_at     INTEGER NOT NULL,
    -- pending, delivered or failed.
    state           TEXT    NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    response_code   INTEGER,
    duration_ms     INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    finished_at     INTEGER
);

-- The deliverer's claim: the oldest pending delivery of each subscription.
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (webhook_id, id)
    WHERE state = 'pending';
-- A subscription's recent deliveries, newest first.
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, id);
