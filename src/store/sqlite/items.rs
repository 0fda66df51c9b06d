//! Item rows: reading them back (with links and tags), writing them, and finding free slugs.

use std::borrow::Cow;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, SqliteConnection};

use super::{BEGIN_WRITE, SqliteStore, changes, import, list};
use crate::model::NewsItem;
use crate::store::rows::{BYLINE_SQL, BylineRow, ITEM_COLUMNS, ItemRow, assemble, timestamp};
use crate::store::rules::{ChangeDraft, map_unique, unknown_author};
use crate::store::{
    Change, ContentTimes, ImportReport, ItemKey, ItemStore, ListQuery, Page, SourcedItem,
    StoreError, StoreResult, TagCount, Visibility, WriteItem,
};

/// When public content last changed and next changes by itself. The newest change is the newest
/// change readers could see in the change log (a public item written, or an item leaving the
/// public: a delete leaves no row to read a time from; drafts and scheduled items do not count,
/// or the time would tell when editors work) or the newest `published_at` of a public one (an
/// item going live); the store's creation when there is neither. Each part is a single index seek
/// (`changes_public_at`, `news_items_public`): a CASE over every row was a full scan, two to
/// twenty seconds at a million items, on the first request and every minute after.
pub const CONTENT_TIMES_SQL: &str = "SELECT \
       coalesce(nullif(max(coalesce((SELECT max(at) FROM changes \
                                     WHERE was_public = 1 OR is_public = 1), 0), \
                           coalesce((SELECT max(published_at) FROM news_items \
                                     WHERE status = 'published' AND published_at <= ?1), 0)), \
                       0), \
                (SELECT CAST(strftime('%s', min(installed_on)) AS INTEGER) \
                 FROM _sqlx_migrations)), \
       (SELECT min(published_at) FROM news_items \
        WHERE status = 'published' AND published_at > ?1)";

/// Loads links and tags for a set of items with two queries, whatever the page size.
pub(super) async fn attach(
    conn: &mut SqliteConnection,
    rows: Vec<ItemRow>,
) -> StoreResult<Vec<NewsItem>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids = serde_json::to_string(&rows.iter().map(|r| r.id).collect::<Vec<_>>())
        .map_err(anyhow::Error::from)?;
    let link_rows: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT item_id, title, url FROM news_links \
         WHERE item_id IN (SELECT value FROM json_each(?1)) ORDER BY item_id, position",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    let tag_rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT item_id, tag FROM news_tags \
         WHERE item_id IN (SELECT value FROM json_each(?1)) ORDER BY item_id, tag",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    let author_rows: Vec<BylineRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{BYLINE_SQL} IN (SELECT value FROM json_each(?1)) ORDER BY na.item_id, na.position"
    )))
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    let image_rows: Vec<crate::store::images::ImageRow> = sqlx::query_as(sqlx::AssertSqlSafe(
        crate::store::images::image_sql("length(f.data)", "IN (SELECT value FROM json_each(?1))"),
    ))
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    assemble(rows, link_rows, tag_rows, author_rows, image_rows)
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
    sqlx::query("DELETE FROM news_authors WHERE item_id = ?1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    for (position, slug) in item.draft.authors.iter().enumerate() {
        let done = sqlx::query(
            "INSERT INTO news_authors (item_id, position, author_id) \
             SELECT ?1, ?2, id FROM authors WHERE slug = ?3",
        )
        .bind(id)
        .bind(position as i64)
        .bind(slug)
        .execute(&mut *conn)
        .await?;
        if done.rows_affected() == 0 {
            return Err(unknown_author(position, slug));
        }
    }
    write_image(conn, id, item.draft.image.as_ref()).await
}

crate::store::images::image_writer!(SqliteConnection);

pub(super) async fn insert_item(
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

pub(super) async fn update_item(
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

pub(super) async fn fetch_one(
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
    list::push_visibility(&mut qb, &list::ITEM_KEYS, visibility);
    let row: Option<ItemRow> = qb.build_query_as().fetch_optional(&mut *conn).await?;
    Ok(attach(conn, row.into_iter().collect()).await?.pop())
}

/// Item `id` as it is now, which must exist.
pub(super) async fn fetch_by_id(conn: &mut SqliteConnection, id: i64) -> StoreResult<NewsItem> {
    fetch_one(conn, &ItemKey::Id(id), Visibility::All)
        .await?
        .ok_or(StoreError::NotFound)
}

/// Reads item `id` for a write and checks it is still the version the caller based it on.
async fn current_for_write(
    conn: &mut SqliteConnection,
    id: i64,
    expected: Option<&NewsItem>,
) -> StoreResult<NewsItem> {
    let current = fetch_by_id(conn, id).await?;
    match expected {
        Some(expected) if *expected != current => Err(StoreError::Stale),
        _ => Ok(current),
    }
}

/// The slug to store: a derived one moves aside (`-2`, …) for another item's; a chosen one
/// stays as it is, and the unique index reports a clash.
async fn slug_for<'a>(
    conn: &mut SqliteConnection,
    item: &'a WriteItem,
    own_id: Option<i64>,
) -> StoreResult<Cow<'a, WriteItem>> {
    if !item.derived_slug {
        return Ok(Cow::Borrowed(item));
    }
    let mut item = item.clone();
    item.draft.slug = free_slug(conn, &item.draft.slug, own_id).await?;
    Ok(Cow::Owned(item))
}

/// A slug not yet used by another item: `slug`, else `slug-2`, `slug-3`, …
pub(super) async fn free_slug(
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
impl ItemStore for SqliteStore {
    async fn has_items(&self) -> StoreResult<bool> {
        Ok(
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM news_items)")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn list(&self, query: &ListQuery) -> StoreResult<Page> {
        let mut conn = self.pool.acquire().await?;
        list::list(&mut conn, query).await
    }

    async fn tags(&self, visibility: Visibility) -> StoreResult<Vec<TagCount>> {
        let mut conn = self.pool.acquire().await?;
        super::counts::tags(&mut conn, visibility).await
    }

    async fn get(&self, key: &ItemKey, visibility: Visibility) -> StoreResult<Option<NewsItem>> {
        let mut conn = self.pool.acquire().await?;
        fetch_one(&mut conn, key, visibility).await
    }

    async fn content_times(&self, now: DateTime<Utc>) -> StoreResult<ContentTimes> {
        let (last, next): (Option<i64>, Option<i64>) = sqlx::query_as(CONTENT_TIMES_SQL)
            .bind(now.timestamp())
            .fetch_one(&self.pool)
            .await?;
        Ok(ContentTimes {
            last_change: last.map(timestamp).transpose()?,
            next_publication: next.map(timestamp).transpose()?,
        })
    }

    async fn next_due(&self, now: DateTime<Utc>) -> StoreResult<Option<DateTime<Utc>>> {
        let next: Option<i64> = sqlx::query_scalar(
            "SELECT min(published_at) FROM news_items \
             WHERE status = 'published' AND published_at > ?1",
        )
        .bind(now.timestamp())
        .fetch_one(&self.pool)
        .await?;
        next.map(timestamp).transpose()
    }

    async fn create(
        &self,
        item: &WriteItem,
        now: DateTime<Utc>,
    ) -> StoreResult<(NewsItem, Change)> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let item = slug_for(&mut tx, item, None).await?;
        let id = insert_item(&mut tx, &item, None, now).await?;
        let change = changes::record(&mut tx, ChangeDraft::created(id, &item, now), now).await?;
        let stored = fetch_by_id(&mut tx, id).await?;
        tx.commit().await?;
        Ok((stored, change))
    }

    async fn replace(
        &self,
        id: i64,
        item: &WriteItem,
        expected: Option<&NewsItem>,
        now: DateTime<Utc>,
    ) -> StoreResult<(NewsItem, Change)> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let current = current_for_write(&mut tx, id, expected).await?;
        let item = slug_for(&mut tx, item, Some(id)).await?;
        update_item(&mut tx, id, &item, now).await?;
        let change =
            changes::record(&mut tx, ChangeDraft::edited(&current, &item, now), now).await?;
        let stored = fetch_by_id(&mut tx, id).await?;
        tx.commit().await?;
        Ok((stored, change))
    }

    async fn delete(
        &self,
        id: i64,
        expected: Option<&NewsItem>,
        now: DateTime<Utc>,
    ) -> StoreResult<Change> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let current = current_for_write(&mut tx, id, expected).await?;
        // Links and tags go with the item (ON DELETE CASCADE); its changes stay.
        sqlx::query("DELETE FROM news_items WHERE id = ?1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let change = changes::record(&mut tx, ChangeDraft::deleted(&current, now), now).await?;
        tx.commit().await?;
        Ok(change)
    }

    async fn import(&self, items: &[SourcedItem], now: DateTime<Utc>) -> StoreResult<ImportReport> {
        let mut conn = self.pool.acquire().await?;
        import::import(&mut conn, items, now).await
    }

    async fn rerender_all(
        &self,
        render: &(dyn for<'a> Fn(&'a str) -> String + Sync),
    ) -> StoreResult<u64> {
        // One transaction, so readers never see a mix of old and new links; bodies are read a
        // chunk at a time, so a million items do not all sit in memory at once.
        const CHUNK: i64 = 500;
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let (mut after, mut count) = (i64::MIN, 0u64);
        loop {
            let bodies: Vec<(i64, String)> = sqlx::query_as(
                "SELECT id, content_markdown FROM news_items WHERE id > ?1 ORDER BY id LIMIT ?2",
            )
            .bind(after)
            .bind(CHUNK)
            .fetch_all(&mut *tx)
            .await?;
            let Some(&(last, _)) = bodies.last() else {
                break;
            };
            for (id, markdown) in &bodies {
                sqlx::query("UPDATE news_items SET content_html = ?2 WHERE id = ?1")
                    .bind(id)
                    .bind(render(markdown))
                    .execute(&mut *tx)
                    .await?;
            }
            after = last;
            count += bodies.len() as u64;
        }
        tx.commit().await?;
        Ok(count)
    }
}
