//! The list query: which index drives it, its bounds and order, the capped relevance variant,
//! and the plan of either for diagnostics.

use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::counts;
use super::fts;
use super::items::attach;
use crate::store::rows::{ITEM_COLUMNS, ItemRow};
use crate::store::rules::{Counting, DateRange, effective_sort, finish_page, visible_status};
use crate::store::{Cursor, ListQuery, Page, Sort, StoreError, StoreResult, Visibility};

/// Adds the visibility condition on `keys` (the WHERE clause is already open).
pub(super) fn push_visibility(qb: &mut QueryBuilder<Sqlite>, keys: &Keys, visibility: Visibility) {
    let mut range = DateRange::default();
    qb.push(status_clause(keys, visibility, &mut range));
    push_range(&range, qb, keys);
}

/// The columns that carry an item's status, date and id in a list query: the item row itself,
/// or the copies in `news_tags` when a tag drives the query (so one index range serves it).
/// A search bounds and orders by the full-text rowid instead, which sorts like (date, id).
pub(super) struct Keys {
    status: &'static str,
    date: &'static str,
    id: &'static str,
    by_search_key: bool,
}

pub(super) const ITEM_KEYS: Keys = Keys {
    status: "i.status",
    date: "i.published_at",
    id: "i.id",
    by_search_key: false,
};

pub(super) const TAG_KEYS: Keys = Keys {
    status: "t.status",
    date: "t.published_at",
    id: "t.item_id",
    by_search_key: false,
};

const SEARCH_KEYS: Keys = Keys {
    by_search_key: true,
    ..ITEM_KEYS
};

/// Adds `range` as bounds on the date (or search key) of `keys`.
fn push_range(range: &DateRange, qb: &mut QueryBuilder<Sqlite>, keys: &Keys) {
    if keys.by_search_key {
        if let Some(lower) = range.lower {
            qb.push(" AND news_fts.rowid >= ")
                .push_bind(fts::keys_of_second(lower).0);
        }
        if let Some(upper) = range.upper {
            qb.push(" AND news_fts.rowid <= ")
                .push_bind(fts::keys_of_second(upper).1);
        }
        return;
    }
    if let Some(lower) = range.lower {
        qb.push(format_args!(" AND {} >= ", keys.date))
            .push_bind(lower);
    }
    if let Some(upper) = range.upper {
        qb.push(format_args!(" AND {} <= ", keys.date))
            .push_bind(upper);
    }
}

/// The status condition of `visibility` (literal SQL, nothing to bind); the dates it allows go
/// into `range`.
fn status_clause(keys: &Keys, visibility: Visibility, range: &mut DateRange) -> String {
    match visible_status(visibility, range) {
        Some(status) => format!(" AND {} = '{}'", keys.status, status.as_str()),
        None => String::new(),
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
    for author in &query.authors {
        qb.push(format_args!(
            " AND EXISTS (SELECT 1 FROM news_authors na JOIN authors a ON a.id = na.author_id \
             WHERE na.item_id = {} AND a.slug = ",
            keys.id
        ))
        .push_bind(author.clone())
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
    push_range(&range, &mut qb, keys);
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
    effective_sort(query) == Sort::Relevance && query.tags.is_empty() && query.authors.is_empty()
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
    push_range(&range, &mut qb, &SEARCH_KEYS);
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

/// One page of a list: the capped relevance query when it can answer, else the general one.
pub(super) async fn list(conn: &mut SqliteConnection, query: &ListQuery) -> StoreResult<Page> {
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
    let next = finish_page(&mut rows, query)?;
    let total = match Counting::of(query, rows.len(), next.is_some()) {
        None => None,
        Some(Counting::Known(total)) => Some(total),
        Some(Counting::Kept(total)) => Some(counts::count(conn, total, query.visibility).await?),
        Some(Counting::Rows) => Some(
            list_sql("", query, Select::Count)
                .build_query_scalar()
                .fetch_one(&mut *conn)
                .await
                .map_err(map_search)?,
        ),
    };
    let items = attach(conn, rows).await?;
    Ok(Page { items, next, total })
}

/// SQLite's plan for the main query of [`list`], one line per step.
pub(super) async fn explain(
    conn: &mut SqliteConnection,
    query: &ListQuery,
) -> StoreResult<Vec<String>> {
    let mut sql = if capped_relevance(query) {
        relevance_sql("EXPLAIN QUERY PLAN ", query)
    } else {
        list_sql("EXPLAIN QUERY PLAN ", query, Select::Page)
    };
    let rows: Vec<(i64, i64, i64, String)> = sql
        .build_query_as()
        .fetch_all(&mut *conn)
        .await
        .map_err(map_search)?;
    Ok(rows.into_iter().map(|(_, _, _, detail)| detail).collect())
}
