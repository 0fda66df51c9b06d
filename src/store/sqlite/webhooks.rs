//! Webhook subscriptions and their outbox on SQLite. One process writes a SQLite store, so a
//! claim is an update inside `BEGIN IMMEDIATE`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, SqliteConnection};

use super::{BEGIN_WRITE, SqliteStore};
use crate::store::rules::ChangeDraft;
use crate::store::webhooks::{
    Attempt, AttemptNext, CLAIM_COLUMNS, ClaimRow, ClaimedDelivery, DELIVERY_COLUMNS, Delivery,
    DeliveryRow, WEBHOOK_COLUMNS, Webhook, WebhookDraft, WebhookRow, WebhookStore, event_of,
    events_column,
};
use crate::store::{StoreError, StoreResult};

/// Queues the change's event for every enabled subscription asking for it, in the writer's
/// transaction.
pub(super) async fn enqueue(
    conn: &mut SqliteConnection,
    change: &ChangeDraft,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let Some((event, status)) = event_of(change) else {
        return Ok(());
    };
    sqlx::query(
        "INSERT INTO webhook_deliveries (webhook_id, message_id, event_type, item_id, slug, \
         item_status, occurred_at, next_attempt_at, created_at) \
         SELECT w.id, 'msg_' || lower(hex(randomblob(16))), ?1, ?2, ?3, ?4, ?5, ?6, ?5 \
         FROM webhooks w \
         WHERE w.enabled AND instr(',' || w.events || ',', ',' || ?1 || ',') > 0 \
         ORDER BY w.id",
    )
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
    conn: &mut SqliteConnection,
    changes: &[ChangeDraft],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    if changes.is_empty() || !any_enabled(conn).await? {
        return Ok(());
    }
    for change in changes {
        enqueue(conn, change, now).await?;
    }
    Ok(())
}

async fn any_enabled(conn: &mut SqliteConnection) -> StoreResult<bool> {
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM webhooks WHERE enabled)")
            .fetch_one(&mut *conn)
            .await?,
    )
}

async fn fetch_webhook(conn: &mut SqliteConnection, id: i64) -> StoreResult<Option<Webhook>> {
    let row: Option<WebhookRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = ?1"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(Webhook::try_from).transpose()
}

async fn fetch_delivery(conn: &mut SqliteConnection, id: i64) -> StoreResult<Delivery> {
    let row: DeliveryRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d WHERE d.id = ?1"
    )))
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    row.try_into()
}

#[async_trait]
impl WebhookStore for SqliteStore {
    async fn create_webhook(
        &self,
        draft: &WebhookDraft,
        secret: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Webhook> {
        let mut conn = self.pool.acquire().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO webhooks (url, events, description, secret, enabled, created_at, \
             updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) RETURNING id",
        )
        .bind(&draft.url)
        .bind(events_column(&draft.events))
        .bind(&draft.description)
        .bind(secret)
        .bind(draft.enabled)
        .bind(now.timestamp())
        .fetch_one(&mut *conn)
        .await?;
        fetch_webhook(&mut conn, id)
            .await?
            .ok_or(StoreError::NotFound)
    }

    async fn webhooks(&self) -> StoreResult<Vec<Webhook>> {
        let rows: Vec<WebhookRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks ORDER BY id"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(Webhook::try_from).collect()
    }

    async fn webhook(&self, id: i64) -> StoreResult<Option<Webhook>> {
        let mut conn = self.pool.acquire().await?;
        fetch_webhook(&mut conn, id).await
    }

    async fn update_webhook(
        &self,
        id: i64,
        draft: &WebhookDraft,
        now: DateTime<Utc>,
    ) -> StoreResult<Webhook> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let done = sqlx::query(
            "UPDATE webhooks SET url = ?2, events = ?3, description = ?4, enabled = ?5, \
             disabled_reason = CASE WHEN ?5 THEN NULL ELSE disabled_reason END, updated_at = ?6 \
             WHERE id = ?1",
        )
        .bind(id)
        .bind(&draft.url)
        .bind(events_column(&draft.events))
        .bind(&draft.description)
        .bind(draft.enabled)
        .bind(now.timestamp())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let webhook = fetch_webhook(&mut tx, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(webhook)
    }

    async fn delete_webhook(&self, id: i64) -> StoreResult<()> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        // Explicit rather than trusting the connection's foreign-key setting.
        sqlx::query("DELETE FROM webhook_deliveries WHERE webhook_id = ?1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM webhooks WHERE id = ?1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }

    async fn rotate_webhook_secret(
        &self,
        id: i64,
        secret: &str,
        grace_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<Webhook> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let done = sqlx::query(
            "UPDATE webhooks SET previous_secret = secret, previous_secret_until = ?3, \
             secret = ?2, updated_at = ?4 WHERE id = ?1",
        )
        .bind(id)
        .bind(secret)
        .bind(grace_until.timestamp())
        .bind(now.timestamp())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let webhook = fetch_webhook(&mut tx, id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(webhook)
    }

    async fn deliveries(&self, webhook_id: i64, limit: u32) -> StoreResult<Vec<Delivery>> {
        let rows: Vec<DeliveryRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d WHERE d.webhook_id = ?1 \
             ORDER BY d.id DESC LIMIT ?2"
        )))
        .bind(webhook_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(Delivery::try_from).collect()
    }

    async fn redeliver(
        &self,
        webhook_id: i64,
        delivery_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<Delivery> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO webhook_deliveries (webhook_id, message_id, event_type, item_id, slug, \
             item_status, occurred_at, next_attempt_at, created_at) \
             SELECT webhook_id, message_id, event_type, item_id, slug, item_status, occurred_at, \
                    ?3, ?4 \
             FROM webhook_deliveries WHERE id = ?2 AND webhook_id = ?1 RETURNING id",
        )
        .bind(webhook_id)
        .bind(delivery_id)
        .bind(now.timestamp_millis())
        .bind(now.timestamp())
        .fetch_optional(&mut *tx)
        .await?;
        let id = id.ok_or(StoreError::NotFound)?;
        let delivery = fetch_delivery(&mut tx, id).await?;
        tx.commit().await?;
        Ok(delivery)
    }

    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        let now_ms = now.timestamp_millis();
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let ids: Vec<i64> = sqlx::query_scalar(
            "UPDATE webhook_deliveries SET lease_until = ?2, attempts = attempts + 1 \
             WHERE id IN (\
               SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
               WHERE w.enabled AND d.state = 'pending' \
                 AND d.id = (SELECT min(e.id) FROM webhook_deliveries e \
                             WHERE e.webhook_id = d.webhook_id AND e.state = 'pending') \
                 AND d.next_attempt_at <= ?1 \
                 AND (d.lease_until IS NULL OR d.lease_until <= ?1) \
               ORDER BY d.id LIMIT ?3) \
             RETURNING id",
        )
        .bind(now_ms)
        .bind(lease_until.timestamp_millis())
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        let mut claimed = Vec::with_capacity(ids.len());
        if !ids.is_empty() {
            let mut qb = QueryBuilder::new(format!(
                "SELECT {CLAIM_COLUMNS} FROM webhook_deliveries d \
                 JOIN webhooks w ON w.id = d.webhook_id WHERE d.id IN ("
            ));
            let mut list = qb.separated(", ");
            for id in &ids {
                list.push_bind(*id);
            }
            qb.push(") ORDER BY d.id");
            let rows: Vec<ClaimRow> = qb.build_query_as().fetch_all(&mut *tx).await?;
            for row in rows {
                claimed.push(row.into_claimed()?);
            }
        }
        tx.commit().await?;
        Ok(claimed)
    }

    async fn prune_deliveries(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let done = sqlx::query(
            "DELETE FROM webhook_deliveries WHERE state <> 'pending' AND finished_at < ?1",
        )
        .bind(before.timestamp())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn finish_delivery(
        &self,
        delivery: &Delivery,
        attempt: &Attempt,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let (state, next_ms, finished) = match &attempt.next {
            AttemptNext::Delivered => ("delivered", None, Some(now.timestamp())),
            AttemptNext::RetryAt(at) => ("pending", Some(at.timestamp_millis()), None),
            AttemptNext::Failed { .. } => ("failed", None, Some(now.timestamp())),
        };
        sqlx::query(
            "UPDATE webhook_deliveries SET state = ?2, \
             next_attempt_at = coalesce(?3, next_attempt_at), lease_until = NULL, \
             response_code = ?4, duration_ms = ?5, last_error = ?6, finished_at = ?7 \
             WHERE id = ?1",
        )
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
            sqlx::query(
                "UPDATE webhooks SET enabled = 0, disabled_reason = ?2, updated_at = ?3 \
                 WHERE id = ?1",
            )
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
