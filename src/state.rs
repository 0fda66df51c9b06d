//! What every request handler shares.

use std::sync::Arc;

use actix_web::web;
use url::Url;

use crate::clock::Clock;
use crate::config::FeedSettings;
use crate::config::IntegrationArgs;
use crate::cors::CorsOrigins;
use crate::events::{Events, RevisionSubscriber, WebSubSubscriber};
use crate::http_cache::{CachePolicy, JsonCaching};
use crate::media::{Media, MediaSettings};
use crate::metrics::Metrics;
use crate::previews::Previews;
use crate::rate_limit::RateLimits;
use crate::response_cache::ResponseCache;
use crate::revision::Revision;
use crate::store::Change;
use crate::store::DynStore;
use crate::time_budget::TimeBudget;
use crate::urls::Urls;
use crate::webhooks::WebhookSettings;
use crate::websub::{self, Publisher};

pub struct AppState {
    pub store: DynStore,
    /// Every link Herald emits, below the public base.
    pub urls: Urls,
    pub clock: Arc<dyn Clock>,
    /// Which browser origins may read and write; see `cors`.
    pub cors_origins: CorsOrigins,
    /// The WebSub hub to ping after changes, if one is configured.
    pub websub: Option<Publisher>,
    /// Advanced after every committed write, so caches of rendered responses know to refresh.
    /// The feed cache and [`JsonCaching`] read the same counter.
    pub revision: Revision,
    /// Feed title, size and author.
    pub feed: FeedSettings,
    /// `Cache-Control` of public GET responses.
    pub cache: CachePolicy,
    /// Rendered public answers: feeds, anonymous JSON reads, item pages (see `response_cache`).
    pub responses: ResponseCache,
    /// What the caching middleware of JSON responses needs; registered as its own app data.
    pub json_caching: web::Data<JsonCaching>,
    /// Where committed changes are announced; the revision and WebSub listen.
    pub events: Arc<Events>,
    /// What `/metrics` reports; the access log counts every request into it.
    pub metrics: Arc<Metrics>,
    /// Whether `/metrics` is served on the public address (no `HERALD_METRICS_BIND`).
    pub metrics_public: bool,
    /// How long one request may take (see `time_budget`).
    pub time_budget: TimeBudget,
    /// Signs and checks draft preview links.
    pub previews: Previews,
    /// Per-client rate limits.
    pub limits: Arc<RateLimits>,
    /// Target checks and secret rotation of webhooks.
    pub webhooks: WebhookSettings,
    /// Upload processing and the hot files of `/media/…`.
    pub media: Arc<Media>,
}

impl AppState {
    pub fn new(store: DynStore, public_url: Url, clock: Arc<dyn Clock>) -> Self {
        let revision = Revision::default();
        let cache = CachePolicy::default();
        let json_caching = json_caching(&store, &clock, &revision, &cache);
        let events = Arc::new(Events::default());
        events.subscribe(Arc::new(RevisionSubscriber(revision.clone())));
        Self {
            store,
            urls: Urls::new(public_url),
            clock,
            cors_origins: CorsOrigins::default(),
            websub: None,
            revision,
            feed: FeedSettings::default(),
            cache,
            responses: ResponseCache::default(),
            json_caching,
            events,
            metrics: Arc::new(Metrics::new()),
            metrics_public: true,
            time_budget: TimeBudget::default(),
            previews: Previews::ephemeral().expect("the operating system's random generator"),
            limits: Arc::new(RateLimits::new(&IntegrationArgs::default())),
            media: Arc::new(Media::new(MediaSettings::default())),
            webhooks: WebhookSettings::default(),
        }
    }

    /// Upload limits, workers and the file cache's budget other than the defaults.
    pub fn with_media(mut self, settings: MediaSettings) -> Self {
        self.media = Arc::new(Media::new(settings));
        self
    }

    pub fn with_time_budget(mut self, budget: TimeBudget) -> Self {
        self.time_budget = budget;
        self
    }

    /// Webhook settings other than the defaults.
    pub fn with_webhooks(mut self, webhooks: WebhookSettings) -> Self {
        self.webhooks = webhooks;
        self
    }

    /// Rate limits other than the defaults.
    pub fn with_rate_limits(mut self, limits: RateLimits) -> Self {
        self.limits = Arc::new(limits);
        self
    }

    /// Preview links signed with the store's key (shared by replicas), instead of a key of
    /// this process only.
    pub fn with_previews(mut self, previews: Previews) -> Self {
        self.previews = previews;
        self
    }

    /// Replaces the default CORS origins (reads from anywhere, writes from nowhere).
    pub fn with_cors_origins(mut self, origins: CorsOrigins) -> Self {
        self.cors_origins = origins;
        self
    }

    /// Pings this hub after content changes.
    pub fn with_websub(mut self, publisher: Option<Publisher>) -> Self {
        if let Some(publisher) = &publisher {
            self.events.subscribe(Arc::new(WebSubSubscriber {
                publisher: publisher.clone(),
                urls: self.urls.clone(),
            }));
        }
        self.websub = publisher;
        self
    }

    /// Feed and HTTP caching settings other than the defaults.
    pub fn with_publishing(mut self, feed: FeedSettings, cache_max_age: u32) -> Self {
        self.feed = feed;
        self.cache = CachePolicy::new(cache_max_age);
        // Nothing has served yet, so the middleware's data can still be swapped whole.
        self.json_caching = json_caching(&self.store, &self.clock, &self.revision, &self.cache);
        self
    }

    /// A response cache of `budget` bytes for `workers` threads (default: one per core), instead
    /// of the default one.
    pub fn with_cache_budget(mut self, budget: usize, workers: Option<usize>) -> Self {
        self.responses = ResponseCache::new(budget, workers);
        self
    }

    /// `/metrics` on an address of its own: the public one then answers 404 there.
    pub fn with_metrics_apart(mut self, apart: bool) -> Self {
        self.metrics_public = !apart;
        self
    }

    /// Announces a write this process committed: caches refresh, and the hub hears of the
    /// main feeds and the feeds of the item's tags (before and after), in the background.
    pub fn changed(&self, change: &Change) {
        self.events.publish(std::slice::from_ref(change));
    }

    /// Refreshes caches and pings the hub for the main feeds without waiting for the change
    /// log: after content changed in a way no item change records (tests' fixtures).
    pub fn content_changed(&self) {
        self.revision.bump();
        if let Some(publisher) = &self.websub {
            publisher.publish(websub::feed_urls(&self.urls));
        }
    }

    /// Changes whenever stored content does.
    pub fn revision(&self) -> u64 {
        self.revision.get()
    }
}

/// The caching middleware's data, sharing the state's store, clock and revision.
fn json_caching(
    store: &DynStore,
    clock: &Arc<dyn Clock>,
    revision: &Revision,
    cache: &CachePolicy,
) -> web::Data<JsonCaching> {
    web::Data::new(JsonCaching::new(
        store.clone(),
        clock.clone(),
        revision.clone(),
        cache.clone(),
    ))
}
