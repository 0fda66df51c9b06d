//! One change event for every write. Each committed write (API, import, a scheduled item going
//! live) is recorded in the store's change log in its own transaction (see
//! `store::ChangeLog`); this module hands those changes to the subscribers that react to them:
//! the content revision caches key on, WebSub pings, and later webhooks and metrics.
//!
//! A change made by this process is dispatched as soon as its write commits. Changes made by
//! another process on the same store (`herald import`, another server) are picked up by a
//! watcher that reads the log a few times a second, so nothing waits for a cache's recheck.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::revision::Revision;
use crate::store::{Change, ChangeWakeups, DynStore, StoreResult};
use crate::urls::Urls;
use crate::websub::{self, Publisher};

/// Who made a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// This process committed it.
    Local,
    /// Another process on the same store did (seen in the change log).
    Elsewhere,
}

/// Reacts to committed changes. Called once per change per process, in log order for changes
/// from elsewhere; must return quickly (spawn anything slow).
pub trait Subscriber: Send + Sync {
    fn changed(&self, change: &Change, origin: Origin);
}

/// How often the watcher reads the change log: a write by another process reaches this one's
/// caches within this time.
pub const WATCH_EVERY: Duration = Duration::from_millis(250);
/// Changes read from the log per query while catching up.
const BATCH: u32 = 1000;

#[derive(Default)]
struct Seen {
    /// Every change up to here has been dispatched.
    through: i64,
    /// Local changes above `through`, already dispatched when their write committed.
    local: BTreeSet<i64>,
    /// Counts dispatches, so a next due time read before a change is known to be stale.
    generation: u64,
    /// When the next scheduled item goes live, as read at a generation.
    next_due: Option<(u64, Option<DateTime<Utc>>)>,
}

impl Seen {
    /// The next due time, if it was read since the last change.
    fn next_due(&self) -> Option<Option<DateTime<Utc>>> {
        self.next_due
            .filter(|(generation, _)| *generation == self.generation)
            .map(|(_, next)| next)
    }
}

#[derive(Default)]
pub struct Events {
    subscribers: RwLock<Vec<Arc<dyn Subscriber>>>,
    seen: Mutex<Seen>,
    /// Writes of this process between their start and their [`Events::publish`]: a change they
    /// committed may already be in the log (and its NOTIFY may wake the watcher) before they
    /// announce it, so [`Events::catch_up`] waits for them rather than take it for another
    /// process's change.
    writing: AtomicUsize,
    /// Set by [`Events::stop`]: the process is closing its store, so the watcher ends instead
    /// of reading (and reporting as an error) a store that is going away.
    stopped: AtomicBool,
}

/// Held by a write of this process from before it commits until it has published its change.
pub struct Writing<'a>(&'a Events);

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        self.0.writing.fetch_sub(1, AtomicOrdering::AcqRel);
    }
}

impl Events {
    /// Ends [`watch`]'s loop and the webhook deliverer's: call before the store closes.
    pub fn stop(&self) {
        self.stopped.store(true, AtomicOrdering::Release);
    }

    fn is_stopped(&self) -> bool {
        self.stopped.load(AtomicOrdering::Acquire)
    }

    /// Marks a write of this process as under way; hold the guard until its change is published.
    pub fn writing(&self) -> Writing<'_> {
        self.writing.fetch_add(1, AtomicOrdering::AcqRel);
        Writing(self)
    }

    pub fn subscribe(&self, subscriber: Arc<dyn Subscriber>) {
        self.subscribers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(subscriber);
    }

    /// Starts dispatching after the change log's position `through`: what happened before this
    /// process started is not replayed.
    pub fn start_after(&self, through: i64) {
        let mut seen = self.lock();
        seen.through = seen.through.max(through);
    }

    /// Announces changes this process just committed.
    pub fn publish(&self, changes: &[Change]) {
        let mut seen = self.lock();
        for change in changes {
            if change.seq > seen.through && seen.local.insert(change.seq) {
                self.dispatch(change, Origin::Local);
            }
        }
        // A write may have scheduled an item sooner than the one known.
        seen.generation += 1;
    }

    fn dispatch(&self, change: &Change, origin: Origin) {
        let subscribers = self.subscribers.read().unwrap_or_else(|e| e.into_inner());
        for subscriber in subscribers.iter() {
            subscriber.changed(change, origin);
        }
    }

    /// Dispatches every change in the log this process has not seen yet. One read of the log
    /// when nothing changed: a short batch means caught up.
    pub async fn catch_up(&self, store: &DynStore) -> StoreResult<()> {
        loop {
            let through = self.lock().through;
            let batch = store.changes_after(through, BATCH).await?;
            if batch.is_empty() {
                return Ok(());
            }
            let mut seen = self.lock();
            // Checked under the lock `publish` takes: a write still under way may have
            // committed a change in this batch that it has not announced as its own yet. The
            // next watch reads the batch again.
            if self.writing.load(AtomicOrdering::Acquire) > 0 {
                return Ok(());
            }
            seen.generation += 1;
            for change in &batch {
                // Another caller may have dispatched this batch meanwhile.
                if change.seq <= seen.through {
                    continue;
                }
                if !seen.local.remove(&change.seq) {
                    self.dispatch(change, Origin::Elsewhere);
                }
                seen.through = change.seq;
            }
            let through = seen.through;
            seen.local.retain(|&seq| seq > through);
            if batch.len() < BATCH as usize {
                return Ok(());
            }
        }
    }

    /// Records and announces the scheduled items whose time has come, when one has. The store
    /// records each once, whichever process asks first; the next due time is read again only
    /// after a change, so an idle store costs one query per watch.
    pub async fn publish_due(&self, store: &DynStore, now: DateTime<Utc>) -> StoreResult<()> {
        let known = self.lock().next_due();
        // Unknown (at start, or after a change): ask the store, which also catches up on items
        // that went live while no server ran.
        if known.is_none_or(|next| next.is_some_and(|t| t <= now)) {
            let changes = store.publish_due(now).await?;
            self.publish(&changes);
            let generation = self.lock().generation;
            let next = store.next_due(now).await?;
            self.lock().next_due = Some((generation, next));
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Reads the change log every `every` ([`WATCH_EVERY`] in service), and at once when the store
/// pushes a wake-up (see [`crate::store::ChangeLog::change_wakeups`]), until `events` is
/// dropped: changes from other processes are dispatched, and scheduled items going live are
/// recorded (once, whichever process gets there first) and announced.
pub fn watch(events: &Arc<Events>, store: DynStore, clock: Arc<dyn Clock>, every: Duration) {
    let events: Weak<Events> = Arc::downgrade(events);
    tokio::spawn(async move {
        let mut wakeups = match store.change_wakeups().await {
            Ok(wakeups) => wakeups,
            Err(e) => {
                tracing::warn!(error = %e, "no change notifications; polling the change log only");
                None
            }
        };
        let mut failing = false;
        loop {
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                () = woken(&mut wakeups) => {}
            }
            let Some(events) = running(&events) else {
                return;
            };
            let outcome = async {
                events.catch_up(&store).await?;
                events.publish_due(&store, clock.now()).await
            }
            .await;
            match outcome {
                // A read cut short by the stop (a closed pool, a runtime shutting down) is no
                // failure of the store.
                Err(_) if events.is_stopped() => return,
                Ok(()) if failing => {
                    tracing::info!("change log readable again");
                    failing = false;
                }
                Ok(()) => {}
                Err(e) if !failing => {
                    tracing::error!(error = %e, "cannot read the change log; retrying");
                    failing = true;
                }
                Err(_) => {}
            }
        }
    });
}

/// The events of a running application: `None` once it has dropped them or stopped them.
pub fn running(events: &Weak<Events>) -> Option<Arc<Events>> {
    events.upgrade().filter(|events| !events.is_stopped())
}

/// Waits for the next wake-up, taking any that queued up behind it too (one read of the log
/// serves them all); never returns once the store stops sending.
async fn woken(wakeups: &mut Option<ChangeWakeups>) {
    let Some(receiver) = wakeups else {
        return std::future::pending().await;
    };
    if receiver.recv().await.is_none() {
        *wakeups = None;
        return std::future::pending().await;
    }
    while receiver.try_recv().is_ok() {}
}

/// Moves the content revision on with every change, wherever it was made: caches of rendered
/// answers key on it.
pub struct RevisionSubscriber(pub Revision);

impl Subscriber for RevisionSubscriber {
    fn changed(&self, _: &Change, _: Origin) {
        self.0.bump();
    }
}

/// Tells the WebSub hub which feeds a change touched: the main feeds and its tags' feeds. Only
/// for changes this process made, so a change is announced once however many processes see it,
/// and only for items public before or after the change: a draft's or a scheduled item's tags
/// are nobody's business yet (its going live is announced when it comes).
pub struct WebSubSubscriber {
    pub publisher: Publisher,
    pub urls: Urls,
}

impl Subscriber for WebSubSubscriber {
    fn changed(&self, change: &Change, origin: Origin) {
        if origin == Origin::Local && change.is_visible() {
            self.publisher.publish(websub::feed_urls_with_tags(
                &self.urls,
                change.tags.iter().map(String::as_str),
            ));
        }
    }
}
