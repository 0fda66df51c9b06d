//! Imports: many items by source key in one transaction, new ones with a few multi-row
//! statements, each created or updated item's change recorded alongside.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, QueryBuilder};

use super::changes;
use super::items::{attach, fetch_by_id, free_slug, insert_item, update_item};
use crate::model::{Link, NewsItem};
use crate::store::rows::{ITEM_COLUMNS, ItemRow};
use crate::store::rules::{ChangeDraft, map_unique, same_content, split_fresh};
use crate::store::{ImportReport, SourcedItem, StoreResult};

/// One import, in the caller's write transaction (holding the writers' lock). The same steps,
/// in the same order, as SQLite's, so equal imports give equal ids and change numbers.
pub(super) async fn import_batch(
    conn: &mut PgConnection,
    items: &[SourcedItem],
    now: DateTime<Utc>,
) -> StoreResult<ImportReport> {
    let mut report = ImportReport::default();
    // Bulk imports are mostly new items with free slugs: those go in with a few multi-row
    // statements. Anything else (updates, taken slugs, a key twice) takes the careful path,
    // one item at a time, after them.
    let existing = ids_by(conn, "source_key", items.iter().map(|s| &s.source_key)).await?;
    let taken = ids_by(conn, "slug", items.iter().map(|s| &s.item.draft.slug)).await?;
    let (fresh, careful) = split_fresh(items, &existing, &taken);
    for chunk in fresh.chunks(INSERT_CHUNK) {
        insert_fresh(conn, chunk, now).await?;
    }
    report.created += fresh.len();
    // Re-imports mostly find items unchanged: compare against the stored items in one read.
    let current = items_by_id(
        conn,
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
                sqlx::query_scalar("SELECT id FROM news_items WHERE source_key = $1")
                    .bind(&sourced.source_key)
                    .fetch_optional(&mut *conn)
                    .await?
            }
        };
        let mut item = sourced.item.clone();
        item.draft.slug = free_slug(conn, &item.draft.slug, existing).await?;
        match existing {
            None => {
                let id = insert_item(conn, &item, Some(&sourced.source_key), now).await?;
                changes::record(conn, ChangeDraft::created(id, &item, now), now).await?;
                report.created += 1;
            }
            Some(id) => {
                let fetched;
                let current = match first_look {
                    Some(stored) => stored,
                    None => {
                        fetched = fetch_by_id(conn, id).await?;
                        &fetched
                    }
                };
                if same_content(current, &item) {
                    report.unchanged += 1;
                } else {
                    update_item(conn, id, &item, now).await?;
                    changes::record(conn, ChangeDraft::edited(current, &item, now), now).await?;
                    report.updated += 1;
                }
            }
        }
    }
    changes::prune(conn).await?;
    Ok(report)
}

/// Items per multi-row INSERT: 12 bound values each stays well under PostgreSQL's 65,535.
const INSERT_CHUNK: usize = 1000;
/// Link and tag rows (4 values each) per multi-row INSERT.
const CHILD_CHUNK: usize = 4000;

/// The ids of items whose `column` (a unique column) holds one of `values`, by that value.
async fn ids_by<'a>(
    conn: &mut PgConnection,
    column: &'static str,
    values: impl Iterator<Item = &'a String>,
) -> StoreResult<HashMap<String, i64>> {
    let values: Vec<&String> = values.collect();
    let rows: Vec<(String, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {column}, id FROM news_items WHERE {column} = ANY($1)"
    )))
    .bind(values)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().collect())
}

/// Stored items by id, with their links and tags.
async fn items_by_id<'a>(
    conn: &mut PgConnection,
    ids: impl Iterator<Item = &'a i64>,
) -> StoreResult<HashMap<i64, NewsItem>> {
    let ids: Vec<i64> = ids.copied().collect();
    let rows: Vec<ItemRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ITEM_COLUMNS} FROM news_items i WHERE i.id = ANY($1)"
    )))
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    Ok(attach(conn, rows)
        .await?
        .into_iter()
        .map(|item| (item.id, item))
        .collect())
}

/// Inserts new items with free slugs and unseen source keys, and their links and tags, with a
/// handful of statements however many items there are; ids are taken in the order given.
async fn insert_fresh(
    conn: &mut PgConnection,
    items: &[&SourcedItem],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    if items.is_empty() {
        return Ok(());
    }
    let first = changes::take_numbers(conn, "news_items", items.len() as i64).await?;
    let ids: Vec<i64> = (first..first + items.len() as i64).collect();
    let mut qb = QueryBuilder::new(
        "INSERT INTO news_items (id, guid, slug, title, summary, content_markdown, \
         content_html, status, published_at, created_at, updated_at, source_key) ",
    );
    qb.push_values(items.iter().zip(&ids), |mut row, (sourced, &id)| {
        let (d, html) = (&sourced.item.draft, &sourced.item.content_html);
        row.push_bind(id)
            .push_bind(format!("urn:uuid:{}", uuid::Uuid::new_v4()))
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
    qb.build().execute(&mut *conn).await.map_err(map_unique)?;
    let links: Vec<(i64, usize, &Link)> = items
        .iter()
        .zip(&ids)
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
    let mut tags: Vec<(i64, &String)> = Vec::new();
    for (s, &id) in items.iter().zip(&ids) {
        let mut seen = HashSet::new();
        for tag in s.item.draft.tags.iter().filter(|t| seen.insert(*t)) {
            tags.push((id, tag));
        }
    }
    for chunk in tags.chunks(CHILD_CHUNK) {
        // The status and date copies are filled in by the `news_tags_copy_item` trigger.
        let mut qb = QueryBuilder::new("INSERT INTO news_tags (item_id, tag) ");
        qb.push_values(chunk, |mut row, (id, tag)| {
            row.push_bind(*id).push_bind((*tag).clone());
        });
        qb.build().execute(&mut *conn).await?;
    }
    let created: Vec<ChangeDraft> = items
        .iter()
        .zip(&ids)
        .map(|(s, &id)| ChangeDraft::created(id, &s.item, now))
        .collect();
    changes::record_many(conn, &created, now).await
}
