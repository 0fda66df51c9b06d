//! What identifies a rendered feed. Feeds are kept in the shared response cache
//! (`response_cache`), rendered once per change like every public answer.

use std::borrow::Cow;

use super::Format;
use crate::store::ListQuery;

/// One feed: its format, what it lists (visibility and cursor normalised) and where it lives.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FeedKey {
    pub format: Format,
    pub query: ListQuery,
    /// Path and query below the public URL, as the feed's `rel="self"` names it.
    pub self_path: Cow<'static, str>,
    /// A subscription feed (the main feed or a tag's, unfiltered): it links to its RFC 5005
    /// archives.
    pub subscription: bool,
}
