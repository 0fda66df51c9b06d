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

    /// Moves the revision one step on and returns the new value.
    pub fn bump(&self) -> u64 {
        self.0.fetch_add(1, Ordering::AcqRel) + 1
    }
}

#[cfg(test)]
mod tests {
    use super::Revision;

    #[test]
    fn clones_share_the_counter() {
        let revision = Revision::default();
        let seen = revision.clone();
        assert_eq!(revision.bump(), 1);
        assert_eq!(seen.get(), 1);
        assert_eq!(seen.bump(), 2);
        assert_eq!(revision.get(), 2);
    }
}
