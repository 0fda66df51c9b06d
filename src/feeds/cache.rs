//! Rendered feeds, kept in memory until their content changes.
//!
//! An entry is good while the content revision is the one it was rendered at (every write bumps
//! it), the clock has not reached the next scheduled publication (the moment the feed would
//! change by itself), and a recheck interval has not passed (writes by another process, such as
//! `herald import`, bump no revision here). The map is bounded: per-tag and search feeds are
//! keyed by their query, and the least recently used entry goes first.
//!
//! In front of the shared map each worker thread keeps its own copy of the entries it served,
//! so a hit touches no lock and no reference count another core also writes: at tens of
//! thousands of requests a second those contended cache lines are most of what a 304 costs.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use actix_web::http::header::HeaderValue;
use chrono::{DateTime, Utc};

use super::Format;
use crate::http_cache::{Representation, Validity, local_header, moved_on};
use crate::revision::Revision;
use crate::store::ListQuery;

/// How many distinct feeds stay rendered at once.
pub const CAPACITY: usize = 256;

/// One feed: its format, what it lists (visibility and cursor normalised) and where it lives.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FeedKey {
    pub format: Format,
    pub query: ListQuery,
    /// Path and query below the public URL, as the feed's `rel="self"` names it.
    pub self_path: String,
}

#[derive(Debug)]
struct CacheEntry {
    rep: Arc<Representation>,
    validity: Validity,
    last_used: AtomicU64,
}

#[derive(Debug)]
pub struct FeedCache {
    /// Tells this cache's thread-local copies from those of other instances (tests run
    /// several apps in one process).
    id: u64,
    entries: RwLock<HashMap<FeedKey, CacheEntry>>,
    /// Advanced once per insert; hits only store it when it moved (a load, not a contended
    /// read-modify-write), which makes eviction "least recently used since an insert".
    tick: AtomicU64,
    /// One render at a time: a burst of requests after a change renders the feed once.
    render: tokio::sync::Mutex<()>,
}

impl Default for FeedCache {
    fn default() -> Self {
        static IDS: AtomicU64 = AtomicU64::new(0);
        Self {
            id: IDS.fetch_add(1, Ordering::Relaxed),
            entries: RwLock::default(),
            tick: AtomicU64::new(0),
            render: tokio::sync::Mutex::default(),
        }
    }
}

/// A worker's own copy of an entry of the shared map (see `Representation::local_copy`).
struct Local {
    rep: Representation,
    cache_control: HeaderValue,
    validity: Validity,
}

/// Per worker, fewer entries than the shared map: each holds its own copy of the bodies.
const LOCAL_CAPACITY: usize = 64;

thread_local! {
    static LOCAL: RefCell<HashMap<u64, HashMap<FeedKey, Local>>> = RefCell::default();
}

/// A freshly rendered body and how long it stays right.
pub struct Rendered {
    pub body: Vec<u8>,
    pub content_type: &'static str,
    pub updated: DateTime<Utc>,
    pub next_change: Option<DateTime<Utc>>,
}

impl FeedCache {
    fn lookup(
        &self,
        key: &FeedKey,
        revision: u64,
        now: DateTime<Utc>,
    ) -> Option<(Arc<Representation>, Validity)> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let entry = entries
            .get(key)
            .filter(|e| e.validity.holds(revision, now))?;
        let tick = self.tick.load(Ordering::Relaxed);
        if entry.last_used.load(Ordering::Relaxed) != tick {
            entry.last_used.store(tick, Ordering::Relaxed);
        }
        Some((entry.rep.clone(), entry.validity))
    }

    /// Remembers an entry in this worker's copy, bounded like the shared map.
    fn keep_local(
        &self,
        key: &FeedKey,
        rep: &Representation,
        cache_control: &HeaderValue,
        validity: Validity,
    ) {
        LOCAL.with(|local| {
            let mut local = local.borrow_mut();
            let mine = local.entry(self.id).or_default();
            if mine.len() >= LOCAL_CAPACITY && !mine.contains_key(key) {
                mine.clear();
            }
            mine.insert(
                key.clone(),
                Local {
                    rep: rep.local_copy(),
                    cache_control: local_header(cache_control),
                    validity,
                },
            );
        });
    }

    /// Answers with `respond(representation, cache_control)` from the cached representation
    /// for `key`, rendering it with `render` when missing or stale at the content `revision` and
    /// `now`. `cache_control` is what every answer carries.
    pub async fn serve<F, Fut, R>(
        &self,
        revision: &Revision,
        now: DateTime<Utc>,
        cache_control: &HeaderValue,
        key: &FeedKey,
        render: F,
        respond: impl FnOnce(&Representation, &HeaderValue) -> R,
    ) -> Result<R, crate::error::ApiError>
    where
        F: FnOnce(DateTime<Utc>) -> Fut,
        Fut: Future<Output = Result<Rendered, crate::error::ApiError>>,
    {
        let current = revision.get();
        let mut respond = Some(respond);
        let hit = LOCAL.with(|local| {
            let local = local.borrow();
            let entry = local.get(&self.id)?.get(key)?;
            if entry.validity.holds(current, now) {
                respond.take().map(|f| f(&entry.rep, &entry.cache_control))
            } else {
                None
            }
        });
        if let Some(answer) = hit {
            return Ok(answer);
        }
        let (rep, validity) = self
            .get_or_render(revision, current, now, key, render)
            .await?;
        self.keep_local(key, &rep, cache_control, validity);
        let respond = respond.expect("only a hit takes it");
        Ok(respond(&rep, cache_control))
    }

    /// The cached representation for `key` and until when it holds, rendering it with `render`
    /// when missing or stale at `current` (what the caller last read of `revision`) and `now`.
    async fn get_or_render<F, Fut>(
        &self,
        revision: &Revision,
        current: u64,
        now: DateTime<Utc>,
        key: &FeedKey,
        render: F,
    ) -> Result<(Arc<Representation>, Validity), crate::error::ApiError>
    where
        F: FnOnce(DateTime<Utc>) -> Fut,
        Fut: Future<Output = Result<Rendered, crate::error::ApiError>>,
    {
        if let Some(hit) = self.lookup(key, current, now) {
            return Ok(hit);
        }
        let _rendering = self.render.lock().await;
        // Read the revision again, before the store: a write landing mid-render leaves this
        // entry already stale rather than wrongly fresh.
        let revision = revision.get();
        if let Some(hit) = self.lookup(key, revision, now) {
            return Ok(hit);
        }
        let rendered = render(now).await?;
        let mut rep = Representation::new(rendered.body, rendered.content_type, rendered.updated);
        let previous = {
            let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
            entries.get(key).map(|e| e.rep.clone())
        };
        if let Some(previous) = previous {
            if previous.etag() == rep.etag() {
                // Same bytes: keep the validator clients already hold.
                rep.set_modified(previous.modified());
            } else if rep.modified() <= previous.modified() {
                // The body changed but no remaining item is newer (a delete, a public URL
                // change): Last-Modified must still move, or If-Modified-Since keeps old copies.
                rep.set_modified(moved_on(previous.modified(), now));
            }
        }
        let rep = Arc::new(rep);
        let validity = Validity::new(revision, now, rendered.next_change);
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CAPACITY && !entries.contains_key(key) {
            let oldest = entries
                .iter()
                .min_by_key(|(_, e)| e.last_used.load(Ordering::Relaxed))
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                entries.remove(&oldest);
            }
        }
        entries.insert(
            key.clone(),
            CacheEntry {
                rep: rep.clone(),
                validity,
                last_used: AtomicU64::new(self.tick.fetch_add(1, Ordering::Relaxed) + 1),
            },
        );
        Ok((rep, validity))
    }

    pub fn len(&self) -> usize {
        self.entries.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
