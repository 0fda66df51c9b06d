//! Rules every store engine follows the same way, kept out of the SQL so a second engine does
//! not copy them: which sort a list really runs, how a page is ordered and where the next one
//! starts, how `since`/`until` meet whole-second dates, when an import changes nothing, which
//! unique constraint answers for which API field, and what a write's change records.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::{
    ChangeKind, Cursor, ListQuery, Sort, SourcedItem, StoreError, StoreResult, TagCount,
    Visibility, WriteItem,
};
use crate::model::{NewsItem, Status};

/// The sort a query really runs: relevance needs a search to rank by.
pub fn effective_sort(query: &ListQuery) -> Sort {
    if query.sort == Sort::Relevance && query.search.is_empty() {
        Sort::Newest
    } else {
        query.sort
    }
}

/// `since` and `until` as inclusive bounds in whole seconds (what stores keep): a bound with a
/// fraction rounds inwards, so `since` rounds up and `until` down.
pub fn whole_second_bounds(query: &ListQuery) -> (Option<i64>, Option<i64>) {
    let since = query
        .since
        .map(|s| s.timestamp() + i64::from(s.timestamp_subsec_nanos() > 0));
    let until = query.until.map(|u| u.timestamp());
    (since, until)
}

/// Inclusive bounds on `published_at` in whole seconds, merged from visibility, `since`/`until`
/// and the cursor, so an index sees one range instead of several overlapping ones.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    pub lower: Option<i64>,
    pub upper: Option<i64>,
}

impl DateRange {
    pub fn at_least(&mut self, t: i64) {
        self.lower = Some(self.lower.map_or(t, |l| l.max(t)));
    }

    pub fn at_most(&mut self, t: i64) {
        self.upper = Some(self.upper.map_or(t, |u| u.min(t)));
    }

    /// Adds the query's `since` and `until`.
    pub fn since_until(&mut self, query: &ListQuery) {
        let (since, until) = whole_second_bounds(query);
        if let Some(since) = since {
            self.at_least(since);
        }
        if let Some(until) = until {
            self.at_most(until);
        }
    }
}

/// The status `visibility` lets through (`None`: any); the dates it allows go into `range`.
pub fn visible_status(visibility: Visibility, range: &mut DateRange) -> Option<Status> {
    match visibility {
        Visibility::Public { now } => {
            range.at_most(now.timestamp());
            Some(Status::Published)
        }
        Visibility::Scheduled { now } => {
            range.at_least(now.timestamp() + 1);
            Some(Status::Published)
        }
        Visibility::Drafts => Some(Status::Draft),
        Visibility::All => None,
    }
}

/// Which kept total answers a query's `count` without counting rows: the whole store, or one
/// tag. Stores keep item counts per status (and per tag and status) up to date in every write;
/// a search or a date range still counts its matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Total<'a> {
    All,
    Tag(&'a str),
}

impl<'a> Total<'a> {
    pub fn of(query: &'a ListQuery) -> Option<Self> {
        if !query.search.is_empty()
            || query.since.is_some()
            || query.until.is_some()
            || !query.authors.is_empty()
        {
            return None;
        }
        match query.tags.as_slice() {
            [] => Some(Total::All),
            [tag] => Some(Total::Tag(tag)),
            _ => None,
        }
    }
}

/// How a list answers `count=true`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counting<'a> {
    /// The first page holds every match: its length is the total, no query needed.
    Known(i64),
    /// A kept total answers it ([`Total`]).
    Kept(Total<'a>),
    /// The matches must be counted.
    Rows,
}

impl<'a> Counting<'a> {
    /// `None` when the query asked for no count; `on_page` rows were listed, `more` follows.
    pub fn of(query: &'a ListQuery, on_page: usize, more: bool) -> Option<Self> {
        if !query.count {
            return None;
        }
        Some(if query.after.is_none() && !more {
            Counting::Known(on_page as i64)
        } else if let Some(total) = Total::of(query) {
            Counting::Kept(total)
        } else {
            Counting::Rows
        })
    }
}

/// Kept counts by status for one scope (the store or a tag), and how many of the published
/// ones are scheduled (due after `now`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub published: i64,
    pub drafts: i64,
    pub scheduled: i64,
}

impl Counts {
    /// How many items `visibility` lets through.
    pub fn visible(&self, visibility: Visibility) -> i64 {
        match visibility {
            Visibility::Public { .. } => self.published - self.scheduled,
            Visibility::Scheduled { .. } => self.scheduled,
            Visibility::Drafts => self.drafts,
            Visibility::All => self.published + self.drafts,
        }
    }
}

impl Counts {
    /// The kept counts of one scope (`(status, count)` rows as stored) with `scheduled` of the
    /// published ones due later.
    pub fn from_kept(
        kept: impl IntoIterator<Item = (String, i64)>,
        scheduled: i64,
    ) -> StoreResult<Self> {
        let mut counts = Counts {
            scheduled,
            ..Counts::default()
        };
        for (status, count) in kept {
            match kept_status(&status)? {
                Status::Published => counts.published += count,
                Status::Draft => counts.drafts += count,
            }
        }
        Ok(counts)
    }
}

fn kept_status(text: &str) -> StoreResult<Status> {
    Status::parse(text).ok_or_else(|| StoreError::Corrupt(format!("kept count of status `{text}`")))
}

/// The time a visibility is judged at, for those that depend on it: only they need the
/// scheduled items counted.
pub fn judged_at(visibility: Visibility) -> Option<DateTime<Utc>> {
    match visibility {
        Visibility::Public { now } | Visibility::Scheduled { now } => Some(now),
        Visibility::Drafts | Visibility::All => None,
    }
}

/// Every tag `visibility` lets through with its number of items, most used first: kept counts
/// per tag and status (`(tag, status, count)` rows as stored), less the scheduled items per tag.
pub fn tag_totals(
    kept: impl IntoIterator<Item = (String, String, i64)>,
    scheduled: impl IntoIterator<Item = (String, i64)>,
    visibility: Visibility,
) -> StoreResult<Vec<TagCount>> {
    let mut counts: HashMap<String, Counts> = HashMap::new();
    for (tag, status, count) in kept {
        let entry = counts.entry(tag).or_default();
        match kept_status(&status)? {
            Status::Published => entry.published += count,
            Status::Draft => entry.drafts += count,
        }
    }
    for (tag, count) in scheduled {
        counts.entry(tag).or_default().scheduled += count;
    }
    let mut tags: Vec<TagCount> = counts
        .into_iter()
        .map(|(tag, c)| TagCount {
            tag,
            count: c.visible(visibility),
        })
        .filter(|t| t.count > 0)
        .collect();
    tags.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.tag.cmp(&b.tag)));
    Ok(tags)
}

/// What paging needs of a listed row: its sort keys.
pub trait PageRow {
    fn id(&self) -> i64;
    /// `published_at` in whole seconds.
    fn published_at(&self) -> i64;
    /// The relevance score, present when the row came from a text search.
    fn score(&self) -> Option<f64>;
}

/// Turns the rows a list query fetched (up to `limit + 1`, in any order) into the page: puts
/// them in the order of the query's sort, keeps `limit`, and returns the cursor of the next
/// page when a row was left over.
pub fn finish_page<R: PageRow>(
    rows: &mut Vec<R>,
    query: &ListQuery,
) -> StoreResult<Option<Cursor>> {
    let sort = effective_sort(query);
    if sort == Sort::Relevance {
        // A relevance row without a score cannot be placed; do not guess a position for it.
        if rows.iter().any(|r| r.score().is_none()) {
            return Err(StoreError::Corrupt(
                "a relevance search returned a row without a score".to_owned(),
            ));
        }
    }
    let score = |r: &R| r.score().unwrap_or(f64::NAN);
    match sort {
        Sort::Newest => rows.sort_by_key(|r| std::cmp::Reverse((r.published_at(), r.id()))),
        Sort::Oldest => rows.sort_by_key(|r| (r.published_at(), r.id())),
        Sort::Relevance => {
            rows.sort_by(|a, b| score(b).total_cmp(&score(a)).then(b.id().cmp(&a.id())))
        }
    }
    let limit = query.limit as usize;
    let more = rows.len() > limit;
    rows.truncate(limit);
    Ok(match rows.last() {
        Some(last) if more => Some(match sort {
            Sort::Relevance => Cursor::by_score(score(last), last.id()),
            sort => Cursor::by_date(sort, last.published_at(), last.id()),
        }),
        _ => None,
    })
}

/// Whether anonymous readers see an item with this status and date at `now`.
pub fn is_public(status: Status, published_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    status == Status::Published && published_at <= now
}

/// The tags a change touches: those before and after the write, sorted, without repeats.
pub fn touched_tags<'a>(
    before: impl IntoIterator<Item = &'a String>,
    after: impl IntoIterator<Item = &'a String>,
) -> Vec<String> {
    let mut tags: Vec<String> = before.into_iter().chain(after).cloned().collect();
    tags.sort();
    tags.dedup();
    tags
}

/// A change about to be recorded: everything but its place in the log and its time, which the
/// store assigns when it writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeDraft {
    pub kind: ChangeKind,
    pub item_id: i64,
    pub tags: Vec<String>,
    pub was_public: bool,
    pub is_public: bool,
    /// The item's slug (after the write; before it, for a delete): webhook bodies name it.
    pub slug: String,
    /// Published with a date still to come after the write (webhooks' `item.scheduled`).
    pub scheduled: bool,
}

/// Published but not yet due at `now`.
pub fn is_scheduled(status: Status, published_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    status == Status::Published && published_at > now
}

impl ChangeDraft {
    /// A new item.
    pub fn created(id: i64, item: &WriteItem, now: DateTime<Utc>) -> Self {
        let d = &item.draft;
        Self {
            kind: ChangeKind::Created,
            item_id: id,
            tags: touched_tags([], &d.tags),
            was_public: false,
            is_public: is_public(d.status, d.published_at, now),
            slug: d.slug.clone(),
            scheduled: is_scheduled(d.status, d.published_at, now),
        }
    }

    /// An edit of `current` into `item`.
    pub fn edited(current: &NewsItem, item: &WriteItem, now: DateTime<Utc>) -> Self {
        let d = &item.draft;
        let was_public = is_public(current.status, current.published_at, now);
        let is_public = is_public(d.status, d.published_at, now);
        Self {
            kind: ChangeKind::of_edit(was_public, is_public),
            item_id: current.id,
            tags: touched_tags(&current.tags, &d.tags),
            was_public,
            is_public,
            slug: d.slug.clone(),
            scheduled: is_scheduled(d.status, d.published_at, now),
        }
    }

    /// The deletion of `current`.
    pub fn deleted(current: &NewsItem, now: DateTime<Utc>) -> Self {
        Self {
            kind: ChangeKind::Deleted,
            item_id: current.id,
            tags: current.tags.clone(),
            was_public: is_public(current.status, current.published_at, now),
            is_public: false,
            slug: current.slug.clone(),
            scheduled: false,
        }
    }
}

/// A write naming an author slug no author record has: the writer's to fix (422).
pub fn unknown_author(position: usize, slug: &str) -> StoreError {
    StoreError::Invalid {
        field: format!("authors[{position}]"),
        message: format!("names no author (`{slug}`); create it at /api/v1/authors first"),
    }
}

/// The change an author edit records for an item naming the author: the item reads
/// differently (its byline), but is as public as it was.
pub fn byline_changed(item: &NewsItem, now: DateTime<Utc>) -> ChangeDraft {
    let public = is_public(item.status, item.published_at, now);
    ChangeDraft {
        kind: ChangeKind::Updated,
        item_id: item.id,
        tags: item.tags.clone(),
        was_public: public,
        is_public: public,
        slug: item.slug.clone(),
        scheduled: is_scheduled(item.status, item.published_at, now),
    }
}

/// How many changes a store keeps: enough for any subscriber that is not hours behind, few
/// enough that the log stays small next to the items.
pub const CHANGES_KEPT: i64 = 100_000;

/// The meta key holding the time up to which scheduled items are known to have gone live.
pub const LIVE_THROUGH_KEY: &str = "live_through";

/// Tags are a set: the store hands them back sorted, a source may list them in any order.
pub fn same_tags(stored: &[String], given: &[String]) -> bool {
    let mut given: Vec<&String> = given.iter().collect();
    given.sort();
    given.dedup();
    stored.iter().eq(given)
}

/// Whether an import would change nothing a reader can see.
pub fn same_content(current: &NewsItem, item: &WriteItem) -> bool {
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
        && current.authors.iter().map(|a| &a.slug).eq(&d.authors)
        && current.image.as_ref().map(|i| &i.draft) == d.image.as_ref()
}

/// A write naming a medium that does not exist: the writer's to fix (422).
pub fn unknown_medium(id: i64) -> StoreError {
    StoreError::Invalid {
        field: "image.media_id".to_owned(),
        message: format!("names no medium ({id}); upload it at /api/v1/media first"),
    }
}

/// Splits an import into the items that can go in with multi-row statements (new source key,
/// free slug, first of their key and slug in the batch), in date order, and the rest, which
/// take the careful path one at a time, in the order given. `existing` holds the batch's
/// stored source keys, `taken` its stored slugs. Date order makes ids (given in insert order)
/// rise with dates on every engine, so equal imports give equal ids.
pub fn split_fresh<'a>(
    items: &'a [SourcedItem],
    existing: &HashMap<String, i64>,
    taken: &HashMap<String, i64>,
) -> (Vec<&'a SourcedItem>, Vec<&'a SourcedItem>) {
    let mut claimed_slugs = HashSet::new();
    let mut claimed_keys = HashSet::new();
    let (mut fresh, mut careful) = (Vec::new(), Vec::new());
    for sourced in items {
        let slug = &sourced.item.draft.slug;
        // Bylines are resolved row by row (an unknown author is the writer's error to report).
        if sourced.item.draft.authors.is_empty()
            && sourced.item.draft.image.is_none()
            && !existing.contains_key(&sourced.source_key)
            && !taken.contains_key(slug)
            && claimed_keys.insert(&sourced.source_key)
            && claimed_slugs.insert(slug)
        {
            fresh.push(sourced);
        } else {
            careful.push(sourced);
        }
    }
    fresh.sort_by_key(|s| s.item.draft.published_at);
    (fresh, careful)
}

/// A unique column whose clash is the writer's to fix, and the API field that names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UniqueField {
    pub table: &'static str,
    pub column: &'static str,
    pub field: &'static str,
}

impl UniqueField {
    /// The name PostgreSQL gives a `UNIQUE` column constraint by default.
    pub fn default_constraint_name(&self) -> String {
        format!("{}_{}_key", self.table, self.column)
    }
}

/// Every unique constraint a writer can run into. The others (guid, source key, token hash)
/// hold values the service makes itself, so a clash there is a fault, not a conflict.
pub const UNIQUE_FIELDS: &[UniqueField] = &[
    UniqueField {
        table: "news_items",
        column: "slug",
        field: "slug",
    },
    UniqueField {
        table: "authors",
        column: "slug",
        field: "slug",
    },
    UniqueField {
        table: "api_tokens",
        column: "name",
        field: "name",
    },
];

/// The API field of a unique column, for engines that report the clashing `table.column`.
pub fn conflict_field_of_column(table: &str, column: &str) -> Option<&'static str> {
    UNIQUE_FIELDS
        .iter()
        .find(|u| u.table == table && u.column == column)
        .map(|u| u.field)
}

/// The API field of a unique constraint, for engines that report the constraint's name.
pub fn conflict_field_of_constraint(name: &str) -> Option<&'static str> {
    UNIQUE_FIELDS
        .iter()
        .find(|u| u.default_constraint_name() == name)
        .map(|u| u.field)
}

/// A unique-constraint violation as the conflict on the API field it stands for. PostgreSQL
/// names the constraint; SQLite names none (`constraint()` is `None`), only the clashing
/// columns in its message: "UNIQUE constraint failed: news_items.slug".
pub fn map_unique(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e
        && db.is_unique_violation()
    {
        let by_name = db.constraint().and_then(conflict_field_of_constraint);
        let by_column = || {
            let columns = db.message().split_once("constraint failed: ")?.1;
            columns.split(", ").find_map(|qualified| {
                let (table, column) = qualified.split_once('.')?;
                conflict_field_of_column(table, column)
            })
        };
        if let Some(field) = by_name.or_else(by_column) {
            return StoreError::Conflict { field };
        }
    }
    StoreError::Database(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Row(i64, i64, Option<f64>);

    impl PageRow for Row {
        fn id(&self) -> i64 {
            self.0
        }
        fn published_at(&self) -> i64 {
            self.1
        }
        fn score(&self) -> Option<f64> {
            self.2
        }
    }

    fn query(sort: Sort, limit: u32, searching: bool) -> ListQuery {
        ListQuery {
            sort,
            limit,
            search: if searching {
                vec![super::super::SearchTerm {
                    words: vec!["w".into()],
                    prefix: false,
                }]
            } else {
                Vec::new()
            },
            ..ListQuery::default()
        }
    }

    #[test]
    fn pages_are_ordered_cut_and_continued_by_their_sort() {
        let rows = || {
            vec![
                Row(1, 10, Some(1.0)),
                Row(3, 20, Some(2.0)),
                Row(2, 20, Some(2.0)),
            ]
        };
        let mut newest = rows();
        let next = finish_page(&mut newest, &query(Sort::Newest, 2, false)).unwrap();
        assert_eq!(newest.iter().map(|r| r.0).collect::<Vec<_>>(), [3, 2]);
        assert_eq!(next, Some(Cursor::by_date(Sort::Newest, 20, 2)));
        let mut oldest = rows();
        let next = finish_page(&mut oldest, &query(Sort::Oldest, 3, false)).unwrap();
        assert_eq!(oldest.iter().map(|r| r.0).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(next, None);
        let mut best = rows();
        let next = finish_page(&mut best, &query(Sort::Relevance, 1, true)).unwrap();
        assert_eq!(best.iter().map(|r| r.0).collect::<Vec<_>>(), [3]);
        assert_eq!(next, Some(Cursor::by_score(2.0, 3)));
        // Relevance without a search is newest first.
        let mut unsearched = rows();
        finish_page(&mut unsearched, &query(Sort::Relevance, 3, false)).unwrap();
        assert_eq!(unsearched[0].0, 3);
        let mut unscored = vec![Row(1, 10, None)];
        assert!(matches!(
            finish_page(&mut unscored, &query(Sort::Relevance, 1, true)),
            Err(StoreError::Corrupt(_))
        ));
    }

    #[test]
    fn fractional_bounds_round_inwards() {
        let q = ListQuery {
            since: Some("2020-01-01T00:00:00.5Z".parse().unwrap()),
            until: Some("2020-01-02T00:00:00.5Z".parse().unwrap()),
            ..ListQuery::default()
        };
        assert_eq!(
            whole_second_bounds(&q),
            (Some(1_577_836_801), Some(1_577_923_200))
        );
    }

    #[test]
    fn unique_constraints_name_their_fields() {
        assert_eq!(conflict_field_of_column("news_items", "slug"), Some("slug"));
        assert_eq!(conflict_field_of_column("api_tokens", "name"), Some("name"));
        assert_eq!(conflict_field_of_column("news_items", "guid"), None);
        assert_eq!(
            conflict_field_of_constraint("news_items_slug_key"),
            Some("slug")
        );
        assert_eq!(
            conflict_field_of_constraint("api_tokens_token_hash_key"),
            None
        );
    }

    #[test]
    fn touched_tags_are_the_sorted_union() {
        let before = ["b".to_owned(), "a".to_owned()];
        let after = ["c".to_owned(), "a".to_owned()];
        assert_eq!(touched_tags(&before, &after), ["a", "b", "c"]);
    }
}
