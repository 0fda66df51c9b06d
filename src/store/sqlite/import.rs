//! Imports: many items by source key in one transaction, new ones with a few multi-row
//! statements, each created or updated item's change recorded alongside.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sqlx::{Connection, QueryBuilder, SqliteConnection};

use super::items::{attach, fetch_by_id, free_slug, insert_item, update_item};
use super::{BEGIN_WRITE, changes};
use crate::model::{Link, NewsItem};
use crate::store::rows::{ITEM_COLUMNS, ItemRow};
use crate::store::rules::{ChangeDraft, map_unique, same_content, split_fresh};
use crate::store::{ImportReport, SourcedItem, StoreError, StoreResult};

/// Imports `items` with a cache sized for bulk work; see [`crate::store::ItemStore::import`].
pub(super) async fn import(
    conn: &mut SqliteConnection,
    items: &[SourcedItem],
    now: DateTime<Utc>,
) -> StoreResult<ImportReport> {
    let mut report = ImportReport::default();
    // A bulk batch touches far more pages than the default 2 MB cache holds; the cache
    // grows only while importing, then shrinks back for the reads this connection serves.
    sqlx::query("PRAGMA cache_size = -131072")
        .execute(&mut *conn)
        .await?;
    sqlx::query("PRAGMA mmap_size = 4294967296")
        .execute(&mut *conn)
        .await?;
    let result = import_batch(conn, items, now, &mut report).await;
    sqlx::query("PRAGMA cache_size = -2000")
        .execute(&mut *conn)
        .await?;
    sqlx::query("PRAGMA mmap_size = 0")
        .execute(&mut *conn)
        .await?;
    result?;
    Ok(report)
}

/// One import in one transaction.
async fn import_batch(
    conn: &mut SqliteConnection,
    items: &[SourcedItem],
    now: DateTime<Utc>,
    report: &mut ImportReport,
) -> StoreResult<()> {
    let mut tx = conn.begin_with(BEGIN_WRITE).await?;
    // Bulk imports are mostly new items with free slugs: those go in with a few multi-row
    // statements. Anything else (updates, taken slugs, a key twice) takes the careful path,
    // one item at a time, after them.
    let existing = ids_by(&mut tx, "source_key", items.iter().map(|s| &s.source_key)).await?;
    let taken = ids_by(&mut tx, "slug", items.iter().map(|s| &s.item.draft.slug)).await?;
    // In date order, so the full-text keys (date, id) arrive ascending: FTS5 flushes its
    // buffer whenever a key goes backwards.
    let (fresh, careful) = split_fresh(items, &existing, &taken);
    for chunk in fresh.chunks(INSERT_CHUNK) {
        insert_fresh(&mut tx, chunk, now).await?;
    }
    report.created += fresh.len();
    // Re-imports mostly find items unchanged: compare against the stored items in one read.
    let current = items_by_id(
        &mut tx,
        careful.iter().filter_map(|s| existing.get(&s.source_key)),
    )
    .await?;
    let mut compared = HashSet::new();
    for sourced in careful {
        // The item as read before the loop, unless an earlier twin of this key changed it.
        let first_look = existing
            .get(&sourced.source_key)
            .and_then(|id| current.get(id))
            .filter(|_| compared.insert(&sourced.source_key));
        if let Some(stored) = first_look
            && same_content(stored, &sourced.item)
        {
            report.unchanged += 1;
            continue;
        }
        // Keys are unique and nothing is deleted here, so a known id stands; a key missing
        // from the map may have been inserted by its earlier twin.
        let existing: Option<i64> = match existing.get(&sourced.source_key) {
            Some(&id) => Some(id),
            None => {
                sqlx::query_scalar("SELECT id FROM news_items WHERE source_key = ?1")
                    .bind(&sourced.source_key)
                    .fetch_optional(&mut *tx)
                    .await?
            }
        };
        let mut item = sourced.item.clone();
        item.draft.slug = free_slug(&mut tx, &item.draft.slug, existing).await?;
        match existing {
            None => {
                let id = insert_item(&mut tx, &item, Some(&sourced.source_key), now).await?;
                changes::record(&mut tx, ChangeDraft::created(id, &item, now), now).await?;
                report.created += 1;
            }
            Some(id) => {
                let fetched;
                let current = match first_look {
                    Some(stored) => stored,
                    None => {
                        fetched = fetch_by_id(&mut tx, id).await?;
                        &fetched
                    }
                };
                if same_content(current, &item) {
                    report.unchanged += 1;
                } else {
                    update_item(&mut tx, id, &item, now).await?;
                    changes::record(&mut tx, ChangeDraft::edited(current, &item, now), now).await?;
                    report.updated += 1;
                }
            }
        }
    }
    changes::prune(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

/// Items per multi-row INSERT: 11 bound values each stays well under SQLite's 32,766.
const INSERT_CHUNK: usize = 1000;
/// Link and tag rows (4 values each) per multi-row INSERT.
const CHILD_CHUNK: usize = 4000;

/// The ids of items whose `column` (a unique column) holds one of `values`, by that value.
async fn ids_by<'a>(
    conn: &mut SqliteConnection,
    column: &'static str,
    values: impl Iterator<Item = &'a String>,
) -> StoreResult<HashMap<String, i64>> {
    let values = serde_json::to_string(&values.collect::<Vec<_>>()).map_err(anyhow::Error::from)?;
    let mut qb = QueryBuilder::new(format!(
        "SELECT {column}, id FROM news_items WHERE {column} IN (SELECT value FROM json_each("
    ));
    qb.push_bind(values).push("))");
    let rows: Vec<(String, i64)> = qb.build_query_as().fetch_all(&mut *conn).await?;
    Ok(rows.into_iter().collect())
}

/// Stored items by id, with their links and tags.
async fn items_by_id<'a>(
    conn: &mut SqliteConnection,
    ids: impl Iterator<Item = &'a i64>,
) -> StoreResult<HashMap<i64, NewsItem>> {
    let ids = serde_json::to_string(&ids.collect::<Vec<_>>()).map_err(anyhow::Error::from)?;
    let mut qb = QueryBuilder::new("SELECT ");
    qb.push(ITEM_COLUMNS)
        .push(" FROM news_items i WHERE i.id IN (SELECT value FROM json_each(")
        .push_bind(ids)
        .push("))");
    let rows: Vec<ItemRow> = qb.build_query_as().fetch_all(&mut *conn).await?;
    Ok(attach(conn, rows)
        .await?
        .into_iter()
        .map(|item| (item.id, item))
        .collect())
}

/// Inserts new items with free slugs and unseen source keys, and their links and tags, with a
/// handful of statements however many items there are.
async fn insert_fresh(
    conn: &mut SqliteConnection,
    items: &[&SourcedItem],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    if items.is_empty() {
        return Ok(());
    }
    let mut qb = QueryBuilder::new(
        "INSERT INTO news_items (guid, slug, title, summary, content_markdown, content_html, \
         status, published_at, created_at, updated_at, source_key) ",
    );
    qb.push_values(items, |mut row, sourced| {
        let (d, html) = (&sourced.item.draft, &sourced.item.content_html);
        row.push_bind(format!("urn:uuid:{}", uuid::Uuid::new_v4()))
            .push_bind(d.slug.clone())
            .push_bind(d.title.clone())
            .push_bind(d.summary.clone())
            .push_bind(d.content_markdown.clone())
            .push_bind(html.clone())
            .push_bind(d.status.as_str())
            .push_bind(d.published_at.timestamp())
            .push_bind(now.timestamp())
            .push_bind(now.timestamp())
            .push_bind(sourced.source_key.clone());
    });
    // RETURNING rows come in no promised order, so they are matched back by source key.
    qb.push(" RETURNING source_key, id");
    let ids: HashMap<String, i64> = qb
        .build_query_as::<(String, i64)>()
        .fetch_all(&mut *conn)
        .await
        .map_err(map_unique)?
        .into_iter()
        .collect();
    // Every inserted row comes back; one that did not would get its children under id 0.
    let id_of = |s: &SourcedItem| {
        ids.get(&s.source_key).copied().ok_or_else(|| {
            StoreError::Corrupt(format!("no id returned for imported `{}`", s.source_key))
        })
    };
    let ids_in_order: Vec<i64> = items.iter().map(|s| id_of(s)).collect::<StoreResult<_>>()?;
    let links: Vec<(i64, usize, &Link)> = items
        .iter()
        .zip(&ids_in_order)
        .flat_map(|(s, &id)| {
            s.item
                .draft
                .links
                .iter()
                .enumerate()
                .map(move |(p, l)| (id, p, l))
        })
        .collect();
    for chunk in links.chunks(CHILD_CHUNK) {
        let mut qb = QueryBuilder::new("INSERT INTO news_links (item_id, position, title, url) ");
        qb.push_values(chunk, |mut row, (id, position, link)| {
            row.push_bind(*id)
                .push_bind(*position as i64)
                .push_bind(link.title.clone())
                .push_bind(link.url.clone());
        });
        qb.build().execute(&mut *conn).await?;
    }
    let mut tags: Vec<(i64, &SourcedItem, &String)> = Vec::new();
    for (s, &id) in items.iter().zip(&ids_in_order) {
        let mut seen = HashSet::new();
        for tag in s.item.draft.tags.iter().filter(|t| seen.insert(*t)) {
            tags.push((id, s, tag));
        }
    }
    for chunk in tags.chunks(CHILD_CHUNK) {
        // The item's status and date are copied in directly, sparing the trigger its fix-up.
        let mut qb =
            QueryBuilder::new("INSERT INTO news_tags (item_id, tag, status, published_at) ");
        qb.push_values(chunk, |mut row, (id, s, tag)| {
            row.push_bind(*id)
                .push_bind((*tag).clone())
                .push_bind(s.item.draft.status.as_str())
                .push_bind(s.item.draft.published_at.timestamp());
        });
        qb.build().execute(&mut *conn).await?;
    }
    let created: Vec<ChangeDraft> = items
        .iter()
        .zip(&ids_in_order)
        .map(|(s, &id)| ChangeDraft::created(id, &s.item, now))
        .collect();
    changes::record_many(conn, &created, now).await
}
