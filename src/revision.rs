//! The content revision: a number that changes whenever stored content does, so caches of
//! rendered responses know when to refresh. One handle is shared by whoever reports writes
//! (the application state) and whoever caches (the feed cache, the JSON caching middleware);
//! none of them needs the others.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A shared, cloneable handle on one revision counter. Clones see the same number.
#[derive(Debug, Clone, Default)]
pub struct Revision(Arc<AtomicU64>);

impl Revision {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    /// Moves the revision to `revision` unless it is already there or beyond: a revision never
    /// goes back, so an answer cached at a later one is never taken for current.
    pub fn advance_to(&self, revision: u64) {
        self.0.fetch_max(revision, Ordering::AcqRel);
    }

    /// Moves the revision one step on and returns the new value.
    pub fn bump(&self) -> u64 {
        self.0.fetch_add(1, Ordering::AcqRel) + 1
    }
}

#[cfg(test)]
mod tests {
    use super::Revision;

    #[test]
    fn clones_share_the_counter_and_it_never_goes_back() {
        let revision = Revision::default();
        let seen = revision.clone();
        assert_eq!(revision.bump(), 1);
        assert_eq!(seen.get(), 1);
        seen.advance_to(7);
        assert_eq!(revision.get(), 7);
        revision.advance_to(3);
        assert_eq!(seen.get(), 7, "advance_to never moves backwards");
        assert_eq!(seen.bump(), 8);
    }
}
