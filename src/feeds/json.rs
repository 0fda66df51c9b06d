//! JSON Feed 1.1 (<https://jsonfeed.org/version/1.1>) through serde: no maintained crate exists.

use serde::Serialize;

use super::{FeedDoc, rfc3339};
use crate::model::Link;

pub const VERSION: &str = "https://jsonfeed.org/version/1.1";

/// JSON Feed 1.1 `authors[]`: `name`, and `url` and `avatar` when known.
#[derive(Serialize)]
struct Author<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    avatar: Option<&'a str>,
}

impl<'a> Author<'a> {
    fn named(name: &'a str) -> Self {
        Self {
            name,
            url: None,
            avatar: None,
        }
    }
}

#[derive(Serialize)]
struct JsonFeed<'a> {
    version: &'static str,
    title: &'a str,
    home_page_url: &'a str,
    feed_url: &'a str,
    description: &'a str,
    language: &'a str,
    authors: [Author<'a>; 1],
    /// JSON Feed paging: the next older archive (RFC 5005's `prev-archive`).
    #[serde(skip_serializing_if = "Option::is_none")]
    next_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hubs: Vec<Hub<'a>>,
    items: Vec<JsonItem<'a>>,
}

/// JSON Feed 1.1 `hubs`: where to subscribe for real-time notifications.
#[derive(Serialize)]
struct Hub<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    url: &'a str,
}

/// Item links have no JSON Feed field; extensions start with `_` (JSON Feed 1.1, "Extensions").
#[derive(Serialize)]
struct HeraldExtension<'a> {
    links: &'a [Link],
}

#[derive(Serialize)]
struct JsonItem<'a> {
    id: &'a str,
    url: &'a str,
    title: &'a str,
    content_html: &'a str,
    summary: &'a str,
    date_published: String,
    date_modified: String,
    authors: Vec<Author<'a>>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    tags: &'a [String],
    /// JSON Feed 1.1: the item's main image, and the same as its banner.
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    banner_image: Option<&'a str>,
    #[serde(rename = "_herald")]
    herald: HeraldExtension<'a>,
}

pub fn render(feed: &FeedDoc) -> anyhow::Result<Vec<u8>> {
    let doc = JsonFeed {
        version: VERSION,
        title: &feed.title,
        home_page_url: &feed.home_url,
        feed_url: &feed.self_url,
        description: &feed.subtitle,
        language: &feed.language,
        authors: [Author::named(&feed.author)],
        next_url: feed.history.prev_archive.as_deref(),
        hubs: feed
            .hub_url
            .iter()
            .map(|url| Hub {
                kind: "WebSub",
                url,
            })
            .collect(),
        items: feed
            .entries
            .iter()
            .map(|e| JsonItem {
                id: &e.id,
                url: &e.url,
                title: &e.title,
                content_html: &e.content_html,
                summary: &e.summary,
                date_published: rfc3339(e.published),
                date_modified: rfc3339(e.updated),
                authors: if e.authors.is_empty() {
                    vec![Author::named(&feed.author)]
                } else {
                    e.authors
                        .iter()
                        .map(|p| Author {
                            name: &p.name,
                            url: p.url.as_deref(),
                            avatar: p.avatar.as_deref(),
                        })
                        .collect()
                },
                tags: &e.tags,
                image: e.image.as_ref().map(|i| i.url.as_str()),
                banner_image: e.image.as_ref().map(|i| i.url.as_str()),
                herald: HeraldExtension { links: &e.links },
            })
            .collect(),
    };
    Ok(serde_json::to_vec(&doc)?)
}
