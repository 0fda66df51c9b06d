//! The news item as the rest of Herald sees it, independent of storage and wire formats.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"title": "Reuters article", "url": "https://www.reuters.com/article/us-telecoms-mobileworld-telenor/norways-telenor-seeks-salvation-in-the-cloud-idUSKCN1GD5JA"}))]
pub struct Link {
    pub title: String,
    pub url: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Published,
    Draft,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Published => "published",
            Status::Draft => "draft",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "published" => Some(Status::Published),
            "draft" => Some(Status::Draft),
            _ => None,
        }
    }
}

/// An author as an item names it: the public part of an author record (never the e-mail).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = Byline, example = json!({"name": "Ada Lovelace", "slug": "ada-lovelace", "url": "https://ada.example/", "avatar": null}))]
pub struct Byline {
    pub name: String,
    pub slug: String,
    pub url: Option<String>,
    pub avatar: Option<String>,
}

/// Where an item's image comes from: a medium uploaded to this service, or an image hosted
/// elsewhere (with the size the writer gave, if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSource {
    Media(i64),
    Url {
        url: String,
        width: Option<u32>,
        height: Option<u32>,
    },
}

/// An item's image as written: its source and its texts. `alt` is never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageDraft {
    pub source: ImageSource,
    pub alt: String,
    pub caption: Option<String>,
    pub credit: Option<String>,
}

/// One stored file of a medium (its original or a resized variant), served at
/// `{public URL}/media/{path}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaFile {
    pub path: String,
    pub original: bool,
    pub content_type: String,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
}

/// An item's image as stored: what was written, and for a medium its files (the original first,
/// then the variants by width).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemImage {
    pub draft: ImageDraft,
    pub files: Vec<MediaFile>,
}

/// A stored news item. Timestamps are whole seconds, UTC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewsItem {
    pub id: i64,
    /// Feed identity (`urn:uuid:…`), fixed when the item is created.
    pub guid: String,
    pub slug: String,
    pub title: String,
    pub summary: Option<String>,
    pub content_markdown: String,
    pub content_html: String,
    pub status: Status,
    pub published_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub links: Vec<Link>,
    pub tags: Vec<String>,
    /// In the order the writer gave them.
    pub authors: Vec<Byline>,
    pub image: Option<ItemImage>,
}

impl NewsItem {
    /// Visible to anonymous readers and feeds at `now`.
    pub fn is_public(&self, now: DateTime<Utc>) -> bool {
        self.status == Status::Published && self.published_at <= now
    }
}

/// Everything needed to create or fully replace an item; validated before it reaches the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemDraft {
    pub slug: String,
    pub title: String,
    pub summary: Option<String>,
    pub content_markdown: String,
    pub status: Status,
    pub published_at: DateTime<Utc>,
    pub links: Vec<Link>,
    pub tags: Vec<String>,
    /// Author slugs, in order; each must name an author record.
    pub authors: Vec<String>,
    pub image: Option<ImageDraft>,
}

/// Truncates to whole seconds, the precision every store keeps.
pub fn whole_seconds(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

/// A URL-safe slug (ASCII, lower-case, hyphenated; accents transliterated), at most 80 bytes.
pub fn slugify(text: &str) -> String {
    let mut slug = slug::slugify(text);
    if slug.len() > 80 {
        slug.truncate(80);
        slug.truncate(slug.trim_end_matches('-').len());
    }
    // An all-digit slug would read as an id in `/api/v1/news/{id-or-slug}`.
    if !slug.bytes().any(|b| b.is_ascii_lowercase()) {
        slug = if slug.is_empty() {
            "item".to_owned()
        } else {
            format!("item-{slug}")
        };
    }
    slug
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugify_folds_punctuation_and_case() {
        assert_eq!(
            slugify("Signing our Head of Engineering "),
            "signing-our-head-of-engineering"
        );
        assert_eq!(slugify("  Ünïcode -- & 2018!"), "unicode-2018");
        assert_eq!(slugify("???"), "item");
        assert_eq!(slugify("2018"), "item-2018");
    }
}
