//! Atom 1.0 (RFC 4287) through `atom_syndication`.

use atom_syndication::{
    Category, Content, Entry as AtomEntry, Feed, Generator, Link as AtomLink, Person, Text,
};
use chrono::{DateTime, FixedOffset, Utc};
use std::collections::BTreeMap;

use super::{Entry, FH_NAMESPACE, FeedDoc, Format, History, Person as Byline};

fn fixed(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    t.fixed_offset()
}

fn link(href: &str, rel: &str, mime_type: Option<&str>, title: Option<&str>) -> AtomLink {
    AtomLink {
        href: href.to_owned(),
        rel: rel.to_owned(),
        mime_type: mime_type.map(str::to_owned),
        title: title.filter(|t| !t.is_empty()).map(str::to_owned),
        ..Default::default()
    }
}

fn person(name: &str) -> Person {
    Person {
        name: name.to_owned(),
        ..Default::default()
    }
}

/// RFC 4287 §3.2: a person's `uri` is an IRI associated with them (their page).
fn byline(p: &Byline) -> Person {
    Person {
        name: p.name.clone(),
        uri: p.url.clone(),
        ..Default::default()
    }
}

fn entry(e: &Entry, author: &str) -> AtomEntry {
    let mut links = vec![link(&e.url, "alternate", Some("text/html"), None)];
    links.extend(
        e.links
            .iter()
            .map(|l| link(&l.url, "related", None, Some(&l.title))),
    );
    if let Some(image) = &e.image {
        links.push(AtomLink {
            href: image.url.clone(),
            rel: "enclosure".to_owned(),
            mime_type: Some(image.enclosure_type().to_owned()),
            // Optional in Atom: left out when unknown rather than claimed as 0.
            length: (image.bytes > 0).then(|| image.bytes.to_string()),
            ..Default::default()
        });
    }
    AtomEntry {
        title: Text::plain(e.title.clone()),
        id: e.id.clone(),
        updated: fixed(e.updated),
        published: Some(fixed(e.published)),
        authors: e.authors_or(author).iter().map(byline).collect(),
        categories: e
            .tags
            .iter()
            .map(|tag| Category {
                term: tag.clone(),
                ..Default::default()
            })
            .collect(),
        links,
        summary: Some(Text::plain(e.summary.clone())),
        content: Some(Content {
            value: Some(e.content_html.clone()),
            content_type: Some("html".to_owned()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn render(feed: &FeedDoc) -> anyhow::Result<Vec<u8>> {
    let atom = Feed {
        title: Text::plain(feed.title.clone()),
        subtitle: Some(Text::plain(feed.subtitle.clone())),
        id: feed.self_url.clone(),
        lang: Some(feed.language.clone()),
        // Never the crate default (1970) unless the feed really is empty.
        updated: fixed(feed.updated),
        authors: vec![person(&feed.author)],
        generator: Some(Generator {
            value: "Herald".to_owned(),
            ..Default::default()
        }),
        links: [
            link(&feed.home_url, "alternate", Some("text/html"), None),
            link(
                &feed.self_url,
                "self",
                Some(Format::Atom.content_type()),
                None,
            ),
        ]
        .into_iter()
        .chain(
            feed.hub_url
                .as_deref()
                .map(|hub| link(hub, "hub", None, None)),
        )
        .chain(history_links(&feed.history))
        .collect(),
        namespaces: history_namespaces(&feed.history),
        entries: feed
            .entries
            .iter()
            .map(|e| entry(e, &feed.author))
            .collect(),
        ..Default::default()
    };
    let xml = atom.write_to(Vec::with_capacity(64 * 1024))?;
    Ok(mark_archive(xml, &feed.history))
}

/// `<fh:archive/>` on an archive document (RFC 5005 section 4), among the feed's own elements:
/// RFC 4287's schema allows extension elements of a feed only before its entries, and
/// atom_syndication writes its extensions after them. The head holds only escaped text, so the
/// first `<entry>` is where the entries start.
fn mark_archive(mut xml: Vec<u8>, history: &History) -> Vec<u8> {
    const MARKER: &[u8] = b"<fh:archive/>";
    if history.is_archive() {
        let at = xml
            .windows(b"<entry>".len())
            .position(|w| w == b"<entry>")
            .or_else(|| xml.windows(b"</feed>".len()).rposition(|w| w == b"</feed>"))
            .unwrap_or(xml.len());
        xml.splice(at..at, MARKER.iter().copied());
    }
    xml
}

/// RFC 5005's links between the subscription feed and its archives.
fn history_links(history: &History) -> impl Iterator<Item = AtomLink> + '_ {
    [
        ("prev-archive", &history.prev_archive),
        ("next-archive", &history.next_archive),
        ("current", &history.current),
    ]
    .into_iter()
    .filter_map(|(rel, href)| {
        href.as_deref()
            .map(|href| link(href, rel, Some(Format::Atom.content_type()), None))
    })
}

fn history_namespaces(history: &History) -> BTreeMap<String, String> {
    history
        .is_archive()
        .then(|| ("fh".to_owned(), FH_NAMESPACE.to_owned()))
        .into_iter()
        .collect()
}
