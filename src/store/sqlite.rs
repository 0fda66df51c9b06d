//! The embedded default: one SQLite file in WAL mode.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{FromRow, QueryBuilder, Sqlite, SqliteConnection};

use super::{
    ContentTimes, ImportReport, ItemKey, ListQuery, Page, SourcedItem, Store, StoreError,
    StoreResult, Visibility, WriteItem,
};
use crate::model::{Link, NewsItem, Status};

/// Writers take the lock up front: a deferred transaction that reads and then writes can fail
/// with SQLITE_BUSY instead of waiting for the busy timeout.
const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        Ok(Self { pool })
    }
}

#[derive(FromRow)]
struct ItemRow {
    id: i64,
    guid: String,
    slug: String,
    title: String,
    summary: Option<String>,
    content_markdown: String,
    content_html: String,
    status: String,
    published_at: i64,
    created_at: i64,
    updated_at: i64,
}

const ITEM_COLUMNS: &str = "id, guid, slug, title, summary, content_markdown, content_html, \
                            status, published_at, created_at, updated_at";

fn timestamp(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

impl ItemRow {
    fn into_item(self, links: Vec<Link>, tags: Vec<String>) -> NewsItem {
        NewsItem {
            id: self.id,
            guid: self.guid,
            slug: self.slug,
            title: self.title,
            summary: self.summary,
            content_markdown: self.content_markdown,
            content_html: self.content_html,
            status: Status::parse(&self.status).unwrap_or(Status::Draft),
            published_at: timestamp(self.published_at),
            created_at: timestamp(self.created_at),
            updated_at: timestamp(self.updated_at),
            links,
            tags,
        }
    }
}

/// Adds the visibility condition (the WHERE clause is already open).
fn push_visibility(qb: &mut QueryBuilder<Sqlite>, visibility: Visibility) {
    match visibility {
        Visibility::Public { now } => {
            qb.push(" AND i.status = 'published' AND i.published_at <= ")
                .push_bind(now.timestamp());
        }
        Visibility::Scheduled { now } => {
            qb.push(" AND i.status = 'published' AND i.published_at > ")
                .push_bind(now.timestamp());
        }
        Visibility::Drafts => {
            qb.push(" AND i.status = 'draft'");
        }
        Visibility::All => {}
    }
}

/// Loads links and tags for a set of items with two queries, whatever the page size.
async fn attach(conn: &mut SqliteConnection, rows: Vec<ItemRow>) -> StoreResult<Vec<NewsItem>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids = serde_json::to_string(&rows.iter().map(|r| r.id).collect::<Vec<_>>())
        .map_err(anyhow::Error::from)?;
    let mut links: HashMap<i64, Vec<Link>> = HashMap::new();
    let link_rows: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT item_id, title, url FROM news_links \
         WHERE item_id IN (SELECT value FROM json_each(?1)) ORDER BY item_id, position",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    for (id, title, url) in link_rows {
        links.entry(id).or_default().push(Link { title, url });
    }
    let mut tags: HashMap<i64, Vec<String>> = HashMap::new();
    let tag_rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT item_id, tag FROM news_tags \
         WHERE item_id IN (SELECT value FROM json_each(?1)) ORDER BY item_id, tag",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    for (id, tag) in tag_rows {
        tags.entry(id).or_default().push(tag);
    }
    Ok(rows
        .into_iter()
        .map(|row| {
            let id = row.id;
            row.into_item(
                links.remove(&id).unwrap_or_default(),
                tags.remove(&id).unwrap_or_default(),
            )
        })
        .collect())
}

fn map_unique(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e
        && db.is_unique_violation()
    {
        if db.message().contains("news_items.slug") {
            return StoreError::Conflict { field: "slug" };
        }
        if db.message().contains("api_tokens.name") {
            return StoreError::Conflict { field: "name" };
        }
    }
    StoreError::Database(e)
}

/// Replaces an item's links and tags with the draft's.
async fn write_children(conn: &mut SqliteConnection, id: i64, item: &WriteItem) -> StoreResult<()> {
    sqlx::query("DELETE FROM news_links WHERE item_id = ?1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM news_tags WHERE item_id = ?1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    for (position, link) in item.draft.links.iter().enumerate() {
        sqlx::query(
            "INSERT INTO news_links (item_id, position, title, url) VALUES (?1, ?2, ?3, ?4)",
        )
        .bind(id)
        .bind(position as i64)
        .bind(&link.title)
        .bind(&link.url)
        .execute(&mut *conn)
        .await?;
    }
    for tag in &item.draft.tags {
        sqlx::query("INSERT OR IGNORE INTO news_tags (item_id, tag) VALUES (?1, ?2)")
            .bind(id)
            .bind(tag)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

async fn insert_item(
    conn: &mut SqliteConnection,
    item: &WriteItem,
    source_key: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<i64> {
    let d = &item.draft;
    let guid = format!("urn:uuid:{}", uuid::Uuid::new_v4());
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO news_items (guid, slug, title, summary, content_markdown, content_html, \
         status, published_at, created_at, updated_at, source_key) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10) RETURNING id",
    )
    .bind(&guid)
    .bind(&d.slug)
    .bind(&d.title)
    .bind(&d.summary)
    .bind(&d.content_markdown)
    .bind(&item.content_html)
    .bind(d.status.as_str())
    .bind(d.published_at.timestamp())
    .bind(now.timestamp())
    .bind(source_key)
    .fetch_one(&mut *conn)
    .await
    .map_err(map_unique)?;
    write_children(conn, id, item).await?;
    Ok(id)
}

async fn update_item(
    conn: &mut SqliteConnection,
    id: i64,
    item: &WriteItem,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let d = &item.draft;
    let done = sqlx::query(
        "UPDATE news_items SET slug = ?2, title = ?3, summary = ?4, content_markdown = ?5, \
         content_html = ?6, status = ?7, published_at = ?8, updated_at = ?9 WHERE id = ?1",
    )
    .bind(id)
    .bind(&d.slug)
    .bind(&d.title)
    .bind(&d.summary)
    .bind(&d.content_markdown)
    .bind(&item.content_html)
    .bind(d.status.as_str())
    .bind(d.published_at.timestamp())
    .bind(now.timestamp())
    .execute(&mut *conn)
    .await
    .map_err(map_unique)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    write_children(conn, id, item).await
}

async fn fetch_one(
    conn: &mut SqliteConnection,
    key: &ItemKey,
    visibility: Visibility,
) -> StoreResult<Option<NewsItem>> {
    let mut qb = QueryBuilder::new("SELECT ");
    qb.push(ITEM_COLUMNS).push(" FROM news_items i WHERE ");
    match key {
        ItemKey::Id(id) => qb.push("i.id = ").push_bind(*id),
        ItemKey::Slug(slug) => qb.push("i.slug = ").push_bind(slug.clone()),
    };
    push_visibility(&mut qb, visibility);
    let row: Option<ItemRow> = qb.build_query_as().fetch_optional(&mut *conn).await?;
    Ok(attach(conn, row.into_iter().collect()).await?.pop())
}

/// A slug not yet used by another item: `slug`, else `slug-2`, `slug-3`, …
async fn free_slug(
    conn: &mut SqliteConnection,
    slug: &str,
    own_id: Option<i64>,
) -> StoreResult<String> {
    let mut candidate = slug.to_owned();
    for n in 2.. {
        let holder: Option<i64> = sqlx::query_scalar("SELECT id FROM news_items WHERE slug = ?1")
            .bind(&candidate)
            .fetch_optional(&mut *conn)
            .await?;
        match holder {
            None => break,
            Some(id) if Some(id) == own_id => break,
            Some(_) => candidate = format!("{slug}-{n}"),
        }
    }
    Ok(candidate)
}

#[async_trait]
impl Store for SqliteStore {
    async fn migrate(&self) -> StoreResult<()> {
        sqlx::migrate!("./migrations")
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Other(e.into()))
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn count_items(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT count(*) FROM news_items")
            .fetch_one(&self.pool)
            .await?)
    }

    async fn list(&self, query: &ListQuery) -> StoreResult<Page> {
        let mut qb = QueryBuilder::new("SELECT ");
        qb.push(ITEM_COLUMNS).push(" FROM news_items i WHERE 1 = 1");
        push_visibility(&mut qb, query.visibility);
        for tag in &query.tags {
            qb.push(" AND EXISTS (SELECT 1 FROM news_tags t WHERE t.item_id = i.id AND t.tag = ")
                .push_bind(tag.clone())
                .push(")");
        }
        if let Some(c) = query.after {
            // Spelled out rather than as a row value so SQLite narrows the index range.
            qb.push(" AND i.published_at <= ")
                .push_bind(c.published_at)
                .push(" AND (i.published_at < ")
                .push_bind(c.published_at)
                .push(" OR i.id < ")
                .push_bind(c.id)
                .push(")");
        }
        qb.push(" ORDER BY i.published_at DESC, i.id DESC LIMIT ")
            .push_bind(i64::from(query.limit) + 1);
        let mut conn = self.pool.acquire().await?;
        let mut rows: Vec<ItemRow> = qb.build_query_as().fetch_all(&mut *conn).await?;
        let more = rows.len() > query.limit as usize;
        rows.truncate(query.limit as usize);
        let items = attach(&mut conn, rows).await?;
        let next = if more {
            items.last().map(super::Cursor::of)
        } else {
            None
        };
        Ok(Page { items, next })
    }

    async fn get(&self, key: &ItemKey, visibility: Visibility) -> StoreResult<Option<NewsItem>> {
        let mut conn = self.pool.acquire().await?;
        fetch_one(&mut conn, key, visibility).await
    }

    async fn content_times(&self, now: DateTime<Utc>) -> StoreResult<ContentTimes> {
        let (last, next): (Option<i64>, Option<i64>) = sqlx::query_as(
            "SELECT \
               (SELECT max(CASE WHEN status = 'published' AND published_at <= ?1 \
                                THEN max(updated_at, published_at) ELSE updated_at END) \
                FROM news_items), \
               (SELECT min(published_at) FROM news_items \
                WHERE status = 'published' AND published_at > ?1)",
        )
        .bind(now.timestamp())
        .fetch_one(&self.pool)
        .await?;
        Ok(ContentTimes {
            last_change: last.map(timestamp),
            next_publication: next.map(timestamp),
        })
    }

    async fn import(&self, items: &[SourcedItem], now: DateTime<Utc>) -> StoreResult<ImportReport> {
        let mut report = ImportReport::default();
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        for sourced in items {
            let existing: Option<i64> =
                sqlx::query_scalar("SELECT id FROM news_items WHERE source_key = ?1")
                    .bind(&sourced.source_key)
                    .fetch_optional(&mut *tx)
                    .await?;
            let mut item = sourced.item.clone();
            item.draft.slug = free_slug(&mut tx, &item.draft.slug, existing).await?;
            match existing {
                None => {
                    insert_item(&mut tx, &item, Some(&sourced.source_key), now).await?;
                    report.created += 1;
                }
                Some(id) => {
                    let current = fetch_one(&mut tx, &ItemKey::Id(id), Visibility::All)
                        .await?
                        .ok_or(StoreError::NotFound)?;
                    if same_content(&current, &item) {
                        report.unchanged += 1;
                    } else {
                        update_item(&mut tx, id, &item, now).await?;
                        report.updated += 1;
                    }
                }
            }
        }
        tx.commit().await?;
        Ok(report)
    }

    async fn meta(&self, key: &str) -> StoreResult<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM herald_meta WHERE key = ?1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn set_meta(&self, key: &str, value: &str) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO herald_meta (key, value) VALUES (?1, ?2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn rerender_all(
        &self,
        render: &(dyn for<'a> Fn(&'a str) -> String + Sync),
    ) -> StoreResult<u64> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let bodies: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, content_markdown FROM news_items")
                .fetch_all(&mut *tx)
                .await?;
        for (id, markdown) in &bodies {
            sqlx::query("UPDATE news_items SET content_html = ?2 WHERE id = ?1")
                .bind(id)
                .bind(render(markdown))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(bodies.len() as u64)
    }
}

/// Whether an import would change nothing a reader can see.
fn same_content(current: &NewsItem, item: &WriteItem) -> bool {
    let d = &item.draft;
    current.slug == d.slug
        && current.title == d.title
        && current.summary == d.summary
        && current.content_markdown == d.content_markdown
        && current.content_html == item.content_html
        && current.status == d.status
        && current.published_at == d.published_at
        && current.links == d.links
        && current.tags == d.tags
}
