//! The list query: which rows drive it (items by date, a tag's rows, or the search index), its
//! bounds and order, its count, and its plan for diagnostics.

use sqlx::{PgConnection, Postgres, QueryBuilder};

use super::items::attach;
use super::search::{RANK, tsquery_text};
use crate::store::rows::{ITEM_COLUMNS, ItemRow};
use crate::store::rules::{Counting, DateRange, effective_sort, finish_page, visible_status};
use crate::store::{Cursor, ListQuery, Page, Sort, StoreError, StoreResult, Visibility};

/// The columns that carry an item's status, date and id in a list query: the item row itself,
/// or the copies in `news_tags` when a tag drives the query (so one index-only range serves it).
pub(super) struct Keys {
    status: &'static str,
    date: &'static str,
    id: &'static str,
}

pub(super) const ITEM_KEYS: Keys = Keys {
    status: "i.status",
    date: "i.published_at",
    id: "i.id",
};

pub(super) const TAG_KEYS: Keys = Keys {
    status: "t.status",
    date: "t.published_at",
    id: "t.item_id",
};

/// Adds the visibility condition on `keys` (the WHERE clause is already open).
pub(super) fn push_visibility(
    qb: &mut QueryBuilder<Postgres>,
    keys: &Keys,
    visibility: Visibility,
) {
    let mut range = DateRange::default();
    push_status(qb, keys, visibility, &mut range);
    push_range(qb, keys, &range);
}

/// The status condition of `visibility`; the dates it allows go into `range`.
fn push_status(
    qb: &mut QueryBuilder<Postgres>,
    keys: &Keys,
    visibility: Visibility,
    range: &mut DateRange,
) {
    if let Some(status) = visible_status(visibility, range) {
        qb.push(format_args!(" AND {} = ", keys.status))
            .push_bind(status.as_str());
    }
}

fn push_range(qb: &mut QueryBuilder<Postgres>, keys: &Keys, range: &DateRange) {
    if let Some(lower) = range.lower {
        qb.push(format_args!(" AND {} >= ", keys.date))
            .push_bind(lower);
    }
    if let Some(upper) = range.upper {
        qb.push(format_args!(" AND {} <= ", keys.date))
            .push_bind(upper);
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

/// The one SQL text behind `list`, its count and its plan. Without a search, the page's ids
/// come from one index range (`news_items_public`, or `news_tags_by_tag` for a tag, both
/// holding status, date and id), and only the page's rows are read. A search finds matches in
/// the GIN index and orders them by date or rank.
fn list_sql(prefix: &str, query: &ListQuery, select: Select) -> QueryBuilder<Postgres> {
    let sort = effective_sort(query);
    let searching = !query.search.is_empty();
    let mut extra_tags = query.tags.iter();
    let first_tag = if searching { None } else { extra_tags.next() };
    let keys = if first_tag.is_some() {
        &TAG_KEYS
    } else {
        &ITEM_KEYS
    };
    let mut qb = QueryBuilder::new(prefix);
    match (select, first_tag) {
        (Select::Count, _) => qb.push("SELECT count(*)::int8"),
        (Select::Page, Some(_)) => qb
            .push("SELECT ")
            .push(ITEM_COLUMNS)
            .push(", NULL::float8 AS score FROM (SELECT t.item_id AS id"),
        (Select::Page, None) => {
            let score = if searching { RANK } else { "NULL::float8" };
            qb.push("SELECT ")
                .push(ITEM_COLUMNS)
                .push(format_args!(", {score} AS score"))
        }
    };
    if searching {
        qb.push(" FROM news_items i, to_tsquery('herald', ")
            .push_bind(tsquery_text(&query.search))
            .push(") AS q (query) WHERE i.search @@ q.query");
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
    push_status(&mut qb, keys, query.visibility, &mut range);
    range.since_until(query);
    push_range(&mut qb, keys, &range);
    // The date orders differ only in direction.
    let (after_op, direction) = if sort == Sort::Oldest {
        (">", "ASC")
    } else {
        ("<", "DESC")
    };
    if select == Select::Count {
        return qb;
    }
    match (query.after, sort) {
        (Some(c), Sort::Relevance) => push_score_cursor(&mut qb, &c),
        (Some(c), _) => {
            // A row comparison, which a B-tree seeks to directly.
            qb.push(format_args!(
                " AND ({}, {}) {after_op} (",
                keys.date, keys.id
            ))
            .push_bind(c.key)
            .push(", ")
            .push_bind(c.id)
            .push(")");
        }
        (None, _) => {}
    }
    match sort {
        Sort::Relevance => qb.push(" ORDER BY score DESC, i.id DESC"),
        _ => qb.push(format_args!(
            " ORDER BY {} {direction}, {} {direction}",
            keys.date, keys.id
        )),
    };
    qb.push(" LIMIT ").push_bind(i64::from(query.limit) + 1);
    if first_tag.is_some() {
        // The tag's index range gave the page's ids; now their rows (the page is put in order
        // by `finish_page`).
        qb.push(") k JOIN news_items i ON i.id = k.id");
    }
    qb
}

/// Items after cursor `c` in relevance order.
fn push_score_cursor(qb: &mut QueryBuilder<Postgres>, c: &Cursor) {
    qb.push(format_args!(" AND ({RANK} < "))
        .push_bind(c.score())
        .push(format_args!(" OR ({RANK} = "))
        .push_bind(c.score())
        .push(" AND i.id < ")
        .push_bind(c.id)
        .push("))");
}

/// PostgreSQL reports `tsquery` text it cannot read as a syntax error; Herald quotes every
/// word so this should not happen, but if it does it is the query's fault, not the server's.
fn map_search(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e
        && db.code().as_deref() == Some("42601")
    {
        return StoreError::BadSearch(db.message().to_owned());
    }
    StoreError::Database(e)
}

/// Whether a tag filter can match nothing: PostgreSQL text cannot hold U+0000, so no stored
/// tag does either, and the value could not even be sent as a parameter.
fn impossible(query: &ListQuery) -> bool {
    query
        .tags
        .iter()
        .chain(&query.authors)
        .any(|t| t.contains('\0'))
}

/// One page of a list.
pub(super) async fn list(conn: &mut PgConnection, query: &ListQuery) -> StoreResult<Page> {
    if impossible(query) {
        let total = query.count.then_some(0);
        return Ok(Page {
            items: Vec::new(),
            next: None,
            total,
        });
    }
    let mut rows: Vec<ItemRow> = list_sql("", query, Select::Page)
        .build_query_as()
        .fetch_all(&mut *conn)
        .await
        .map_err(map_search)?;
    let next = finish_page(&mut rows, query)?;
    let total = match Counting::of(query, rows.len(), next.is_some()) {
        None => None,
        Some(Counting::Known(total)) => Some(total),
        Some(Counting::Kept(total)) => {
            Some(super::counts::count(conn, total, query.visibility).await?)
        }
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

/// PostgreSQL's plan for the main query of [`list`], one line per row of `EXPLAIN`.
pub(super) async fn explain(
    conn: &mut PgConnection,
    query: &ListQuery,
) -> StoreResult<Vec<String>> {
    list_sql("EXPLAIN ", query, Select::Page)
        .build_query_scalar()
        .fetch_all(&mut *conn)
        .await
        .map_err(map_search)
}
