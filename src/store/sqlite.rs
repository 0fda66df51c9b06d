//! The embedded default: one SQLite file in WAL mode.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Connection, FromRow, QueryBuilder, Sqlite, SqliteConnection};

use super::{
    ActiveToken, ContentTimes, Cursor, ImportReport, ItemKey, ListQuery, Page, Sort, SourcedItem,
    Store, StoreError, StoreResult, TagCount, TokenInfo, Visibility, WriteItem, fts,
};
use crate::model::{Link, NewsItem, Status};

/// When public content last changed and next changes by itself. The newest change is the newest
/// `updated_at` of any item or the newest `published_at` of a public one, each a single index
/// seek (`news_items_updated`, `news_items_public`): a CASE over every row was a full scan, two to
/// twenty seconds at a million items, on the first request and every minute after.
pub const CONTENT_TIMES_SQL: &str = "SELECT \
       max((SELECT max(updated_at) FROM news_items), \
           coalesce((SELECT max(published_at) FROM news_items \
                     WHERE status = 'published' AND published_at <= ?1), 0)), \
       (SELECT min(published_at) FROM news_items \
        WHERE status = 'published' AND published_at > ?1)";

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
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    let mut handle = conn.lock_handle().await?;
                    // SAFETY: the locked handle keeps the connection's worker off it meanwhile.
                    unsafe { fts::register(handle.as_raw_handle()) }
                        .map_err(|e| sqlx::Error::Configuration(e.into()))
                })
            })
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
    /// The relevance score, when the row came from a text search.
    #[sqlx(default)]
    score: Option<f64>,
}

/// Qualified: list queries join tables that share some of these names.
const ITEM_COLUMNS: &str = "i.id, i.guid, i.slug, i.title, i.summary, i.content_markdown, \
                            i.content_html, i.status, i.published_at, i.created_at, i.updated_at";

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

/// Adds the visibility condition on `keys` (the WHERE clause is already open).
fn push_visibility(qb: &mut QueryBuilder<Sqlite>, keys: &Keys, visibility: Visibility) {
    let mut range = DateRange::default();
    qb.push(status_clause(keys, visibility, &mut range));
    range.push(qb, keys);
}

/// The columns that carry an item's status, date and id in a list query: the item row itself,
/// or the copies in `news_tags` when a tag drives the query (so one index range serves it).
/// A search bounds and orders by the full-text rowid instead, which sorts like (date, id).
struct Keys {
    status: &'static str,
    date: &'static str,
    id: &'static str,
    by_search_key: bool,
}

const ITEM_KEYS: Keys = Keys {
    status: "i.status",
    date: "i.published_at",
    id: "i.id",
    by_search_key: false,
};

const TAG_KEYS: Keys = Keys {
    status: "t.status",
    date: "t.published_at",
    id: "t.item_id",
    by_search_key: false,
};

const SEARCH_KEYS: Keys = Keys {
    by_search_key: true,
    ..ITEM_KEYS
};

/// Inclusive bounds on `published_at`, merged from visibility, `since`/`until` and the cursor
/// so the index sees one range instead of several overlapping ones.
#[derive(Default)]
struct DateRange {
    lower: Option<i64>,
    upper: Option<i64>,
}

impl DateRange {
    fn at_least(&mut self, t: i64) {
        self.lower = Some(self.lower.map_or(t, |l| l.max(t)));
    }

    fn at_most(&mut self, t: i64) {
        self.upper = Some(self.upper.map_or(t, |u| u.min(t)));
    }

    /// Adds the query's `since` and `until`.
    fn since_until(&mut self, query: &ListQuery) {
        if let Some(since) = query.since {
            // Whole seconds are stored: a bound with a fraction rounds inwards.
            let secs = since.timestamp() + i64::from(since.timestamp_subsec_nanos() > 0);
            self.at_least(secs);
        }
        if let Some(until) = query.until {
            self.at_most(until.timestamp());
        }
    }

    fn push(&self, qb: &mut QueryBuilder<Sqlite>, keys: &Keys) {
        if keys.by_search_key {
            if let Some(lower) = self.lower {
                qb.push(" AND news_fts.rowid >= ")
                    .push_bind(fts::keys_of_second(lower).0);
            }
            if let Some(upper) = self.upper {
                qb.push(" AND news_fts.rowid <= ")
                    .push_bind(fts::keys_of_second(upper).1);
            }
            return;
        }
        if let Some(lower) = self.lower {
            qb.push(format_args!(" AND {} >= ", keys.date))
                .push_bind(lower);
        }
        if let Some(upper) = self.upper {
            qb.push(format_args!(" AND {} <= ", keys.date))
                .push_bind(upper);
        }
    }
}

/// The status condition of `visibility` (literal SQL, nothing to bind); the dates it allows go
/// into `range`.
fn status_clause(keys: &Keys, visibility: Visibility, range: &mut DateRange) -> String {
    match visibility {
        Visibility::Public { now } => {
            range.at_most(now.timestamp());
            format!(" AND {} = 'published'", keys.status)
        }
        Visibility::Scheduled { now } => {
            range.at_least(now.timestamp() + 1);
            format!(" AND {} = 'published'", keys.status)
        }
        Visibility::Drafts => format!(" AND {} = 'draft'", keys.status),
        Visibility::All => String::new(),
    }
}

/// What a list query selects.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Select {
    /// A page of items, with the relevance score when searching.
    Page,
    /// The number of matches (no cursor, order or limit).
    Count,
}

const RANK: &str = "herald_rank(news_fts)";

/// The sort a query really runs: relevance needs a search to rank by.
fn effective_sort(query: &ListQuery) -> Sort {
    if query.sort == Sort::Relevance && query.search.is_empty() {
        Sort::Newest
    } else {
        query.sort
    }
}

/// The one SQL text behind `list`, its count and its plan, in two steps. The inner query finds
/// the page's keys using indexes alone: whichever drives it (the full-text index, a tag's rows,
/// or items by date) carries each item's status and date, so skipped items are never read. The
/// outer query then reads just the page's rows. (Item rows are wide, and SQLite stores a row's
/// date after its bodies, so reading the date from the row would read whole bodies.)
fn list_sql(prefix: &str, query: &ListQuery, select: Select) -> QueryBuilder<Sqlite> {
    let sort = effective_sort(query);
    let searching = !query.search.is_empty();
    let mut extra_tags = query.tags.iter();
    let first_tag = if searching { None } else { extra_tags.next() };
    let keys = if searching {
        &SEARCH_KEYS
    } else if first_tag.is_some() {
        &TAG_KEYS
    } else {
        &ITEM_KEYS
    };
    let mut qb = QueryBuilder::new(prefix);
    match select {
        Select::Page => {
            let score = if searching { RANK } else { "NULL" };
            qb.push("SELECT ").push(ITEM_COLUMNS).push(format_args!(
                ", k.score AS score FROM (SELECT {} AS id, {score} AS score",
                keys.id
            ));
        }
        Select::Count => {
            qb.push("SELECT count(*)");
        }
    }
    if searching {
        // CROSS JOIN pins the full-text index as the outer loop: it yields matches in date
        // order, so a date-sorted page stops after its rows. The narrow index answers status
        // without touching the rows.
        qb.push(format_args!(
            " FROM news_fts CROSS JOIN news_items i INDEXED BY news_items_keys \
             ON i.id = news_fts.rowid & {} WHERE news_fts MATCH ",
            fts::ID_MASK
        ))
        .push_bind(fts::match_expression(&query.search));
    } else if let Some(first) = first_tag {
        qb.push(" FROM news_tags t WHERE t.tag = ")
            .push_bind(first.clone());
    } else {
        qb.push(" FROM news_items i WHERE 1 = 1");
    }
    for tag in extra_tags {
        qb.push(format_args!(
            " AND EXISTS (SELECT 1 FROM news_tags x WHERE x.item_id = {} AND x.tag = ",
            keys.id
        ))
        .push_bind(tag.clone())
        .push(")");
    }
    let mut range = DateRange::default();
    qb.push(status_clause(keys, query.visibility, &mut range));
    range.since_until(query);
    // The date orders differ only in direction.
    let (after_op, direction) = if sort == Sort::Oldest {
        (">", "ASC")
    } else {
        ("<", "DESC")
    };
    let after = query.after.filter(|_| select == Select::Page);
    match (after, sort) {
        (Some(c), Sort::Relevance) => push_score_cursor(&mut qb, &c, "i.id"),
        (Some(c), _) if keys.by_search_key => {
            qb.push(format_args!(" AND news_fts.rowid {after_op} "))
                .push_bind(fts::search_key(c.key, c.id));
        }
        (Some(c), _) => {
            if sort == Sort::Oldest {
                range.at_least(c.key);
            } else {
                range.at_most(c.key);
            }
            qb.push(format_args!(" AND ({} {after_op} ", keys.date))
                .push_bind(c.key)
                .push(format_args!(" OR {} {after_op} ", keys.id))
                .push_bind(c.id)
                .push(")");
        }
        (None, _) => {}
    }
    range.push(&mut qb, keys);
    if select == Select::Page {
        match sort {
            Sort::Relevance => qb.push(" ORDER BY score DESC, i.id DESC"),
            _ if keys.by_search_key => {
                qb.push(format_args!(" ORDER BY news_fts.rowid {direction}"))
            }
            _ => qb.push(format_args!(
                " ORDER BY {} {direction}, {} {direction}",
                keys.date, keys.id
            )),
        };
        qb.push(" LIMIT ")
            .push_bind(i64::from(query.limit) + 1)
            .push(") k CROSS JOIN news_items i ON i.id = k.id");
    }
    qb
}

/// Items after cursor `c` in relevance order; `id` is the SQL for the item id.
fn push_score_cursor(qb: &mut QueryBuilder<Sqlite>, c: &Cursor, id: &str) {
    qb.push(format_args!(" AND ({RANK} < "))
        .push_bind(c.score())
        .push(format_args!(" OR ({RANK} = "))
        .push_bind(c.score())
        .push(format_args!(" AND {id} < "))
        .push_bind(c.id)
        .push("))");
}

/// Whether [`relevance_sql`] may answer `query`: a relevance search without tags (a tag could
/// filter out most of the best-scored matches, and the page would then be read twice).
fn capped_relevance(query: &ListQuery) -> bool {
    effective_sort(query) == Sort::Relevance && query.tags.is_empty()
}

/// A relevance page from the best-scored matches alone. Every match must be scored, but only
/// the best `4 × (limit + 1) + 16` of them are then checked for status in `news_items_keys`:
/// checking each match costs a random index probe (matches come in date order, not id order),
/// which at 20,000 matches cost more than the scoring. If fewer than `limit + 1` candidates pass
/// (drafts among the best, or the last page), the page may be short, and [`list_sql`] answers
/// instead; a full page is exact, since every match left out scores below all of it.
fn relevance_sql(prefix: &str, query: &ListQuery) -> QueryBuilder<Sqlite> {
    let limit = i64::from(query.limit) + 1;
    let mut range = DateRange::default();
    let status = status_clause(&ITEM_KEYS, query.visibility, &mut range);
    range.since_until(query);
    let id = format!("(news_fts.rowid & {})", fts::ID_MASK);
    let mut qb = QueryBuilder::new(prefix);
    qb.push("SELECT ")
        .push(ITEM_COLUMNS)
        .push(format_args!(
            ", k.score AS score FROM (SELECT c.id AS id, c.score AS score \
             FROM (SELECT {id} AS id, {RANK} AS score FROM news_fts WHERE news_fts MATCH "
        ))
        .push_bind(fts::match_expression(&query.search));
    range.push(&mut qb, &SEARCH_KEYS);
    if let Some(c) = query.after {
        push_score_cursor(&mut qb, &c, &id);
    }
    qb.push(" ORDER BY score DESC, id DESC LIMIT ")
        .push_bind(4 * limit + 16)
        .push(
            ") c CROSS JOIN news_items i INDEXED BY news_items_keys ON i.id = c.id \
             WHERE 1 = 1",
        )
        .push(status)
        .push(" ORDER BY c.score DESC, c.id DESC LIMIT ")
        .push_bind(limit)
        .push(") k CROSS JOIN news_items i ON i.id = k.id");
    qb
}

/// Puts a page's rows in the order of its sort (the outer join of [`list_sql`] promises none).
fn order_rows(rows: &mut [ItemRow], sort: Sort) {
    match sort {
        Sort::Newest => rows.sort_by_key(|r| std::cmp::Reverse((r.published_at, r.id))),
        Sort::Oldest => rows.sort_by_key(|r| (r.published_at, r.id)),
        Sort::Relevance => rows.sort_by(|a, b| {
            let (x, y) = (a.score.unwrap_or_default(), b.score.unwrap_or_default());
            y.total_cmp(&x).then(b.id.cmp(&a.id))
        }),
    }
}

/// FTS5 reports query syntax it cannot read as an error; Herald quotes every term so this
/// should not happen, but if it does it is the query's fault, not the server's.
fn map_search(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e
        && db.message().starts_with("fts5:")
    {
        return StoreError::BadSearch(db.message().to_owned());
    }
    StoreError::Database(e)
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
    let id_of = |s: &SourcedItem| ids.get(&s.source_key).copied().unwrap_or_default();
    let links: Vec<(i64, usize, &Link)> = items
        .iter()
        .flat_map(|s| {
            let id = id_of(s);
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
    for s in items {
        let mut seen = HashSet::new();
        for tag in s.item.draft.tags.iter().filter(|t| seen.insert(*t)) {
            tags.push((id_of(s), s, tag));
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
    Ok(())
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
    push_visibility(&mut qb, &ITEM_KEYS, visibility);
    let row: Option<ItemRow> = qb.build_query_as().fetch_optional(&mut *conn).await?;
    Ok(attach(conn, row.into_iter().collect()).await?.pop())
}

/// Reads item `id` for a write and checks it is still the version the caller based it on.
async fn current_for_write(
    conn: &mut SqliteConnection,
    id: i64,
    expected: Option<&NewsItem>,
) -> StoreResult<NewsItem> {
    let current = fetch_one(conn, &ItemKey::Id(id), Visibility::All)
        .await?
        .ok_or(StoreError::NotFound)?;
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

    async fn has_items(&self) -> StoreResult<bool> {
        Ok(
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM news_items)")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn list(&self, query: &ListQuery) -> StoreResult<Page> {
        let mut conn = self.pool.acquire().await?;
        let mut rows: Vec<ItemRow> = Vec::new();
        if capped_relevance(query) {
            rows = relevance_sql("", query)
                .build_query_as()
                .fetch_all(&mut *conn)
                .await
                .map_err(map_search)?;
        }
        if rows.len() <= query.limit as usize {
            rows = list_sql("", query, Select::Page)
                .build_query_as()
                .fetch_all(&mut *conn)
                .await
                .map_err(map_search)?;
        }
        let sort = effective_sort(query);
        order_rows(&mut rows, sort);
        let more = rows.len() > query.limit as usize;
        rows.truncate(query.limit as usize);
        let next = match rows.last() {
            Some(last) if more => Some(match sort {
                Sort::Relevance => Cursor::by_score(last.score.unwrap_or_default(), last.id),
                sort => Cursor::by_date(sort, last.published_at, last.id),
            }),
            _ => None,
        };
        let total = if query.count {
            Some(
                list_sql("", query, Select::Count)
                    .build_query_scalar()
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(map_search)?,
            )
        } else {
            None
        };
        let items = attach(&mut conn, rows).await?;
        Ok(Page { items, next, total })
    }

    async fn explain_list(&self, query: &ListQuery) -> StoreResult<Vec<String>> {
        let mut sql = if capped_relevance(query) {
            relevance_sql("EXPLAIN QUERY PLAN ", query)
        } else {
            list_sql("EXPLAIN QUERY PLAN ", query, Select::Page)
        };
        let rows: Vec<(i64, i64, i64, String)> = sql
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(map_search)?;
        Ok(rows.into_iter().map(|(_, _, _, detail)| detail).collect())
    }

    async fn tags(&self, visibility: Visibility) -> StoreResult<Vec<TagCount>> {
        let mut qb = QueryBuilder::new("SELECT t.tag, count(*) FROM news_tags t WHERE 1 = 1");
        push_visibility(&mut qb, &TAG_KEYS, visibility);
        qb.push(" GROUP BY t.tag ORDER BY count(*) DESC, t.tag");
        let rows: Vec<(String, i64)> = qb.build_query_as().fetch_all(&self.pool).await?;
        Ok(rows
            .into_iter()
            .map(|(tag, count)| TagCount { tag, count })
            .collect())
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
            last_change: last.map(timestamp),
            next_publication: next.map(timestamp),
        })
    }

    async fn import(&self, items: &[SourcedItem], now: DateTime<Utc>) -> StoreResult<ImportReport> {
        let mut report = ImportReport::default();
        let mut conn = self.pool.acquire().await?;
        // A bulk batch touches far more pages than the default 2 MB cache holds; the cache
        // grows only while importing, then shrinks back for the reads this connection serves.
        sqlx::query("PRAGMA cache_size = -131072")
            .execute(&mut *conn)
            .await?;
        sqlx::query("PRAGMA mmap_size = 4294967296")
            .execute(&mut *conn)
            .await?;
        let result = import_batch(&mut conn, items, now, &mut report).await;
        sqlx::query("PRAGMA cache_size = -2000")
            .execute(&mut *conn)
            .await?;
        sqlx::query("PRAGMA mmap_size = 0")
            .execute(&mut *conn)
            .await?;
        result.map(|()| report)
    }

    async fn next_due(&self, now: DateTime<Utc>) -> StoreResult<Option<DateTime<Utc>>> {
        let next: Option<i64> = sqlx::query_scalar(
            "SELECT min(published_at) FROM news_items \
             WHERE status = 'published' AND published_at > ?1",
        )
        .bind(now.timestamp())
        .fetch_one(&self.pool)
        .await?;
        Ok(next.map(timestamp))
    }

    async fn create(&self, item: &WriteItem, now: DateTime<Utc>) -> StoreResult<NewsItem> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let item = slug_for(&mut tx, item, None).await?;
        let id = insert_item(&mut tx, &item, None, now).await?;
        let stored = fetch_one(&mut tx, &ItemKey::Id(id), Visibility::All)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn replace(
        &self,
        id: i64,
        item: &WriteItem,
        expected: Option<&NewsItem>,
        now: DateTime<Utc>,
    ) -> StoreResult<NewsItem> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        current_for_write(&mut tx, id, expected).await?;
        let item = slug_for(&mut tx, item, Some(id)).await?;
        update_item(&mut tx, id, &item, now).await?;
        let stored = fetch_one(&mut tx, &ItemKey::Id(id), Visibility::All)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn delete(&self, id: i64, expected: Option<&NewsItem>) -> StoreResult<()> {
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        current_for_write(&mut tx, id, expected).await?;
        // Links and tags go with the item (ON DELETE CASCADE).
        sqlx::query("DELETE FROM news_items WHERE id = ?1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_token(&self, name: &str, hash: &str, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("INSERT INTO api_tokens (name, token_hash, created_at) VALUES (?1, ?2, ?3)")
            .bind(name)
            .bind(hash)
            .bind(now.timestamp())
            .execute(&self.pool)
            .await
            .map_err(map_unique)?;
        Ok(())
    }

    async fn tokens(&self) -> StoreResult<Vec<TokenInfo>> {
        let rows: Vec<(String, i64, Option<i64>)> =
            sqlx::query_as("SELECT name, created_at, revoked_at FROM api_tokens ORDER BY id")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(name, created_at, revoked_at)| TokenInfo {
                name,
                created_at: timestamp(created_at),
                revoked_at: revoked_at.map(timestamp),
            })
            .collect())
    }

    async fn active_tokens(&self) -> StoreResult<Vec<ActiveToken>> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT name, token_hash FROM api_tokens WHERE revoked_at IS NULL")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(name, hash)| ActiveToken { name, hash })
            .collect())
    }

    async fn revoke_token(&self, name: &str, now: DateTime<Utc>) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = ?2 WHERE name = ?1 AND revoked_at IS NULL",
        )
        .bind(name)
        .bind(now.timestamp())
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
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

/// One import in one transaction; see [`Store::import`].
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
    let mut claimed_slugs = HashSet::new();
    let mut claimed_keys = HashSet::new();
    let (mut fresh, mut careful) = (Vec::new(), Vec::new());
    for sourced in items {
        let slug = &sourced.item.draft.slug;
        if !existing.contains_key(&sourced.source_key)
            && !taken.contains_key(slug)
            && claimed_keys.insert(&sourced.source_key)
            && claimed_slugs.insert(slug)
        {
            fresh.push(sourced);
        } else {
            careful.push(sourced);
        }
    }
    // In date order, so ids (given in insert order) rise with dates and the full-text keys
    // (date, id) arrive ascending: FTS5 flushes its buffer whenever a key goes backwards.
    fresh.sort_by_key(|s| s.item.draft.published_at);
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
                insert_item(&mut tx, &item, Some(&sourced.source_key), now).await?;
                report.created += 1;
            }
            Some(id) => {
                let fetched;
                let current = match first_look {
                    Some(stored) => stored,
                    None => {
                        fetched = fetch_one(&mut tx, &ItemKey::Id(id), Visibility::All)
                            .await?
                            .ok_or(StoreError::NotFound)?;
                        &fetched
                    }
                };
                if same_content(current, &item) {
                    report.unchanged += 1;
                } else {
                    update_item(&mut tx, id, &item, now).await?;
                    report.updated += 1;
                }
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Tags are a set: the store hands them back sorted, a source may list them in any order.
fn same_tags(stored: &[String], given: &[String]) -> bool {
    let mut given: Vec<&String> = given.iter().collect();
    given.sort();
    given.dedup();
    stored.iter().eq(given)
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
        && same_tags(&current.tags, &d.tags)
}
