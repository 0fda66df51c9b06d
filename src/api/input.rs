//! A written item document (POST, PUT, or PATCH after merging) checked field by field: every
//! broken field is reported at once, and what the client left out gets its documented default.

use chrono::{DateTime, Datelike, Utc};
use serde_json::{Map, Value, json};
use url::Url;

use crate::api::news::ITEM_FIELDS;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::markdown;
use crate::model::{ItemDraft, Link, NewsItem, Status, slugify, unsupported_year, whole_seconds};
use crate::store::WriteItem;

pub const MAX_TITLE_CHARS: usize = 300;
pub const MAX_SUMMARY_CHARS: usize = 2000;
pub const MAX_TAG_CHARS: usize = 100;
/// Bounds on list fields, so one request cannot make one item arbitrarily expensive to serve.
pub const MAX_TAGS: usize = 100;
pub const MAX_LINKS: usize = 100;
pub const MAX_SLUG_BYTES: usize = 80;
/// 1 MiB of UTF-8.
pub const MAX_MARKDOWN_BYTES: usize = 1024 * 1024;

/// Every member of `obj` that is not a field of an item (a patch may not name one either, even
/// to remove it). Fields the server owns (`id`, `content_html`, the times, `url`) are accepted
/// and ignored, so a client can send back what it read.
pub fn unknown_fields(obj: &Map<String, Value>) -> Vec<FieldError> {
    obj.keys()
        .filter(|key| !ITEM_FIELDS.contains(&key.as_str()))
        .map(|key| FieldError::new(key, "is not a field of a news item"))
        .collect()
}

/// What a written link URL must look like: http(s), an ASCII host name (its last label starting
/// with a letter; IDNs in punycode), an optional port, no user info, and printable ASCII after
/// (anything else percent-encoded, as browsers copy URLs). The contract (`openapi.yaml`) states
/// the same pattern; a test keeps the two equal.
pub const LINK_URL_PATTERN: &str =
    r"^https?://([A-Za-z0-9-]+\.)*[A-Za-z][A-Za-z0-9-]*(:[0-9]{1,4})?([/?#][\x21-\x7e]*)?$";

fn is_link_url(text: &str) -> bool {
    static PATTERN: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(LINK_URL_PATTERN).expect("the link URL pattern compiles")
    });
    PATTERN.is_match(text) && Url::parse(text).is_ok_and(|url| is_web_url(&url))
}

/// Turns a document into an item ready to store. `current` is the item being replaced: its
/// slug and publication date stay when the document omits them, so edits neither move the
/// permalink nor re-date the item.
pub fn parse_item(
    doc: &Value,
    current: Option<&NewsItem>,
    now: DateTime<Utc>,
    base: &Url,
) -> ApiResult<WriteItem> {
    let obj = doc
        .as_object()
        .ok_or_else(|| ApiError::MalformedBody("the body must be a JSON object".to_owned()))?;
    let mut errors = unknown_fields(obj);
    let mut check = Fields {
        obj,
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
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
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
    };
    let mut item = WriteItem::render(draft, base);
    item.derived_slug = derived_slug;
    Ok(item)
}

/// The writable fields of an item as a document, the target a merge patch applies to.
pub fn document(item: &NewsItem) -> Value {
    json!({
        "title": item.title,
        "slug": item.slug,
        "summary": item.summary,
        "content_markdown": item.content_markdown,
        "published_at": crate::api::news::rfc3339(item.published_at),
        "status": item.status.as_str(),
        "links": item.links,
        "tags": item.tags,
    })
}

/// RFC 7396 JSON Merge Patch: objects merge member by member, `null` removes a member, and
/// anything else replaces the target.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(target) = target {
        for (key, value) in patch {
            if value.is_null() {
                target.remove(key);
            } else {
                merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

/// Links taken from the body when the client sends none: absolute http(s) only, relative ones
/// resolved against the public URL as the rendered HTML does.
fn links_of(markdown: &str, base: &Url) -> Vec<Link> {
    markdown::links(markdown)
        .into_iter()
        .filter_map(|link| {
            let url = base.join(&link.url).ok().filter(is_web_url)?;
            let title = if link.title.is_empty() {
                url.to_string()
            } else {
                link.title
            };
            Some(Link {
                title,
                url: url.into(),
            })
        })
        .collect()
}

fn is_web_url(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https") && url.host().is_some()
}

/// A one-line label (title, link title, tag): 1 to `max` characters, no control characters,
/// so it reads the same in JSON, HTML and every feed format.
fn is_label(text: &str, max: usize) -> bool {
    !text.is_empty() && text.chars().count() <= max && !text.chars().any(char::is_control)
}

/// Reads fields of one object, noting every problem instead of stopping at the first.
struct Fields<'a, 'e> {
    obj: &'a Map<String, Value>,
    errors: &'e mut Vec<FieldError>,
}

impl<'a> Fields<'a, '_> {
    fn fail<T>(&mut self, field: impl Into<String>, message: impl Into<String>) -> Option<T> {
        self.errors.push(FieldError::new(field, message));
        None
    }

    /// The value of an optional field; `null` counts as absent.
    fn present(&self, field: &str) -> Option<&'a Value> {
        self.obj.get(field).filter(|v| !v.is_null())
    }

    /// A string field, trimmed; `None` when absent or (with an error noted) not a string.
    fn text(&mut self, field: &str) -> Option<&'a str> {
        match self.present(field)? {
            Value::String(s) => Some(s.trim()),
            _ => self.fail(field, "must be a string"),
        }
    }

    fn title(&mut self) -> Option<String> {
        if self.present("title").is_none() {
            return self.fail("title", "is required");
        }
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
        let valid = slug.len() <= MAX_SLUG_BYTES
            && slugify(slug) == slug
            && slug.bytes().any(|b| b.is_ascii_lowercase());
        if !valid {
            return self.fail(
                "slug",
                format!(
                    "must be lower-case ASCII letters, digits and single hyphens, with at least \
                     one letter, at most {MAX_SLUG_BYTES} characters"
                ),
            );
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
        Some(markdown.clone())
    }

    fn published_at(&mut self) -> Option<DateTime<Utc>> {
        let text = self.text("published_at")?;
        match DateTime::parse_from_rfc3339(text) {
            // The year as written, as the contract's pattern states it.
            Ok(t) => match unsupported_year(t.year()) {
                None => Some(whole_seconds(t.with_timezone(&Utc))),
                Some(why) => self.fail("published_at", why),
            },
            Err(_) => self.fail(
                "published_at",
                "must be an RFC 3339 date-time, e.g. 2026-01-01T12:00:00Z",
            ),
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
                Some(Value::String(u)) if is_link_url(u) => Some(u.clone()),
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
            } else if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        tags.sort();
        (self.errors.len() == before).then_some(tags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://news.example/").unwrap()
    }

    fn now() -> DateTime<Utc> {
        "2026-01-01T12:00:00Z".parse().unwrap()
    }

    fn fields(err: ApiError) -> Vec<String> {
        match err {
            ApiError::Validation(list) => list.into_iter().map(|e| e.field).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn merge_patch_follows_the_rfc_7396_examples() {
        let cases = [
            (json!({"a":"b"}), json!({"a":"c"}), json!({"a":"c"})),
            (json!({"a":"b"}), json!({"b":"c"}), json!({"a":"b","b":"c"})),
            (json!({"a":"b"}), json!({"a":null}), json!({})),
            (
                json!({"a":"b","b":"c"}),
                json!({"a":null}),
                json!({"b":"c"}),
            ),
            (json!({"a":["b"]}), json!({"a":"c"}), json!({"a":"c"})),
            (json!({"a":"c"}), json!({"a":["b"]}), json!({"a":["b"]})),
            (
                json!({"a":{"b":"c"}}),
                json!({"a":{"b":"d","c":null}}),
                json!({"a":{"b":"d"}}),
            ),
            (json!({"a":[{"b":"c"}]}), json!({"a":[1]}), json!({"a":[1]})),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (json!({"a":"b"}), json!(["c"]), json!(["c"])),
            (json!({"a":"foo"}), json!(null), json!(null)),
            (json!({"a":"foo"}), json!("bar"), json!("bar")),
            (json!({"e":null}), json!({"a":1}), json!({"e":null,"a":1})),
            (json!([1, 2]), json!({"a":"b","c":null}), json!({"a":"b"})),
            (
                json!({}),
                json!({"a":{"bb":{"ccc":null}}}),
                json!({"a":{"bb":{}}}),
            ),
        ];
        for (mut target, patch, expected) in cases {
            merge_patch(&mut target, &patch);
            assert_eq!(target, expected, "patch {patch}");
        }
    }

    #[test]
    fn defaults_fill_what_the_client_left_out() {
        let item = parse_item(
            &json!({"title": "  Hello, World  ", "content_markdown": "See [x](/about) and [](https://e.example/a) and [m](mailto:a@b.c)."}),
            None,
            now(),
            &base(),
        )
        .unwrap();
        let d = &item.draft;
        assert_eq!(d.title, "Hello, World");
        assert_eq!(d.slug, "hello-world");
        assert!(item.derived_slug);
        assert_eq!(d.published_at, now());
        assert_eq!(d.status, Status::Published);
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
    fn every_broken_field_is_named() {
        let err = parse_item(
            &json!({
                "title": "",
                "slug": "Not A Slug",
                "summary": 5,
                "content_markdown": ["x"],
                "published_at": "yesterday",
                "status": "live",
                "links": [{"title": "", "url": "ftp://x.example/"}, "x", {"title": "t", "url": "/rel", "rel": "me"}],
                "tags": [" ", 3],
                "colour": "red",
            }),
            None,
            now(),
            &base(),
        )
        .unwrap_err();
        let mut got = fields(err);
        got.sort();
        let mut want = vec![
            "colour",
            "title",
            "slug",
            "summary",
            "content_markdown",
            "published_at",
            "status",
            "links[0].title",
            "links[0].url",
            "links[1]",
            "links[2].rel",
            "links[2].url",
            "tags[0]",
            "tags[1]",
        ];
        want.sort();
        assert_eq!(got, want);
    }

    #[test]
    fn slugs_need_a_letter_and_titles_a_length() {
        for slug in ["2018", "a--b", "-a", "a_b", "é"] {
            let err =
                parse_item(&json!({"title": "t", "slug": slug}), None, now(), &base()).unwrap_err();
            assert_eq!(fields(err), ["slug"], "{slug}");
        }
        let long = "x".repeat(MAX_TITLE_CHARS + 1);
        let err = parse_item(&json!({ "title": long }), None, now(), &base()).unwrap_err();
        assert_eq!(fields(err), ["title"]);
        let err = parse_item(&json!({ "title": "two\nlines" }), None, now(), &base()).unwrap_err();
        assert_eq!(fields(err), ["title"]);
        let ok = "é".repeat(MAX_TITLE_CHARS);
        assert!(parse_item(&json!({ "title": ok }), None, now(), &base()).is_ok());
    }

    #[test]
    fn tags_are_trimmed_lower_cased_and_unique() {
        let item = parse_item(
            &json!({"title": "t", "tags": [" Press ", "press", "LAUNCH"]}),
            None,
            now(),
            &base(),
        )
        .unwrap();
        assert_eq!(item.draft.tags, ["launch", "press"]);
    }
}
