//! The bulk format: JSON Lines, one item per line.
//!
//! ```json
//! {"key": "cms:4711", "title": "…", "published_at": "2018-03-01", "content_markdown": "…",
//!  "summary": "…", "slug": "…", "status": "published", "tags": ["press"],
//!  "links": [{"title": "…", "url": "https://…"}]}
//! ```
//!
//! `key` (the item's stable id in its source) makes re-imports update in place; `title`,
//! `published_at` and `content_markdown` are required, the rest optional. Without `links`, the
//! body's links are used, as for Jekyll pages.

use std::io::BufRead;

use chrono::Datelike;

use serde::Deserialize;
use url::Url;

use crate::markdown;
use crate::model::{ItemDraft, Link, Status, slugify};
use crate::store::{SourcedItem, WriteItem};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    key: String,
    title: String,
    published_at: String,
    content_markdown: String,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    slug: Option<String>,
    #[serde(default)]
    status: Option<Status>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    links: Option<Vec<Link>>,
}

/// One line as an item; `Ok(None)` for a blank line.
pub fn parse_line(line: &str, base: &Url) -> anyhow::Result<Option<SourcedItem>> {
    if line.trim().is_empty() {
        return Ok(None);
    }
    let line: Line = serde_json::from_str(line)?;
    anyhow::ensure!(!line.key.trim().is_empty(), "`key` must not be empty");
    anyhow::ensure!(!line.title.trim().is_empty(), "`title` must not be empty");
    let published_at = super::jekyll::parse_date(line.published_at.trim()).ok_or_else(|| {
        anyhow::anyhow!(
            "`published_at` must be RFC 3339 or YYYY-MM-DD, not `{}`",
            line.published_at
        )
    })?;
    if let Some(why) = crate::model::unsupported_year(published_at.year()) {
        anyhow::bail!("`published_at` {why}, not `{}`", line.published_at);
    }
    let mut tags: Vec<String> = Vec::with_capacity(line.tags.len());
    for tag in line.tags {
        let tag = tag.trim().to_lowercase();
        if !tag.is_empty() && !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    let draft = ItemDraft {
        slug: slugify(line.slug.as_deref().unwrap_or(&line.title)),
        links: line
            .links
            .unwrap_or_else(|| markdown::links(&line.content_markdown)),
        title: line.title.trim().to_owned(),
        summary: line.summary.filter(|s| !s.trim().is_empty()),
        content_markdown: line.content_markdown,
        status: line.status.unwrap_or(Status::Published),
        published_at: crate::model::whole_seconds(published_at),
        tags,
    };
    Ok(Some(SourcedItem {
        source_key: format!("jsonl:{}", line.key),
        item: WriteItem::render(draft, base),
    }))
}

/// Reads up to `max` items from `reader`, counting lines in `line_no` and bytes in `bytes`.
/// Errors name the line.
pub fn read_batch(
    reader: &mut impl BufRead,
    max: usize,
    base: &Url,
    line_no: &mut usize,
    bytes: &mut u64,
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
        match parse_line(&line, base) {
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

    fn base() -> Url {
        Url::parse("https://news.example/").unwrap()
    }

    #[test]
    fn a_full_line_and_a_minimal_one() {
        let item = parse_line(
            r#"{"key":"a1","title":"Hello","published_at":"2020-05-01","content_markdown":"Hi [x](https://x.example/)","tags":["Press"," press ","Launch"],"links":[]}"#,
            &base(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(item.source_key, "jsonl:a1");
        assert_eq!(item.item.draft.slug, "hello");
        assert_eq!(item.item.draft.tags, ["press", "launch"]);
        assert!(item.item.draft.links.is_empty());
        let minimal = parse_line(
            r#"{"key":"a2","title":"T","published_at":"2020-05-01T10:00:00Z","content_markdown":"See [x](https://x.example/)"}"#,
            &base(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(minimal.item.draft.links.len(), 1);
        assert_eq!(minimal.item.draft.status, Status::Published);
        assert!(parse_line("  \n", &base()).unwrap().is_none());
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
            assert!(parse_line(bad, &base()).is_err(), "{bad}");
        }
    }
}
