//! Item rows: reading them back (with links and tags), writing them, and finding free slugs.

use std::borrow::Cow;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, QueryBuilder};

use super::{PostgresStore, begin_write, changes, import, list};
use crate::model::NewsItem;
use crate::store::rows::{BYLINE_SQL, BylineRow, ITEM_COLUMNS, ItemRow, assemble, timestamp};
use crate::store::rules::{ChangeDraft, map_unique, unknown_author};
use crate::store::{
    Change, ContentTimes, ImportReport, ItemKey, ItemStore, ListQuery, Page, SourcedItem,
    StoreError, StoreResult, TagCount, Visibility, WriteItem,
};

/// When public content last changed and next changes by itself: each part one index seek
/// (`changes_public_at`, `news_items_public`).
pub const CONTENT_TIMES_SQL: &str = "SELECT \
       coalesce(nullif(greatest(coalesce((SELECT max(at) FROM changes \
                                         WHERE was_public OR is_public), 0), \
                                coalesce((SELECT max(published_at) FROM news_items \
                                          WHERE status = 'published' AND published_at <= $1), 0)), \
                       0), \
                (SELECT extract(epoch FROM min(installed_on))::int8 FROM _sqlx_migrations)), \
       (SELECT min(published_at) FROM news_items \
        WHERE status = 'published' AND published_at > $1)";

/// Loads links and tags for a set of items with two queries, whatever the page size.
pub(super) async fn attach(
    conn: &mut PgConnection,
    rows: Vec<ItemRow>,
) -> StoreResult<Vec<NewsItem>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let link_rows: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT item_id, title, url FROM news_links \
         WHERE item_id = ANY($1) ORDER BY item_id, position",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    let tag_rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT item_id, tag FROM news_tags WHERE item_id = ANY($1) ORDER BY item_id, tag",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    let author_rows: Vec<BylineRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{BYLINE_SQL} = ANY($1) ORDER BY na.item_id, na.position"
    )))
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    let image_rows: Vec<crate::store::images::ImageRow> = sqlx::query_as(sqlx::AssertSqlSafe(
        crate::store::images::image_sql("octet_length(f.data)::int8", "= ANY($1)"),
    ))
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    assemble(rows, link_rows, tag_rows, author_rows, image_rows)
}

/// The item as PostgreSQL can store it: text cannot hold U+0000, so any is dropped. The API
/// and the importers refuse it already; only a caller of the store itself can pass one, and it
/// gets what SQLite's feeds would show of it rather than an error.
pub(super) fn storable(item: &WriteItem) -> Cow<'_, WriteItem> {
    let d = &item.draft;
    let texts = [&d.slug, &d.title, &d.content_markdown, &item.content_html]
        .into_iter()
        .chain(&d.summary)
        .chain(&d.tags)
        .chain(&d.authors)
        .chain(d.links.iter().flat_map(|l| [&l.title, &l.url]));
    if !texts.into_iter().any(|t| t.contains('\0')) {
        return Cow::Borrowed(item);
    }
    let clean = |t: &String| t.replace('\0', "");
    let mut item = item.clone();
    let d = &mut item.draft;
    for text in [&mut d.slug, &mut d.title, &mut d.content_markdown] {
        *text = clean(text);
    }
    d.summary = d.summary.as_ref().map(clean);
    d.tags = d.tags.iter().map(clean).collect();
    d.authors = d.authors.iter().map(clean).collect();
    for link in &mut d.links {
        link.title = clean(&link.title);
        link.url = clean(&link.url);
    }
    item.content_html = clean(&item.content_html);
    Cow::Owned(item)
}

/// Replaces an item's links and tags with the draft's.
async fn write_children(conn: &mut PgConnection, id: i64, item: &WriteItem) -> StoreResult<()> {
    sqlx::query("DELETE FROM news_links WHERE item_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM news_tags WHERE item_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let d = &item.draft;
    let positions: Vec<i64> = (0..d.links.len() as i64).collect();
    let titles: Vec<&str> = d.links.iter().map(|l| l.title.as_str()).collect();
    let urls: Vec<&str> = d.links.iter().map(|l| l.url.as_str()).collect();
    sqlx::query(
        "INSERT INTO news_links (item_id, position, title, url) \
         SELECT $1, * FROM unnest($2::int8[], $3::text[], $4::text[])",
    )
    .bind(id)
    .bind(&positions)
    .bind(&titles)
    .bind(&urls)
    .execute(&mut *conn)
    .await?;
    // The status and date copies are filled in by the `news_tags_copy_item` trigger.
    sqlx::query(
        "INSERT INTO news_tags (item_id, tag) SELECT $1, * FROM unnest($2::text[]) \
         ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(&d.tags)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM news_authors WHERE item_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    for (position, slug) in d.authors.iter().enumerate() {
        let done = sqlx::query(
            "INSERT INTO news_authors (item_id, position, author_id) \
             SELECT $1, $2, id FROM authors WHERE slug = $3",
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

crate::store::images::image_writer!(PgConnection);

/// Inserts a new item (the caller holds the writers' lock) and returns its id.
pub(super) async fn insert_item(
    conn: &mut PgConnection,
    item: &WriteItem,
    source_key: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<i64> {
    let d = &item.draft;
    let id = changes::take_numbers(conn, "news_items", 1).await?;
    let guid = format!("urn:uuid:{}", uuid::Uuid::new_v4());
    sqlx::query(
        "INSERT INTO news_items (id, guid, slug, title, summary, content_markdown, content_html, \
         status, published_at, created_at, updated_at, source_key) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11)",
    )
    .bind(id)
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
    .execute(&mut *conn)
    .await
    .map_err(map_unique)?;
    write_children(conn, id, item).await?;
    Ok(id)
}

pub(super) async fn update_item(
    conn: &mut PgConnection,
    id: i64,
    item: &WriteItem,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let d = &item.draft;
    let done = sqlx::query(
        "UPDATE news_items SET slug = $2, title = $3, summary = $4, content_markdown = $5, \
         content_html = $6, status = $7, published_at = $8, updated_at = $9 WHERE id = $1",
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
    conn: &mut PgConnection,
    key: &ItemKey,
    visibility: Visibility,
) -> StoreResult<Option<NewsItem>> {
    if let ItemKey::Slug(slug) = key
        && slug.contains('\0')
    {
        // PostgreSQL text cannot hold U+0000: no stored slug does, nor can it be a parameter.
        return Ok(None);
    }
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
pub(super) async fn fetch_by_id(conn: &mut PgConnection, id: i64) -> StoreResult<NewsItem> {
    fetch_one(conn, &ItemKey::Id(id), Visibility::All)
        .await?
        .ok_or(StoreError::NotFound)
}

/// Reads item `id` for a write (under the writers' lock) and checks it is still the version
/// the caller based it on.
async fn current_for_write(
    conn: &mut PgConnection,
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
/// stays as it is, and the unique constraint reports a clash.
async fn slug_for<'a>(
    conn: &mut PgConnection,
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
    conn: &mut PgConnection,
    slug: &str,
    own_id: Option<i64>,
) -> StoreResult<String> {
    let mut candidate = slug.to_owned();
    for n in 2.. {
        let holder: Option<i64> = sqlx::query_scalar("SELECT id FROM news_items WHERE slug = $1")
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
impl ItemStore for PostgresStore {
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
             WHERE status = 'published' AND published_at > $1",
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
        let item = storable(item);
        let mut tx = begin_write(&self.pool).await?;
        let item = slug_for(&mut tx, &item, None).await?;
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
        let item = storable(item);
        let mut tx = begin_write(&self.pool).await?;
        let current = current_for_write(&mut tx, id, expected).await?;
        let item = slug_for(&mut tx, &item, Some(id)).await?;
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
        let mut tx = begin_write(&self.pool).await?;
        let current = current_for_write(&mut tx, id, expected).await?;
        // Links and tags go with the item (ON DELETE CASCADE); its changes stay.
        sqlx::query("DELETE FROM news_items WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let change = changes::record(&mut tx, ChangeDraft::deleted(&current, now), now).await?;
        tx.commit().await?;
        Ok(change)
    }

    async fn import(&self, items: &[SourcedItem], now: DateTime<Utc>) -> StoreResult<ImportReport> {
        let unstorable = |s: &SourcedItem| {
            s.source_key.contains('\0') || matches!(storable(&s.item), Cow::Owned(_))
        };
        let items: Cow<'_, [SourcedItem]> = if items.iter().any(unstorable) {
            Cow::Owned(
                items
                    .iter()
                    .map(|s| SourcedItem {
                        source_key: s.source_key.replace('\0', ""),
                        item: storable(&s.item).into_owned(),
                    })
                    .collect(),
            )
        } else {
            Cow::Borrowed(items)
        };
        let mut tx = begin_write(&self.pool).await?;
        let report = import::import_batch(&mut tx, &items, now).await?;
        tx.commit().await?;
        Ok(report)
    }

    async fn rerender_all(
        &self,
        render: &(dyn for<'a> Fn(&'a str) -> String + Sync),
    ) -> StoreResult<u64> {
        // One transaction, so readers never see a mix of old and new links; bodies are read a
        // chunk at a time, so a million items do not all sit in memory at once.
        const CHUNK: i64 = 500;
        let mut tx = begin_write(&self.pool).await?;
        let (mut after, mut count) = (i64::MIN, 0u64);
        loop {
            let bodies: Vec<(i64, String)> = sqlx::query_as(
                "SELECT id, content_markdown FROM news_items WHERE id > $1 ORDER BY id LIMIT $2",
            )
            .bind(after)
            .bind(CHUNK)
            .fetch_all(&mut *tx)
            .await?;
            let Some(&(last, _)) = bodies.last() else {
                break;
            };
            let ids: Vec<i64> = bodies.iter().map(|(id, _)| *id).collect();
            let html: Vec<String> = bodies.iter().map(|(_, md)| render(md)).collect();
            sqlx::query(
                "UPDATE news_items i SET content_html = r.html \
                 FROM unnest($1::int8[], $2::text[]) AS r (id, html) \
                 WHERE i.id = r.id AND i.content_html IS DISTINCT FROM r.html",
            )
            .bind(&ids)
            .bind(&html)
            .execute(&mut *tx)
            .await?;
            after = last;
            count += bodies.len() as u64;
        }
        tx.commit().await?;
        Ok(count)
    }
}
