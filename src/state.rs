//! What every request handler shares.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use url::Url;

use crate::clock::Clock;
use crate::config::FeedSettings;
use crate::cors::CorsOrigins;
use crate::feeds::cache::FeedCache;
use crate::http_cache::{CachePolicy, ChangeClock};
use crate::store::DynStore;
use crate::websub::Publisher;

pub struct AppState {
    pub store: DynStore,
    /// Absolute base for every emitted link; always ends in `/`.
    pub public_url: Url,
    pub clock: Arc<dyn Clock>,
    /// Which browser origins may read and write; see `cors`.
    pub cors_origins: CorsOrigins,
    /// The WebSub hub to ping after changes (`websub::notify`), if one is configured.
    pub websub: Option<Publisher>,
    /// Bumped after every committed write, so caches of rendered responses know to refresh.
    revision: AtomicU64,
    /// Feed title, size and author.
    pub feed: FeedSettings,
    /// `Cache-Control` of public GET responses.
    pub cache: CachePolicy,
    /// Rendered feeds (see `feeds::cache`).
    pub feeds: FeedCache,
    /// When content last changed, for `Last-Modified` of JSON responses.
    pub changes: ChangeClock,
}

impl AppState {
    pub fn new(store: DynStore, public_url: Url, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            public_url,
            clock,
            cors_origins: CorsOrigins::default(),
            websub: None,
            revision: AtomicU64::new(0),
            feed: FeedSettings::default(),
            cache: CachePolicy::default(),
            feeds: FeedCache::default(),
            changes: ChangeClock::default(),
        }
    }

    /// Replaces the default CORS origins (reads from anywhere, writes from nowhere).
    pub fn with_cors_origins(mut self, origins: CorsOrigins) -> Self {
        self.cors_origins = origins;
        self
    }

    /// Pings this hub after content changes.
    pub fn with_websub(mut self, publisher: Option<Publisher>) -> Self {
        self.websub = publisher;
        self
    }

    /// Feed and HTTP caching settings other than the defaults.
    pub fn with_publishing(mut self, feed: FeedSettings, cache_max_age: u32) -> Self {
        self.feed = feed;
        self.cache = CachePolicy::new(cache_max_age);
        self
    }

    /// Call after every committed change to items that is not one item's write (an import).
    pub fn content_changed(&self) {
        self.items_changed([]);
    }

    /// Call after a committed write to items carrying `tags` (before and after the write):
    /// caches refresh, and the hub hears of the main feeds and those tags' feeds, in the
    /// background.
    pub fn items_changed<'a>(&self, tags: impl IntoIterator<Item = &'a str>) {
        self.revision.fetch_add(1, Ordering::Release);
        if self.websub.is_some() {
            crate::websub::notify(self, crate::websub::feed_urls_with_tags(self, tags));
        }
    }

    /// Changes whenever stored content does.
    pub fn revision(&self) -> u64 {
        self.revision.load(Ordering::Acquire)
    }

    /// An absolute URL for a path below the public base (`path` without a leading `/`).
    pub fn url(&self, path: &str) -> String {
        self.public_url
            .join(path)
            .map(String::from)
            .unwrap_or_else(|_| format!("{}{path}", self.public_url))
    }

    /// The item's HTML page (its permalink in feeds and `url` in JSON).
    pub fn item_page_url(&self, slug: &str) -> String {
        self.url(&format!("news/{slug}"))
    }

    /// The item in the JSON API.
    pub fn item_api_url(&self, id: i64) -> String {
        self.url(&format!("api/v1/news/{id}"))
    }
}
