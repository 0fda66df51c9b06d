//! A written item document (POST, PUT, or PATCH after merging) in the API's syntax: a JSON
//! object of the item schema's fields ([`crate::schema`]), RFC 3339 dates, and the server's
//! own fields of an item accepted and ignored. Every broken field is reported at once, and what
//! the client left out gets the schema's default.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use url::Url;

use crate::api::news::ITEM_FIELDS;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::model::NewsItem;
use crate::schema::{self, Syntax};
use crate::store::WriteItem;

pub use crate::schema::{
    LINK_URL_PATTERN, MAX_LINKS, MAX_MARKDOWN_BYTES, MAX_SLUG_BYTES, MAX_SUMMARY_CHARS,
    MAX_TAG_CHARS, MAX_TAGS, MAX_TITLE_CHARS,
};

/// The API's spelling of an item: only `title` is required, dates are RFC 3339, and every key
/// of an item as read (`id`, `content_html`, the times, `url`) is accepted and ignored, so a
/// client can send back what it read.
pub const SYNTAX: Syntax = Syntax {
    required: &["title"],
    read_date: schema::read_rfc3339,
    date_rule: schema::RFC3339_RULE,
    also_accepts: is_item_key,
};

fn is_item_key(member: &str) -> bool {
    ITEM_FIELDS.iter().any(|key| key == member)
}

/// Every member of `obj` that is not a field of an item (a patch may not name one either, even
/// to remove it).
pub fn unknown_fields(obj: &Map<String, Value>) -> Vec<FieldError> {
    schema::unknown_fields(obj, &SYNTAX)
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
    schema::parse(obj, &SYNTAX, current, now, base).map_err(ApiError::Validation)
}

/// [`parse_item`] on the blocking pool: rendering and sanitising a large body is CPU work that
/// would hold an async worker (and every request queued on it) for its whole length.
pub async fn parse_item_off_worker(
    doc: Value,
    current: Option<NewsItem>,
    now: DateTime<Utc>,
    base: Url,
) -> ApiResult<WriteItem> {
    actix_web::web::block(move || parse_item(&doc, current.as_ref(), now, &base))
        .await
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("rendering an item")))?
}

/// Gives the body's images of stored media (`{public URL}/media/…`) their `width` and
/// `height`, read from the store, so pages and feed readers reserve their space.
pub async fn size_media_images(
    store: &crate::store::DynStore,
    urls: &crate::urls::Urls,
    item: &mut WriteItem,
) -> ApiResult<()> {
    let paths: Vec<String> = crate::markdown::unsized_image_sources(&item.content_html)
        .iter()
        .filter_map(|src| crate::images::media_path(urls, src).map(str::to_owned))
        .collect();
    if paths.is_empty() {
        return Ok(());
    }
    let sizes = store.media_file_sizes(&paths).await?;
    item.content_html = crate::markdown::with_image_sizes(&item.content_html, &|src| {
        sizes.get(crate::images::media_path(urls, src)?).copied()
    });
    Ok(())
}

/// The writable fields of an item as a document, the target a merge patch applies to.
pub fn document(item: &NewsItem) -> Value {
    schema::document(item)
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::api::news::ItemView;

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
    fn server_fields_are_ignored_and_unknown_ones_named() {
        let doc = json!({
            "title": "t",
            "id": 7,
            "content_html": "<p>x</p>",
            "created_at": "2020-01-01T00:00:00Z",
            "updated_at": "2020-01-01T00:00:00Z",
            "url": "https://elsewhere.example/",
            "colour": "red",
            "key": "cms:1",
        });
        let err = parse_item(&doc, None, now(), &base()).unwrap_err();
        assert_eq!(fields(err), ["colour", "key"]);
        let mut doc = doc;
        doc.as_object_mut()
            .unwrap()
            .retain(|k, _| k != "colour" && k != "key");
        let item = parse_item(&doc, None, now(), &base()).unwrap();
        assert_eq!(item.content_html, "");
        // Dates are RFC 3339 only in the API, unlike a JSON Lines line.
        let day = json!({"title": "t", "published_at": "2020-01-01"});
        assert_eq!(
            fields(parse_item(&day, None, now(), &base()).unwrap_err()),
            ["published_at"]
        );
    }

    /// `fields` and the ignored members of a body are exactly the keys a client reads.
    #[test]
    fn item_fields_are_the_keys_of_a_serialised_view() {
        // No links: a link's own `title` and `url` would confuse finding the item's keys below.
        let tags = ["press".to_owned()];
        let view = ItemView {
            id: 1,
            slug: "s",
            title: "t",
            summary: Some("sum"),
            content_markdown: "m",
            content_html: "<p>m</p>",
            status: "published",
            published_at: "2020-01-01T00:00:00Z".into(),
            created_at: "2020-01-01T00:00:00Z".into(),
            updated_at: "2020-01-01T00:00:00Z".into(),
            links: &[],
            tags: &tags,
            authors: &[],
            image: None,
            url: "https://news.example/news/s".into(),
        };
        let text = serde_json::to_string(&view).unwrap();
        let Value::Object(object) = serde_json::from_str(&text).unwrap() else {
            panic!("a view is an object: {text}");
        };
        let mut derived: Vec<&str> = ITEM_FIELDS.iter().map(String::as_str).collect();
        let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
        let positions: Vec<usize> = derived
            .iter()
            .map(|key| text.find(&format!("\"{key}\":")).unwrap())
            .collect();
        assert!(positions.is_sorted(), "in the view's order: {derived:?}");
        derived.sort();
        keys.sort();
        assert_eq!(derived, keys);
    }
}
