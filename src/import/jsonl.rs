//! The bulk format: JSON Lines, one item per line.
//!
//! ```json
//! {"key": "cms:4711", "title": "…", "published_at": "2018-03-01", "content_markdown": "…",
//!  "summary": "…", "slug": "…", "status": "published", "tags": ["press"],
//!  "links": [{"title": "…", "url": "https://…"}]}
//! ```
//!
//! `key` (the item's stable id in its source) makes re-imports update in place; `title`,
//! `published_at` and `content_markdown` are required, the rest optional. Every field follows
//! the item schema ([`crate::schema`]) exactly as in the API: the same limits, defaults and
//! derived links. A line's own syntax is only `key` and a `published_at` that may be a plain
//! date.

use std::io::BufRead;

use chrono::{DateTime, FixedOffset, Utc};
use serde_json::{Map, Value};
use url::Url;

use super::{Bylines, byline_slugs};
use crate::error::FieldError;
use crate::schema::{self, Syntax};
use crate::store::SourcedItem;

/// A line's spelling of an item: `key` beside the schema's fields; `title`, `published_at` and
/// `content_markdown` required; dates in RFC 3339 or as a calendar day (midnight UTC).
pub const SYNTAX: Syntax = Syntax {
    required: &["title", "published_at", "content_markdown"],
    read_date,
    date_rule: "must be an RFC 3339 date-time or a date (YYYY-MM-DD)",
    also_accepts: |member| member == "key",
};

/// RFC 3339 with its offset as written, else any date a Jekyll page may carry (midnight UTC).
fn read_date(text: &str) -> Option<DateTime<FixedOffset>> {
    schema::read_rfc3339(text).or_else(|| super::jekyll::parse_date(text).map(|t| t.fixed_offset()))
}

/// One line as an item; `Ok(None)` for a blank line. `now` is the default publication date the
/// schema needs, although a line must give its own.
pub fn parse_line(
    line: &str,
    base: &Url,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<SourcedItem>> {
    parse_line_with_authors(line, base, now, &mut Bylines::new())
}

/// [`parse_line`], noting the authors the line names in `bylines`: a line's `authors` may give
/// names or slugs (in order), stored as slugs; missing authors are created by the import.
pub fn parse_line_with_authors(
    line: &str,
    base: &Url,
    now: DateTime<Utc>,
    bylines: &mut Bylines,
) -> anyhow::Result<Option<SourcedItem>> {
    if line.trim().is_empty() {
        return Ok(None);
    }
    let mut doc: Map<String, Value> = serde_json::from_str(line)?;
    // Only a list of strings is read as names; anything else goes to the schema as written,
    // which names the entry at fault.
    if let Some(Value::Array(names)) = doc.get("authors")
        && let Some(names) = names
            .iter()
            .map(Value::as_str)
            .collect::<Option<Vec<&str>>>()
    {
        let slugs = byline_slugs(names, bylines);
        doc.insert("authors".to_owned(), Value::from(slugs));
    }
    super::image_shorthand(&mut doc);
    let key = match doc.get("key") {
        Some(Value::String(key)) if !key.trim().is_empty() => Ok(key),
        None | Some(Value::Null) => Err(FieldError::new("key", "is required")),
        Some(_) => Err(FieldError::new("key", "must be a non-empty string")),
    };
    match (key, schema::parse(&doc, &SYNTAX, None, now, base)) {
        (Ok(key), Ok(item)) => Ok(Some(SourcedItem {
            source_key: format!("jsonl:{key}"),
            item,
        })),
        (key, item) => {
            let errors: Vec<FieldError> = key
                .err()
                .into_iter()
                .chain(item.err().into_iter().flatten())
                .collect();
            anyhow::bail!("{}", schema::describe(&errors))
        }
    }
}

/// Reads up to `max` items from `reader`, counting lines in `line_no` and bytes in `bytes`.
/// Errors name the line.
pub fn read_batch(
    reader: &mut impl BufRead,
    max: usize,
    base: &Url,
    now: DateTime<Utc>,
    line_no: &mut usize,
    bytes: &mut u64,
    bylines: &mut Bylines,
) -> anyhow::Result<Vec<SourcedItem>> {
    let mut batch = Vec::with_capacity(max);
    let mut line = String::new();
    while batch.len() < max {
        line.clear();
        let n = reader.read_line(&mut line)?;
        if n == 0 {
            break;
        }
        *line_no += 1;
        *bytes += n as u64;
        match parse_line_with_authors(&line, base, now, bylines) {
            Ok(Some(item)) => batch.push(item),
            Ok(None) => {}
            Err(e) => anyhow::bail!("line {line_no}: {e:#}"),
        }
    }
    Ok(batch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;

    fn base() -> Url {
        Url::parse("https://news.example/").unwrap()
    }

    fn now() -> DateTime<Utc> {
        "2026-01-01T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_full_line_and_a_minimal_one() {
        let item = parse_line(
            r#"{"key":"a1","title":"Hello","published_at":"2020-05-01","content_markdown":"Hi [x](https://x.example/)","tags":["Press"," press ","Launch"],"links":[]}"#,
            &base(),
            now(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(item.source_key, "jsonl:a1");
        assert_eq!(item.item.draft.slug, "hello");
        assert_eq!(item.item.draft.tags, ["launch", "press"]);
        assert!(item.item.draft.links.is_empty());
        let minimal = parse_line(
            r#"{"key":"a2","title":"T","published_at":"2020-05-01T10:00:00Z","content_markdown":"See [x](https://x.example/)"}"#,
            &base(),
            now(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(minimal.item.draft.links.len(), 1);
        assert_eq!(minimal.item.draft.status, Status::Published);
        assert!(parse_line("  \n", &base(), now()).unwrap().is_none());
    }

    #[test]
    fn bad_lines_say_why() {
        for bad in [
            "{",
            r#"{"key":"a","title":"T","published_at":"soon","content_markdown":""}"#,
            r#"{"key":"","title":"T","published_at":"2020-01-01","content_markdown":""}"#,
            r#"{"key":"a","title":"T","published_at":"2020-01-01","content_markdown":"","extra":1}"#,
            r#"{"key":"a","title":"T","published_at":"9999-01-01","content_markdown":""}"#,
        ] {
            assert!(parse_line(bad, &base(), now()).is_err(), "{bad}");
        }
        let err = parse_line(
            r#"{"title":"","published_at":"soon","links":[{"title":"x","url":"javascript:alert(1)"}],"id":1}"#,
            &base(),
            now(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "`key` is required; `id` is not a field of a news item; `title` must be 1 to 300 \
             characters on one line; `content_markdown` is required; `published_at` must be an \
             RFC 3339 date-time or a date (YYYY-MM-DD); `links[0].url` must be an absolute \
             http or https URL with a host name"
        );
    }
}
