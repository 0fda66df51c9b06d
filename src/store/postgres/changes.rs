//! The change log: one row per committed change, written in the writer's transaction, numbered
//! from a counter under the writers' lock and announced with `NOTIFY` at commit.
//!
//! Why a counter under a lock and not a sequence: a sequence hands out numbers at insert, and
//! transactions commit in any order, so a reader asking for "changes after 41" could see 43
//! commit first, move on, and never see 42. Under [`super::begin_write`] the transaction that
//! takes number N commits before the one that takes N + 1 can start writing.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, QueryBuilder};

use super::{CHANGES_CHANNEL, PostgresStore, begin_write, meta};
use crate::store::rows::{CHANGE_COLUMNS, ChangeRow, tags_json};
use crate::store::rules::{CHANGES_KEPT, ChangeDraft, LIVE_THROUGH_KEY};
use crate::store::{Change, ChangeLog, ChangeWakeups, StoreError, StoreResult};

/// Change rows per multi-row INSERT: 7 bound values each stays well under PostgreSQL's 65,535.
const CHANGE_CHUNK: usize = 4000;

/// Takes `n` numbers from counter `name` (the caller holds the writers' lock) and returns the
/// first; they roll back with the transaction, as SQLite's AUTOINCREMENT does.
pub(super) async fn take_numbers(
    conn: &mut PgConnection,
    name: &'static str,
    n: i64,
) -> StoreResult<i64> {
    let last: i64 = sqlx::query_scalar(
        "UPDATE herald_counters SET value = value + $2 WHERE name = $1 RETURNING value",
    )
    .bind(name)
    .bind(n)
    .fetch_one(&mut *conn)
    .await?;
    Ok(last - n + 1)
}

/// Announces `seq` as the newest change; PostgreSQL delivers it when the transaction commits,
/// and not at all if it rolls back.
async fn notify(conn: &mut PgConnection, seq: i64) -> StoreResult<()> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANGES_CHANNEL)
        .bind(seq.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Records one change at `now` and returns it with its place in the log.
pub(super) async fn record(
    conn: &mut PgConnection,
    change: ChangeDraft,
    now: DateTime<Utc>,
) -> StoreResult<Change> {
    // The outbox row commits or rolls back with the change it announces.
    super::webhooks::enqueue(conn, &change, now).await?;
    let seq = take_numbers(conn, "changes", 1).await?;
    let row: ChangeRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO changes (seq, kind, item_id, tags, was_public, is_public, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {CHANGE_COLUMNS}"
    )))
    .bind(seq)
    .bind(change.kind.as_str())
    .bind(change.item_id)
    .bind(tags_json(&change.tags)?)
    .bind(change.was_public)
    .bind(change.is_public)
    .bind(now.timestamp())
    .fetch_one(&mut *conn)
    .await?;
    notify(conn, seq).await?;
    row.try_into()
}

/// Records many changes at `now`, numbered in the order given (bulk imports).
pub(super) async fn record_many(
    conn: &mut PgConnection,
    changes: &[ChangeDraft],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    if changes.is_empty() {
        return Ok(());
    }
    super::webhooks::enqueue_many(conn, changes, now).await?;
    let mut seq = take_numbers(conn, "changes", changes.len() as i64).await?;
    for chunk in changes.chunks(CHANGE_CHUNK) {
        let rows = chunk
            .iter()
            .map(|c| {
                let row = (seq, c, tags_json(&c.tags)?);
                seq += 1;
                Ok(row)
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let mut qb = QueryBuilder::new(
            "INSERT INTO changes (seq, kind, item_id, tags, was_public, is_public, at) ",
        );
        qb.push_values(rows, |mut row, (seq, change, tags)| {
            row.push_bind(seq)
                .push_bind(change.kind.as_str())
                .push_bind(change.item_id)
                .push_bind(tags)
                .push_bind(change.was_public)
                .push_bind(change.is_public)
                .push_bind(now.timestamp());
        });
        qb.build().execute(&mut *conn).await?;
    }
    notify(conn, seq - 1).await
}

/// Keeps the newest [`CHANGES_KEPT`] sequence numbers: one index seek and a range delete.
pub(super) async fn prune(conn: &mut PgConnection) -> StoreResult<()> {
    sqlx::query("DELETE FROM changes WHERE seq <= (SELECT max(seq) FROM changes) - $1")
        .bind(CHANGES_KEPT)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Every published item whose time came in `(after, through]` and that was last written while
/// it was still scheduled (an item written once already public had its own write say so), with
/// its current tags (a JSON array, sorted byte-wise like every tag list), in the order SQLite
/// records them.
const DUE_SQL: &str = "SELECT i.id, i.slug, \
            coalesce((SELECT json_agg(t.tag ORDER BY t.tag)::text FROM news_tags t \
                      WHERE t.item_id = i.id), '[]') \
     FROM news_items i \
     WHERE i.status = 'published' AND i.published_at > $1 AND i.published_at <= $2 \
       AND i.updated_at < i.published_at \
     ORDER BY i.published_at, i.id";

#[async_trait]
impl ChangeLog for PostgresStore {
    async fn change_wakeups(&self) -> StoreResult<Option<ChangeWakeups>> {
        super::wakeups::listen(&self.pool).await.map(Some)
    }

    async fn revision(&self) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT coalesce(max(seq), 0)::int8 FROM changes")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn changes_after(&self, seq: i64, limit: u32) -> StoreResult<Vec<Change>> {
        let rows: Vec<ChangeRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {CHANGE_COLUMNS} FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2"
        )))
        .bind(seq)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(Change::try_from).collect()
    }

    async fn publish_due(&self, now: DateTime<Utc>) -> StoreResult<Vec<Change>> {
        let now_secs = now.timestamp();
        // The writers' lock serialises concurrent callers (replicas included): the second one
        // reads the mark the first one moved, so no item is recorded twice. The row lock on the
        // mark says the same to anyone reading this query alone.
        let mut tx = begin_write(&self.pool).await?;
        let mark: Option<String> =
            sqlx::query_scalar("SELECT value FROM herald_meta WHERE key = $1 FOR UPDATE")
                .bind(LIVE_THROUGH_KEY)
                .fetch_optional(&mut *tx)
                .await?;
        let mut recorded = Vec::new();
        let through = match mark {
            None => now_secs,
            Some(mark) => {
                let after: i64 = mark.parse().map_err(|_| {
                    StoreError::Corrupt(format!("`{LIVE_THROUGH_KEY}` is `{mark}`"))
                })?;
                let due: Vec<(i64, String, String)> = sqlx::query_as(DUE_SQL)
                    .bind(after)
                    .bind(now_secs)
                    .fetch_all(&mut *tx)
                    .await?;
                for (item_id, slug, tags) in due {
                    let tags: Vec<String> = serde_json::from_str(&tags)
                        .map_err(|e| StoreError::Corrupt(format!("tags of item {item_id}: {e}")))?;
                    let draft = ChangeDraft {
                        kind: crate::store::ChangeKind::Published,
                        item_id,
                        tags,
                        was_public: false,
                        is_public: true,
                        slug,
                        scheduled: false,
                    };
                    recorded.push(record(&mut tx, draft, now).await?);
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
