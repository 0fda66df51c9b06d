//! Rendered feeds, kept in memory until their content changes.
//!
//! An entry is good while the content revision is the one it was rendered at (every write bumps
//! it), the clock has not reached the next scheduled publication (the moment the feed would
//! change by itself), and a recheck interval has not passed (writes by another process, such as
//! `herald import`, bump no revision here). The map is bounded: per-tag and search feeds are
//! keyed by their query, and the least recently used entry goes first.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};

use super::Format;
use crate::http_cache::{RECHECK, Representation};
use crate::state::AppState;
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
    revision: u64,
    valid_until: DateTime<Utc>,
    last_used: AtomicU64,
}

impl CacheEntry {
    fn fresh(&self, revision: u64, now: DateTime<Utc>) -> bool {
        self.revision == revision && now < self.valid_until
    }
}

#[derive(Debug, Default)]
pub struct FeedCache {
    entries: RwLock<HashMap<FeedKey, CacheEntry>>,
    tick: AtomicU64,
    /// One render at a time: a burst of requests after a change renders the feed once.
    render: tokio::sync::Mutex<()>,
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
    ) -> Option<Arc<Representation>> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let entry = entries.get(key).filter(|e| e.fresh(revision, now))?;
        entry
            .last_used
            .store(self.tick.fetch_add(1, Ordering::Relaxed), Ordering::Relaxed);
        Some(entry.rep.clone())
    }

    /// The cached representation for `key`, rendering it with `render` when missing or stale.
    pub async fn get_or_render<F, Fut>(
        &self,
        state: &AppState,
        key: &FeedKey,
        render: F,
    ) -> Result<Arc<Representation>, crate::error::ApiError>
    where
        F: FnOnce(DateTime<Utc>) -> Fut,
        Fut: Future<Output = Result<Rendered, crate::error::ApiError>>,
    {
        if let Some(rep) = self.lookup(key, state.revision(), state.clock.now()) {
            return Ok(rep);
        }
        let _rendering = self.render.lock().await;
        // Read the revision before the store: a write landing mid-render leaves this entry
        // already stale rather than wrongly fresh.
        let revision = state.revision();
        let now = state.clock.now();
        if let Some(rep) = self.lookup(key, revision, now) {
            return Ok(rep);
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
                rep.set_modified(now.max(previous.modified() + chrono::Duration::seconds(1)));
            }
        }
        let rep = Arc::new(rep);
        let recheck = now + RECHECK;
        let valid_until = rendered.next_change.map_or(recheck, |t| t.min(recheck));
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
                revision,
                valid_until,
                last_used: AtomicU64::new(self.tick.fetch_add(1, Ordering::Relaxed)),
            },
        );
        Ok(rep)
    }

    pub fn len(&self) -> usize {
        self.entries.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
