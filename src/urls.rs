//! Every URL Herald hands out, built in one place from the public base: item pages, the item in
//! the JSON API, the feeds. Links in JSON, feeds, `Location` headers and WebSub pings all come
//! from here, so they cannot disagree.

use url::Url;

use crate::archive::IdRange;
use crate::feeds::Format;

/// The public base and the URLs below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Urls {
    /// Absolute; its path ends in `/` (see `config::normalise_base`).
    base: Url,
}

impl Urls {
    /// `base` should already be normalised (`config::normalise_base`): a path ending in `/`,
    /// no query or fragment, so every URL here stays below it.
    pub fn new(base: Url) -> Self {
        Self { base }
    }

    /// The public base itself (the site's home in feeds, the base relative links resolve
    /// against).
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// An absolute URL for a path below the public base (`path` without a leading `/`).
    pub fn url(&self, path: &str) -> String {
        self.base
            .join(path)
            .map(String::from)
            // Only a base that cannot have relative references (`mailto:` and the like) fails to
            // join; appending says the same for the paths built here.
            .unwrap_or_else(|_| format!("{}{path}", self.base))
    }

    /// The item's HTML page (its permalink in feeds and `url` in JSON).
    pub fn item_page(&self, slug: &str) -> String {
        self.url(&format!("news/{slug}"))
    }

    /// The item in the JSON API.
    pub fn item_api(&self, id: i64) -> String {
        self.url(&format!("api/v1/news/{id}"))
    }

    /// The feed of every item, in `format`.
    pub fn feed(&self, format: Format) -> String {
        self.url(format.file_name())
    }

    /// An archive document of the main feed or of a tag's feed (see [`archive_path`]).
    pub fn archive(&self, tag: Option<&str>, range: IdRange, format: Format) -> String {
        self.url(&archive_path(tag, range, format))
    }

    /// The feed of one tag, in `format`.
    pub fn tag_feed(&self, tag: &str, format: Format) -> String {
        self.url(&tag_feed_path(tag, format))
    }
}

/// An RFC 5005 archive of the main feed (`tag` `None`) or of a tag's feed, relative to the
/// public base: `archives/{first}-{last}/feed.{ext}`, below `tags/{tag}/` for a tag.
pub fn archive_path(tag: Option<&str>, range: IdRange, format: Format) -> String {
    let mut segments = Vec::with_capacity(5);
    if let Some(tag) = tag {
        segments.extend(["tags", tag]);
    }
    let range = range.segment();
    segments.extend(["archives", range.as_str(), format.file_name()]);
    path_of(&segments)
}

/// `tags/{tag}`, the tag's HTML page, relative to the public base.
pub fn tag_page_path(tag: &str) -> String {
    path_of(&["tags", tag])
}

/// The path of these segments, each percent-encoded as one segment, without the leading `/`.
fn path_of(segments: &[&str]) -> String {
    // A scratch URL lends its path-segment encoder; only the path is kept.
    let mut scratch = Url::parse("http://herald.invalid/").expect("a constant, valid URL");
    scratch
        .path_segments_mut()
        .expect("an http URL has path segments")
        .clear()
        .extend(segments);
    scratch.path().trim_start_matches('/').to_owned()
}

/// `tags/{tag}/feed.{ext}`, relative to the public base, with the tag percent-encoded as one
/// path segment.
pub fn tag_feed_path(tag: &str, format: Format) -> String {
    // A scratch URL lends its path-segment encoder; only the path is kept.
    let mut scratch = Url::parse("http://herald.invalid/").expect("a constant, valid URL");
    scratch
        .path_segments_mut()
        .expect("an http URL has path segments")
        .clear()
        .extend(["tags", tag, format.file_name()]);
    scratch.path().trim_start_matches('/').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls() -> Urls {
        Urls::new(Url::parse("https://example.org/herald/").unwrap())
    }

    #[test]
    fn every_url_stays_below_the_base() {
        let urls = urls();
        assert_eq!(urls.item_page("a-b"), "https://example.org/herald/news/a-b");
        assert_eq!(urls.item_api(7), "https://example.org/herald/api/v1/news/7");
        assert_eq!(
            urls.feed(Format::Atom),
            "https://example.org/herald/feed.atom"
        );
        assert_eq!(
            urls.tag_feed("a b/c", Format::Json),
            "https://example.org/herald/tags/a%20b%2Fc/feed.json"
        );
    }

    #[test]
    fn a_tag_is_one_encoded_segment() {
        assert_eq!(tag_feed_path("press", Format::Rss), "tags/press/feed.rss");
        assert_eq!(
            tag_feed_path("ä?#/..", Format::Atom),
            "tags/%C3%A4%3F%23%2F../feed.atom"
        );
    }
}
