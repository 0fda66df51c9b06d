//! RSS 2.0 through the `rss` crate, with `atom:link rel="self"`, `content:encoded` for the full
//! HTML and `dc:creator` for the author (RSS's own `<author>` must be an e-mail address).

use ::rss::extension::atom::{AtomExtension, Link as AtomLink};
use ::rss::extension::dublincore::DublinCoreExtension;
use ::rss::{Category, Channel, Enclosure, Guid, Item};
use chrono::{DateTime, Utc};

use std::collections::BTreeMap;

use ::rss::extension::{Extension, ExtensionMap};

use super::text::html_escaped;
use super::{Entry, FH_NAMESPACE, FeedDoc, Format};
use crate::images::ImageView;

/// RFC 822 (with a four-digit year, as RFC 1123 and every reader expect).
fn rfc822(t: DateTime<Utc>) -> String {
    t.to_rfc2822()
}

/// RSS readers render `title`, `description` and `category` as HTML, so the plain text of each
/// goes in escaped: a summary that mentions `<script>` shows as those characters, never runs.
fn item(entry: &Entry, author: &str) -> Item {
    Item {
        title: Some(html_escaped(&entry.title)),
        link: Some(entry.url.clone()),
        description: Some(html_escaped(&entry.summary)),
        content: Some(entry.content_html.clone()),
        guid: Some(Guid {
            value: entry.id.clone(),
            permalink: false,
        }),
        pub_date: Some(rfc822(entry.published)),
        categories: entry
            .tags
            .iter()
            .map(|tag| Category {
                name: html_escaped(tag),
                domain: None,
            })
            .collect(),
        enclosure: entry.image.as_ref().map(|image| Enclosure {
            url: image.url.clone(),
            // RSS requires a length; 0 says "unknown" for an image hosted elsewhere.
            length: image.bytes.to_string(),
            mime_type: image.enclosure_type().to_owned(),
        }),
        extensions: entry.image.as_ref().map(media_rss).unwrap_or_default(),
        dublin_core_ext: Some(DublinCoreExtension {
            // One `dc:creator` per author, in byline order.
            creators: entry
                .authors_or(author)
                .into_iter()
                .map(|p| p.name)
                .collect(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The namespace of Media RSS (`media:content`, `media:thumbnail`).
pub const MEDIA_NAMESPACE: &str = "http://search.yahoo.com/mrss/";

fn element(name: &str, attrs: &[(&str, String)], value: Option<String>) -> Extension {
    Extension {
        name: format!("media:{name}"),
        value,
        attrs: attrs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
        children: BTreeMap::new(),
    }
}

/// Media RSS: `media:content` (medium, size, type) holding the alt text as its
/// `media:description`, the credit, and a `media:thumbnail` (the smallest size).
fn media_rss(image: &ImageView) -> ExtensionMap {
    let mut attrs = vec![
        ("url", image.url.clone()),
        ("medium", "image".to_owned()),
        ("type", image.enclosure_type().to_owned()),
    ];
    if image.bytes > 0 {
        attrs.push(("fileSize", image.bytes.to_string()));
    }
    if let (Some(w), Some(h)) = (image.width, image.height) {
        attrs.push(("width", w.to_string()));
        attrs.push(("height", h.to_string()));
    }
    let mut content = element("content", &attrs, None);
    let mut child = |name: &str, e: Extension| {
        content.children.insert(name.to_owned(), vec![e]);
    };
    // As HTML, escaped like RSS's own texts: validators take markup-looking characters in a
    // plain description for markup.
    child(
        "description",
        element(
            "description",
            &[("type", "html".to_owned())],
            Some(html_escaped(&image.alt)),
        ),
    );
    if let Some(credit) = &image.credit {
        child("credit", element("credit", &[], Some(credit.clone())));
    }
    let thumbnail = match &image.thumbnail {
        Some(t) => vec![
            ("url", t.url.clone()),
            ("width", t.width.to_string()),
            ("height", t.height.to_string()),
        ],
        None => vec![("url", image.url.clone())],
    };
    child("thumbnail", element("thumbnail", &thumbnail, None));
    let mut map = ExtensionMap::new();
    map.entry("media".to_owned())
        .or_default()
        .insert("content".to_owned(), vec![content]);
    map
}

pub fn render(feed: &FeedDoc) -> anyhow::Result<Vec<u8>> {
    let channel = Channel {
        title: html_escaped(&feed.title),
        link: feed.home_url.clone(),
        description: html_escaped(&feed.subtitle),
        language: Some(feed.language.clone()),
        last_build_date: Some(rfc822(feed.updated)),
        generator: Some("Herald".to_owned()),
        atom_ext: Some(AtomExtension {
            links: std::iter::once(AtomLink {
                href: feed.self_url.clone(),
                rel: "self".to_owned(),
                mime_type: Some(Format::Rss.content_type().to_owned()),
                ..Default::default()
            })
            .chain(feed.hub_url.iter().map(|hub| AtomLink {
                href: hub.clone(),
                rel: "hub".to_owned(),
                ..Default::default()
            }))
            .chain(
                [
                    ("prev-archive", &feed.history.prev_archive),
                    ("next-archive", &feed.history.next_archive),
                    ("current", &feed.history.current),
                ]
                .into_iter()
                .filter_map(|(rel, href)| {
                    href.as_ref().map(|href| AtomLink {
                        href: href.clone(),
                        rel: rel.to_owned(),
                        mime_type: Some(Format::Rss.content_type().to_owned()),
                        ..Default::default()
                    })
                }),
            )
            .collect(),
        }),
        namespaces: {
            let mut namespaces = BTreeMap::new();
            if feed.history.is_archive() {
                namespaces.insert("fh".to_owned(), FH_NAMESPACE.to_owned());
            }
            if feed.entries.iter().any(|e| e.image.is_some()) {
                namespaces.insert("media".to_owned(), MEDIA_NAMESPACE.to_owned());
            }
            namespaces
        },
        extensions: archive_marker(feed.history.is_archive()),
        items: feed.entries.iter().map(|e| item(e, &feed.author)).collect(),
        ..Default::default()
    };
    let xml = channel.write_to(Vec::with_capacity(64 * 1024))?;
    Ok(hex_references(&xml))
}

/// `&amp;` and `&lt;` written as `&#x26;` and `&#x3C;`, as the RSS Best Practices Profile asks
/// of plain text ("Encoding & and <"): the same characters to any XML parser (and to HTML in
/// CDATA), and the sign validators and readers take for escaped text rather than markup.
fn hex_references(xml: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(xml.len() + xml.len() / 32);
    let mut rest = xml;
    while let Some(at) = rest.iter().position(|&b| b == b'&') {
        out.extend_from_slice(&rest[..at]);
        rest = &rest[at..];
        if let Some(after) = rest.strip_prefix(b"&amp;") {
            out.extend_from_slice(b"&#x26;");
            rest = after;
        } else if let Some(after) = rest.strip_prefix(b"&lt;") {
            out.extend_from_slice(b"&#x3C;");
            rest = after;
        } else {
            out.push(b'&');
            rest = &rest[1..];
        }
    }
    out.extend_from_slice(rest);
    out
}

/// `<fh:archive/>` on an archive document (RFC 5005 section 4).
fn archive_marker(is_archive: bool) -> ExtensionMap {
    let mut map = ExtensionMap::new();
    if is_archive {
        let marker = Extension {
            name: "fh:archive".to_owned(),
            ..Default::default()
        };
        map.entry("fh".to_owned())
            .or_default()
            .insert("archive".to_owned(), vec![marker]);
    }
    map
}
