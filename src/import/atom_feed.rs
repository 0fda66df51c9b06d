//! Any Atom 1.0 feed file (RFC 4287): each entry becomes an item, known by its `id`. The body
//! is the `content` (HTML, XHTML or text), else the `summary`; a text summary beside content
//! is the summary; `published`, else `updated`, is the date; categories (their labels, else
//! terms) become tags; authors are read with their email and URI; an image `enclosure` link is
//! the image.

use anyhow::Context;

use super::entry::{Author, Entry, Image, Parsed};
use crate::model::{Status, whole_seconds};

/// A text construct's value as HTML.
fn as_html(value: &str, kind: &str) -> String {
    match kind {
        "html" | "xhtml" | "text/html" | "application/xhtml+xml" => value.to_owned(),
        _ => format!("<p>{}</p>", escape(value)),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub fn parse(text: &str) -> anyhow::Result<Parsed> {
    let feed = atom_syndication::Feed::read_from(text.as_bytes()).context("not an Atom feed")?;
    let mut parsed = Parsed::default();
    for entry in feed.entries() {
        let title = entry.title().value.trim().to_owned();
        let id = entry.id().trim();
        if id.is_empty() {
            parsed.skip(format!("`{title}`: no id"));
            continue;
        }
        let key = format!("atom:{id}");
        if title.is_empty() {
            parsed.skip(format!("{key}: no title"));
            continue;
        }
        let published_at = whole_seconds(
            entry
                .published()
                .unwrap_or(entry.updated())
                .with_timezone(&chrono::Utc),
        );
        let summary = entry.summary().map(|s| {
            let kind = match s.r#type {
                atom_syndication::TextType::Text => "text",
                atom_syndication::TextType::Html => "html",
                atom_syndication::TextType::Xhtml => "xhtml",
            };
            (s.value.clone(), kind)
        });
        let (html, summary) = match entry.content() {
            Some(content) => (
                as_html(
                    content.value().unwrap_or_default(),
                    content.content_type().unwrap_or("text"),
                ),
                summary
                    .filter(|(_, kind)| *kind == "text")
                    .map(|(value, _)| value),
            ),
            None => (
                summary
                    .map(|(value, kind)| as_html(&value, kind))
                    .unwrap_or_default(),
                None,
            ),
        };
        parsed.entries.push(Entry {
            key,
            title,
            slug: None,
            summary,
            html,
            published_at,
            status: Status::Published,
            tags: entry
                .categories()
                .iter()
                .map(|c| c.label().unwrap_or(c.term()).trim().to_owned())
                .filter(|c| !c.is_empty())
                .collect(),
            authors: entry
                .authors()
                .iter()
                .map(|p| Author {
                    name: p.name().trim().to_owned(),
                    email: p.email().map(str::to_owned),
                    url: p.uri().map(str::to_owned),
                })
                .collect(),
            image: entry
                .links()
                .iter()
                .find(|l| {
                    l.rel() == "enclosure" && l.mime_type().is_some_and(|t| t.starts_with("image/"))
                })
                .map(|l| Image {
                    url: l.href().to_owned(),
                    alt: l.title().map(str::to_owned),
                    ..Image::default()
                }),
        });
    }
    Ok(parsed)
}
