//! Persistence. Every SQL statement lives below this module, behind [`Store`], so a PostgreSQL
//! store can sit beside the SQLite one without the HTTP layer noticing.

pub mod authors;
mod bulk;
pub mod copy;
pub mod images;
pub mod media;
mod ops;
pub mod postgres;
mod rows;
pub mod rules;
pub mod sqlite;
pub mod webhooks;

use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};

use crate::model::{ItemDraft, NewsItem};

pub use authors::{Author, AuthorCount, AuthorDraft, AuthorStore};
pub use images::ImageStore;
pub use media::{MediaStore, Medium, StoredMedium};
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;
pub use webhooks::{StoredDelivery, StoredWebhook, WebhookStore};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique field (e.g. `slug`) already belongs to another item.
    #[error("`{field}` is already taken")]
    Conflict { field: &'static str },
    #[error("not found")]
    NotFound,
    /// The item changed since the caller read the version it based its write on.
    #[error("the item changed since it was read")]
    Stale,
    /// A written value the store cannot accept (e.g. an author slug no author has), named by
    /// its API field.
    #[error("`{field}` {message}")]
    Invalid { field: String, message: String },
    /// The record is still named by items (`what` says by how many), so it cannot go.
    #[error("still in use: {0}")]
    InUse(String),
    /// The search text could not be turned into a query.
    #[error("unusable search: {0}")]
    BadSearch(String),
    /// Stored data the store cannot read back (a date out of range, an unknown status or
    /// change kind, a row a write did not return): a fault to log, never a default to serve.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    /// The database cannot be reached right now (down, restarting, or no connection free within
    /// the pool's timeout): worth trying again later, not a fault in the request or the data.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Database(e) if is_unreachable(e))
    }
}

/// Whether a driver error means "no database to talk to" rather than "the database said no".
pub fn is_unreachable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => true,
        // PostgreSQL's SQLSTATE classes 08 (connection exception) and 57P (shut down,
        // starting up), and 53300 (too many connections). SQLite's codes are plain numbers,
        // so they never match.
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08") || code.starts_with("57P") || code == "53300"
        }),
        _ => false,
    }
}

/// Whether an error, or anything in its chain of causes, is [`StoreError::is_unavailable`].
pub fn is_unavailable(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<StoreError>()
            .is_some_and(StoreError::is_unavailable)
            || cause
                .downcast_ref::<sqlx::Error>()
                .is_some_and(is_unreachable)
    })
}

/// How a store uses its database connections; the same settings for every engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    /// Connections kept open at most.
    pub max_connections: u32,
    /// How long a caller waits for a connection (opening one included) before the store gives
    /// up with an unavailable error: a request then gets a 503 instead of hanging.
    pub timeout: std::time::Duration,
}

pub const DEFAULT_POOL_SIZE: u32 = 8;
pub const DEFAULT_DB_TIMEOUT_SECS: u64 = 5;

impl PoolSettings {
    /// The same settings as sqlx's PostgreSQL pool options.
    pub fn postgres(&self) -> sqlx::postgres::PgPoolOptions {
        sqlx::postgres::PgPoolOptions::new()
            .max_connections(self.max_connections)
            .acquire_timeout(self.timeout)
    }
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: DEFAULT_POOL_SIZE,
            timeout: std::time::Duration::from_secs(DEFAULT_DB_TIMEOUT_SECS),
        }
    }
}

/// Who is asking decides which items exist for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Visibility {
    /// Published and due at `now`: what anonymous readers and feeds see.
    Public { now: DateTime<Utc> },
    /// Drafts only (authenticated).
    Drafts,
    /// Published but not yet due at `now` (authenticated).
    Scheduled { now: DateTime<Utc> },
    /// Everything (authenticated look-ups by id).
    #[default]
    All,
}

/// The order of a list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Sort {
    /// Newest first (`-published_at`), id breaking ties.
    #[default]
    Newest,
    /// Oldest first (`published_at`), id breaking ties.
    Oldest,
    /// Best match first, id breaking ties; only with a text search.
    Relevance,
}

impl Sort {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "-published_at" => Some(Sort::Newest),
            "published_at" => Some(Sort::Oldest),
            "relevance" => Some(Sort::Relevance),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Newest => "-published_at",
            Sort::Oldest => "published_at",
            Sort::Relevance => "relevance",
        }
    }

    fn code(self) -> char {
        match self {
            Sort::Newest => 'n',
            Sort::Oldest => 'o',
            Sort::Relevance => 'r',
        }
    }

    fn from_code(c: &str) -> Option<Self> {
        match c {
            "n" => Some(Sort::Newest),
            "o" => Some(Sort::Oldest),
            "r" => Some(Sort::Relevance),
            _ => None,
        }
    }
}

/// Keyset position: the sort key of the last item of the previous page, and the sort it belongs
/// to (a position in one order means nothing in another).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cursor {
    pub sort: Sort,
    /// `published_at` for the date orders; the bits of the relevance score for [`Sort::Relevance`]
    /// (kept as bits so the next page compares against exactly the same float).
    pub key: i64,
    pub id: i64,
}

impl Cursor {
    pub fn by_date(sort: Sort, published_at: i64, id: i64) -> Self {
        Self {
            sort,
            key: published_at,
            id,
        }
    }

    pub fn by_score(score: f64, id: i64) -> Self {
        Self {
            sort: Sort::Relevance,
            key: score.to_bits() as i64,
            id,
        }
    }

    pub fn score(&self) -> f64 {
        f64::from_bits(self.key as u64)
    }

    /// Opaque to clients: base64url of `v2:<sort>:<key>:<id>`.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("v2:{}:{}:{}", self.sort.code(), self.key, self.id))
    }

    pub fn decode(s: &str) -> Option<Self> {
        let raw = URL_SAFE_NO_PAD.decode(s).ok()?;
        let text = std::str::from_utf8(&raw).ok()?;
        let mut parts = text.strip_prefix("v2:")?.split(':');
        let sort = Sort::from_code(parts.next()?)?;
        let key = parts.next()?.parse().ok()?;
        let id = parts.next()?.parse().ok()?;
        parts.next().is_none().then_some(Self { sort, key, id })
    }
}

/// One thing to look for in a text search: a word, or a phrase of words in order; a prefix
/// term also matches words that start with its last word. Store-neutral: each store renders it
/// in its own query syntax, so user input never reaches a query language unquoted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SearchTerm {
    pub words: Vec<String>,
    pub prefix: bool,
}

/// `Eq + Hash` because rendered feeds are cached by the query they answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ListQuery {
    pub visibility: Visibility,
    /// Page size; the store fetches one more to know whether another page follows.
    pub limit: u32,
    pub after: Option<Cursor>,
    /// Every tag given must be on the item.
    pub tags: Vec<String>,
    /// Every author slug given must be among the item's authors.
    pub authors: Vec<String>,
    /// Every term must match the title, summary or body.
    pub search: Vec<SearchTerm>,
    /// Inclusive bounds on `published_at`.
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub sort: Sort,
    /// Also count every match (one more query).
    pub count: bool,
}

#[derive(Debug, Clone)]
pub struct Page {
    pub items: Vec<NewsItem>,
    pub next: Option<Cursor>,
    /// Present when the query asked for a count.
    pub total: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagCount {
    pub tag: String,
    pub count: i64,
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
    /// The slug was derived from the title rather than chosen, so a taken one gets a numeric
    /// suffix (`-2`, `-3`, …) instead of failing with a conflict.
    pub derived_slug: bool,
}

impl WriteItem {
    /// Derives the stored HTML from the draft's Markdown, resolving relative links against `base`.
    pub fn render(draft: ItemDraft, base: &url::Url) -> Self {
        let content_html = crate::markdown::to_html(&draft.content_markdown, base);
        Self {
            draft,
            content_html,
            derived_slug: false,
        }
    }
}

/// An API token as listed: never its secret, never its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub name: String,
    /// The first characters of the secret (`None` for tokens made before prefixes were kept).
    pub prefix: Option<String>,
    /// Comma-separated scope names, as stored.
    pub scopes: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A token that may still be used: its name, the hex SHA-256 of its secret, what it may do and
/// until when.
#[derive(Debug, Clone)]
pub struct ActiveToken {
    pub name: String,
    pub hash: String,
    pub scopes: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A token to store: never its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    pub name: String,
    pub hash: String,
    pub prefix: Option<String>,
    /// Comma-separated scope names.
    pub scopes: String,
    pub expires_at: Option<DateTime<Utc>>,
}

/// The scopes of tokens made without any named: every right (as tokens made before scopes
/// existed have).
pub const FULL_RIGHTS: &str = "admin";

/// An item from an import source, keyed so that re-importing updates instead of duplicating.
#[derive(Debug, Clone)]
pub struct SourcedItem {
    pub source_key: String,
    pub item: WriteItem,
}

/// When public content last changed and when it will next change by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentTimes {
    /// The newest change readers could see: a public item written or one leaving the public
    /// (from the change log, so deletes count and drafts do not), or the `published_at` of a
    /// public item (an item going live is a change); the store's creation when nothing changed.
    /// Read from what the store keeps, so it never moves backwards across restarts.
    pub last_change: Option<DateTime<Utc>>,
    /// The earliest `published_at` after `now` of a published item: when a scheduled item
    /// goes live and cached responses must be rebuilt.
    pub next_publication: Option<DateTime<Utc>>,
}

/// What a committed write did to one item, as subscribers (caches, WebSub, webhooks, metrics)
/// hear of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// A new item, whatever its status.
    Created,
    /// An edit that left the item as public (or as hidden) as it was.
    Updated,
    Deleted,
    /// The item became public: an edit made a draft published and due, or a scheduled item's
    /// time came.
    Published,
    /// The item stopped being public without being deleted (made a draft, or moved to a future
    /// date).
    Unpublished,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Created => "created",
            ChangeKind::Updated => "updated",
            ChangeKind::Deleted => "deleted",
            ChangeKind::Published => "published",
            ChangeKind::Unpublished => "unpublished",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "created" => Some(ChangeKind::Created),
            "updated" => Some(ChangeKind::Updated),
            "deleted" => Some(ChangeKind::Deleted),
            "published" => Some(ChangeKind::Published),
            "unpublished" => Some(ChangeKind::Unpublished),
            _ => None,
        }
    }

    /// The kind of an edit, from whether the item was public before and is public after it.
    pub fn of_edit(was_public: bool, is_public: bool) -> Self {
        match (was_public, is_public) {
            (false, true) => ChangeKind::Published,
            (true, false) => ChangeKind::Unpublished,
            _ => ChangeKind::Updated,
        }
    }
}

/// One committed change, as recorded in the store's change log in the writing transaction, so
/// another process (`herald import`, another replica) sees it too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Position in the change log: strictly increasing, never reused, shared by every process
    /// on the store. The highest one is the store's content revision.
    pub seq: i64,
    pub kind: ChangeKind,
    pub item_id: i64,
    /// The item's tags before and after the write, sorted and without repeats: the tag feeds
    /// the change touches.
    pub tags: Vec<String>,
    /// Whether anonymous readers could see the item before and after the write.
    pub was_public: bool,
    pub is_public: bool,
    /// When the change was committed (whole seconds).
    pub at: DateTime<Utc>,
}

impl Change {
    /// Whether readers can tell: the item was or is public.
    pub fn is_visible(&self) -> bool {
        self.was_public || self.is_public
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ImportReport {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Entries of the source left out on purpose (pages, trash, posts without a title…).
    pub skipped: usize,
}

impl std::ops::AddAssign for ImportReport {
    fn add_assign(&mut self, other: Self) {
        self.created += other.created;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.skipped += other.skipped;
    }
}

/// The news items: reads, writes and imports. Every write records its [`Change`] in the same
/// transaction.
#[async_trait]
pub trait ItemStore: Send + Sync {
    /// Whether any item exists; cheap at any size (start-up asks it).
    async fn has_items(&self) -> StoreResult<bool>;
    async fn list(&self, query: &ListQuery) -> StoreResult<Page>;
    /// Every tag with the number of items carrying it that `visibility` lets through.
    async fn tags(&self, visibility: Visibility) -> StoreResult<Vec<TagCount>>;
    async fn get(&self, key: &ItemKey, visibility: Visibility) -> StoreResult<Option<NewsItem>>;
    /// Change times for HTTP validators and cache expiry, as seen at `now`.
    async fn content_times(&self, now: DateTime<Utc>) -> StoreResult<ContentTimes>;
    /// When the next scheduled item becomes public: the earliest `published_at` after `now` of a
    /// published item. A cache of public answers built at `now` is stale from then on, although
    /// no write happened (see [`ChangeLog::publish_due`] for recording it once it has).
    async fn next_due(&self, now: DateTime<Utc>) -> StoreResult<Option<DateTime<Utc>>>;
    /// Inserts a new item (links and tags included) in one transaction and returns it as stored,
    /// with its [`ChangeKind::Created`] change.
    async fn create(&self, item: &WriteItem, now: DateTime<Utc>)
    -> StoreResult<(NewsItem, Change)>;
    /// Replaces every written field of item `id` in one transaction. With `expected`, fails with
    /// [`StoreError::Stale`] unless the stored item still equals it (compare-and-swap, so a
    /// precondition checked against `expected` holds at commit). The change's kind says whether
    /// the edit published or unpublished the item ([`ChangeKind::of_edit`]).
    async fn replace(
        &self,
        id: i64,
        item: &WriteItem,
        expected: Option<&NewsItem>,
        now: DateTime<Utc>,
    ) -> StoreResult<(NewsItem, Change)>;
    /// Deletes item `id` with its links and tags; `expected` as for [`ItemStore::replace`].
    async fn delete(
        &self,
        id: i64,
        expected: Option<&NewsItem>,
        now: DateTime<Utc>,
    ) -> StoreResult<Change>;
    /// Creates or updates items by source key, all in one transaction, recording a change for
    /// every item created or updated.
    async fn import(&self, items: &[SourcedItem], now: DateTime<Utc>) -> StoreResult<ImportReport>;
    /// Re-renders every stored body with `render` (after the public URL changed, at start-up:
    /// no change is recorded per item, since what changed is every link, not any item).
    async fn rerender_all(
        &self,
        render: &(dyn for<'a> Fn(&'a str) -> String + Sync),
    ) -> StoreResult<u64>;
}

/// API tokens, stored by name and hash.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Stores a new API token by name and hash, with full rights; a taken name is a conflict
    /// on `name`.
    async fn create_token(&self, name: &str, hash: &str, now: DateTime<Utc>) -> StoreResult<()> {
        let token = NewToken {
            name: name.to_owned(),
            hash: hash.to_owned(),
            prefix: None,
            scopes: FULL_RIGHTS.to_owned(),
            expires_at: None,
        };
        self.create_scoped_token(&token, now).await
    }
    /// Stores a new API token with its scopes and expiry; a taken name is a conflict on `name`.
    async fn create_scoped_token(&self, token: &NewToken, now: DateTime<Utc>) -> StoreResult<()>;
    /// Records that token `name` was used at `now`, unless that was already recorded less than
    /// a minute before (so authentication writes at most once a minute per token).
    async fn touch_token(&self, name: &str, now: DateTime<Utc>) -> StoreResult<()>;
    /// Every token ever created, oldest first.
    async fn tokens(&self) -> StoreResult<Vec<TokenInfo>>;
    /// The unrevoked token with this hash (hex SHA-256), found by an index seek.
    async fn token_by_hash(&self, hash: &str) -> StoreResult<Option<ActiveToken>>;
    /// Revokes the active token called `name`; [`StoreError::NotFound`] if there is none.
    async fn revoke_token(&self, name: &str, now: DateTime<Utc>) -> StoreResult<()>;
}

/// Small key/value facts about the database itself.
#[async_trait]
pub trait MetaStore: Send + Sync {
    async fn meta(&self, key: &str) -> StoreResult<Option<String>>;
    async fn set_meta(&self, key: &str, value: &str) -> StoreResult<()>;
}

/// The log of committed changes, shared by every process writing to the store.
#[async_trait]
pub trait ChangeLog: Send + Sync {
    /// The highest recorded [`Change::seq`], 0 when nothing was ever recorded.
    async fn revision(&self) -> StoreResult<i64>;
    /// Up to `limit` changes with a `seq` above `seq`, oldest first. Only the newest
    /// [`rules::CHANGES_KEPT`] changes are kept.
    async fn changes_after(&self, seq: i64, limit: u32) -> StoreResult<Vec<Change>>;
    /// Records a [`ChangeKind::Published`] change for every item that went public by the clock
    /// since the last call (a scheduled item whose time came), and remembers `now` as the new
    /// mark, all in one write transaction, so concurrent callers record each item once. The
    /// first call ever only sets the mark.
    async fn publish_due(&self, now: DateTime<Utc>) -> StoreResult<Vec<Change>>;
    /// Wake-ups pushed by the database whenever any process commits a change (PostgreSQL's
    /// `LISTEN herald_changes`), so a watcher reads the log at once rather than at its next
    /// poll. `None` when the engine cannot push (SQLite): polling alone then. A wake-up carries
    /// nothing (the log says what changed), may come for a change already read, and may be
    /// lost (a dropped connection), which is why the poll stays. Ends when the receiver drops.
    async fn change_wakeups(&self) -> StoreResult<Option<ChangeWakeups>> {
        Ok(None)
    }
}

/// See [`ChangeLog::change_wakeups`].
pub type ChangeWakeups = tokio::sync::mpsc::Receiver<()>;

/// An item with every stored field, as `herald copy-store` moves it between stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredItem {
    pub item: NewsItem,
    /// Where an imported item came from (see [`SourcedItem`]).
    pub source_key: Option<String>,
}

/// A token with every stored field: its hash, never a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredToken {
    pub name: String,
    pub hash: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub prefix: Option<String>,
    pub scopes: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// Where a store's counters stand: the next item id and change `seq` are above these, even
/// when the rows that had them are gone (ids and sequence numbers are never reused).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Positions {
    pub item_id: i64,
    pub change_seq: i64,
    pub webhook_id: i64,
    pub delivery_id: i64,
}

/// How many rows a store holds of each kind: compared after a copy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreCounts {
    pub items: i64,
    pub links: i64,
    pub tags: i64,
    pub tokens: i64,
    pub meta: i64,
    pub changes: i64,
    /// Uploaded media (each with its files).
    pub media: i64,
    /// Webhook subscriptions, and their deliveries (sent, failed and still to send).
    pub webhooks: i64,
    pub deliveries: i64,
}

impl StoreCounts {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Moving a whole store to another (`herald copy-store`): every row with its stored fields,
/// read in id order and written back as it was, engine-neutral.
#[async_trait]
pub trait StoreExport: Send + Sync {
    /// Up to `limit` items with an id above `after`, in id order, drafts included.
    async fn export_items(&self, after: i64, limit: u32) -> StoreResult<Vec<StoredItem>>;
    /// Every token, revoked ones included, oldest first.
    async fn export_tokens(&self) -> StoreResult<Vec<StoredToken>>;
    /// Every meta key with its value, by key.
    async fn export_meta(&self) -> StoreResult<Vec<(String, String)>>;
    async fn positions(&self) -> StoreResult<Positions>;
    async fn counts(&self) -> StoreResult<StoreCounts>;
    /// Writes items exactly as given (ids, GUIDs, times, links, tags, source keys) in one
    /// transaction, recording no change: the change log is copied on its own.
    async fn insert_items(&self, items: &[StoredItem]) -> StoreResult<()>;
    async fn insert_tokens(&self, tokens: &[StoredToken]) -> StoreResult<()>;
    /// Writes changes with their own `seq`, in one transaction.
    async fn insert_changes(&self, changes: &[Change]) -> StoreResult<()>;
    /// Every webhook subscription, secrets included, oldest first.
    async fn export_webhooks(&self) -> StoreResult<Vec<StoredWebhook>>;
    /// Up to `limit` webhook deliveries with an id above `after`, in id order.
    async fn export_deliveries(&self, after: i64, limit: u32) -> StoreResult<Vec<StoredDelivery>>;
    /// Writes subscriptions exactly as given, in one transaction.
    async fn insert_webhooks(&self, webhooks: &[StoredWebhook]) -> StoreResult<()>;
    /// Writes deliveries exactly as given (their subscriptions first), in one transaction.
    async fn insert_deliveries(&self, deliveries: &[StoredDelivery]) -> StoreResult<()>;
    /// Moves the counters to `positions` at least (never back), so new ids and sequence
    /// numbers follow the copied ones.
    async fn advance_positions(&self, positions: Positions) -> StoreResult<()>;
    /// Deletes every item, medium, token, meta entry, change and webhook (the counters stay
    /// where they are).
    async fn clear(&self) -> StoreResult<()>;
}

#[async_trait]
pub trait Store:
    ItemStore
    + TokenStore
    + MetaStore
    + ChangeLog
    + StoreExport
    + AuthorStore
    + MediaStore
    + ImageStore
    + WebhookStore
    + 'static
{
    /// Applies pending migrations.
    async fn migrate(&self) -> StoreResult<()>;
    /// Answers when the database does.
    async fn ping(&self) -> StoreResult<()>;
    /// Operations (see `store::ops`): whether every migration this build knows is applied.
    async fn migrations_current(&self) -> StoreResult<bool>;
    /// Connections open, idle and allowed, right now.
    fn pool_stats(&self) -> PoolStats;
    /// Before the process exits: flush what the engine keeps aside (SQLite checkpoints its
    /// write-ahead log into the main file), then close every connection.
    async fn close(&self) -> StoreResult<()>;
    /// A consistent copy of the whole store in a new file at `path`, taken while others read
    /// and write, and checked (`integrity_check`). Only file-based engines can; the others
    /// fail with an error naming what to use instead.
    async fn backup_to(&self, path: &std::path::Path) -> StoreResult<()>;
}

/// See [`Store::pool_stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Connections open, in use or idle.
    pub open: u32,
    pub idle: u32,
    /// Connections the pool opens at most.
    pub max: u32,
}

pub type DynStore = Arc<dyn Store>;

/// Opens the store a database URL names, with the default [`PoolSettings`].
pub async fn connect(database_url: &str) -> anyhow::Result<DynStore> {
    connect_with(database_url, PoolSettings::default()).await
}

/// Opens the store a database URL names.
pub async fn connect_with(database_url: &str, pool: PoolSettings) -> anyhow::Result<DynStore> {
    if database_url.starts_with("sqlite:") {
        Ok(Arc::new(
            SqliteStore::connect_with(database_url, pool).await?,
        ))
    } else if is_postgres_url(database_url) {
        Ok(Arc::new(
            PostgresStore::connect_with(database_url, pool.postgres()).await?,
        ))
    } else {
        anyhow::bail!(
            "unsupported DATABASE_URL: use sqlite://PATH or postgres://USER@HOST/DATABASE"
        )
    }
}

/// Whether a database URL names a PostgreSQL database (`postgres://` or `postgresql://`).
pub fn is_postgres_url(database_url: &str) -> bool {
    database_url.starts_with("postgres://") || database_url.starts_with("postgresql://")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        for c in [
            Cursor::by_date(Sort::Newest, 1_519_862_400, 42),
            Cursor::by_date(Sort::Oldest, -5, 1),
            Cursor::by_score(12.375_000_000_001, 7),
            Cursor::by_score(f64::MIN_POSITIVE, 8),
        ] {
            assert_eq!(Cursor::decode(&c.encode()), Some(c));
        }
        assert_eq!(Cursor::by_score(0.1 + 0.2, 1).score(), 0.1 + 0.2);
        for bad in [
            "",
            "abc",
            "!!!!",
            "djE6eDp5",
            "djE6MQ",
            "djI6eDoxOjI",
            "djI6bjoxOjI6Mw",
        ] {
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
