//! Whole-store export and bulk insert, for `herald copy-store`.

use async_trait::async_trait;
use sqlx::{FromRow, QueryBuilder, Sqlite};

use super::items::attach;
use super::{BEGIN_WRITE, SqliteStore};
use crate::store::rows::{ITEM_COLUMNS, ItemRow, tags_json, timestamp};
use crate::store::{
    Change, Positions, StoreCounts, StoreExport, StoreResult, StoredItem, StoredToken,
};

/// Rows per multi-row INSERT: at most 11 bound values a row stays under SQLite's 32,766.
const CHUNK: usize = 1000;

#[derive(FromRow)]
struct ExportRow {
    #[sqlx(flatten)]
    row: ItemRow,
    source_key: Option<String>,
}

/// `INSERT INTO {table} ({columns}) VALUES …` for `rows`, `bind` pushing each row's values.
async fn insert_chunked<T>(
    conn: &mut sqlx::SqliteConnection,
    head: &'static str,
    rows: &[T],
    bind: impl Fn(&mut sqlx::query_builder::Separated<'_, Sqlite, &'static str>, &T),
) -> StoreResult<()> {
    for chunk in rows.chunks(CHUNK) {
        let mut qb = QueryBuilder::<Sqlite>::new(head);
        qb.push_values(chunk, |mut row, value| bind(&mut row, value));
        qb.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// The counter SQLite's AUTOINCREMENT keeps for `table` (0 before its first row).
async fn sequence(conn: &mut sqlx::SqliteConnection, table: &str) -> StoreResult<i64> {
    Ok(
        sqlx::query_scalar("SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = ?1")
            .bind(table)
            .fetch_one(&mut *conn)
            .await?,
    )
}

async fn advance_sequence(
    conn: &mut sqlx::SqliteConnection,
    table: &str,
    to: i64,
) -> StoreResult<()> {
    // sqlite_sequence has no unique key: update the row, or add it when the table never had one.
    let done = sqlx::query("UPDATE sqlite_sequence SET seq = max(seq, ?2) WHERE name = ?1")
        .bind(table)
        .bind(to)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        sqlx::query("INSERT INTO sqlite_sequence (name, seq) VALUES (?1, ?2)")
            .bind(table)
            .bind(to)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

#[async_trait]
impl StoreExport for SqliteStore {
    async fn export_items(&self, after: i64, limit: u32) -> StoreResult<Vec<StoredItem>> {
        let mut conn = self.pool.acquire().await?;
        let rows: Vec<ExportRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {ITEM_COLUMNS}, i.source_key FROM news_items i \
             WHERE i.id > ?1 ORDER BY i.id LIMIT ?2"
        )))
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&mut *conn)
        .await?;
        let (rows, keys): (Vec<ItemRow>, Vec<Option<String>>) =
            rows.into_iter().map(|r| (r.row, r.source_key)).unzip();
        let items = attach(&mut conn, rows).await?;
        Ok(items
            .into_iter()
            .zip(keys)
            .map(|(item, source_key)| StoredItem { item, source_key })
            .collect())
    }

    async fn export_tokens(&self) -> StoreResult<Vec<StoredToken>> {
        let rows: Vec<(String, String, i64, Option<i64>)> = sqlx::query_as(
            "SELECT name, token_hash, created_at, revoked_at FROM api_tokens ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(name, hash, created_at, revoked_at)| {
                Ok(StoredToken {
                    name,
                    hash,
                    created_at: timestamp(created_at)?,
                    revoked_at: revoked_at.map(timestamp).transpose()?,
                })
            })
            .collect()
    }

    async fn export_meta(&self) -> StoreResult<Vec<(String, String)>> {
        Ok(
            sqlx::query_as("SELECT key, value FROM herald_meta ORDER BY key")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    async fn positions(&self) -> StoreResult<Positions> {
        let mut conn = self.pool.acquire().await?;
        Ok(Positions {
            item_id: sequence(&mut conn, "news_items").await?,
            change_seq: sequence(&mut conn, "changes").await?,
        })
    }

    async fn counts(&self) -> StoreResult<StoreCounts> {
        let (items, links, tags, tokens, meta, changes) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM news_items), (SELECT count(*) FROM news_links), \
                    (SELECT count(*) FROM news_tags), (SELECT count(*) FROM api_tokens), \
                    (SELECT count(*) FROM herald_meta), (SELECT count(*) FROM changes)",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(StoreCounts {
            items,
            links,
            tags,
            tokens,
            meta,
            changes,
        })
    }

    async fn insert_items(&self, items: &[StoredItem]) -> StoreResult<()> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        insert_chunked(
            &mut tx,
            "INSERT INTO news_items (id, guid, slug, title, summary, content_markdown, \
             content_html, status, published_at, created_at, updated_at, source_key) ",
            items,
            |row, stored| {
                let item = &stored.item;
                row.push_bind(item.id)
                    .push_bind(item.guid.clone())
                    .push_bind(item.slug.clone())
                    .push_bind(item.title.clone())
                    .push_bind(item.summary.clone())
                    .push_bind(item.content_markdown.clone())
                    .push_bind(item.content_html.clone())
                    .push_bind(item.status.as_str())
                    .push_bind(item.published_at.timestamp())
                    .push_bind(item.created_at.timestamp())
                    .push_bind(item.updated_at.timestamp())
                    .push_bind(stored.source_key.clone());
            },
        )
        .await?;
        let links: Vec<_> = items
            .iter()
            .flat_map(|s| {
                s.item
                    .links
                    .iter()
                    .enumerate()
                    .map(move |(position, link)| (s.item.id, position as i64, link))
            })
            .collect();
        insert_chunked(
            &mut tx,
            "INSERT INTO news_links (item_id, position, title, url) ",
            &links,
            |row, (id, position, link)| {
                row.push_bind(*id)
                    .push_bind(*position)
                    .push_bind(link.title.clone())
                    .push_bind(link.url.clone());
            },
        )
        .await?;
        // The status and date copies on tag rows are the item's: written here, not left to
        // the trigger that corrects them one row at a time.
        let tags: Vec<_> = items
            .iter()
            .flat_map(|s| s.item.tags.iter().map(move |tag| (&s.item, tag)))
            .collect();
        insert_chunked(
            &mut tx,
            "INSERT INTO news_tags (item_id, tag, status, published_at) ",
            &tags,
            |row, (item, tag)| {
                row.push_bind(item.id)
                    .push_bind((*tag).clone())
                    .push_bind(item.status.as_str())
                    .push_bind(item.published_at.timestamp());
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn insert_tokens(&self, tokens: &[StoredToken]) -> StoreResult<()> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        insert_chunked(
            &mut tx,
            "INSERT INTO api_tokens (name, token_hash, created_at, revoked_at) ",
            tokens,
            |row, token| {
                row.push_bind(token.name.clone())
                    .push_bind(token.hash.clone())
                    .push_bind(token.created_at.timestamp())
                    .push_bind(token.revoked_at.map(|t| t.timestamp()));
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn insert_changes(&self, changes: &[Change]) -> StoreResult<()> {
        let tags = changes
            .iter()
            .map(|c| tags_json(&c.tags))
            .collect::<StoreResult<Vec<_>>>()?;
        let rows: Vec<_> = changes.iter().zip(tags).collect();
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        insert_chunked(
            &mut tx,
            "INSERT INTO changes (seq, kind, item_id, tags, was_public, is_public, at) ",
            &rows,
            |row, (change, tags)| {
                row.push_bind(change.seq)
                    .push_bind(change.kind.as_str())
                    .push_bind(change.item_id)
                    .push_bind(tags.clone())
                    .push_bind(change.was_public)
                    .push_bind(change.is_public)
                    .push_bind(change.at.timestamp());
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn advance_positions(&self, positions: Positions) -> StoreResult<()> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        advance_sequence(&mut tx, "news_items", positions.item_id).await?;
        advance_sequence(&mut tx, "changes", positions.change_seq).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn clear(&self) -> StoreResult<()> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        for table in ["news_items", "api_tokens", "herald_meta", "changes"] {
            sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}")))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
