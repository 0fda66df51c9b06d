//! Atom 1.0 (RFC 4287) through `atom_syndication`.

use atom_syndication::{
    Category, Content, Entry as AtomEntry, Feed, Generator, Link as AtomLink, Person, Text,
};
use chrono::{DateTime, FixedOffset, Utc};

use super::{Entry, FeedDoc, Format};

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

fn entry(e: &Entry, author: &str) -> AtomEntry {
    let mut links = vec![link(&e.url, "alternate", Some("text/html"), None)];
    links.extend(
        e.links
            .iter()
            .map(|l| link(&l.url, "related", None, Some(&l.title))),
    );
    AtomEntry {
        title: Text::plain(e.title.clone()),
        id: e.id.clone(),
        updated: fixed(e.updated),
        published: Some(fixed(e.published)),
        authors: vec![person(author)],
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
        .collect(),
        entries: feed
            .entries
            .iter()
            .map(|e| entry(e, &feed.author))
            .collect(),
        ..Default::default()
    };
    Ok(atom.write_to(Vec::with_capacity(64 * 1024))?)
}
