//! Any RSS 2.0 feed file: each item becomes an item, known by its `guid`, else its link. The
//! body is `content:encoded` when given (the description then is the summary, as text), else
//! the description; categories become tags; `author` or `dc:creator` the authors; an image
//! enclosure or `media:content`/`media:thumbnail` the image.

use anyhow::Context;

use super::entry::{Author, Entry, Image, Parsed, parse_date};
use crate::model::Status;

pub fn parse(text: &str) -> anyhow::Result<Parsed> {
    let channel = rss::Channel::read_from(text.as_bytes()).context("not an RSS 2.0 feed")?;
    let mut parsed = Parsed::default();
    for item in channel.items() {
        let title = item.title().unwrap_or_default().trim().to_owned();
        let key = match (item.guid().map(|g| g.value().trim()), item.link()) {
            (Some(guid), _) if !guid.is_empty() => format!("rss:{guid}"),
            (_, Some(link)) if !link.trim().is_empty() => format!("rss:{}", link.trim()),
            _ => {
                parsed.skip(format!("`{title}`: neither a guid nor a link"));
                continue;
            }
        };
        if title.is_empty() {
            parsed.skip(format!("{key}: no title"));
            continue;
        }
        let Some(published_at) = item
            .pub_date()
            .or_else(|| {
                item.dublin_core_ext()
                    .and_then(|dc| dc.dates().first().map(String::as_str))
            })
            .and_then(parse_date)
        else {
            parsed.skip(format!("`{title}`: no readable pubDate"));
            continue;
        };
        let (html, summary) = match item.content() {
            Some(content) => (
                content.to_owned(),
                item.description()
                    .filter(|d| !d.contains('<'))
                    .map(str::to_owned),
            ),
            None => (item.description().unwrap_or_default().to_owned(), None),
        };
        let mut authors: Vec<Author> = item
            .author()
            .into_iter()
            .chain(
                item.dublin_core_ext()
                    .map(|dc| dc.creators())
                    .unwrap_or_default()
                    .iter()
                    .map(String::as_str),
            )
            .map(|name| Author {
                name: name.trim().to_owned(),
                email: None,
                url: None,
            })
            .collect();
        authors.dedup();
        let media = item.extensions().get("media");
        let image = item
            .enclosure()
            .filter(|e| e.mime_type().starts_with("image/"))
            .map(|e| e.url().to_owned())
            .or_else(|| {
                let media = media?;
                ["content", "thumbnail"]
                    .iter()
                    .filter_map(|name| media.get(*name))
                    .flatten()
                    .find(|m| m.attrs().get("medium").is_none_or(|m| m == "image"))
                    .and_then(|m| m.attrs().get("url").cloned())
            })
            .map(|url| {
                // Media RSS texts of that image, inside its `media:content` or beside it.
                let text = |name: &str| {
                    let media = media?;
                    let content = media.get("content").into_iter().flatten();
                    content
                        .filter(|m| m.attrs().get("url") == Some(&url))
                        .filter_map(|m| m.children().get(name)?.first())
                        .chain(media.get(name).into_iter().flatten())
                        .find_map(|e| e.value().map(str::to_owned))
                };
                Image {
                    alt: text("description"),
                    credit: text("credit"),
                    caption: None,
                    url,
                }
            });
        parsed.entries.push(Entry {
            key,
            title,
            slug: None,
            summary,
            html,
            published_at,
            status: Status::Published,
            tags: item
                .categories()
                .iter()
                .map(|c| c.name().trim().to_owned())
                .filter(|c| !c.is_empty())
                .collect(),
            authors,
            image,
        });
    }
    Ok(parsed)
}
