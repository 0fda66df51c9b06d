//! Webhook subscriptions and their outbox on PostgreSQL: the shared implementation
//! ([`crate::store::webhooks`]). Several replicas may deliver from one database: a claim locks
//! the rows it takes with `FOR UPDATE SKIP LOCKED`, so each delivery is leased to one replica,
//! which sends it once.

use sqlx::{PgPool, Postgres, Transaction};

use super::{PostgresStore, begin_write};
use crate::store::StoreResult;
use crate::store::webhooks::{claimable, webhook_store};

/// One row per enabled subscription asking for the event, each with a random message id.
const ENQUEUE_SQL: &str = "INSERT INTO webhook_deliveries (webhook_id, message_id, event_type, \
     item_id, slug, item_status, occurred_at, next_attempt_at, created_at) \
     SELECT w.id, 'msg_' || replace(gen_random_uuid()::text, '-', ''), $1, $2, $3, $4, $5, $6, $5 \
     FROM webhooks w \
     WHERE w.enabled AND $1 = ANY (string_to_array(w.events, ',')) \
     ORDER BY w.id";

/// Rows another replica is claiming right now are skipped, not waited for.
const CLAIM_SQL: &str = concat!(
    "UPDATE webhook_deliveries SET lease_until = $2, attempts = attempts + 1 WHERE id IN (",
    claimable!(),
    " FOR UPDATE OF d SKIP LOCKED) RETURNING id"
);

/// Not the writers' lock: claiming and recording attempts must not wait for writes.
async fn begin_delivery(pool: &PgPool) -> StoreResult<Transaction<'static, Postgres>> {
    Ok(pool.begin().await?)
}

webhook_store!(
    PostgresStore,
    sqlx::Postgres,
    begin_write,
    begin_delivery,
    ENQUEUE_SQL,
    CLAIM_SQL
);
