//! Webhook subscriptions and their outbox on SQLite: the shared implementation
//! ([`crate::store::webhooks`]). One process writes a SQLite store, so a claim is an update
//! inside the writers' `BEGIN IMMEDIATE`.

use super::{SqliteStore, begin_write};
use crate::store::webhooks::{claimable, webhook_store};

/// One row per enabled subscription asking for the event, each with a random message id.
const ENQUEUE_SQL: &str = "INSERT INTO webhook_deliveries (webhook_id, message_id, event_type, \
     item_id, slug, item_status, occurred_at, next_attempt_at, created_at) \
     SELECT w.id, 'msg_' || lower(hex(randomblob(16))), $1, $2, $3, $4, $5, $6, $5 \
     FROM webhooks w \
     WHERE w.enabled AND instr(',' || w.events || ',', ',' || $1 || ',') > 0 \
     ORDER BY w.id";

const CLAIM_SQL: &str = concat!(
    "UPDATE webhook_deliveries SET lease_until = $2, attempts = attempts + 1 WHERE id IN (",
    claimable!(),
    ") RETURNING id"
);

webhook_store!(
    SqliteStore,
    sqlx::Sqlite,
    begin_write,
    begin_write,
    ENQUEUE_SQL,
    CLAIM_SQL
);
