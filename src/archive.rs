//! Full history by RFC 5005 ("Feed Paging and Archiving", section 4, archived feeds): which
//! items an archive document holds, its URL, and when it is complete.
//!
//! Archives partition items by id, not by date: archive `101-200` holds the public items whose
//! id lies in 101..=200. Ids are handed out once, in creation order, and never reused, so an
//! archive's membership never changes except by an edit (a title, a tag, publishing or
//! unpublishing) or a delete of one of its items. A date partition would not hold: an item can
//! be created with an old `published_at` and would land in an archive already complete.
//!
//! The range is in the URL, so a document stays where it is even if [`ARCHIVE_SIZE`] changes:
//! any aligned range of up to [`MAX_ARCHIVE_SIZE`] ids answers, and links from a range always
//! lead to neighbours of the same size.

use chrono::{DateTime, Utc};

use crate::model::{NewsItem, Status};

/// Ids per archive document for new links.
pub const ARCHIVE_SIZE: i64 = 100;
/// The widest range an archive URL may name.
pub const MAX_ARCHIVE_SIZE: i64 = 1000;

/// One archive: the items whose id lies in `first..=last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IdRange {
    pub first: i64,
    pub last: i64,
}

impl IdRange {
    /// `first-last` as in the URL, if it is an aligned range: `first` is one more than a
    /// multiple of its size, and the size is at most [`MAX_ARCHIVE_SIZE`].
    pub fn parse(segment: &str) -> Option<Self> {
        let (first, last) = segment.split_once('-')?;
        let digits =
            |s: &str| !s.is_empty() && s.len() <= 18 && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(first) || !digits(last) || first.starts_with('0') || last.starts_with('0') {
            return None;
        }
        let (first, last): (i64, i64) = (first.parse().ok()?, last.parse().ok()?);
        let size = last.checked_sub(first)? + 1;
        (first >= 1 && (1..=MAX_ARCHIVE_SIZE).contains(&size) && (first - 1) % size == 0)
            .then_some(Self { first, last })
    }

    /// The [`ARCHIVE_SIZE`] range holding `id`, the newest archive when `id` is the highest id
    /// ever handed out; `None` before the first item.
    pub fn holding(id: i64) -> Option<Self> {
        (id >= 1).then(|| {
            let first = (id - 1) / ARCHIVE_SIZE * ARCHIVE_SIZE + 1;
            Self {
                first,
                last: first + ARCHIVE_SIZE - 1,
            }
        })
    }

    pub fn size(self) -> i64 {
        self.last - self.first + 1
    }

    pub fn contains(self, id: i64) -> bool {
        (self.first..=self.last).contains(&id)
    }

    /// The older neighbour (`prev-archive`), if any.
    pub fn previous(self) -> Option<Self> {
        (self.first > 1).then(|| Self {
            first: self.first - self.size(),
            last: self.first - 1,
        })
    }

    /// The newer neighbour (`next-archive`), once an id in it has been handed out.
    pub fn next(self, highest_id: i64) -> Option<Self> {
        (highest_id > self.last).then(|| Self {
            first: self.last + 1,
            last: self.last + self.size(),
        })
    }

    /// The URL segment, `first-last`.
    pub fn segment(self) -> String {
        format!("{}-{}", self.first, self.last)
    }

    /// What the archive holds and whether it can still change by itself, given every stored
    /// item of the range (drafts included) and the highest id ever handed out.
    pub fn state(self, stored: &[NewsItem], highest_id: i64, now: DateTime<Utc>) -> ArchiveState {
        let scheduled = stored
            .iter()
            .filter(|i| {
                self.contains(i.id) && i.status == Status::Published && i.published_at > now
            })
            .map(|i| i.published_at)
            .min();
        ArchiveState {
            // Complete once no new id can land in it and no item of it waits to go live: from
            // then on only an edit or a delete changes it.
            complete: highest_id > self.last && scheduled.is_none(),
            next_publication: scheduled,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveState {
    pub complete: bool,
    /// When a scheduled item of the range goes live.
    pub next_publication: Option<DateTime<Utc>>,
}

/// `Cache-Control` of a complete archive: it changes only by an edit or a delete, so caches
/// may keep it for a year (RFC 8246 `immutable`).
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_aligned_ranges_parse() {
        assert_eq!(
            IdRange::parse("101-200"),
            Some(IdRange {
                first: 101,
                last: 200
            })
        );
        assert_eq!(IdRange::parse("1-1"), Some(IdRange { first: 1, last: 1 }));
        for bad in [
            "", "1", "0-99", "100-199", "1-1001", "5-3", "01-100", "+1-100", "1-100-2", "a-b",
        ] {
            assert_eq!(IdRange::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn neighbours_keep_the_size() {
        let r = IdRange::holding(250).unwrap();
        assert_eq!(r.segment(), "201-300");
        assert_eq!(r.previous().unwrap().segment(), "101-200");
        assert_eq!(r.next(300), None);
        assert_eq!(r.next(301).unwrap().segment(), "301-400");
        assert_eq!(IdRange::holding(1).unwrap().previous(), None);
        assert_eq!(IdRange::holding(0), None);
    }
}
