//! Webhook subscriptions and their outbox (issue 17). The outbox is filled by the change log
//! itself (`changes::record` / `record_many` in each engine), in the writing transaction, so
//! every write path (API, imports, author edits, scheduled items going live) enqueues its
//! deliveries, and a crash between commit and sending loses none of them.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::rules::ChangeDraft;
use super::{ChangeKind, StoreResult};

/// The events a subscription can ask for.
pub const EVENT_TYPES: [&str; 5] = [
    "item.published",
    "item.updated",
    "item.unpublished",
    "item.deleted",
    "item.scheduled",
];

/// The event a change announces, with the item's status as receivers see it (`published`,
/// `scheduled`, `draft` or `deleted`); `None` for writes only editors can tell apart (a draft
/// created or edited).
pub fn event_of(change: &ChangeDraft) -> Option<(&'static str, &'static str)> {
    let status = if change.is_public {
        "published"
    } else if change.scheduled {
        "scheduled"
    } else {
        "draft"
    };
    match change.kind {
        ChangeKind::Deleted => Some(("item.deleted", "deleted")),
        ChangeKind::Published => Some(("item.published", status)),
        ChangeKind::Unpublished => Some(("item.unpublished", status)),
        ChangeKind::Created if change.is_public => Some(("item.published", status)),
        ChangeKind::Created | ChangeKind::Updated if change.scheduled => {
            Some(("item.scheduled", status))
        }
        ChangeKind::Updated if change.is_public => Some(("item.updated", status)),
        ChangeKind::Created | ChangeKind::Updated => None,
    }
}

/// A subscription as written by an editor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDraft {
    pub url: String,
    /// Known event types, without repeats.
    pub events: Vec<String>,
    pub description: Option<String>,
    pub enabled: bool,
}

/// A subscription as stored, without its secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    pub events: Vec<String>,
    pub description: Option<String>,
    pub enabled: bool,
    /// Why the deliverer turned it off, if it did.
    pub disabled_reason: Option<String>,
    /// Until when the secret before the last rotation still signs.
    pub previous_secret_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(DeliveryState::Pending),
            "delivered" => Some(DeliveryState::Delivered),
            "failed" => Some(DeliveryState::Failed),
            _ => None,
        }
    }
}

/// One message to one subscription, with how its sending went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: i64,
    pub webhook_id: i64,
    /// `webhook-id`: the same across retries and redeliveries.
    pub message_id: String,
    pub event_type: String,
    pub item_id: i64,
    pub slug: String,
    pub item_status: String,
    pub occurred_at: DateTime<Utc>,
    pub state: DeliveryState,
    pub attempts: i64,
    /// When the next attempt is due (pending deliveries), to the millisecond.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub response_code: Option<i64>,
    pub duration_ms: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A delivery the deliverer has leased, with where to send it and the secrets that sign it.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub delivery: Delivery,
    pub url: String,
    pub secret: String,
    /// The secret before the last rotation, with when it stops signing.
    pub previous_secret: Option<(String, DateTime<Utc>)>,
}

/// How one attempt went, as the deliverer records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub response_code: Option<i64>,
    pub duration_ms: i64,
    /// What went wrong (`None` when delivered).
    pub error: Option<String>,
    pub next: AttemptNext,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptNext {
    Delivered,
    /// Try again at this time.
    RetryAt(DateTime<Utc>),
    /// Give up on the delivery and turn the subscription off, saying why.
    Failed {
        disable_reason: String,
    },
}

#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Stores a subscription with its signing secret (`whsec_…`).
    async fn create_webhook(
        &self,
        draft: &WebhookDraft,
        secret: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Webhook>;
    /// Every subscription, oldest first.
    async fn webhooks(&self) -> StoreResult<Vec<Webhook>>;
    async fn webhook(&self, id: i64) -> StoreResult<Option<Webhook>>;
    /// Replaces the written fields; enabling clears the reason it was disabled.
    /// [`super::StoreError::NotFound`] if there is no such subscription.
    async fn update_webhook(
        &self,
        id: i64,
        draft: &WebhookDraft,
        now: DateTime<Utc>,
    ) -> StoreResult<Webhook>;
    /// Deletes a subscription with its deliveries; `NotFound` if there is none.
    async fn delete_webhook(&self, id: i64) -> StoreResult<()>;
    /// Makes `secret` the signing secret; the current one keeps signing until `grace_until`.
    async fn rotate_webhook_secret(
        &self,
        id: i64,
        secret: &str,
        grace_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<Webhook>;
    /// The newest `limit` deliveries of a subscription, newest first.
    async fn deliveries(&self, webhook_id: i64, limit: u32) -> StoreResult<Vec<Delivery>>;
    /// Queues delivery `delivery_id` of subscription `webhook_id` again, as a new delivery with
    /// the same message id, after everything queued before it.
    async fn redeliver(
        &self,
        webhook_id: i64,
        delivery_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<Delivery>;
    /// Leases up to `limit` due deliveries until `lease_until` and counts an attempt on each:
    /// only the oldest pending delivery of each enabled subscription, so one target's
    /// deliveries go out in order; several processes on one store never claim the same one.
    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedDelivery>>;
    /// Deletes delivered and failed deliveries finished before `before` (the outbox would
    /// otherwise grow with every event forever); returns how many went.
    async fn prune_deliveries(&self, before: DateTime<Utc>) -> StoreResult<u64>;
    /// Records an attempt on a claimed delivery and releases its lease.
    async fn finish_delivery(
        &self,
        delivery: &Delivery,
        attempt: &Attempt,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
}

/// Events as stored: comma-separated.
pub fn events_column(events: &[String]) -> String {
    events.join(",")
}

pub fn events_from_column(column: &str) -> Vec<String> {
    column
        .split(',')
        .filter(|e| !e.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A stored time in milliseconds.
pub fn from_millis(ms: i64) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| super::StoreError::Corrupt(format!("time {ms} ms out of range")))
}

pub fn from_secs(secs: i64) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp(secs, 0)
        .ok_or_else(|| super::StoreError::Corrupt(format!("time {secs} out of range")))
}

/// The columns every delivery read selects, in [`StoredDelivery`] order.
pub const DELIVERY_COLUMNS: &str = "d.id, d.webhook_id, d.message_id, d.event_type, d.item_id, \
     d.slug, d.item_status, d.occurred_at, d.state, d.attempts, d.next_attempt_at, \
     d.lease_until, d.response_code, d.duration_ms, d.last_error, d.created_at, d.finished_at";

/// A delivery with every stored column, as reads select it and as `copy-store` and
/// `herald export` move it: the outbox moves with its subscriptions, so a pending message is
/// still sent after a move and the history still shows the sent ones. `next_attempt_at` and
/// `lease_until` are milliseconds, the other times seconds.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredDelivery {
    pub id: i64,
    pub webhook_id: i64,
    pub message_id: String,
    pub event_type: String,
    pub item_id: i64,
    pub slug: String,
    pub item_status: String,
    pub occurred_at: i64,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub lease_until: Option<i64>,
    pub response_code: Option<i64>,
    pub duration_ms: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

impl TryFrom<StoredDelivery> for Delivery {
    type Error = super::StoreError;

    fn try_from(r: StoredDelivery) -> StoreResult<Self> {
        let state = DeliveryState::parse(&r.state).ok_or_else(|| {
            super::StoreError::Corrupt(format!("delivery {} is `{}`", r.id, r.state))
        })?;
        Ok(Delivery {
            id: r.id,
            webhook_id: r.webhook_id,
            message_id: r.message_id,
            event_type: r.event_type,
            item_id: r.item_id,
            slug: r.slug,
            item_status: r.item_status,
            occurred_at: from_secs(r.occurred_at)?,
            state,
            attempts: r.attempts,
            next_attempt_at: (state == DeliveryState::Pending)
                .then(|| from_millis(r.next_attempt_at))
                .transpose()?,
            response_code: r.response_code,
            duration_ms: r.duration_ms,
            last_error: r.last_error,
            created_at: from_secs(r.created_at)?,
            finished_at: r.finished_at.map(from_secs).transpose()?,
        })
    }
}

/// The columns every subscription read selects, in [`WebhookRow`] order.
pub const WEBHOOK_COLUMNS: &str = "id, url, events, description, enabled, disabled_reason, \
     previous_secret_until, created_at, updated_at";

#[derive(sqlx::FromRow)]
pub struct WebhookRow {
    id: i64,
    url: String,
    events: String,
    description: Option<String>,
    enabled: bool,
    disabled_reason: Option<String>,
    previous_secret_until: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<WebhookRow> for Webhook {
    type Error = super::StoreError;

    fn try_from(r: WebhookRow) -> StoreResult<Self> {
        Ok(Webhook {
            id: r.id,
            url: r.url,
            events: events_from_column(&r.events),
            description: r.description,
            enabled: r.enabled,
            disabled_reason: r.disabled_reason,
            previous_secret_until: r.previous_secret_until.map(from_secs).transpose()?,
            created_at: from_secs(r.created_at)?,
            updated_at: from_secs(r.updated_at)?,
        })
    }
}

/// A claimed delivery with its subscription's URL and secrets, as the claim query returns it.
#[derive(sqlx::FromRow)]
pub struct ClaimRow {
    #[sqlx(flatten)]
    delivery: StoredDelivery,
    url: String,
    secret: String,
    previous_secret: Option<String>,
    previous_secret_until: Option<i64>,
}

impl ClaimRow {
    pub fn into_claimed(self) -> StoreResult<ClaimedDelivery> {
        let previous_secret = match (self.previous_secret, self.previous_secret_until) {
            (Some(secret), Some(until)) => Some((secret, from_secs(until)?)),
            _ => None,
        };
        Ok(ClaimedDelivery {
            delivery: self.delivery.try_into()?,
            url: self.url,
            secret: self.secret,
            previous_secret,
        })
    }
}

/// A subscription with every stored column, secrets included, as `copy-store` and
/// `herald export` move it: signing needs the secret itself, so it moves as written. Times are
/// the stored seconds.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredWebhook {
    pub id: i64,
    pub url: String,
    /// Comma-separated, as stored.
    pub events: String,
    pub description: Option<String>,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<i64>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The whole-store inserts for [`StoredWebhook`] and [`StoredDelivery`] (`copy-store`,
/// `herald export`): every column, the same text on both engines. (They are read with
/// [`WEBHOOK_COLUMNS`] and [`DELIVERY_COLUMNS`].)
pub const INSERT_WEBHOOKS_HEAD: &str = "INSERT INTO webhooks (id, url, events, description, \
     secret, previous_secret, previous_secret_until, enabled, disabled_reason, created_at, \
     updated_at) ";
pub const INSERT_DELIVERIES_HEAD: &str = "INSERT INTO webhook_deliveries (id, webhook_id, \
     message_id, event_type, item_id, slug, item_status, occurred_at, state, attempts, \
     next_attempt_at, lease_until, response_code, duration_ms, last_error, created_at, \
     finished_at) ";

/// The statements both engines run as written (numbered parameters); only queueing (how a
/// message id is made, how an event is matched) and claiming (PostgreSQL's row locks) differ.
pub const ANY_ENABLED_SQL: &str = "SELECT EXISTS (SELECT 1 FROM webhooks WHERE enabled)";
pub const CREATE_SQL: &str = "INSERT INTO webhooks (url, events, description, secret, enabled, \
     created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id";
pub const UPDATE_SQL: &str = "UPDATE webhooks SET url = $2, events = $3, description = $4, \
     enabled = $5, disabled_reason = CASE WHEN $5 THEN NULL ELSE disabled_reason END, \
     updated_at = $6 WHERE id = $1";
/// Explicit rather than trusting SQLite's foreign-key setting on the connection.
pub const DELETE_DELIVERIES_SQL: &str = "DELETE FROM webhook_deliveries WHERE webhook_id = $1";
pub const DELETE_SQL: &str = "DELETE FROM webhooks WHERE id = $1";
pub const ROTATE_SQL: &str = "UPDATE webhooks SET previous_secret = secret, \
     previous_secret_until = $3, secret = $2, updated_at = $4 WHERE id = $1";
pub const REDELIVER_SQL: &str = "INSERT INTO webhook_deliveries (webhook_id, message_id, \
     event_type, item_id, slug, item_status, occurred_at, next_attempt_at, created_at) \
     SELECT webhook_id, message_id, event_type, item_id, slug, item_status, occurred_at, $3, $4 \
     FROM webhook_deliveries WHERE id = $2 AND webhook_id = $1 RETURNING id";
/// Whether any delivery might be claimable: a plain read, so an idle deliverer's poll takes no
/// writer's lock (SQLite) and locks no rows (PostgreSQL).
pub const ANY_DUE_SQL: &str = "SELECT EXISTS (SELECT 1 FROM webhook_deliveries d \
     JOIN webhooks w ON w.id = d.webhook_id \
     WHERE w.enabled AND d.state = 'pending' AND d.next_attempt_at <= $1 \
       AND (d.lease_until IS NULL OR d.lease_until <= $1))";
pub const PRUNE_SQL: &str =
    "DELETE FROM webhook_deliveries WHERE state <> 'pending' AND finished_at < $1";
pub const FINISH_SQL: &str = "UPDATE webhook_deliveries SET state = $2, \
     next_attempt_at = coalesce($3, next_attempt_at), lease_until = NULL, \
     response_code = $4, duration_ms = $5, last_error = $6, finished_at = $7 WHERE id = $1";
pub const DISABLE_SQL: &str =
    "UPDATE webhooks SET enabled = FALSE, disabled_reason = $2, updated_at = $3 WHERE id = $1";

/// The claim's inner part, shared: the oldest pending delivery of each enabled subscription,
/// when due and not leased. An engine's claim is `UPDATE … WHERE id IN (` this `[lock]) RETURNING
/// id`, with `$1` now and `$3` the limit.
macro_rules! claimable {
    () => {
        "SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
         WHERE w.enabled AND d.state = 'pending' \
           AND d.id = (SELECT min(e.id) FROM webhook_deliveries e \
                       WHERE e.webhook_id = d.webhook_id AND e.state = 'pending') \
           AND d.next_attempt_at <= $1 \
           AND (d.lease_until IS NULL OR d.lease_until <= $1) \
         ORDER BY d.id LIMIT $3"
    };
}
pub(crate) use claimable;

/// The [`WebhookStore`] of an engine, and the `enqueue`/`enqueue_many` its change log calls.
/// Given: the store type, its database, a function opening a write transaction (`$begin`), one
/// opening the deliverer's transactions (`$begin_delivery`: PostgreSQL's claims must not wait
/// for writers), the engine's queueing statement (`$1` event, `$2` item id, `$3` slug, `$4`
/// status, `$5` now in seconds, `$6` in milliseconds) and its claim (`$2` the lease's end).
macro_rules! webhook_store {
    ($store:ty, $db:ty, $begin:ident, $begin_delivery:ident, $enqueue_sql:expr, $claim_sql:expr) => {
        use $crate::store::webhooks as shared;

        /// Queues the change's event for every enabled subscription asking for it, in the
        /// writer's transaction.
        pub(super) async fn enqueue(
            conn: &mut <$db as sqlx::Database>::Connection,
            change: &$crate::store::rules::ChangeDraft,
            now: chrono::DateTime<chrono::Utc>,
        ) -> $crate::store::StoreResult<()> {
            let Some((event, status)) = shared::event_of(change) else {
                return Ok(());
            };
            sqlx::query($enqueue_sql)
                .bind(event)
                .bind(change.item_id)
                .bind(&change.slug)
                .bind(status)
                .bind(now.timestamp())
                .bind(now.timestamp_millis())
                .execute(&mut *conn)
                .await?;
            Ok(())
        }

        /// [`enqueue`] for a batch; one look when nobody subscribes (bulk imports stay as fast).
        pub(super) async fn enqueue_many(
            conn: &mut <$db as sqlx::Database>::Connection,
            changes: &[$crate::store::rules::ChangeDraft],
            now: chrono::DateTime<chrono::Utc>,
        ) -> $crate::store::StoreResult<()> {
            if changes.is_empty() {
                return Ok(());
            }
            let any: bool = sqlx::query_scalar(shared::ANY_ENABLED_SQL)
                .fetch_one(&mut *conn)
                .await?;
            if !any {
                return Ok(());
            }
            for change in changes {
                enqueue(conn, change, now).await?;
            }
            Ok(())
        }

        async fn fetch_webhook(
            conn: &mut <$db as sqlx::Database>::Connection,
            id: i64,
        ) -> $crate::store::StoreResult<shared::Webhook> {
            let row: Option<shared::WebhookRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {} FROM webhooks WHERE id = $1",
                shared::WEBHOOK_COLUMNS
            )))
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
            row.ok_or($crate::store::StoreError::NotFound)?.try_into()
        }

        async fn fetch_delivery(
            conn: &mut <$db as sqlx::Database>::Connection,
            id: i64,
        ) -> $crate::store::StoreResult<shared::Delivery> {
            let row: shared::StoredDelivery = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {} FROM webhook_deliveries d WHERE d.id = $1",
                shared::DELIVERY_COLUMNS
            )))
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
            row.try_into()
        }

        /// Fails with `NotFound` when a write to one subscription touched no row.
        fn found(done: <$db as sqlx::Database>::QueryResult) -> $crate::store::StoreResult<()> {
            if done.rows_affected() == 0 {
                return Err($crate::store::StoreError::NotFound);
            }
            Ok(())
        }

        /// The subscription `id` as the write `done` in `tx` left it, committed; `NotFound`
        /// when the write touched no row.
        async fn committed(
            mut tx: sqlx::Transaction<'_, $db>,
            id: i64,
            done: <$db as sqlx::Database>::QueryResult,
        ) -> $crate::store::StoreResult<shared::Webhook> {
            found(done)?;
            let webhook = fetch_webhook(&mut tx, id).await?;
            tx.commit().await?;
            Ok(webhook)
        }

        #[async_trait::async_trait]
        impl shared::WebhookStore for $store {
            async fn create_webhook(
                &self,
                draft: &shared::WebhookDraft,
                secret: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<shared::Webhook> {
                let mut conn = self.pool.acquire().await?;
                let id: i64 = sqlx::query_scalar(shared::CREATE_SQL)
                    .bind(&draft.url)
                    .bind(shared::events_column(&draft.events))
                    .bind(&draft.description)
                    .bind(secret)
                    .bind(draft.enabled)
                    .bind(now.timestamp())
                    .fetch_one(&mut *conn)
                    .await?;
                fetch_webhook(&mut conn, id).await
            }

            async fn webhooks(&self) -> $crate::store::StoreResult<Vec<shared::Webhook>> {
                let rows: Vec<shared::WebhookRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM webhooks ORDER BY id",
                    shared::WEBHOOK_COLUMNS
                )))
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(shared::Webhook::try_from).collect()
            }

            async fn webhook(
                &self,
                id: i64,
            ) -> $crate::store::StoreResult<Option<shared::Webhook>> {
                let mut conn = self.pool.acquire().await?;
                match fetch_webhook(&mut conn, id).await {
                    Err($crate::store::StoreError::NotFound) => Ok(None),
                    found => found.map(Some),
                }
            }

            async fn update_webhook(
                &self,
                id: i64,
                draft: &shared::WebhookDraft,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<shared::Webhook> {
                let mut tx = $begin(&self.pool).await?;
                let done = sqlx::query(shared::UPDATE_SQL)
                    .bind(id)
                    .bind(&draft.url)
                    .bind(shared::events_column(&draft.events))
                    .bind(&draft.description)
                    .bind(draft.enabled)
                    .bind(now.timestamp())
                    .execute(&mut *tx)
                    .await?;
                committed(tx, id, done).await
            }

            async fn delete_webhook(&self, id: i64) -> $crate::store::StoreResult<()> {
                let mut tx = $begin(&self.pool).await?;
                sqlx::query(shared::DELETE_DELIVERIES_SQL)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                found(
                    sqlx::query(shared::DELETE_SQL)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?,
                )?;
                tx.commit().await?;
                Ok(())
            }

            async fn rotate_webhook_secret(
                &self,
                id: i64,
                secret: &str,
                grace_until: chrono::DateTime<chrono::Utc>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<shared::Webhook> {
                let mut tx = $begin(&self.pool).await?;
                let done = sqlx::query(shared::ROTATE_SQL)
                    .bind(id)
                    .bind(secret)
                    .bind(grace_until.timestamp())
                    .bind(now.timestamp())
                    .execute(&mut *tx)
                    .await?;
                committed(tx, id, done).await
            }

            async fn deliveries(
                &self,
                webhook_id: i64,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<shared::Delivery>> {
                let rows: Vec<shared::StoredDelivery> =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {} FROM webhook_deliveries d WHERE d.webhook_id = $1 \
                     ORDER BY d.id DESC LIMIT $2",
                        shared::DELIVERY_COLUMNS
                    )))
                    .bind(webhook_id)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                rows.into_iter().map(shared::Delivery::try_from).collect()
            }

            async fn redeliver(
                &self,
                webhook_id: i64,
                delivery_id: i64,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<shared::Delivery> {
                let mut tx = $begin(&self.pool).await?;
                let id: Option<i64> = sqlx::query_scalar(shared::REDELIVER_SQL)
                    .bind(webhook_id)
                    .bind(delivery_id)
                    .bind(now.timestamp_millis())
                    .bind(now.timestamp())
                    .fetch_optional(&mut *tx)
                    .await?;
                let id = id.ok_or($crate::store::StoreError::NotFound)?;
                let delivery = fetch_delivery(&mut tx, id).await?;
                tx.commit().await?;
                Ok(delivery)
            }

            async fn claim_deliveries(
                &self,
                now: chrono::DateTime<chrono::Utc>,
                lease_until: chrono::DateTime<chrono::Utc>,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<shared::ClaimedDelivery>> {
                let now_ms = now.timestamp_millis();
                let due: bool = sqlx::query_scalar(shared::ANY_DUE_SQL)
                    .bind(now_ms)
                    .fetch_one(&self.pool)
                    .await?;
                if !due {
                    return Ok(Vec::new());
                }
                let mut tx = $begin_delivery(&self.pool).await?;
                let ids: Vec<i64> = sqlx::query_scalar($claim_sql)
                    .bind(now_ms)
                    .bind(lease_until.timestamp_millis())
                    .bind(i64::from(limit))
                    .fetch_all(&mut *tx)
                    .await?;
                let mut claimed = Vec::with_capacity(ids.len());
                if !ids.is_empty() {
                    let mut qb = sqlx::QueryBuilder::<$db>::new(format!(
                        "SELECT {}, w.url, w.secret, w.previous_secret, w.previous_secret_until \
                         FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
                         WHERE d.id IN (",
                        shared::DELIVERY_COLUMNS
                    ));
                    let mut list = qb.separated(", ");
                    for id in &ids {
                        list.push_bind(*id);
                    }
                    qb.push(") ORDER BY d.id");
                    let rows: Vec<shared::ClaimRow> =
                        qb.build_query_as().fetch_all(&mut *tx).await?;
                    for row in rows {
                        claimed.push(row.into_claimed()?);
                    }
                }
                tx.commit().await?;
                Ok(claimed)
            }

            async fn prune_deliveries(
                &self,
                before: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<u64> {
                let done = sqlx::query(shared::PRUNE_SQL)
                    .bind(before.timestamp())
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
            }

            async fn finish_delivery(
                &self,
                delivery: &shared::Delivery,
                attempt: &shared::Attempt,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::StoreResult<()> {
                use shared::AttemptNext;
                let mut tx = $begin_delivery(&self.pool).await?;
                let (state, next_ms, finished) = match &attempt.next {
                    AttemptNext::Delivered => ("delivered", None, Some(now.timestamp())),
                    AttemptNext::RetryAt(at) => ("pending", Some(at.timestamp_millis()), None),
                    AttemptNext::Failed { .. } => ("failed", None, Some(now.timestamp())),
                };
                sqlx::query(shared::FINISH_SQL)
                    .bind(delivery.id)
                    .bind(state)
                    .bind(next_ms)
                    .bind(attempt.response_code)
                    .bind(attempt.duration_ms)
                    .bind(&attempt.error)
                    .bind(finished)
                    .execute(&mut *tx)
                    .await?;
                if let AttemptNext::Failed { disable_reason } = &attempt.next {
                    sqlx::query(shared::DISABLE_SQL)
                        .bind(delivery.webhook_id)
                        .bind(disable_reason)
                        .bind(now.timestamp())
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }
        }
    };
}
pub(crate) use webhook_store;

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(kind: ChangeKind, was_public: bool, is_public: bool, scheduled: bool) -> ChangeDraft {
        ChangeDraft {
            kind,
            item_id: 1,
            tags: vec![],
            was_public,
            is_public,
            slug: "a".into(),
            scheduled,
        }
    }

    #[test]
    fn changes_map_to_events() {
        use ChangeKind::*;
        let event = |d: ChangeDraft| event_of(&d).map(|(e, _)| e);
        assert_eq!(
            event(draft(Created, false, true, false)),
            Some("item.published")
        );
        assert_eq!(
            event(draft(Created, false, false, true)),
            Some("item.scheduled")
        );
        assert_eq!(event(draft(Created, false, false, false)), None);
        assert_eq!(
            event(draft(Updated, true, true, false)),
            Some("item.updated")
        );
        assert_eq!(event(draft(Updated, false, false, false)), None);
        assert_eq!(
            event(draft(Updated, false, false, true)),
            Some("item.scheduled")
        );
        assert_eq!(
            event(draft(Published, false, true, false)),
            Some("item.published")
        );
        assert_eq!(
            event(draft(Unpublished, true, false, false)),
            Some("item.unpublished")
        );
        assert_eq!(
            event(draft(Deleted, true, false, false)),
            Some("item.deleted")
        );
    }
}
