//! What the importers of other systems' files (WordPress, Ghost, RSS, Atom) read a post as,
//! and how such a post becomes an item: through the one item schema, as every door does.

use std::collections::HashSet;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use regex::Regex;
use serde_json::{Map, Value, json};
use url::Url;

use super::{Bylines, byline_slugs, html};
use crate::feeds::rfc3339;
use crate::markdown;
use crate::model::{Link, Status, whole_seconds};
use crate::schema::{self, Syntax};
use crate::store::SourcedItem;

/// A post as its source describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The source's stable id for the post, prefixed by the format (`wxr:`, `ghost:`,
    /// `rss:`, `atom:`): re-importing the same post updates the item made from it.
    pub key: String,
    pub title: String,
    /// The source's slug, kept when it is a valid Herald slug (else one is derived).
    pub slug: Option<String>,
    /// A plain-text excerpt the author wrote, if any.
    pub summary: Option<String>,
    /// The body as HTML, as the source showed it.
    pub html: String,
    pub published_at: DateTime<Utc>,
    /// Drafts (and pending or private posts) are drafts; scheduled posts are published with
    /// their future date, which Herald keeps from readers until it comes.
    pub status: Status,
    /// Categories and tags alike, by name.
    pub tags: Vec<String>,
    /// The post's authors, in the source's order: stored as the item's byline, each author
    /// created by name when the store has none of that slug.
    pub authors: Vec<Author>,
    /// The featured image.
    pub image: Option<Image>,
}

/// A featured image as a source gives it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Image {
    /// Absolute.
    pub url: String,
    /// The source's alt text; the post's title stands in when it has none.
    pub alt: Option<String>,
    pub caption: Option<String>,
    pub credit: Option<String>,
}

impl Image {
    /// The image in the item schema's fields (alt text defaulting to `title`), or `None` when
    /// the schema could not take its URL: the post is worth more than its picture.
    pub fn document(&self, title: &str) -> Option<Value> {
        let url = self.url.trim();
        if !schema::is_link_url(url) || url.len() > schema::MAX_IMAGE_URL_BYTES {
            return None;
        }
        let text = |t: Option<&str>, max: usize| {
            t.map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
                .filter(|t| !t.is_empty())
                .map(|t| t.chars().take(max).collect::<String>())
        };
        let alt = text(self.alt.as_deref(), schema::MAX_ALT_CHARS)
            .or_else(|| text(Some(title), schema::MAX_ALT_CHARS))?;
        let mut doc = json!({"url": url, "alt": alt});
        if let Some(caption) = text(self.caption.as_deref(), schema::MAX_CAPTION_CHARS) {
            doc["caption"] = json!(caption);
        }
        if let Some(credit) = text(self.credit.as_deref(), schema::MAX_CREDIT_CHARS) {
            doc["credit"] = json!(credit);
        }
        Some(doc)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    pub name: String,
    pub email: Option<String>,
    pub url: Option<String>,
}

/// What a file held: the posts to import and why the rest was left out.
#[derive(Debug, Default)]
pub struct Parsed {
    pub entries: Vec<Entry>,
    pub skipped: Vec<String>,
}

impl Parsed {
    pub fn skip(&mut self, why: impl Into<String>) {
        self.skipped.push(why.into());
    }
}

/// The schema fields an entry gives; only `key` beside them.
const SYNTAX: Syntax = Syntax {
    required: &["title", "published_at", "content_markdown"],
    read_date: schema::read_rfc3339,
    date_rule: schema::RFC3339_RULE,
    also_accepts: |_| false,
};

impl Entry {
    /// The entry in the item schema's fields.
    fn document(&self, base: &Url, authors: &[String]) -> Map<String, Value> {
        let title = self.title.split_whitespace().collect::<Vec<_>>().join(" ");
        let body = html::to_body(&self.html, base);
        let mut doc = json!({
            "title": title,
            "published_at": rfc3339(whole_seconds(self.published_at)),
            "links": links_of(&body, base),
            "content_markdown": body,
            "status": self.status.as_str(),
            "tags": self.tags,
            "authors": authors,
        });
        if let Some(summary) = self
            .summary
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            doc["summary"] = json!(summary);
        }
        if let Some(slug) = self.slug.as_deref().filter(|s| is_slug(s)) {
            doc["slug"] = json!(slug);
        }
        if let Some(image) = self.image.as_ref().and_then(|i| i.document(&title)) {
            doc["image"] = image;
        }
        match doc {
            Value::Object(map) => map,
            _ => unreachable!("a JSON object literal"),
        }
    }

    /// The entry as an item to import, or why the schema refuses it.
    pub fn to_item(
        &self,
        base: &Url,
        now: DateTime<Utc>,
        bylines: &mut Bylines,
    ) -> Result<SourcedItem, String> {
        let authors = byline_slugs(self.authors.iter().map(|a| a.name.as_str()), bylines);
        let mut item = schema::parse(&self.document(base, &authors), &SYNTAX, None, now, base)
            .map_err(|errors| schema::describe(&errors))?;
        // Two posts of one blog may share a slug (a post and a page, or across years): the
        // later one gets a suffix, as an API item with a derived slug does.
        item.derived_slug = true;
        Ok(SourcedItem {
            source_key: self.key.clone(),
            item,
        })
    }
}

/// The entities the HTML we render and import writes, decoded.
fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

/// The text of an HTML fragment: tags dropped, entities decoded.
pub fn text_of_html(html: &str) -> String {
    static TAG: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"<[^>]*>").expect("the pattern compiles"));
    unescape(&TAG.replace_all(html, ""))
}

/// The links of a body as readers see it (Markdown links and HTML anchors alike), each URL
/// once, those the schema takes only: an HTML body's anchors are what Markdown's links are to
/// a Markdown one.
fn links_of(body: &str, base: &Url) -> Vec<Link> {
    static ANCHOR: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"(?s)<a\s[^>]*?href="([^"]*)"[^>]*>(.*?)</a>"#).expect("the pattern compiles")
    });
    let rendered = markdown::to_html(body, base);
    let mut seen = HashSet::new();
    let mut links = Vec::new();
    for anchor in ANCHOR.captures_iter(&rendered) {
        let url = unescape(&anchor[1]);
        if !schema::is_link_url(&url) || !seen.insert(url.clone()) {
            continue;
        }
        let text = text_of_html(&anchor[2]);
        let text: String = text
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .take(schema::MAX_TITLE_CHARS)
            .collect();
        let title = if text.trim().is_empty() {
            url.clone()
        } else {
            text
        };
        links.push(Link { title, url });
        if links.len() == schema::MAX_LINKS {
            break;
        }
    }
    links
}

fn is_slug(s: &str) -> bool {
    s.len() <= schema::MAX_SLUG_BYTES
        && crate::model::slugify(s) == s
        && s.bytes().any(|b| b.is_ascii_lowercase())
}

/// Items for every entry, with the authors they name, or an error naming each refused entry
/// by its title and key.
pub fn to_items(
    parsed: &Parsed,
    base: &Url,
    now: DateTime<Utc>,
) -> anyhow::Result<(Vec<SourcedItem>, Bylines)> {
    let mut items = Vec::with_capacity(parsed.entries.len());
    let mut bylines = Bylines::new();
    let mut broken = Vec::new();
    for entry in &parsed.entries {
        match entry.to_item(base, now, &mut bylines) {
            Ok(item) => items.push(item),
            Err(why) => {
                let title: String = entry.title.chars().take(60).collect();
                broken.push(format!("the post `{title}` ({}): {why}", entry.key));
            }
        }
    }
    if !broken.is_empty() {
        anyhow::bail!("{}", broken.join("; "));
    }
    Ok((items, bylines))
}

/// A date as sources write it: RFC 3339, RFC 2822 (RSS), or `YYYY-MM-DD HH:MM:SS` in UTC
/// (WordPress's `_gmt` columns).
pub fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_rfc2822(text))
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
                .ok()
                .map(|t| t.and_utc())
        })
        .map(whole_seconds)
}
