//! The change log: one row per committed change, written in the writer's transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, SqliteConnection};

use super::{BEGIN_WRITE, SqliteStore, meta};
use crate::store::rows::{CHANGE_COLUMNS, ChangeRow, tags_json};
use crate::store::rules::{CHANGES_KEPT, ChangeDraft, LIVE_THROUGH_KEY};
use crate::store::{Change, ChangeLog, StoreError, StoreResult};

/// Change rows per multi-row INSERT: 6 bound values each stays well under SQLite's 32,766.
const CHANGE_CHUNK: usize = 4000;

/// Records one change at `now` and returns it with its place in the log.
pub(super) async fn record(
    conn: &mut SqliteConnection,
    change: ChangeDraft,
    now: DateTime<Utc>,
) -> StoreResult<Change> {
    // The outbox row commits or rolls back with the change it announces.
    super::webhooks::enqueue(conn, &change, now).await?;
    let row: ChangeRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO changes (kind, item_id, tags, was_public, is_public, at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING {CHANGE_COLUMNS}"
    )))
    .bind(change.kind.as_str())
    .bind(change.item_id)
    .bind(tags_json(&change.tags)?)
    .bind(change.was_public)
    .bind(change.is_public)
    .bind(now.timestamp())
    .fetch_one(&mut *conn)
    .await?;
    row.try_into()
}

/// Records many changes at `now` with a few multi-row statements (bulk imports).
pub(super) async fn record_many(
    conn: &mut SqliteConnection,
    changes: &[ChangeDraft],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    super::webhooks::enqueue_many(conn, changes, now).await?;
    for chunk in changes.chunks(CHANGE_CHUNK) {
        let tags = chunk
            .iter()
            .map(|c| tags_json(&c.tags))
            .collect::<StoreResult<Vec<_>>>()?;
        let mut qb = QueryBuilder::new(
            "INSERT INTO changes (kind, item_id, tags, was_public, is_public, at) ",
        );
        qb.push_values(chunk.iter().zip(tags), |mut row, (change, tags)| {
            row.push_bind(change.kind.as_str())
                .push_bind(change.item_id)
                .push_bind(tags)
                .push_bind(change.was_public)
                .push_bind(change.is_public)
                .push_bind(now.timestamp());
        });
        qb.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Keeps the newest [`CHANGES_KEPT`] sequence numbers: one index seek and a range delete.
pub(super) async fn prune(conn: &mut SqliteConnection) -> StoreResult<()> {
    sqlx::query("DELETE FROM changes WHERE seq <= (SELECT max(seq) FROM changes) - ?1")
        .bind(CHANGES_KEPT)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Every published item whose time came in `(after, through]` and that was last written while
/// it was still scheduled (an item written once already public had its own write say so),
/// recorded as published with its current tags.
const RECORD_DUE_SQL: &str = "INSERT INTO changes (kind, item_id, tags, was_public, is_public, at) \
     SELECT 'published', i.id, \
            (SELECT json_group_array(t.tag ORDER BY t.tag) FROM news_tags t \
             WHERE t.item_id = i.id), \
            0, 1, ?3 \
     FROM news_items i \
     WHERE i.status = 'published' AND i.published_at > ?1 AND i.published_at <= ?2 \
       AND i.updated_at < i.published_at \
     ORDER BY i.published_at, i.id";

#[async_trait]
impl ChangeLog for SqliteStore {
    async fn revision(&self) -> StoreResult<i64> {
        // `seq` is the rowid: max() is one seek to the end of the table.
        Ok(
            sqlx::query_scalar("SELECT coalesce(max(seq), 0) FROM changes")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn changes_after(&self, seq: i64, limit: u32) -> StoreResult<Vec<Change>> {
        let rows: Vec<ChangeRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {CHANGE_COLUMNS} FROM changes WHERE seq > ?1 ORDER BY seq LIMIT ?2"
        )))
        .bind(seq)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(Change::try_from).collect()
    }

    async fn publish_due(&self, now: DateTime<Utc>) -> StoreResult<Vec<Change>> {
        let now_secs = now.timestamp();
        // The write lock up front serialises concurrent callers: the second one reads the mark
        // the first one moved, so no item is recorded twice.
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let mark = meta::get(&mut tx, LIVE_THROUGH_KEY).await?;
        let mut recorded = Vec::new();
        let through = match mark {
            None => now_secs,
            Some(mark) => {
                let after: i64 = mark.parse().map_err(|_| {
                    StoreError::Corrupt(format!("`{LIVE_THROUGH_KEY}` is `{mark}`"))
                })?;
                let rows: Vec<ChangeRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "{RECORD_DUE_SQL} RETURNING {CHANGE_COLUMNS}"
                )))
                .bind(after)
                .bind(now_secs)
                .bind(now_secs)
                .fetch_all(&mut *tx)
                .await?;
                for row in rows {
                    recorded.push(Change::try_from(row)?);
                }
                // RETURNING promises no order.
                recorded.sort_by_key(|c| c.seq);
                for change in &recorded {
                    let slug: String =
                        sqlx::query_scalar("SELECT slug FROM news_items WHERE id = ?1")
                            .bind(change.item_id)
                            .fetch_one(&mut *tx)
                            .await?;
                    let draft = ChangeDraft {
                        kind: change.kind,
                        item_id: change.item_id,
                        tags: Vec::new(),
                        was_public: false,
                        is_public: true,
                        slug,
                        scheduled: false,
                    };
                    super::webhooks::enqueue(&mut tx, &draft, now).await?;
                }
                if !recorded.is_empty() {
                    prune(&mut tx).await?;
                }
                // A caller whose clock lags another's must not move the mark back and make
                // the other's items due again.
                after.max(now_secs)
            }
        };
        meta::set(&mut tx, LIVE_THROUGH_KEY, &through.to_string()).await?;
        tx.commit().await?;
        Ok(recorded)
    }
}
