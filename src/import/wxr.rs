//! WordPress's export (WXR: Tools → Export), an RSS 2.0 file with WordPress's own elements:
//! posts become items (pages, attachments, menus and the like are skipped), categories and
//! tags become tags, `publish`/`future` posts are published (future ones scheduled by their
//! date), `draft`/`pending`/`private` ones drafts, trash and auto-drafts skipped. Authors come
//! from the channel's `wp:author` list, featured images from the `_thumbnail_id` post meta and
//! the attachment it names. A post is known by its `guid`, else its `wp:post_id`.

use std::collections::HashMap;

use anyhow::Context;
use rss::extension::{Extension, ExtensionMap};

use super::entry::{Author, Entry, Image, Parsed, parse_date};
use super::html;
use crate::model::Status;

/// The namespace every WXR version declares (`…/export/1.2/` and its elders).
pub const NAMESPACE: &str = "http://wordpress.org/export/";

fn wp<'a>(extensions: &'a ExtensionMap, name: &str) -> &'a [Extension] {
    extensions
        .get("wp")
        .and_then(|wp| wp.get(name))
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn wp_value<'a>(extensions: &'a ExtensionMap, name: &str) -> Option<&'a str> {
    wp(extensions, name)
        .first()
        .and_then(|e| e.value())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn child<'a>(ext: &'a Extension, name: &str) -> Option<&'a str> {
    ext.children()
        .get(name)
        .and_then(|v| v.first())
        .and_then(|e| e.value())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// Reads a checked WXR document.
pub fn parse(text: &str) -> anyhow::Result<Parsed> {
    let channel = rss::Channel::read_from(text.as_bytes()).context("not a WordPress export")?;
    let authors: HashMap<&str, Author> = wp(channel.extensions(), "author")
        .iter()
        .filter_map(|a| {
            let login = child(a, "author_login")?;
            let name = child(a, "author_display_name").unwrap_or(login);
            Some((
                login,
                Author {
                    name: name.to_owned(),
                    email: child(a, "author_email").map(str::to_owned),
                    url: None,
                },
            ))
        })
        .collect();
    // Each attachment's URL, with its alt text and caption (the excerpt) when it has them.
    let attachments: HashMap<&str, Image> = channel
        .items()
        .iter()
        .filter(|i| wp_value(i.extensions(), "post_type") == Some("attachment"))
        .filter_map(|i| {
            let ext = i.extensions();
            let alt = wp(ext, "postmeta")
                .iter()
                .find(|m| child(m, "meta_key") == Some("_wp_attachment_image_alt"))
                .and_then(|m| child(m, "meta_value"))
                .map(str::to_owned);
            let caption = ext
                .get("excerpt")
                .and_then(|e| e.get("encoded"))
                .and_then(|v| v.first())
                .and_then(|e| e.value())
                .map(str::trim)
                .filter(|s| !s.is_empty() && !s.contains('<'))
                .map(str::to_owned);
            Some((
                wp_value(ext, "post_id")?,
                Image {
                    url: wp_value(ext, "attachment_url")?.to_owned(),
                    alt,
                    caption,
                    credit: None,
                },
            ))
        })
        .collect();
    let mut parsed = Parsed::default();
    for item in channel.items() {
        let ext = item.extensions();
        let title = item.title().unwrap_or_default().trim().to_owned();
        let post_type = wp_value(ext, "post_type").unwrap_or("post");
        if post_type != "post" {
            parsed.skip(format!("`{title}`: a {post_type}, not a post"));
            continue;
        }
        let status = match wp_value(ext, "status").unwrap_or("publish") {
            "publish" | "future" => Status::Published,
            "draft" | "pending" | "private" => Status::Draft,
            other => {
                parsed.skip(format!("`{title}`: status `{other}`"));
                continue;
            }
        };
        let key = match (
            item.guid().map(|g| g.value().trim()),
            wp_value(ext, "post_id"),
        ) {
            (Some(guid), _) if !guid.is_empty() => format!("wxr:{guid}"),
            (_, Some(id)) => format!("wxr:post:{id}"),
            _ => {
                parsed.skip(format!("`{title}`: neither a guid nor a post id"));
                continue;
            }
        };
        // Drafts have no GMT date (`0000-00-00 00:00:00`); their local date stands in.
        let published_at = ["post_date_gmt", "post_date"]
            .iter()
            .filter_map(|name| wp_value(ext, name))
            .chain(item.pub_date())
            .find_map(parse_date);
        let Some(published_at) = published_at else {
            parsed.skip(format!("`{title}`: no readable date"));
            continue;
        };
        if title.is_empty() {
            parsed.skip(format!("{key}: no title"));
            continue;
        }
        let image = wp(ext, "postmeta")
            .iter()
            .find(|m| child(m, "meta_key") == Some("_thumbnail_id"))
            .and_then(|m| child(m, "meta_value"))
            .and_then(|id| attachments.get(id))
            .cloned();
        let authors = item
            .dublin_core_ext()
            .map(|dc| dc.creators())
            .unwrap_or_default()
            .iter()
            .map(|login| {
                authors.get(login.as_str()).cloned().unwrap_or(Author {
                    name: login.clone(),
                    email: None,
                    url: None,
                })
            })
            .collect();
        let summary = item
            .extensions()
            .get("excerpt")
            .and_then(|e| e.get("encoded"))
            .and_then(|v| v.first())
            .and_then(|e| e.value())
            .filter(|s| !s.contains('<'))
            .map(str::to_owned);
        parsed.entries.push(Entry {
            key,
            title,
            slug: wp_value(ext, "post_name").map(str::to_owned),
            summary,
            html: html::autop(item.content().unwrap_or_default()),
            published_at,
            status,
            tags: item
                .categories()
                .iter()
                .filter(|c| matches!(c.domain(), None | Some("category" | "post_tag")))
                .map(|c| c.name().trim().to_owned())
                .filter(|c| !c.is_empty() && c != "Uncategorized")
                .collect(),
            authors,
            image,
        });
    }
    Ok(parsed)
}
