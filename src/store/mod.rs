//! Persistence. Every SQL statement lives below this module, behind [`Store`], so a PostgreSQL
//! store can sit beside the SQLite one without the HTTP layer noticing.

mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};

use crate::model::{ItemDraft, NewsItem};

pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique field (e.g. `slug`) already belongs to another item.
    #[error("`{field}` is already taken")]
    Conflict { field: &'static str },
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Who is asking decides which items exist for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Visibility {
    /// Published and due at `now`: what anonymous readers and feeds see.
    Public { now: DateTime<Utc> },
    /// Drafts only (authenticated).
    Drafts,
    /// Published but not yet due at `now` (authenticated).
    Scheduled { now: DateTime<Utc> },
    /// Everything (authenticated look-ups by id).
    All,
}

/// Keyset position: the sort key of the last item of the previous page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cursor {
    pub published_at: i64,
    pub id: i64,
}

impl Cursor {
    pub fn of(item: &NewsItem) -> Self {
        Self {
            published_at: item.published_at.timestamp(),
            id: item.id,
        }
    }

    /// Opaque to clients: base64url of `v1:<published_at>:<id>`.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("v1:{}:{}", self.published_at, self.id))
    }

    pub fn decode(s: &str) -> Option<Self> {
        let raw = URL_SAFE_NO_PAD.decode(s).ok()?;
        let text = std::str::from_utf8(&raw).ok()?;
        let mut parts = text.strip_prefix("v1:")?.split(':');
        let published_at = parts.next()?.parse().ok()?;
        let id = parts.next()?.parse().ok()?;
        parts.next().is_none().then_some(Self { published_at, id })
    }
}

/// `Eq + Hash` because rendered feeds are cached by the query they answer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ListQuery {
    pub visibility: Visibility,
    /// Page size; the store fetches one more to know whether another page follows.
    pub limit: u32,
    pub after: Option<Cursor>,
    /// Every tag given must be on the item.
    pub tags: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Page {
    pub items: Vec<NewsItem>,
    pub next: Option<Cursor>,
}

/// How to address one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemKey {
    Id(i64),
    Slug(String),
}

impl ItemKey {
    /// All-digit keys are ids; slugs always contain a letter (see `slugify`), so no slug is lost.
    pub fn parse(s: &str) -> Self {
        match s.parse::<i64>() {
            Ok(id) if !s.starts_with('+') => ItemKey::Id(id),
            _ => ItemKey::Slug(s.to_owned()),
        }
    }
}

/// An item as written: the validated draft plus what the service derived from it.
#[derive(Debug, Clone)]
pub struct WriteItem {
    pub draft: ItemDraft,
    pub content_html: String,
}

impl WriteItem {
    /// Derives the stored HTML from the draft's Markdown, resolving relative links against `base`.
    pub fn render(draft: ItemDraft, base: &url::Url) -> Self {
        let content_html = crate::markdown::to_html(&draft.content_markdown, base);
        Self {
            draft,
            content_html,
        }
    }
}

/// An item from an import source, keyed so that re-importing updates instead of duplicating.
#[derive(Debug, Clone)]
pub struct SourcedItem {
    pub source_key: String,
    pub item: WriteItem,
}

/// When public content last changed and when it will next change by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentTimes {
    /// The newest `updated_at` of any item, or `published_at` of a public one (an item going
    /// live is a change); `None` for an empty store.
    pub last_change: Option<DateTime<Utc>>,
    /// The earliest `published_at` after `now` of a published item: when a scheduled item
    /// goes live and cached responses must be rebuilt.
    pub next_publication: Option<DateTime<Utc>>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ImportReport {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Applies pending migrations.
    async fn migrate(&self) -> StoreResult<()>;
    /// Answers when the database does.
    async fn ping(&self) -> StoreResult<()>;
    async fn count_items(&self) -> StoreResult<i64>;
    async fn list(&self, query: &ListQuery) -> StoreResult<Page>;
    async fn get(&self, key: &ItemKey, visibility: Visibility) -> StoreResult<Option<NewsItem>>;
    /// Change times for HTTP validators and cache expiry, as seen at `now`.
    async fn content_times(&self, now: DateTime<Utc>) -> StoreResult<ContentTimes>;
    /// Creates or updates items by source key, all in one transaction.
    async fn import(&self, items: &[SourcedItem], now: DateTime<Utc>) -> StoreResult<ImportReport>;
    async fn meta(&self, key: &str) -> StoreResult<Option<String>>;
    async fn set_meta(&self, key: &str, value: &str) -> StoreResult<()>;
    /// Re-renders every stored body with `render` (after the public URL changed).
    async fn rerender_all(
        &self,
        render: &(dyn for<'a> Fn(&'a str) -> String + Sync),
    ) -> StoreResult<u64>;
}

pub type DynStore = Arc<dyn Store>;

/// Opens the store a database URL names.
pub async fn connect(database_url: &str) -> anyhow::Result<DynStore> {
    if database_url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(database_url).await?))
    } else {
        anyhow::bail!("unsupported DATABASE_URL `{database_url}`: use sqlite://PATH")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let c = Cursor {
            published_at: 1_519_862_400,
            id: 42,
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        for bad in ["", "abc", "!!!!", "djE6eDp5", "djE6MQ"] {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn keys_split_ids_from_slugs() {
        assert_eq!(ItemKey::parse("12"), ItemKey::Id(12));
        assert_eq!(
            ItemKey::parse("launch-2017"),
            ItemKey::Slug("launch-2017".into())
        );
    }
}
