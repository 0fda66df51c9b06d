//! Rows as both engines return them: the same columns with the same types (whole-second
//! integer times, text statuses, JSON tag lists), decoded into the model in one place.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::rules::PageRow;
use super::{Change, ChangeKind, StoreError, StoreResult};
use crate::model::{Byline, ItemImage, Link, NewsItem, Status};

/// Qualified: list queries join tables that share some of these names.
pub const ITEM_COLUMNS: &str = "i.id, i.guid, i.slug, i.title, i.summary, \
                                i.content_markdown, i.content_html, i.status, \
                                i.published_at, i.created_at, i.updated_at";

/// A stored time (whole seconds since the epoch); one no date can hold is corrupt data.
pub fn timestamp(secs: i64) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp(secs, 0)
        .ok_or_else(|| StoreError::Corrupt(format!("stored time {secs} is out of range")))
}

#[derive(FromRow)]
pub struct ItemRow {
    pub id: i64,
    guid: String,
    slug: String,
    title: String,
    summary: Option<String>,
    content_markdown: String,
    content_html: String,
    status: String,
    pub published_at: i64,
    created_at: i64,
    updated_at: i64,
    /// The relevance score, when the row came from a text search.
    #[sqlx(default)]
    score: Option<f64>,
}

impl PageRow for ItemRow {
    fn id(&self) -> i64 {
        self.id
    }

    fn published_at(&self) -> i64 {
        self.published_at
    }

    fn score(&self) -> Option<f64> {
        self.score
    }
}

impl ItemRow {
    pub fn into_item(
        self,
        links: Vec<Link>,
        tags: Vec<String>,
        authors: Vec<Byline>,
        image: Option<ItemImage>,
    ) -> StoreResult<NewsItem> {
        let status = Status::parse(&self.status).ok_or_else(|| {
            StoreError::Corrupt(format!("item {} has status `{}`", self.id, self.status))
        })?;
        Ok(NewsItem {
            id: self.id,
            guid: self.guid,
            slug: self.slug,
            title: self.title,
            summary: self.summary,
            content_markdown: self.content_markdown,
            content_html: self.content_html,
            status,
            published_at: timestamp(self.published_at)?,
            created_at: timestamp(self.created_at)?,
            updated_at: timestamp(self.updated_at)?,
            links,
            tags,
            authors,
            image,
        })
    }
}

/// An item's authors as both engines read them, in order: `(item_id, name, slug, url, avatar)`.
/// `i.item_id` must be bound to the ids asked for (an engine's own list syntax follows).
pub const BYLINE_SQL: &str = "SELECT na.item_id, a.name, a.slug, a.url, a.avatar \
     FROM news_authors na JOIN authors a ON a.id = na.author_id WHERE na.item_id ";

pub type BylineRow = (i64, String, String, Option<String>, Option<String>);

/// Items with the links, tags and authors read for them (rows `(item_id, …)` in item order),
/// so an item without any gets the true answer: none.
pub fn assemble(
    rows: Vec<ItemRow>,
    link_rows: Vec<(i64, String, String)>,
    tag_rows: Vec<(i64, String)>,
    author_rows: Vec<BylineRow>,
    image_rows: Vec<super::images::ImageRow>,
) -> StoreResult<Vec<NewsItem>> {
    let mut images = super::images::group(image_rows)?;
    use std::collections::HashMap;
    let mut links: HashMap<i64, Vec<Link>> = HashMap::new();
    for (id, title, url) in link_rows {
        links.entry(id).or_default().push(Link { title, url });
    }
    let mut tags: HashMap<i64, Vec<String>> = HashMap::new();
    for (id, tag) in tag_rows {
        tags.entry(id).or_default().push(tag);
    }
    let mut authors: HashMap<i64, Vec<Byline>> = HashMap::new();
    for (id, name, slug, url, avatar) in author_rows {
        authors.entry(id).or_default().push(Byline {
            name,
            slug,
            url,
            avatar,
        });
    }
    rows.into_iter()
        .map(|row| {
            let id = row.id;
            row.into_item(
                links.remove(&id).unwrap_or_default(),
                tags.remove(&id).unwrap_or_default(),
                authors.remove(&id).unwrap_or_default(),
                images.remove(&id),
            )
        })
        .collect()
}

pub const CHANGE_COLUMNS: &str = "seq, kind, item_id, tags, was_public, is_public, at";

#[derive(FromRow)]
pub struct ChangeRow {
    seq: i64,
    kind: String,
    item_id: i64,
    tags: String,
    was_public: bool,
    is_public: bool,
    at: i64,
}

impl TryFrom<ChangeRow> for Change {
    type Error = StoreError;

    fn try_from(row: ChangeRow) -> StoreResult<Self> {
        let corrupt = |what: String| StoreError::Corrupt(format!("change {}: {what}", row.seq));
        Ok(Change {
            seq: row.seq,
            kind: ChangeKind::parse(&row.kind)
                .ok_or_else(|| corrupt(format!("unknown kind `{}`", row.kind)))?,
            item_id: row.item_id,
            tags: serde_json::from_str(&row.tags)
                .map_err(|e| corrupt(format!("tags `{}`: {e}", row.tags)))?,
            was_public: row.was_public,
            is_public: row.is_public,
            at: timestamp(row.at)?,
        })
    }
}

/// A change's tags as stored: a JSON array.
pub fn tags_json(tags: &[String]) -> StoreResult<String> {
    Ok(serde_json::to_string(tags).map_err(anyhow::Error::from)?)
}
