//! Rendered public responses (feeds, the anonymous JSON API, item pages), kept in memory until
//! what they show changes, within one memory budget.
//!
//! An entry is good while the content revision is the one it was rendered at (every write bumps
//! it), the clock has not reached the next scheduled publication (the moment the answer would
//! change by itself), and a recheck interval has not passed (see [`Validity`]). Each is rendered
//! once per change, gzip and brotli included ([`Representation`]).
//!
//! Memory: every entry weighs its bodies in every coding, its key and a fixed overhead. The
//! shared map holds at most three quarters of the budget, least recently used first out; each
//! worker's copies (below) share the last quarter. So a client asking for a million distinct
//! cursors or searches churns entries but never grows memory past the budget.
//!
//! Speed: in front of the shared map each worker thread keeps its own copy of the entries it
//! served, so a hit touches no lock and no reference count or counter another core also writes:
//! at tens of thousands of requests a second those contended cache lines are most of what a 304
//! costs. Misses of one key render once (the others wait for it); different keys render at the
//! same time.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use actix_web::http::header::{HeaderName, HeaderValue};
use chrono::{DateTime, Utc};
use hashlink::LinkedHashMap;

use crate::archive::IdRange;
use crate::error::ApiError;
use crate::feeds::Format;
use crate::feeds::cache::FeedKey;
use crate::http_cache::{Representation, Validity, local_header, moved_on};
use crate::revision::Revision;
use crate::store::ListQuery;

/// What a cached answer is the answer to: the request, normalised so equal requests share it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CacheKey {
    Feed(FeedKey),
    /// `GET /api/v1/news`: the parsed query (visibility normalised) and the picked fields,
    /// sorted (the answer lists them in the item's own order whatever order they were asked in).
    List {
        query: ListQuery,
        fields: Option<Vec<&'static str>>,
    },
    /// `GET /api/v1/news/{key}`, by id or slug as given.
    Item(String),
    /// `GET /news/{key}`, the item's HTML page.
    Page(String),
    /// `GET /api/v1/tags`.
    Tags,
    /// An RFC 5005 archive document of the main feed or of a tag's feed.
    Archive {
        format: Format,
        tag: Option<String>,
        range: IdRange,
    },
    /// An HTML list page (`/news`, `/tags/{tag}`): what it lists, and the tag page it is.
    NewsPage {
        query: ListQuery,
        tag: Option<String>,
    },
    /// The documents for crawlers.
    Site(SiteDoc),
}

/// The documents for crawlers, each one cache entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SiteDoc {
    /// `/sitemap.xml`: the item pages, or an index of the parts past 50,000 URLs.
    Sitemap,
    /// `/sitemaps/{n}.xml`.
    SitemapPart(i64),
    /// `/news-sitemap.xml`.
    NewsSitemap,
    /// `/robots.txt`.
    Robots,
}

impl CacheKey {
    /// Bytes the key holds, approximately (its heap parts and itself).
    fn weight(&self) -> usize {
        let query = |q: &ListQuery| {
            q.tags.iter().map(|t| t.len() + 24).sum::<usize>()
                + q.search
                    .iter()
                    .flat_map(|t| &t.words)
                    .map(|w| w.len() + 24)
                    .sum::<usize>()
        };
        std::mem::size_of::<Self>()
            + match self {
                CacheKey::Feed(feed) => feed.self_path.len() + query(&feed.query),
                CacheKey::List { query: q, fields } => {
                    query(q) + fields.as_ref().map_or(0, |f| f.len() * 16)
                }
                CacheKey::Item(key) | CacheKey::Page(key) => key.len(),
                CacheKey::Tags | CacheKey::Site(_) => 0,
                CacheKey::Archive { tag, .. } => tag.as_ref().map_or(0, String::len),
                CacheKey::NewsPage { query: q, tag } => {
                    query(q) + tag.as_ref().map_or(0, String::len)
                }
            }
    }
}

/// Map nodes, reference counts, header values: what an entry costs beyond its key and bodies.
const ENTRY_OVERHEAD: usize = 256;

/// A freshly rendered body and how long it stays right.
pub struct Rendered {
    pub body: Vec<u8>,
    pub content_type: &'static str,
    /// `Last-Modified`.
    pub updated: DateTime<Utc>,
    /// When the answer changes by itself (the next scheduled item goes live), if ever.
    pub next_change: Option<DateTime<Utc>>,
    /// Headers beyond the caching ones (`Link`, a page's CSP).
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl Rendered {
    /// `body` as `content_type`, with no extra headers.
    pub fn new(
        body: Vec<u8>,
        content_type: &'static str,
        updated: DateTime<Utc>,
        next_change: Option<DateTime<Utc>>,
    ) -> Self {
        Self {
            body,
            content_type,
            updated,
            next_change,
            headers: Vec::new(),
        }
    }

    /// A plain 200 of this body, for answers that bypass the cache (the caching middleware then
    /// adds validators and compression per request).
    pub fn into_response(self) -> actix_web::HttpResponse {
        let mut response = actix_web::HttpResponse::Ok();
        response.content_type(self.content_type);
        for header in self.headers {
            response.insert_header(header);
        }
        response.body(self.body)
    }
}

/// What the cache did so far, and what it holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Answers served from memory.
    pub hits: u64,
    /// Answers that waited for a render (their own or a concurrent request's).
    pub misses: u64,
    /// Renders run.
    pub renders: u64,
    /// Entries dropped to stay within the budget.
    pub evictions: u64,
    /// Entries in the shared map.
    pub entries: usize,
    /// Bytes held: the shared map and every worker's copies.
    pub bytes: usize,
}

struct Entry {
    rep: Arc<Representation>,
    validity: Validity,
    weight: usize,
}

/// The shared map, oldest use first.
#[derive(Default)]
struct Shared {
    entries: LinkedHashMap<CacheKey, Entry>,
    bytes: usize,
}

/// Counters one worker thread writes and anyone may read; on a cache line of their own so
/// counting a hit never contends with another core.
#[derive(Default)]
#[repr(align(128))]
struct WorkerCounters {
    hits: AtomicU64,
}

impl WorkerCounters {
    /// Only this worker writes it: a load and a store, no locked read-modify-write.
    fn hit(&self) {
        self.hits
            .store(self.hits.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }
}

pub struct ResponseCache {
    /// Tells this cache's thread-local copies from those of other instances (tests run
    /// several apps in one process).
    id: u64,
    budget: usize,
    /// Bytes of copies each worker may keep.
    local_budget: usize,
    shared: Mutex<Shared>,
    /// One lock per key being rendered: concurrent misses of a key render it once.
    rendering: Mutex<HashMap<CacheKey, Arc<tokio::sync::Mutex<()>>>>,
    workers: Mutex<Vec<Arc<WorkerCounters>>>,
    local_bytes: AtomicUsize,
    misses: AtomicU64,
    renders: AtomicU64,
    evictions: AtomicU64,
}

/// A worker's own copy of an entry of the shared map (see `Representation::local_copy`).
struct LocalEntry {
    rep: Representation,
    cache_control: HeaderValue,
    validity: Validity,
    weight: usize,
}

/// One worker's copies of one cache's entries, oldest copy first.
struct Local {
    entries: LinkedHashMap<CacheKey, LocalEntry>,
    bytes: usize,
    counters: Arc<WorkerCounters>,
}

thread_local! {
    /// Per cache id; there is one cache per process outside tests, so a list beats a map.
    static LOCAL: RefCell<Vec<(u64, Local)>> = RefCell::default();
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl ResponseCache {
    /// A cache of at most `budget` bytes, served by up to `workers` threads (`None`: one per
    /// core, actix's default).
    pub fn new(budget: usize, workers: Option<usize>) -> Self {
        static IDS: AtomicU64 = AtomicU64::new(0);
        let workers =
            workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        Self {
            id: IDS.fetch_add(1, Ordering::Relaxed),
            budget,
            local_budget: budget / 4 / workers.max(1),
            shared: Mutex::default(),
            rendering: Mutex::default(),
            workers: Mutex::default(),
            local_bytes: AtomicUsize::new(0),
            misses: AtomicU64::new(0),
            renders: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
        }
    }

    /// What the shared map may hold: the budget less what the workers' copies may.
    fn shared_budget(&self) -> usize {
        self.budget - self.budget / 4
    }

    pub fn budget(&self) -> usize {
        self.budget
    }

    pub fn stats(&self) -> CacheStats {
        let hits = lock(&self.workers)
            .iter()
            .map(|w| w.hits.load(Ordering::Relaxed))
            .sum();
        let shared = lock(&self.shared);
        CacheStats {
            hits,
            misses: self.misses.load(Ordering::Relaxed),
            renders: self.renders.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
            entries: shared.entries.len(),
            bytes: shared.bytes + self.local_bytes.load(Ordering::Relaxed),
        }
    }

    /// This worker's copies, made on first use.
    fn with_local<T>(&self, f: impl FnOnce(&mut Local) -> T) -> T {
        LOCAL.with(|local| {
            let mut local = local.borrow_mut();
            let index = match local.iter().position(|(id, _)| *id == self.id) {
                Some(index) => index,
                None => {
                    let counters = Arc::new(WorkerCounters::default());
                    lock(&self.workers).push(counters.clone());
                    let mine = Local {
                        entries: LinkedHashMap::new(),
                        bytes: 0,
                        counters,
                    };
                    local.push((self.id, mine));
                    local.len() - 1
                }
            };
            f(&mut local[index].1)
        })
    }

    /// Answers with `respond(representation, cache_control)` from the cached representation
    /// for `key`, rendering it with `render` when missing or stale at the content `revision` and
    /// `now`. `cache_control` is what every answer carries.
    pub async fn serve<F, Fut, R>(
        &self,
        revision: &Revision,
        now: DateTime<Utc>,
        cache_control: &HeaderValue,
        key: &CacheKey,
        render: F,
        respond: impl FnOnce(&Representation, &HeaderValue) -> R,
    ) -> Result<R, ApiError>
    where
        F: FnOnce(DateTime<Utc>) -> Fut,
        Fut: Future<Output = Result<Rendered, ApiError>>,
    {
        let current = revision.get();
        let mut respond = Some(respond);
        let hit = self.with_local(|local| {
            let entry = local
                .entries
                .get(key)
                .filter(|e| e.validity.holds(current, now))?;
            local.counters.hit();
            respond.take().map(|f| f(&entry.rep, &entry.cache_control))
        });
        if let Some(answer) = hit {
            return Ok(answer);
        }
        let (rep, validity) = self
            .get_or_render(revision, current, now, key, render)
            .await?;
        self.keep_local(key, &rep, cache_control, validity, (current, now));
        let respond = respond.expect("only a hit takes it");
        Ok(respond(&rep, cache_control))
    }

    /// The shared entry for `key` if it holds at `revision` and `now`, marked as just used.
    fn lookup(
        &self,
        key: &CacheKey,
        revision: u64,
        now: DateTime<Utc>,
    ) -> Option<(Arc<Representation>, Validity)> {
        let mut shared = lock(&self.shared);
        let entry = shared
            .entries
            .to_back(key)
            .filter(|e| e.validity.holds(revision, now))?;
        Some((entry.rep.clone(), entry.validity))
    }

    /// The cached representation for `key` and until when it holds, rendering it with `render`
    /// when missing or stale at `current` (what the caller last read of `revision`) and `now`.
    async fn get_or_render<F, Fut>(
        &self,
        revision: &Revision,
        current: u64,
        now: DateTime<Utc>,
        key: &CacheKey,
        render: F,
    ) -> Result<(Arc<Representation>, Validity), ApiError>
    where
        F: FnOnce(DateTime<Utc>) -> Fut,
        Fut: Future<Output = Result<Rendered, ApiError>>,
    {
        if let Some(hit) = self.lookup(key, current, now) {
            self.with_local(|local| local.counters.hit());
            return Ok(hit);
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let key_lock = lock(&self.rendering)
            .entry(key.clone())
            .or_default()
            .clone();
        let rendered = {
            let _rendering = key_lock.lock().await;
            // Read the revision again, before the store: a write landing mid-render leaves this
            // entry already stale rather than wrongly fresh.
            let revision = revision.get();
            match self.lookup(key, revision, now) {
                Some(hit) => Ok(hit),
                None => self.render(key, revision, now, render).await,
            }
        };
        {
            // The last one out removes the key's lock (the map holds one reference, we another).
            let mut rendering = lock(&self.rendering);
            if Arc::strong_count(&key_lock) <= 2
                && rendering
                    .get(key)
                    .is_some_and(|l| Arc::ptr_eq(l, &key_lock))
            {
                rendering.remove(key);
            }
        }
        rendered
    }

    async fn render<F, Fut>(
        &self,
        key: &CacheKey,
        revision: u64,
        now: DateTime<Utc>,
        render: F,
    ) -> Result<(Arc<Representation>, Validity), ApiError>
    where
        F: FnOnce(DateTime<Utc>) -> Fut,
        Fut: Future<Output = Result<Rendered, ApiError>>,
    {
        self.renders.fetch_add(1, Ordering::Relaxed);
        let rendered = render(now).await?;
        let mut rep = rendered.headers.into_iter().fold(
            Representation::new(rendered.body, rendered.content_type, rendered.updated),
            |rep, (name, value)| rep.with_header(name, value),
        );
        let previous = lock(&self.shared).entries.get(key).map(|e| e.rep.clone());
        if let Some(previous) = previous {
            if previous.etag() == rep.etag() {
                // Same bytes: keep the validator clients already hold.
                rep.set_modified(previous.modified());
            } else if rep.modified() <= previous.modified() {
                // The body changed but nothing it shows is newer (a delete, a public URL
                // change): Last-Modified must still move, or If-Modified-Since keeps old copies.
                rep.set_modified(moved_on(previous.modified(), now));
            }
        }
        let rep = Arc::new(rep);
        let validity = Validity::new(revision, now, rendered.next_change);
        self.insert(key, rep.clone(), validity);
        Ok((rep, validity))
    }

    /// Stores an entry, evicting the least recently used ones until it fits. An entry larger
    /// than the whole shared budget is served but not kept.
    fn insert(&self, key: &CacheKey, rep: Arc<Representation>, validity: Validity) {
        let weight = rep.weight() + key.weight() + ENTRY_OVERHEAD;
        let budget = self.shared_budget();
        let mut shared = lock(&self.shared);
        if let Some(old) = shared.entries.remove(key) {
            shared.bytes -= old.weight;
        }
        if weight > budget {
            return;
        }
        while shared.bytes + weight > budget {
            let Some((_, oldest)) = shared.entries.pop_front() else {
                break;
            };
            shared.bytes -= oldest.weight;
            self.evictions.fetch_add(1, Ordering::Relaxed);
        }
        shared.bytes += weight;
        shared.entries.insert(
            key.clone(),
            Entry {
                rep,
                validity,
                weight,
            },
        );
    }

    /// Remembers an entry in this worker's copies, within the worker's share of the budget:
    /// copies stale at `revision` and `now` go first, then the oldest until it fits.
    fn keep_local(
        &self,
        key: &CacheKey,
        rep: &Representation,
        cache_control: &HeaderValue,
        validity: Validity,
        (revision, now): (u64, DateTime<Utc>),
    ) {
        let weight = rep.weight() + key.weight() + ENTRY_OVERHEAD;
        if weight > self.local_budget {
            return;
        }
        self.with_local(|local| {
            let before = local.bytes;
            if let Some(old) = local.entries.remove(key) {
                local.bytes -= old.weight;
            }
            if local.bytes + weight > self.local_budget {
                local.entries.retain(|_, e| {
                    let keep = e.validity.holds(revision, now);
                    if !keep {
                        local.bytes -= e.weight;
                    }
                    keep
                });
            }
            while local.bytes + weight > self.local_budget {
                let Some((_, oldest)) = local.entries.pop_front() else {
                    break;
                };
                local.bytes -= oldest.weight;
            }
            local.entries.insert(
                key.clone(),
                LocalEntry {
                    rep: rep.local_copy(),
                    cache_control: local_header(cache_control),
                    validity,
                    weight,
                },
            );
            local.bytes += weight;
            let after = local.bytes;
            if after >= before {
                self.local_bytes
                    .fetch_add(after - before, Ordering::Relaxed);
            } else {
                self.local_bytes
                    .fetch_sub(before - after, Ordering::Relaxed);
            }
        });
    }
}

impl Default for ResponseCache {
    fn default() -> Self {
        Self::new(crate::config::DEFAULT_CACHE_BUDGET, None)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-01-01T12:00:00Z".parse().unwrap()
    }

    fn page(body: &str) -> Rendered {
        Rendered::new(body.as_bytes().to_vec(), "text/plain", now(), None)
    }

    /// Serves `key` from `cache`, rendering (counted in `renders`) once `go` opens, or after
    /// letting every other task run when there is no `go`.
    async fn serve(
        cache: &ResponseCache,
        revision: &Revision,
        key: &CacheKey,
        renders: &AtomicUsize,
        go: Option<&tokio::sync::Notify>,
    ) -> String {
        let public = HeaderValue::from_static("public");
        cache
            .serve(
                revision,
                now(),
                &public,
                key,
                |_| async move {
                    renders.fetch_add(1, Ordering::SeqCst);
                    match go {
                        Some(go) => go.notified().await,
                        None => {
                            for _ in 0..10 {
                                tokio::task::yield_now().await;
                            }
                        }
                    }
                    Ok(page("body"))
                },
                |rep, _| rep.etag().to_owned(),
            )
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn concurrent_misses_of_one_key_render_once() {
        let cache = ResponseCache::new(1 << 20, Some(1));
        let (revision, renders) = (Revision::default(), AtomicUsize::new(0));
        // Each render yields, so all eight requests miss before the first render ends.
        let etags = futures_util::future::join_all(
            (0..8).map(|_| serve(&cache, &revision, &CacheKey::Tags, &renders, None)),
        )
        .await;
        assert_eq!(renders.load(Ordering::SeqCst), 1);
        assert!(etags.windows(2).all(|w| w[0] == w[1]));
        let stats = cache.stats();
        assert_eq!((stats.renders, stats.misses), (1, 8), "{stats:?}");
        assert!(
            lock(&cache.rendering).is_empty(),
            "render locks are dropped"
        );
    }

    #[tokio::test]
    async fn different_keys_render_at_the_same_time() {
        let cache = ResponseCache::new(1 << 20, Some(1));
        let (revision, renders) = (Revision::default(), AtomicUsize::new(0));
        let (first_go, second_go) = (tokio::sync::Notify::new(), tokio::sync::Notify::new());
        let first = serve(
            &cache,
            &revision,
            &CacheKey::Tags,
            &renders,
            Some(&first_go),
        );
        let second = async {
            let key = CacheKey::Item("1".to_owned());
            // Only finishes if it may render while the first key's render is still waiting.
            let body = serve(&cache, &revision, &key, &renders, Some(&second_go));
            let release = async {
                tokio::task::yield_now().await;
                second_go.notify_one();
            };
            let (body, ()) = tokio::join!(body, release);
            first_go.notify_one();
            body
        };
        let (a, b) = tokio::time::timeout(std::time::Duration::from_secs(10), async {
            tokio::join!(first, second)
        })
        .await
        .expect("a render of one key must not wait for another key's");
        assert_eq!(a, b, "same body, same tag");
        assert_eq!(renders.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn entries_are_evicted_least_recently_used_first_within_the_budget() {
        let body = "x".repeat(200);
        let weight = Representation::new(body.clone().into_bytes(), "text/plain", now()).weight()
            + CacheKey::Item("k0".to_owned()).weight()
            + ENTRY_OVERHEAD;
        // Room for three entries in the shared map, none in the worker's copies.
        let cache = ResponseCache::new(weight * 4, Some(1_000_000));
        let revision = Revision::default();
        let public = HeaderValue::from_static("public");
        let get = |key: &'static str| {
            let body = body.clone();
            let cache = &cache;
            let revision = &revision;
            let public = &public;
            async move {
                let key = CacheKey::Item(key.to_owned());
                let render = |_| async move { Ok(page(&body)) };
                cache
                    .serve(revision, now(), public, &key, render, |_, _| ())
                    .await
                    .unwrap();
            }
        };
        for key in ["k0", "k1", "k2", "k0", "k3"] {
            get(key).await;
        }
        let stats = cache.stats();
        assert_eq!((stats.entries, stats.evictions), (3, 1), "{stats:?}");
        assert!(stats.bytes <= cache.budget(), "{stats:?}");
        // k1 was the least recently used: it went, and k0 stayed.
        get("k0").await;
        assert_eq!(cache.stats().renders, 4);
        get("k1").await;
        assert_eq!(cache.stats().renders, 5);
    }
}
