//! Feeds for readers: one document model built from stored items, written as RSS 2.0, Atom 1.0
//! or JSON Feed 1.1 (one module per format), and a cache so each is rendered once per change.

pub mod atom;
pub mod cache;
pub mod json;
pub mod rss;
pub mod text;

use chrono::{DateTime, SecondsFormat, Utc};

use crate::images::ImageView;
use crate::markdown;
use crate::model::{Link, NewsItem};
use crate::urls::Urls;
use text::cleaned;

/// Plain-text summaries are cut to this many characters when an item has no summary of its own.
const SUMMARY_CHARS: usize = 280;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Rss,
    Atom,
    Json,
}

impl Format {
    /// Every format, in the order feeds are listed and pinged.
    pub const ALL: [Format; 3] = [Format::Rss, Format::Atom, Format::Json];

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Rss => "application/rss+xml; charset=utf-8",
            Format::Atom => "application/atom+xml; charset=utf-8",
            Format::Json => "application/feed+json",
        }
    }

    /// The canonical file name of the format (`feed.rss`, …): aliases link here as `rel="self"`.
    pub fn file_name(self) -> &'static str {
        match self {
            Format::Rss => "feed.rss",
            Format::Atom => "feed.atom",
            Format::Json => "feed.json",
        }
    }

    /// The extension after `feed.` in per-tag URLs.
    pub fn from_extension(ext: &str) -> Option<Self> {
        match ext {
            "rss" => Some(Format::Rss),
            "atom" => Some(Format::Atom),
            "json" => Some(Format::Json),
            _ => None,
        }
    }

    pub fn render(self, feed: &FeedDoc) -> anyhow::Result<Vec<u8>> {
        match self {
            Format::Rss => rss::render(feed),
            Format::Atom => atom::render(feed),
            Format::Json => json::render(feed),
        }
    }
}

/// What a feed says about itself. Every text field has been through [`text::clean`].
#[derive(Debug, Clone)]
pub struct FeedDoc {
    pub title: String,
    pub subtitle: String,
    /// The site (the public URL).
    pub home_url: String,
    /// Where this feed lives (`rel="self"`); also the Atom feed id.
    pub self_url: String,
    /// The WebSub hub subscribers may use (`rel="hub"`), when one is configured.
    pub hub_url: Option<String>,
    pub author: String,
    /// BCP 47 tag of the content (`HERALD_LANGUAGE`).
    pub language: String,
    /// The newest change of its items or the store's newest public change (a delete, an item
    /// leaving the feed), whichever is later: never backwards, and never 1970 for an empty feed.
    pub updated: DateTime<Utc>,
    pub entries: Vec<Entry>,
    /// RFC 5005 links: none on filtered feeds.
    pub history: History,
}

/// RFC 5005 (archived feeds) links of a feed document.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// The next older archive (`prev-archive`; JSON Feed's `next_url`).
    pub prev_archive: Option<String>,
    /// Archives only: the next newer archive, once one exists.
    pub next_archive: Option<String>,
    /// Archives only: the subscription feed (`current`).
    pub current: Option<String>,
}

impl History {
    /// Whether the document is an archive (`fh:archive`) rather than a subscription feed.
    pub fn is_archive(&self) -> bool {
        self.current.is_some()
    }
}

/// The namespace of RFC 5005's `fh:archive`.
pub const FH_NAMESPACE: &str = "http://purl.org/syndication/history/1.0";

/// One item as every format sees it.
#[derive(Debug, Clone)]
pub struct Entry {
    /// `urn:uuid:…` fixed when the item was created: RSS guid, Atom id, JSON Feed id.
    pub id: String,
    pub title: String,
    pub url: String,
    pub summary: String,
    /// Sanitised at write time; relative links already resolved against the public URL.
    pub content_html: String,
    pub published: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub tags: Vec<String>,
    pub links: Vec<Link>,
    /// The byline in order; empty means the feed's author (`HERALD_AUTHOR`).
    pub authors: Vec<Person>,
    /// The item's image, its texts cleaned; also the first thing of `content_html`.
    pub image: Option<ImageView>,
}

/// An author as feeds show one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub name: String,
    pub url: Option<String>,
    pub avatar: Option<String>,
}

impl Entry {
    /// The entry's authors, or the feed's when the item names none.
    pub fn authors_or(&self, fallback: &str) -> Vec<Person> {
        if self.authors.is_empty() {
            vec![Person {
                name: fallback.to_owned(),
                url: None,
                avatar: None,
            }]
        } else {
            self.authors.clone()
        }
    }
}

/// Feed-level texts, before cleaning.
#[derive(Debug, Clone)]
pub struct FeedMeta<'a> {
    pub title: &'a str,
    pub subtitle: &'a str,
    pub author: &'a str,
    pub language: &'a str,
    pub home_url: &'a str,
    pub self_url: &'a str,
    pub hub_url: Option<&'a str>,
    /// When public content last changed, as the store says (see `ContentTimes::last_change`).
    pub last_change: Option<DateTime<Utc>>,
}

impl Entry {
    pub fn new(item: &NewsItem, urls: &Urls) -> Self {
        let url = urls.item_page(&item.slug);
        let image = item
            .image
            .as_ref()
            .and_then(|i| ImageView::new(i, urls))
            .map(|view| ImageView {
                url: cleaned(&view.url),
                alt: cleaned(&view.alt),
                caption: view.caption.as_deref().map(cleaned),
                credit: view.credit.as_deref().map(cleaned),
                ..view
            });
        let content_html = match &image {
            Some(image) => cleaned(&(image.figure_html() + &item.content_html)),
            None => cleaned(&item.content_html),
        };
        let summary = match &item.summary {
            Some(s) if !s.trim().is_empty() => cleaned(s),
            _ => cleaned(&markdown::excerpt(&item.content_markdown, SUMMARY_CHARS)),
        };
        Self {
            id: cleaned(&item.guid),
            title: cleaned(&item.title),
            url: cleaned(&url),
            summary,
            content_html,
            published: item.published_at,
            // A scheduled item changes for readers when it goes live, even if it was written
            // earlier; Atom also expects `updated` not to precede `published`.
            updated: item.updated_at.max(item.published_at),
            tags: item.tags.iter().map(|t| cleaned(t)).collect(),
            links: item
                .links
                .iter()
                .map(|l| Link {
                    title: cleaned(&l.title),
                    // Stored before links were kept as URIs, a URL may still need encoding.
                    url: url::Url::parse(&l.url)
                        .map(|url| crate::uri::to_uri(&url))
                        .unwrap_or_else(|_| cleaned(&l.url)),
                })
                .collect(),
            authors: item
                .authors
                .iter()
                .map(|a| Person {
                    name: cleaned(&a.name),
                    url: a.url.as_deref().map(cleaned),
                    avatar: a.avatar.as_deref().map(cleaned),
                })
                .collect(),
            image,
        }
    }
}

impl FeedDoc {
    pub fn new(meta: FeedMeta<'_>, entries: Vec<Entry>) -> Self {
        let updated = entries
            .iter()
            .map(|e| e.updated)
            .chain(meta.last_change)
            .max()
            .unwrap_or(DateTime::UNIX_EPOCH);
        Self {
            title: cleaned(meta.title),
            subtitle: cleaned(meta.subtitle),
            home_url: cleaned(meta.home_url),
            self_url: cleaned(meta.self_url),
            hub_url: meta.hub_url.map(cleaned),
            author: cleaned(meta.author),
            language: cleaned(meta.language),
            updated,
            entries,
            history: History::default(),
        }
    }
}

pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}
