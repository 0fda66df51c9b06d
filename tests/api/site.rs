//! The site readers and crawlers find by themselves: the news as HTML with feed autodiscovery,
//! RFC 5005 archives reaching every item once, sitemaps and robots.txt.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use quick_xml::Reader;
use quick_xml::events::Event;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, test_now};

const SEED_ITEMS: usize = 4;

/// `count` items `Item 1`…, imported as the bulk format does; `status` picks drafts and
/// scheduled ones by number.
async fn import_items(app: &TestApp, count: usize, status: impl Fn(usize) -> &'static str) {
    import_range(app, 1..=count, status).await;
}

/// Items `Item {n}` for each `n`, `n` hours old, in one import (which hands out ids oldest
/// first).
async fn import_range(
    app: &TestApp,
    numbers: std::ops::RangeInclusive<usize>,
    status: impl Fn(usize) -> &'static str,
) {
    let lines: Vec<Value> = numbers
        .map(|n| {
            let published = match status(n) {
                "scheduled" => test_now() + Duration::days(30),
                _ => test_now() - Duration::hours(n as i64),
            };
            let tags = if n % 3 == 0 { vec!["third"] } else { vec![] };
            json!({
                "key": format!("k{n}"),
                "title": format!("Item {n}"),
                "published_at": published.to_rfc3339(),
                "content_markdown": format!("Body of item {n} with [a link](https://example.org/{n})."),
                "status": if status(n) == "draft" { "draft" } else { "published" },
                "tags": tags,
            })
        })
        .collect();
    app.import_json_lines(&lines).await;
}

async fn text_of(app: &TestApp, url: &str) -> (reqwest::header::HeaderMap, String) {
    let response = app.client.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200, "GET {url}");
    let headers = response.headers().clone();
    (headers, response.text().await.unwrap())
}

fn cache_control(headers: &reqwest::header::HeaderMap) -> &str {
    headers
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_news_page_lists_items_newest_first_with_paging_and_autodiscovery() {
    let app = spawn_app().await;
    import_items(&app, 25, |n| if n == 7 { "draft" } else { "published" }).await;

    let root = app.raw("GET", "/", &[]).await;
    assert_eq!(root.status, 301);
    assert_eq!(root.header("location"), Some(app.url("news").as_str()));

    let (headers, first) = text_of(&app, &app.url("news")).await;
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert!(headers.contains_key("etag") && headers.contains_key("last-modified"));
    assert!(
        first.starts_with("<!doctype html>\n<html lang=\"en\">"),
        "{first}"
    );
    for (mime, name, path) in [
        ("application/atom+xml", "Atom", "feed.atom"),
        ("application/rss+xml", "RSS", "feed.rss"),
        ("application/feed+json", "JSON Feed", "feed.json"),
    ] {
        let link = format!(
            "<link rel=\"alternate\" type=\"{mime}\" title=\"News ({name})\" href=\"{}\">",
            app.url(path)
        );
        assert!(first.contains(&link), "autodiscovery of {path}: {first}");
    }
    assert!(!first.contains("<script"), "no scripts");
    assert!(first.contains("<title>News</title>"));
    // Newest first: Item 1 is an hour old, Item 2 two hours, … (the seed is older).
    let positions: Vec<usize> = [1, 2, 3, 4]
        .iter()
        .map(|n| first.find(&format!(">Item {n}</a></h2>")).expect("listed"))
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "newest first");
    assert!(!first.contains(">Item 7</a>"), "drafts stay hidden");
    assert!(
        first.contains("href=\"https://example.org/1\""),
        "bodies keep their links"
    );
    assert!(first.contains("<time datetime=\""));

    // The next page via rel="next", until none follows: every public item once.
    let mut seen = Vec::new();
    let mut page = first;
    let mut pages = 1;
    loop {
        seen.extend(
            page.match_indices("</a></h2>")
                .map(|(end, _)| page[..end].rsplit('>').next().unwrap().to_owned()),
        );
        let Some(start) = page.find("<link rel=\"next\" href=\"") else {
            break;
        };
        let rest = &page[start + 23..];
        let next = rest[..rest.find('"').unwrap()].replace("&amp;", "&");
        assert!(page.contains("<a rel=\"next\""), "a visible link too");
        page = text_of(&app, &next).await.1;
        pages += 1;
    }
    assert_eq!(pages, 2);
    assert_eq!(seen.len(), 24 + SEED_ITEMS, "{seen:?}");
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "each item once");

    // The same cache and validators as every public answer.
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let again = app.raw("GET", "/news", &[("If-None-Match", &etag)]).await;
    assert_eq!(again.status, 304);
}

#[tokio::test]
async fn html_pages_escape_what_they_show_and_tag_pages_announce_the_tag_feeds() {
    let app = spawn_app().await;
    app.import_json_lines(&[json!({
        "key": "hostile",
        "title": "<script>alert(1)</script> & \"quotes\"",
        "published_at": (test_now() - Duration::hours(1)).to_rfc3339(),
        "content_markdown": "Hello <script>alert(2)</script>",
        "tags": ["a b&c"],
    })])
    .await;
    let (headers, news) = text_of(&app, &app.url("news")).await;
    assert!(!news.contains("<script>"), "{news}");
    assert!(news.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;"));
    assert!(cache_control(&headers).starts_with("public"), "{headers:?}");
    assert!(headers.contains_key("content-security-policy"));

    // `&` may stand in a path segment; the href escapes it for HTML.
    let tag_page = app.url("tags/a%20b&c");
    assert!(news.contains(&format!("href=\"{}\"", tag_page.replace('&', "&amp;"))));
    let (_, page) = text_of(&app, &tag_page).await;
    for format in ["atom", "rss", "json"] {
        let feed = app.url(&format!("tags/a%20b&c/feed.{format}"));
        let href = format!("href=\"{}\"", feed.replace('&', "&amp;"));
        assert!(page.contains(&href), "{format}: {page}");
        // The announced feed is the tag's.
        let response = app.client.get(&feed).send().await.unwrap();
        assert_eq!(response.status(), 200);
    }
    assert!(page.contains("<title>News: a b&amp;c</title>"), "{page}");
    assert!(page.contains("&lt;script&gt;alert(1)"));
    assert!(
        !page.contains(">The launch of Working Group Two<"),
        "other tags' items"
    );

    // The item page announces the feeds as well.
    let (_, item) = text_of(&app, &app.url("news/the-launch-of-working-group-two")).await;
    assert!(item.contains(&format!(
        "type=\"application/atom+xml\" title=\"News (Atom)\" href=\"{}\"",
        app.url("feed.atom")
    )));

    // A bad cursor is a 400 naming it, not a page.
    let bad = app.get("/news?cursor=nonsense").await;
    let problem = crate::helpers::assert_problem(bad, 400).await;
    assert!(problem.to_string().contains("cursor"), "{problem}");
}

/// The `href` of every `<link rel=…>` (Atom) or `<atom:link rel=…>` (RSS) in `xml`.
fn links(xml: &str, rel: &str) -> Vec<String> {
    let mut reader = Reader::from_str(xml);
    let decoder = reader.decoder();
    let mut found = Vec::new();
    loop {
        match reader.read_event().unwrap() {
            Event::Eof => return found,
            Event::Empty(e) | Event::Start(e) if e.local_name().as_ref() == b"link" => {
                let attr = |name: &[u8]| {
                    e.attributes()
                        .flatten()
                        .find(|a| a.key.as_ref() == name)
                        .map(|a| {
                            a.decoded_and_normalized_value(
                                quick_xml::XmlVersion::Explicit1_0,
                                decoder,
                            )
                            .unwrap()
                            .into_owned()
                        })
                };
                if attr(b"rel").as_deref() == Some(rel)
                    && let Some(href) = attr(b"href")
                {
                    found.push(href);
                }
            }
            _ => {}
        }
    }
}

/// The titles of a feed document's items, in any format.
fn titles(format: &str, body: &str) -> Vec<String> {
    match format {
        "atom" => atom_syndication::Feed::read_from(body.as_bytes())
            .unwrap()
            .entries()
            .iter()
            .map(|e| e.title().value.clone())
            .collect(),
        "rss" => rss::Channel::read_from(body.as_bytes())
            .unwrap()
            .items()
            .iter()
            .map(|i| i.title().unwrap().to_owned())
            .collect(),
        _ => serde_json::from_str::<Value>(body).unwrap()["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["title"].as_str().unwrap().to_owned())
            .collect(),
    }
}

/// The older document a feed document links to: `prev-archive`, or JSON Feed's `next_url`.
fn older(format: &str, body: &str) -> Option<String> {
    match format {
        "json" => serde_json::from_str::<Value>(body).unwrap()["next_url"]
            .as_str()
            .map(str::to_owned),
        _ => {
            let found = links(body, "prev-archive");
            assert!(found.len() <= 1, "{found:?}");
            found.into_iter().next()
        }
    }
}

struct Walk {
    /// Titles from the archives, with how often each came.
    archived: HashMap<String, usize>,
    /// Archive URLs, newest first, with their `Cache-Control`.
    archives: Vec<(String, String)>,
}

/// Follows the archive links from the subscription feed `feed` to the oldest archive.
async fn walk(app: &TestApp, feed: &str, format: &str) -> Walk {
    let (_, subscription) = text_of(app, &app.url(feed)).await;
    assert!(!subscription.contains("fh:archive"), "{feed} is no archive");
    let mut next = older(format, &subscription);
    let mut walk = Walk {
        archived: HashMap::new(),
        archives: Vec::new(),
    };
    while let Some(url) = next {
        assert!(walk.archives.len() < 50, "the walk ends");
        let (headers, body) = text_of(app, &url).await;
        if format != "json" {
            let marker = body.find("<fh:archive");
            assert!(marker.is_some(), "{url} is marked as an archive");
            // RFC 4287's schema allows a feed's extension elements only before its entries.
            let first_entry = body.find("<entry>").or_else(|| body.find("<item>"));
            assert!(
                format == "rss" || first_entry.is_none_or(|entry| marker < Some(entry)),
                "{url}: fh:archive before the entries"
            );
            let current = links(&body, "current");
            assert_eq!(current, vec![app.url(feed)], "{url} names its feed");
            assert_eq!(links(&body, "self"), vec![url.clone()]);
        }
        for title in titles(format, &body) {
            *walk.archived.entry(title).or_default() += 1;
        }
        walk.archives
            .push((url.clone(), cache_control(&headers).to_owned()));
        next = older(format, &body);
    }
    walk
}

#[tokio::test]
async fn an_archive_walk_from_every_subscription_feed_reaches_every_public_item_once() {
    let app = spawn_app().await;
    // Ids 5 to 254 (an import hands them out oldest first): archives 1-100, 101-200 (with the
    // scheduled item, the newest of the first import) and the open 201-300.
    import_range(&app, 101..=250, |n| match n {
        120 => "scheduled",
        160 => "draft",
        _ => "published",
    })
    .await;
    import_range(
        &app,
        1..=100,
        |n| if n == 10 { "draft" } else { "published" },
    )
    .await;
    let scheduled = app.stored_item("item-120").await.id;
    assert!((101..=200).contains(&scheduled), "{scheduled}");
    let public: Vec<String> = (1..=250)
        .filter(|n| ![10, 160, 120].contains(n))
        .map(|n| format!("Item {n}"))
        .collect();

    for format in ["atom", "rss", "json"] {
        let walk = walk(&app, &format!("feed.{format}"), format).await;
        assert_eq!(
            walk.archives
                .iter()
                .map(|(u, _)| u.clone())
                .collect::<Vec<_>>(),
            ["201-300", "101-200", "1-100"]
                .map(|r| app.url(&format!("archives/{r}/feed.{format}")))
        );
        assert_eq!(walk.archived.len(), public.len() + SEED_ITEMS, "{format}");
        assert!(
            walk.archived.values().all(|&n| n == 1),
            "{format}: once each"
        );
        for title in &public {
            assert!(walk.archived.contains_key(title), "{format}: {title}");
        }
        // Only a range no new id can enter, with nothing scheduled, is complete.
        let policies: Vec<&str> = walk.archives.iter().map(|(_, c)| c.as_str()).collect();
        assert_eq!(
            policies[2], "public, max-age=31536000, immutable",
            "{format}"
        );
        assert!(!policies[1].contains("immutable"), "a scheduled item waits");
        assert!(!policies[0].contains("immutable"), "the open archive grows");

        // A tag's feed has its own archives with its items only.
        let tag_walk = walk_tag(&app, format).await;
        let expected = public
            .iter()
            .filter(|t| t[5..].parse::<usize>().unwrap() % 3 == 0)
            .count();
        assert_eq!(tag_walk.archived.len(), expected, "{format}");
        assert!(tag_walk.archived.values().all(|&n| n == 1));
    }

    // The scheduled item goes live: its archive holds it and is complete from then on.
    app.clock.advance(Duration::days(31));
    let walk = walk(&app, "feed.atom", "atom").await;
    assert_eq!(walk.archived.get("Item 120"), Some(&1));
    assert_eq!(walk.archives[1].1, "public, max-age=31536000, immutable");
}

async fn walk_tag(app: &TestApp, format: &str) -> Walk {
    walk(app, &format!("tags/third/feed.{format}"), format).await
}

#[tokio::test]
async fn an_edit_updates_its_archive_and_a_delete_removes_it() {
    let app = spawn_app().await;
    import_items(&app, 150, |_| "published").await;
    // An old item: the import handed it a low id.
    let item = app.stored_item("item-140").await;
    assert!(item.id <= 100, "{}", item.id);
    let archive = app.url("archives/1-100/feed.atom");
    let (before_headers, before) = text_of(&app, &archive).await;
    assert!(before.contains(">Item 140<"));
    let etag = before_headers["etag"].to_str().unwrap().to_owned();

    let token = app.token().await;
    let edited = app
        .authed(
            reqwest::Method::PATCH,
            &format!("api/v1/news/{}", item.id),
            &token,
        )
        .json(&json!({"title": "Item 140, corrected"}))
        .send()
        .await
        .unwrap();
    assert_eq!(edited.status(), 200);
    let (after_headers, after) = text_of(&app, &archive).await;
    assert!(after.contains(">Item 140, corrected<") && !after.contains(">Item 140<"));
    assert_ne!(after_headers["etag"].to_str().unwrap(), etag);
    assert_eq!(
        cache_control(&after_headers),
        "public, max-age=31536000, immutable"
    );
    // Revalidation answers 304 and keeps the archive's own policy.
    let etag = after_headers["etag"].to_str().unwrap();
    let path = "/archives/1-100/feed.atom";
    let not_modified = app.raw("GET", path, &[("If-None-Match", etag)]).await;
    assert_eq!(not_modified.status, 304);
    assert_eq!(
        not_modified.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    app.raw("HEAD", path, &[]).await.assert_head_of(after.len());

    let deleted = app
        .authed(
            reqwest::Method::DELETE,
            &format!("api/v1/news/{}", item.id),
            &token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let (_, gone) = text_of(&app, &archive).await;
    assert!(!gone.contains("Item 140, corrected"));

    // Ranges that are not archives are not found.
    for path in [
        "archives/2-101/feed.atom",
        "archives/1-100/feed.txt",
        "archives/1001-2000/feed.atom",
        "archives/0-99/feed.atom",
    ] {
        let response = app.get(path).await;
        crate::helpers::assert_problem(response, 404).await;
    }
}

/// Each `<tag>` text of `xml`, in order, entities resolved.
fn texts(xml: &str, tag: &str) -> Vec<String> {
    let mut reader = Reader::from_str(xml);
    let (mut found, mut current) = (Vec::new(), None::<String>);
    loop {
        match reader.read_event().unwrap() {
            Event::Eof => return found,
            Event::Start(e) if e.name().as_ref() == tag.as_bytes() => current = Some(String::new()),
            Event::Text(t) => {
                if let Some(text) = &mut current {
                    text.push_str(&t.decode().unwrap());
                }
            }
            Event::GeneralRef(r) => {
                if let Some(text) = &mut current {
                    let name = r.decode().unwrap();
                    text.push_str(match name.as_ref() {
                        "amp" => "&",
                        "lt" => "<",
                        "gt" => ">",
                        "quot" => "\"",
                        "apos" => "'",
                        other => panic!("unexpected entity {other}"),
                    });
                }
            }
            Event::End(_) => found.extend(current.take()),
            _ => {}
        }
    }
}

#[tokio::test]
async fn the_sitemap_lists_every_public_item_page_with_its_last_change() {
    let app = spawn_app().await;
    import_items(&app, 12, |n| match n {
        2 => "draft",
        3 => "scheduled",
        _ => "published",
    })
    .await;
    let (headers, sitemap) = text_of(&app, &app.url("sitemap.xml")).await;
    assert_eq!(headers["content-type"], "application/xml; charset=utf-8");
    assert!(sitemap.contains("<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">"));
    let locs = texts(&sitemap, "loc");
    assert_eq!(locs.len(), 10 + SEED_ITEMS, "{sitemap}");
    assert!(locs.contains(&app.url("news/item-1")));
    assert!(!locs.contains(&app.url("news/item-2")) && !locs.contains(&app.url("news/item-3")));
    let item = app.stored_item("item-1").await;
    let lastmods = texts(&sitemap, "lastmod");
    let at = locs
        .iter()
        .position(|l| *l == app.url("news/item-1"))
        .unwrap();
    let lastmod: DateTime<Utc> = lastmods[at].parse().unwrap();
    assert_eq!(lastmod, item.updated_at.max(item.published_at));

    let robots = app.get("/robots.txt").await;
    assert_eq!(robots.status(), 200);
    let robots = robots.text().await.unwrap();
    assert!(robots.contains(&format!("Sitemap: {}\n", app.url("sitemap.xml"))));
    assert!(robots.contains(&format!("Sitemap: {}\n", app.url("news-sitemap.xml"))));
}

#[tokio::test]
async fn past_fifty_thousand_ids_the_sitemap_is_an_index_of_parts() {
    let app = spawn_app().await;
    // Ids move on as if 50,000 items had been written (and most deleted) before these.
    let mut positions = app.state.store.positions().await.unwrap();
    positions.item_id = 50_000;
    app.state.store.advance_positions(positions).await.unwrap();
    import_items(&app, 3, |_| "published").await;

    let (_, index) = text_of(&app, &app.url("sitemap.xml")).await;
    assert!(index.contains("<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">"));
    let parts = texts(&index, "loc");
    assert_eq!(
        parts,
        [app.url("sitemaps/1.xml"), app.url("sitemaps/2.xml")]
    );
    let (_, first) = text_of(&app, &parts[0]).await;
    assert_eq!(texts(&first, "loc").len(), SEED_ITEMS);
    let (_, second) = text_of(&app, &parts[1]).await;
    let mut second = texts(&second, "loc");
    second.sort();
    assert_eq!(
        second,
        (1..=3)
            .map(|n| app.url(&format!("news/item-{n}")))
            .collect::<Vec<_>>()
    );
    crate::helpers::assert_problem(app.get("/sitemaps/3.xml").await, 404).await;
    crate::helpers::assert_problem(app.get("/sitemaps/0.xml").await, 404).await;
}

#[tokio::test]
async fn the_news_sitemap_holds_the_last_two_days_by_google_news_rules() {
    let app = spawn_app().await;
    app.import_json_lines(&[
        json!({"key": "new", "title": "Fresh & new", "published_at": (test_now() - Duration::hours(47)).to_rfc3339(), "content_markdown": "x"}),
        json!({"key": "old", "title": "Three days old", "published_at": (test_now() - Duration::hours(72)).to_rfc3339(), "content_markdown": "y"}),
    ])
    .await;
    let (headers, news) = text_of(&app, &app.url("news-sitemap.xml")).await;
    assert_eq!(headers["content-type"], "application/xml; charset=utf-8");
    assert!(news.contains("xmlns:news=\"http://www.google.com/schemas/sitemap-news/0.9\""));
    assert_eq!(texts(&news, "loc"), [app.url("news/fresh-new")]);
    assert_eq!(texts(&news, "news:name"), ["News"]);
    assert_eq!(texts(&news, "news:language"), ["en"]);
    assert_eq!(texts(&news, "news:title"), ["Fresh & new"]);
    let date: DateTime<Utc> = texts(&news, "news:publication_date")[0].parse().unwrap();
    assert_eq!(date, test_now() - Duration::hours(47));

    // Two hours later the article has left the window, with no write in between.
    app.clock.advance(Duration::hours(2));
    let (_, later) = text_of(&app, &app.url("news-sitemap.xml")).await;
    assert!(texts(&later, "loc").is_empty(), "{later}");
}
