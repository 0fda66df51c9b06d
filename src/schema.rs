//! The item schema: the one definition of what a writer may set on a news item and the rules
//! it must follow (names, limits, one-line labels, slugs, tags, link URLs, publication years)
//! and the defaults of what it leaves out. The JSON API, the JSON Lines importer and the Jekyll
//! importer each turn their syntax into a JSON document of these fields and go through
//! [`parse`], so an item is accepted or refused the same way whichever door it comes in by.
//!
//! What differs between the doors is described by a [`Syntax`]: which fields must be given,
//! how a date may be spelled, and which other members a document may carry.

use std::sync::LazyLock;

use chrono::{DateTime, Datelike, FixedOffset, Utc};
use serde_json::{Map, Value, json};
use url::Url;

use crate::error::FieldError;
use crate::feeds::rfc3339;
use crate::markdown;
use crate::model::{
    ImageDraft, ImageSource, ItemDraft, Link, NewsItem, Status, slugify, whole_seconds,
};
use crate::store::WriteItem;
use crate::uri::to_uri;

pub const MAX_TITLE_CHARS: usize = 300;
pub const MAX_SUMMARY_CHARS: usize = 2000;
pub const MAX_TAG_CHARS: usize = 100;
/// Bounds on list fields, so one writer cannot make one item arbitrarily expensive to serve.
pub const MAX_TAGS: usize = 100;
pub const MAX_LINKS: usize = 100;
pub const MAX_SLUG_BYTES: usize = 80;
/// 1 MiB of UTF-8.
pub const MAX_MARKDOWN_BYTES: usize = 1024 * 1024;

/// The fields a writer sets, in the order a document lists them.
pub const WRITABLE_FIELDS: [&str; 10] = [
    "title",
    "slug",
    "summary",
    "content_markdown",
    "published_at",
    "status",
    "links",
    "tags",
    "authors",
    "image",
];

/// Limits on an image's texts: alt text is a sentence or two, a caption a short paragraph.
pub const MAX_ALT_CHARS: usize = 1000;
pub const MAX_CAPTION_CHARS: usize = 2000;
pub const MAX_CREDIT_CHARS: usize = 300;
pub const MAX_IMAGE_URL_BYTES: usize = 2000;
/// The largest side an external image may claim, in pixels.
pub const MAX_IMAGE_SIDE: u64 = 100_000;

/// Bylines stay short; a longer list is a data error, not a byline.
pub const MAX_AUTHORS: usize = 20;

/// What a link URL must look like: http(s), an ASCII host name (its last label starting with a
/// letter; IDNs in punycode), an optional port, no user info, and printable ASCII after
/// (anything else percent-encoded, as browsers copy URLs). The contract (`openapi.yaml`) states
/// the same pattern; a test keeps the two equal.
pub const LINK_URL_PATTERN: &str =
    r"^https?://([A-Za-z0-9-]+\.)*[A-Za-z][A-Za-z0-9-]*(:[0-9]{1,4})?([/?#][\x21-\x7e]*)?$";

/// The years a publication date may be written in. The search index packs a date and an id
/// into one 64-bit key (see `store::fts::search_key`), which holds dates from about 1425 to 2514;
/// these round limits sit inside that, whatever the UTC offset. The OpenAPI contract states them
/// as a pattern on the written year (`published_at` in `src/openapi.rs`), which schemathesis
/// holds the API to.
pub const YEARS: std::ops::RangeInclusive<i32> = 1500..=2500;

/// Why a date written in `year` cannot be a publication date, if it cannot.
pub fn unsupported_year(year: i32) -> Option<String> {
    (!YEARS.contains(&year)).then(|| "must be in the years 1500 to 2500".to_owned())
}

/// How one way of writing an item spells what the schema leaves open.
#[derive(Debug, Clone, Copy)]
pub struct Syntax {
    /// Fields that must be present (not absent, not `null`).
    pub required: &'static [&'static str],
    /// Reads a `published_at` as written, keeping its UTC offset (the year is checked as
    /// written); `None` when it cannot be read.
    pub read_date: fn(&str) -> Option<DateTime<FixedOffset>>,
    /// What `read_date` accepts, as the error message for a date it cannot read.
    pub date_rule: &'static str,
    /// Members besides [`WRITABLE_FIELDS`] a document may carry (read by the syntax itself, or
    /// accepted and ignored); any other member is an error.
    pub also_accepts: fn(&str) -> bool,
}

/// The date syntax of the API: RFC 3339 only.
pub fn read_rfc3339(text: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(text).ok()
}

pub const RFC3339_RULE: &str = "must be an RFC 3339 date-time, e.g. 2026-01-01T12:00:00Z";

/// Every member of `doc` that is neither a writable field nor one `syntax` accepts.
pub fn unknown_fields(doc: &Map<String, Value>, syntax: &Syntax) -> Vec<FieldError> {
    doc.keys()
        .filter(|key| !WRITABLE_FIELDS.contains(&key.as_str()) && !(syntax.also_accepts)(key))
        .map(|key| FieldError::new(key, "is not a field of a news item"))
        .collect()
}

/// Turns a document into an item ready to store, or names every broken field (unknown members
/// first, then the fields in [`WRITABLE_FIELDS`] order). What the document leaves out gets its
/// default: status published; slug, then publication date, of `current` (the item being
/// replaced, so edits neither move the permalink nor re-date it), else the slug derived from
/// the title and `now`; links taken from the body, resolved against `base` as the rendered HTML
/// is.
pub fn parse(
    doc: &Map<String, Value>,
    syntax: &Syntax,
    current: Option<&NewsItem>,
    now: DateTime<Utc>,
    base: &Url,
) -> Result<WriteItem, Vec<FieldError>> {
    let mut errors = unknown_fields(doc, syntax);
    let mut check = Fields {
        doc,
        syntax,
        errors: &mut errors,
    };
    let title = check.title();
    let slug = check.slug();
    let summary = check.summary();
    let content_markdown = check.markdown();
    let published_at = check.published_at();
    let status = check.status();
    let links = check.links();
    let tags = check.tags();
    let authors = check.authors();
    let image = check.image();
    if !errors.is_empty() {
        return Err(errors);
    }
    let title = title.unwrap_or_default();
    let content_markdown = content_markdown.unwrap_or_default();
    let (slug, derived_slug) = match (slug, current) {
        (Some(slug), _) => (slug, false),
        (None, Some(current)) => (current.slug.clone(), false),
        (None, None) => (slugify(&title), true),
    };
    let draft = ItemDraft {
        slug,
        links: links.unwrap_or_else(|| links_of(&content_markdown, base)),
        title,
        summary,
        content_markdown,
        status: status.unwrap_or(Status::Published),
        published_at: published_at
            .or(current.map(|c| c.published_at))
            .unwrap_or(now),
        tags: tags.unwrap_or_default(),
        authors: authors.unwrap_or_default(),
        image,
    };
    let mut item = WriteItem::render(draft, base);
    item.derived_slug = derived_slug;
    Ok(item)
}

/// The writable fields of a stored item as a document, which [`parse`] turns back into the
/// same item.
pub fn document(item: &NewsItem) -> Value {
    json!({
        "title": item.title,
        "slug": item.slug,
        "summary": item.summary,
        "content_markdown": item.content_markdown,
        "published_at": rfc3339(item.published_at),
        "status": item.status.as_str(),
        "links": item.links,
        "tags": item.tags,
        "authors": item.authors.iter().map(|a| &a.slug).collect::<Vec<_>>(),
        "image": item.image.as_ref().map(|i| image_document(&i.draft)),
    })
}

/// An image as a writer spells it: `{media_id}` or `{url, width?, height?}`, and its texts.
pub fn image_document(image: &ImageDraft) -> Value {
    let mut doc = match &image.source {
        ImageSource::Media(id) => json!({"media_id": id}),
        ImageSource::Url { url, width, height } => {
            let mut doc = json!({"url": url});
            if let Some(w) = width {
                doc["width"] = json!(w);
            }
            if let Some(h) = height {
                doc["height"] = json!(h);
            }
            doc
        }
    };
    doc["alt"] = json!(image.alt);
    if let Some(caption) = &image.caption {
        doc["caption"] = json!(caption);
    }
    if let Some(credit) = &image.credit {
        doc["credit"] = json!(credit);
    }
    doc
}

/// The members of an image object a writer sets.
const IMAGE_FIELDS: [&str; 7] = [
    "media_id", "url", "width", "height", "alt", "caption", "credit",
];

/// Members of an image as read (`GET`) that a written one may carry back and that are ignored:
/// they are derived from the medium or the URL.
const IMAGE_READ_ONLY: [&str; 3] = ["type", "srcset", "sources"];

/// Whether `text` is a slug as Herald writes them (see [`slugify`]): lower-case ASCII letters,
/// digits and single hyphens, at least one letter, at most [`MAX_SLUG_BYTES`].
pub fn is_slug(text: &str) -> bool {
    text.len() <= MAX_SLUG_BYTES
        && slugify(text) == text
        && text.bytes().any(|b| b.is_ascii_lowercase())
}

pub const SLUG_RULE: &str = "must be lower-case ASCII letters, digits and single hyphens, with at \
                             least one letter, at most 80 characters";

/// Field errors as one line of text, for the importers: `` `title` is required; … ``.
pub fn describe(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("`{}` {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

pub fn is_link_url(text: &str) -> bool {
    static PATTERN: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(LINK_URL_PATTERN).expect("the link URL pattern compiles")
    });
    PATTERN.is_match(text) && Url::parse(text).is_ok_and(|url| is_web_url(&url))
}

/// Links taken from the body when the writer gives none: absolute http(s) only, relative ones
/// resolved against the public URL as the rendered HTML does.
fn links_of(markdown: &str, base: &Url) -> Vec<Link> {
    markdown::links(markdown)
        .into_iter()
        .filter_map(|link| {
            let url = base.join(link.url.trim()).ok().filter(is_web_url)?;
            let url = to_uri(&url);
            let title = if link.title.is_empty() {
                url.clone()
            } else {
                link.title
            };
            Some(Link { title, url })
        })
        .collect()
}

fn is_web_url(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https") && url.host().is_some()
}

/// A tag that is a dot segment (`.`, `..`): its feed URL, `tags/{tag}/feed.*`, would resolve to
/// another path (RFC 3986 §5.2.4), so such a tag could have no feed of its own. Every other tag
/// is one percent-encoded path segment (`urls::tag_feed_path`) that stays as written.
pub fn is_dot_segment(tag: &str) -> bool {
    matches!(tag, "." | "..")
}

/// Texts may hold any character but U+0000: it means nothing in news, XML cannot carry it,
/// and PostgreSQL cannot store it.
const NUL_RULE: &str = "must not contain the NUL character (U+0000)";

/// A one-line label (title, link title, tag): 1 to `max` characters, no control characters,
/// so it reads the same in JSON, HTML and every feed format.
fn is_label(text: &str, max: usize) -> bool {
    !text.is_empty() && text.chars().count() <= max && !text.chars().any(char::is_control)
}

/// Reads fields of one document, noting every problem instead of stopping at the first.
struct Fields<'a, 'e> {
    doc: &'a Map<String, Value>,
    syntax: &'e Syntax,
    errors: &'e mut Vec<FieldError>,
}

impl<'a> Fields<'a, '_> {
    fn fail<T>(&mut self, field: impl Into<String>, message: impl Into<String>) -> Option<T> {
        self.errors.push(FieldError::new(field, message));
        None
    }

    /// The value of a field; `null` counts as absent, which is an error for a required field.
    fn present(&mut self, field: &str) -> Option<&'a Value> {
        let value = self.doc.get(field).filter(|v| !v.is_null());
        if value.is_none() && self.syntax.required.contains(&field) {
            return self.fail(field, "is required");
        }
        value
    }

    /// A string field, trimmed; `None` when absent or (with an error noted) not a string.
    fn text(&mut self, field: &str) -> Option<&'a str> {
        match self.present(field)? {
            Value::String(s) => Some(s.trim()),
            _ => self.fail(field, "must be a string"),
        }
    }

    fn title(&mut self) -> Option<String> {
        let title = self.text("title")?;
        if !is_label(title, MAX_TITLE_CHARS) {
            return self.fail(
                "title",
                format!("must be 1 to {MAX_TITLE_CHARS} characters on one line"),
            );
        }
        Some(title.to_owned())
    }

    fn slug(&mut self) -> Option<String> {
        let slug = self.text("slug")?;
        if !is_slug(slug) {
            return self.fail("slug", SLUG_RULE);
        }
        Some(slug.to_owned())
    }

    fn summary(&mut self) -> Option<String> {
        let summary = self.text("summary")?;
        if summary.chars().count() > MAX_SUMMARY_CHARS {
            return self.fail(
                "summary",
                format!("must be at most {MAX_SUMMARY_CHARS} characters"),
            );
        }
        if summary.contains('\0') {
            return self.fail("summary", NUL_RULE);
        }
        (!summary.is_empty()).then(|| summary.to_owned())
    }

    fn markdown(&mut self) -> Option<String> {
        // Not trimmed: leading indentation and trailing breaks mean something in Markdown.
        let markdown = match self.present("content_markdown")? {
            Value::String(s) => s,
            _ => return self.fail("content_markdown", "must be a string"),
        };
        if markdown.len() > MAX_MARKDOWN_BYTES {
            return self.fail(
                "content_markdown",
                format!("must be at most 1 MiB ({MAX_MARKDOWN_BYTES} bytes of UTF-8)"),
            );
        }
        if markdown.contains('\0') {
            return self.fail("content_markdown", NUL_RULE);
        }
        if !crate::markdown::nesting_within(markdown, crate::markdown::MAX_NESTING) {
            return self.fail("content_markdown", crate::markdown::NESTING_RULE);
        }
        Some(markdown.clone())
    }

    fn published_at(&mut self) -> Option<DateTime<Utc>> {
        let text = self.text("published_at")?;
        match (self.syntax.read_date)(text) {
            // The year as written, as the contract's pattern states it.
            Some(t) => match unsupported_year(t.year()) {
                None => Some(whole_seconds(t.with_timezone(&Utc))),
                Some(why) => self.fail("published_at", why),
            },
            None => self.fail("published_at", self.syntax.date_rule),
        }
    }

    fn status(&mut self) -> Option<Status> {
        let text = self.text("status")?;
        Status::parse(text).or_else(|| self.fail("status", "must be `published` or `draft`"))
    }

    /// An optional array field of at most `max` entries; `of` says what the entries must be.
    fn array(&mut self, field: &str, of: &str, max: usize) -> Option<&'a Vec<Value>> {
        let Value::Array(list) = self.present(field)? else {
            return self.fail(field, format!("must be an array of {of}"));
        };
        if list.len() > max {
            return self.fail(field, format!("must have at most {max} entries"));
        }
        Some(list)
    }

    fn links(&mut self) -> Option<Vec<Link>> {
        let list = self.array("links", "{\"title\", \"url\"} objects", MAX_LINKS)?;
        let before = self.errors.len();
        let mut links = Vec::with_capacity(list.len());
        for (i, entry) in list.iter().enumerate() {
            let field = format!("links[{i}]");
            let Value::Object(obj) = entry else {
                self.fail::<()>(field, "must be an object with `title` and `url`");
                continue;
            };
            for key in obj.keys() {
                if key != "title" && key != "url" {
                    self.fail::<()>(format!("{field}.{key}"), "is not a field of a link");
                }
            }
            let title = match obj.get("title") {
                Some(Value::String(t)) if is_label(t.trim(), MAX_TITLE_CHARS) => {
                    Some(t.trim().to_owned())
                }
                _ => self.fail(
                    format!("{field}.title"),
                    format!("must be a string of 1 to {MAX_TITLE_CHARS} characters on one line"),
                ),
            };
            let url = match obj.get("url") {
                // Stored as a valid URI: `|`, `[`, `^`… percent-encoded (see `uri`).
                Some(Value::String(u)) if is_link_url(u) => Url::parse(u).ok().map(|u| to_uri(&u)),
                _ => self.fail(
                    format!("{field}.url"),
                    "must be an absolute http or https URL with a host name",
                ),
            };
            if let (Some(title), Some(url)) = (title, url) {
                links.push(Link { title, url });
            }
        }
        (self.errors.len() == before).then_some(links)
    }

    fn tags(&mut self) -> Option<Vec<String>> {
        let list = self.array("tags", "strings", MAX_TAGS)?;
        let before = self.errors.len();
        let mut tags: Vec<String> = Vec::with_capacity(list.len());
        for (i, entry) in list.iter().enumerate() {
            let tag = match entry {
                Value::String(t) => t.trim().to_lowercase(),
                _ => {
                    self.fail::<()>(format!("tags[{i}]"), "must be a string");
                    continue;
                }
            };
            if !is_label(&tag, MAX_TAG_CHARS) {
                self.fail::<()>(
                    format!("tags[{i}]"),
                    format!("must be 1 to {MAX_TAG_CHARS} characters on one line"),
                );
            } else if is_dot_segment(&tag) {
                self.fail::<()>(
                    format!("tags[{i}]"),
                    "must not be `.` or `..`: a tag's feed URL must lead to that tag",
                );
            } else if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        tags.sort();
        (self.errors.len() == before).then_some(tags)
    }

    /// Author slugs in byline order, each once.
    fn authors(&mut self) -> Option<Vec<String>> {
        let list = self.array("authors", "author slugs", MAX_AUTHORS)?;
        let before = self.errors.len();
        let mut authors: Vec<String> = Vec::with_capacity(list.len());
        for (i, entry) in list.iter().enumerate() {
            let field = format!("authors[{i}]");
            match entry {
                Value::String(slug) if !is_slug(slug) => self.fail::<()>(field, SLUG_RULE),
                Value::String(slug) if authors.contains(slug) => {
                    self.fail::<()>(field, "names an author already listed")
                }
                Value::String(slug) => {
                    authors.push(slug.clone());
                    None
                }
                _ => self.fail::<()>(field, "must be a string (an author's slug)"),
            };
        }
        (self.errors.len() == before).then_some(authors)
    }

    /// The item's image: exactly one of `media_id` and `url`, and `alt` text.
    fn image(&mut self) -> Option<ImageDraft> {
        let value = self.present("image")?;
        let Value::Object(obj) = value else {
            return self.fail(
                "image",
                "must be an object with `media_id` or `url`, and `alt`",
            );
        };
        let before = self.errors.len();
        for key in obj.keys() {
            if !IMAGE_FIELDS.contains(&key.as_str()) && !IMAGE_READ_ONLY.contains(&key.as_str()) {
                self.fail::<()>(format!("image.{key}"), "is not a field of an image");
            }
        }
        let given = |key: &str| obj.get(key).filter(|v| !v.is_null());
        let media_id = match given("media_id") {
            None => None,
            Some(v) => match v.as_i64().filter(|id| *id > 0) {
                Some(id) => Some(id),
                None => self.fail(
                    "image.media_id",
                    "must be a positive integer (a medium's id)",
                ),
            },
        };
        let url = match given("url") {
            None => None,
            Some(Value::String(u)) if u.len() <= MAX_IMAGE_URL_BYTES && is_link_url(u.trim()) => {
                Url::parse(u.trim()).ok().map(|u| to_uri(&u))
            }
            Some(_) => self.fail(
                "image.url",
                format!(
                    "must be an absolute http or https URL with a host name, at most \
                     {MAX_IMAGE_URL_BYTES} bytes"
                ),
            ),
        };
        let side = |this: &mut Self, key: &str| match given(key) {
            None => None,
            Some(v) => match v.as_u64().filter(|n| (1..=MAX_IMAGE_SIDE).contains(n)) {
                Some(n) => Some(n as u32),
                None => this.fail(
                    format!("image.{key}"),
                    format!("must be an integer from 1 to {MAX_IMAGE_SIDE} (pixels)"),
                ),
            },
        };
        let width = side(self, "width");
        let height = side(self, "height");
        let alt = self.image_text(given("alt"), "alt", MAX_ALT_CHARS);
        if given("alt").is_none() || alt.as_ref().is_some_and(|a| a.is_none()) {
            self.fail::<()>(
                "image.alt",
                "is required: describe the image for readers who cannot see it",
            );
        }
        let caption = self.image_text(given("caption"), "caption", MAX_CAPTION_CHARS);
        let credit = self.image_text(given("credit"), "credit", MAX_CREDIT_CHARS);
        let source = match (given("media_id"), given("url")) {
            (Some(_), Some(_)) | (None, None) => {
                self.fail::<()>("image", "must have exactly one of `media_id` and `url`");
                None
            }
            (Some(_), None) => {
                for key in ["width", "height"] {
                    if given(key).is_some() {
                        self.fail::<()>(
                            format!("image.{key}"),
                            "is read from the medium; give it only with `url`",
                        );
                    }
                }
                media_id.map(ImageSource::Media)
            }
            (None, Some(_)) => url.map(|url| ImageSource::Url { url, width, height }),
        };
        if self.errors.len() != before {
            return None;
        }
        Some(ImageDraft {
            source: source?,
            alt: alt.flatten()?,
            caption: caption.flatten(),
            credit: credit.flatten(),
        })
    }

    /// One of an image's texts, trimmed: `Some(None)` when given empty, `None` when absent or
    /// (with an error noted) broken.
    fn image_text(
        &mut self,
        value: Option<&Value>,
        key: &str,
        max: usize,
    ) -> Option<Option<String>> {
        let field = format!("image.{key}");
        match value? {
            Value::String(text) => {
                let text = text.trim();
                if text.chars().count() > max {
                    self.fail(field, format!("must be at most {max} characters"))
                } else if text.contains('\0') {
                    self.fail(field, NUL_RULE)
                } else {
                    Some((!text.is_empty()).then(|| text.to_owned()))
                }
            }
            _ => self.fail(field, "must be a string"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A syntax like the API's: only a title required, RFC 3339 dates, nothing else accepted.
    const STRICT: Syntax = Syntax {
        required: &["title"],
        read_date: read_rfc3339,
        date_rule: RFC3339_RULE,
        also_accepts: |_| false,
    };

    fn base() -> Url {
        Url::parse("https://news.example/").unwrap()
    }

    fn now() -> DateTime<Utc> {
        "2026-01-01T12:00:00Z".parse().unwrap()
    }

    fn check(doc: Value) -> Result<WriteItem, Vec<FieldError>> {
        check_as(doc, &STRICT)
    }

    fn check_as(doc: Value, syntax: &Syntax) -> Result<WriteItem, Vec<FieldError>> {
        parse(doc.as_object().unwrap(), syntax, None, now(), &base())
    }

    fn fields(errors: Vec<FieldError>) -> Vec<String> {
        errors.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn defaults_fill_what_the_writer_left_out() {
        let item = check(json!({"title": "  Hello, World  ", "content_markdown": "See [x](/about) and [](https://e.example/a) and [m](mailto:a@b.c)."}))
            .unwrap();
        let d = &item.draft;
        assert_eq!(d.title, "Hello, World");
        assert_eq!(d.slug, "hello-world");
        assert!(item.derived_slug);
        assert_eq!(d.published_at, now());
        assert_eq!(d.status, Status::Published);
        assert_eq!(d.summary, None);
        assert_eq!(
            d.links,
            vec![
                Link {
                    title: "x".into(),
                    url: "https://news.example/about".into()
                },
                Link {
                    title: "https://e.example/a".into(),
                    url: "https://e.example/a".into()
                },
            ]
        );
        assert!(item.content_html.contains("https://news.example/about"));
    }

    #[test]
    fn a_replaced_item_keeps_its_slug_and_date_unless_given() {
        let stored = check(json!({"title": "Old", "published_at": "2020-01-01T00:00:00Z"}))
            .unwrap()
            .draft;
        let current = NewsItem {
            id: 1,
            guid: "urn:uuid:x".into(),
            slug: "kept".into(),
            title: stored.title,
            summary: None,
            content_markdown: String::new(),
            content_html: String::new(),
            status: Status::Published,
            published_at: stored.published_at,
            created_at: now(),
            updated_at: now(),
            links: vec![],
            tags: vec![],
            authors: vec![],
            image: None,
        };
        let doc = json!({"title": "New"});
        let item = parse(
            doc.as_object().unwrap(),
            &STRICT,
            Some(&current),
            now(),
            &base(),
        )
        .unwrap();
        assert_eq!(item.draft.slug, "kept");
        assert!(!item.derived_slug);
        assert_eq!(item.draft.published_at, current.published_at);
        // The document of a stored item reads back as the same fields.
        let again = document(&current);
        let round = parse(again.as_object().unwrap(), &STRICT, None, now(), &base()).unwrap();
        assert_eq!(round.draft.slug, "kept");
        assert_eq!(round.draft.published_at, current.published_at);
    }

    #[test]
    fn every_broken_field_is_named() {
        let err = check(json!({
            "title": "",
            "slug": "Not A Slug",
            "summary": 5,
            "content_markdown": ["x"],
            "published_at": "yesterday",
            "status": "live",
            "links": [{"title": "", "url": "ftp://x.example/"}, "x", {"title": "t", "url": "/rel", "rel": "me"}],
            "tags": [" ", 3],
            "authors": ["Not A Slug", "a", "a", 1],
            "colour": "red",
        }))
        .unwrap_err();
        // Unknown members first, then the fields in their document order.
        let expected = [
            &["colour"][..],
            &WRITABLE_FIELDS[..WRITABLE_FIELDS.len() - 4],
            &[
                "links[0].title",
                "links[0].url",
                "links[1]",
                "links[2].rel",
                "links[2].url",
            ],
            &["tags[0]", "tags[1]"],
            &["authors[0]", "authors[2]", "authors[3]"],
        ]
        .concat();
        assert_eq!(fields(err), expected);
    }

    #[test]
    fn slugs_need_a_letter_and_titles_a_length() {
        for slug in ["2018", "a--b", "-a", "a_b", "é"] {
            let err = check(json!({"title": "t", "slug": slug})).unwrap_err();
            assert_eq!(fields(err), ["slug"], "{slug}");
        }
        let long = "x".repeat(MAX_TITLE_CHARS + 1);
        assert_eq!(
            fields(check(json!({ "title": long })).unwrap_err()),
            ["title"]
        );
        let two_lines = json!({ "title": "two\nlines" });
        assert_eq!(fields(check(two_lines).unwrap_err()), ["title"]);
        let ok = "é".repeat(MAX_TITLE_CHARS);
        assert!(check(json!({ "title": ok })).is_ok());
    }

    #[test]
    fn tags_are_trimmed_lower_cased_and_unique() {
        let item = check(json!({"title": "t", "tags": [" Press ", "press", "LAUNCH"]})).unwrap();
        assert_eq!(item.draft.tags, ["launch", "press"]);
    }

    #[test]
    fn a_syntax_decides_what_is_required_and_how_dates_are_spelled() {
        fn day_or_rfc3339(text: &str) -> Option<DateTime<FixedOffset>> {
            read_rfc3339(text).or_else(|| {
                let day = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
                Some(day.and_hms_opt(0, 0, 0)?.and_utc().fixed_offset())
            })
        }
        let lines = Syntax {
            required: &["title", "published_at"],
            read_date: day_or_rfc3339,
            date_rule: "must be a date",
            also_accepts: |member| member == "key",
        };
        let err = check_as(json!({"key": "k", "title": "t"}), &lines).unwrap_err();
        assert_eq!(err, [FieldError::new("published_at", "is required")]);
        let item = check_as(
            json!({"key": "k", "title": "t", "published_at": "2020-05-01"}),
            &lines,
        )
        .unwrap();
        assert_eq!(
            item.draft.published_at,
            "2020-05-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        let err =
            check_as(json!({"title": "t", "published_at": "1499-12-31"}), &lines).unwrap_err();
        assert_eq!(
            err,
            [FieldError::new(
                "published_at",
                "must be in the years 1500 to 2500"
            )]
        );
        let err =
            check(json!({"key": "k", "title": "t", "published_at": "2020-05-01"})).unwrap_err();
        assert_eq!(
            err,
            [
                FieldError::new("key", "is not a field of a news item"),
                FieldError::new("published_at", RFC3339_RULE)
            ]
        );
        assert_eq!(
            describe(&err),
            "`key` is not a field of a news item; `published_at` must be an RFC 3339 date-time, \
             e.g. 2026-01-01T12:00:00Z"
        );
    }
}
