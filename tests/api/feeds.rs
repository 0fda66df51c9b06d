//! Feeds: formats and aliases, validity whatever the content, stable ids, per-tag and filtered
//! feeds, HTTP caching (validators, 304s, HEAD, gzip/brotli) and scheduled items going live.

use std::io::Read;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use herald::clock::Clock;
use herald::model::{ItemDraft, Link, Status};
use herald::store::{SourcedItem, WriteItem};
use reqwest::header::HeaderMap;
use serde_json::Value;
use tempfile::TempDir;

use crate::helpers::{
    RawResponse, TestApp, assert_problem, seed_dir, settings_for, spawn_adjusted, spawn_app,
    spawn_configured, spawn_with,
};

const RSS: &str = "application/rss+xml; charset=utf-8";
const ATOM: &str = "application/atom+xml; charset=utf-8";
const JSON_FEED: &str = "application/feed+json";

/// Every feed URL and the content type it must answer with.
const FEEDS: [(&str, &str); 6] = [
    ("/feed.rss", RSS),
    ("/rss.xml", RSS),
    ("/feed.atom", ATOM),
    ("/feed.xml", ATOM),
    ("/atom.xml", ATOM),
    ("/feed.json", JSON_FEED),
];

const SEED_TITLES: [&str; 4] = [
    "Working Group Two discussed in Reuters article",
    "Signing our Head of Engineering",
    "The launch of Working Group Two",
    "Working Group Two readies commercial launch",
];

fn draft(title: &str, published_at: DateTime<Utc>, markdown: &str, tags: &[&str]) -> ItemDraft {
    ItemDraft {
        slug: herald::model::slugify(title),
        title: title.to_owned(),
        summary: None,
        content_markdown: markdown.to_owned(),
        status: Status::Published,
        published_at,
        links: herald::markdown::links(markdown),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        authors: vec![],
        image: None,
    }
}

/// Stores an item the API would refuse (hostile text, relative links as an importer keeps
/// them), or with `key` updates it, through the store-writing fixture helper.
async fn seed(app: &TestApp, key: &str, draft: ItemDraft) {
    let item = SourcedItem {
        source_key: key.to_owned(),
        item: WriteItem::render(draft, &app.base),
    };
    app.seed_items(&[item]).await;
}

/// The writable fields of `draft` as an API document; links are left to be taken from the body.
fn document(draft: &ItemDraft) -> Value {
    let mut doc = serde_json::json!({
        "title": draft.title,
        "slug": draft.slug,
        "content_markdown": draft.content_markdown,
        "status": draft.status.as_str(),
        "published_at": draft.published_at.to_rfc3339(),
        "tags": draft.tags,
    });
    if let Some(summary) = &draft.summary {
        doc["summary"] = summary.as_str().into();
    }
    doc
}

/// Creates an item through the API, as an editor does; returns its API path.
async fn post(app: &TestApp, draft: ItemDraft) -> String {
    let token = app.token().await;
    let response = app
        .authed(reqwest::Method::POST, "/api/v1/news", &token)
        .json(&document(&draft))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{}", draft.title);
    let item: Value = response.json().await.unwrap();
    format!("/api/v1/news/{}", item["id"])
}

/// Replaces the item at `path` through the API.
async fn replace(app: &TestApp, path: &str, draft: ItemDraft) {
    let token = app.token().await;
    let response = app
        .authed(reqwest::Method::PUT, path, &token)
        .json(&document(&draft))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", draft.title);
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

async fn guid_of(app: &TestApp, slug: &str) -> String {
    app.stored_item(slug).await.guid
}

fn raw_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_gzip()
        .no_brotli()
        .build()
        .unwrap()
}

/// GET without automatic decompression, with extra headers.
async fn raw_get(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = raw_client().get(app.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

async fn body(app: &TestApp, path: &str) -> (HeaderMap, Vec<u8>) {
    let response = raw_get(app, path, &[]).await;
    assert_eq!(response.status(), 200, "GET {path}");
    let headers = response.headers().clone();
    (headers, response.bytes().await.unwrap().to_vec())
}

fn parse(bytes: &[u8]) -> feed_rs::model::Feed {
    feed_rs::parser::parse(bytes)
        .unwrap_or_else(|e| panic!("unparseable feed: {e}\n{}", String::from_utf8_lossy(bytes)))
}

fn titles(feed: &feed_rs::model::Feed) -> Vec<String> {
    feed.entries
        .iter()
        .map(|e| e.title.as_ref().unwrap().content.clone())
        .collect()
}

fn ids(feed: &feed_rs::model::Feed) -> Vec<String> {
    feed.entries.iter().map(|e| e.id.clone()).collect()
}

fn json_ids(feed: &Value) -> Vec<String> {
    feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Validates against the JSON Feed 1.1 schema, plus what the schema is loose about: the version
/// and RFC 3339 dates with a time zone.
pub fn assert_valid_json_feed(feed: &Value) {
    let schema: Value = serde_json::from_str(include_str!("../data/jsonfeed-1.1.schema.json"))
        .expect("the schema is JSON");
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the schema compiles");
    let errors: Vec<String> = validator.iter_errors(feed).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "schema errors: {errors:?}\n{feed:#}");
    assert_eq!(feed["version"], "https://jsonfeed.org/version/1.1");
    for item in feed["items"].as_array().unwrap() {
        for field in ["date_published", "date_modified"] {
            let text = item[field].as_str().unwrap();
            DateTime::parse_from_rfc3339(text).unwrap_or_else(|e| panic!("{field} {text}: {e}"));
        }
    }
}

/// Every date element of an XML feed carries a time zone (RFC 822 zone or RFC 3339 offset).
fn assert_dates_have_zones(xml: &str) {
    let mut found = 0;
    for tag in ["pubDate", "lastBuildDate", "updated", "published"] {
        let open = format!("<{tag}>");
        for piece in xml.split(&open).skip(1) {
            let date = &piece[..piece.find('<').unwrap()];
            found += 1;
            if tag.ends_with("Date") {
                assert!(
                    date.ends_with("+0000") || date.ends_with("GMT"),
                    "{tag}: {date}"
                );
                DateTime::parse_from_rfc2822(date).unwrap_or_else(|e| panic!("{date}: {e}"));
            } else {
                DateTime::parse_from_rfc3339(date).unwrap_or_else(|e| panic!("{date}: {e}"));
                assert!(
                    date.ends_with('Z') || date.ends_with("+00:00"),
                    "{tag}: {date}"
                );
            }
        }
    }
    assert!(found > 0, "no dates in {xml}");
}

#[tokio::test]
async fn every_format_and_alias_serves_the_seed_with_its_content_type() {
    let app = spawn_app().await;
    let guid = guid_of(&app, "signing-our-head-of-engineering").await;
    for (path, content_type) in FEEDS {
        let (headers, bytes) = body(&app, path).await;
        assert_eq!(headers["content-type"], content_type, "{path}");
        let feed = parse(&bytes);
        assert_eq!(titles(&feed), SEED_TITLES, "{path}");
        assert_eq!(ids(&feed)[1], guid, "{path}: ids are the stored guids");
        assert!(guid.starts_with("urn:uuid:"));
        let entry = &feed.entries[1];
        assert_eq!(
            entry.links[0].href,
            app.url("/news/signing-our-head-of-engineering")
        );
        assert_eq!(entry.published, Some(at("2017-12-04T00:00:00Z")), "{path}");
        let html = entry.content.as_ref().unwrap().body.as_ref().unwrap();
        assert!(
            html.starts_with("<p>We are proud and happy"),
            "{path}: {html}"
        );
        let summary = &entry.summary.as_ref().unwrap().content;
        assert!(
            summary.starts_with("We are proud and happy"),
            "{path}: {summary}"
        );
        assert!(!summary.contains('<'), "plain text: {summary}");
        if content_type == JSON_FEED {
            assert_valid_json_feed(&serde_json::from_slice(&bytes).unwrap());
        } else {
            assert_dates_have_zones(std::str::from_utf8(&bytes).unwrap());
        }
    }
    // Aliases serve the same document as the canonical URL.
    assert_eq!(
        body(&app, "/feed.xml").await.1,
        body(&app, "/feed.atom").await.1
    );
    assert_eq!(
        body(&app, "/atom.xml").await.1,
        body(&app, "/feed.atom").await.1
    );
    assert_eq!(
        body(&app, "/rss.xml").await.1,
        body(&app, "/feed.rss").await.1
    );
}

#[tokio::test]
async fn feeds_describe_themselves_and_their_items() {
    let app = spawn_app().await;
    // The relative link is kept as an importer stores it; the API only takes absolute ones.
    seed(
        &app,
        "t:tagged",
        draft(
            "Tagged news",
            at("2025-06-01T08:00:00Z"),
            "See [the docs](/docs/start) and [Example](https://example.org/x).",
            &["press", "launch"],
        ),
    )
    .await;
    let (_, rss) = body(&app, "/feed.rss").await;
    let rss = String::from_utf8(rss).unwrap();
    for needle in [
        "<title>News</title>".to_owned(),
        format!("<link>{}</link>", app.base),
        "<description>The latest news</description>".to_owned(),
        format!(
            "<atom:link href=\"{}\" rel=\"self\" type=\"application/rss+xml; charset=utf-8\"/>",
            app.url("/feed.rss")
        ),
        format!(
            "<guid isPermaLink=\"false\">{}</guid>",
            guid_of(&app, "tagged-news").await
        ),
        "<pubDate>Sun, 1 Jun 2025 08:00:00 +0000</pubDate>".to_owned(),
        "<category>launch</category>".to_owned(),
        "<dc:creator>News</dc:creator>".to_owned(),
        // The feed changed when its newest item was written, not when it was requested.
        "<lastBuildDate>Thu, 1 Jan 2026 12:00:00 +0000</lastBuildDate>".to_owned(),
    ] {
        assert!(rss.contains(&needle), "RSS lacks {needle}:\n{rss}");
    }

    let (_, atom) = body(&app, "/feed.atom").await;
    let atom_text = String::from_utf8(atom.clone()).unwrap();
    let feed = parse(&atom);
    assert_eq!(feed.title.as_ref().unwrap().content, "News");
    assert_eq!(
        feed.description.as_ref().unwrap().content,
        "The latest news"
    );
    assert_eq!(feed.updated, Some(at("2026-01-01T12:00:00Z")));
    let self_link = feed.links.iter().find(|l| l.rel.as_deref() == Some("self"));
    assert_eq!(self_link.unwrap().href, app.url("/feed.atom"));
    let home = feed
        .links
        .iter()
        .find(|l| l.rel.as_deref() == Some("alternate"));
    assert_eq!(home.unwrap().href, app.base.as_str());
    let entry = &feed.entries[0];
    assert_eq!(entry.title.as_ref().unwrap().content, "Tagged news");
    assert_eq!(entry.authors[0].name, "News");
    let terms: Vec<&str> = entry.categories.iter().map(|c| c.term.as_str()).collect();
    assert_eq!(terms, ["launch", "press"]);
    let related: Vec<&str> = entry
        .links
        .iter()
        .filter(|l| l.rel.as_deref() == Some("related"))
        .map(|l| l.href.as_str())
        .collect();
    assert_eq!(related, ["/docs/start", "https://example.org/x"]);
    assert!(atom_text.contains("<published>2025-06-01T08:00:00+00:00</published>"));
    // Relative links in bodies are absolute in every feed.
    let html = entry.content.as_ref().unwrap().body.as_ref().unwrap();
    assert!(
        html.contains(&format!("href=\"{}\"", app.url("/docs/start"))),
        "{html}"
    );

    let json: Value = serde_json::from_slice(&body(&app, "/feed.json").await.1).unwrap();
    assert_valid_json_feed(&json);
    assert_eq!(json["feed_url"], app.url("/feed.json"));
    assert_eq!(json["home_page_url"], app.base.as_str());
    assert_eq!(
        json["items"][0]["tags"],
        serde_json::json!(["launch", "press"])
    );
    assert_eq!(json["items"][0]["authors"][0]["name"], "News");
    assert!(
        json["items"][0]["content_html"]
            .as_str()
            .unwrap()
            .contains(&app.url("/docs/start"))
    );
}

#[tokio::test]
async fn title_author_size_and_cache_age_are_configurable() {
    let dir = Arc::new(TempDir::new().unwrap());
    let mut settings = settings_for(dir.path(), Some(seed_dir()));
    settings.feed.title = "Acme".to_owned();
    settings.feed.author = "Acme press desk".to_owned();
    settings.feed.size = 2;
    settings.cache_max_age = 300;
    let app = spawn_configured(dir, settings).await;
    let (headers, atom) = body(&app, "/feed.atom").await;
    assert_eq!(headers["cache-control"], "public, max-age=300");
    let feed = parse(&atom);
    assert_eq!(feed.title.as_ref().unwrap().content, "Acme");
    assert_eq!(titles(&feed), SEED_TITLES[..2]);
    assert_eq!(feed.entries[0].authors[0].name, "Acme press desk");
    let json = app.get("/api/v1/news").await;
    assert_eq!(json.headers()["cache-control"], "public, max-age=300");
}

#[tokio::test]
async fn per_tag_and_filtered_feeds_list_only_matching_items() {
    let app = spawn_app().await;
    post(
        &app,
        draft("Press one", at("2025-01-01T00:00:00Z"), "a", &["press"]),
    )
    .await;
    post(
        &app,
        draft(
            "Both",
            at("2025-01-02T00:00:00Z"),
            "b",
            &["press", "launch"],
        ),
    )
    .await;
    post(
        &app,
        draft("Launch only", at("2025-01-03T00:00:00Z"), "c", &["launch"]),
    )
    .await;
    for ext in ["rss", "atom", "json"] {
        let (headers, bytes) = body(&app, &format!("/tags/press/feed.{ext}")).await;
        let feed = parse(&bytes);
        assert_eq!(titles(&feed), ["Both", "Press one"], "{ext}");
        assert!(
            feed.title.as_ref().unwrap().content.ends_with("press"),
            "{ext}"
        );
        let expected = FEEDS.iter().find(|(p, _)| p.ends_with(ext)).unwrap().1;
        assert_eq!(headers["content-type"], expected);
    }
    // The JSON API's filters work on feed URLs, alone and with a tag path.
    let feed = parse(&body(&app, "/feed.atom?tag=launch").await.1);
    assert_eq!(titles(&feed), ["Launch only", "Both"]);
    let feed = parse(&body(&app, "/tags/PRESS/feed.atom?tag=launch").await.1);
    assert_eq!(titles(&feed), ["Both"]);
    let self_link = feed.links.iter().find(|l| l.rel.as_deref() == Some("self"));
    assert_eq!(
        self_link.unwrap().href,
        app.url("/tags/press/feed.atom?tag=launch")
    );
    // Order and repeats do not make another feed.
    let a = body(&app, "/feed.rss?tag=press&tag=launch").await.1;
    let b = body(&app, "/feed.rss?tag=launch&tag=press&tag=press&x=1")
        .await
        .1;
    assert_eq!(a, b);
    assert!(String::from_utf8(a).unwrap().contains(&format!(
        "href=\"{}\"",
        // RSS writes `&` as a hexadecimal reference (the RSS Best Practices Profile).
        app.url("/feed.rss?tag=launch&#x26;tag=press")
    )));
    let feed = parse(&body(&app, "/tags/nothing-here/feed.rss").await.1);
    assert!(feed.entries.is_empty());
    // An empty feed is still valid JSON Feed.
    let empty: Value =
        serde_json::from_slice(&body(&app, "/tags/nothing-here/feed.json").await.1).unwrap();
    assert_valid_json_feed(&empty);

    assert_problem(app.get("/tags/press/feed.html").await, 404).await;
    let bad = assert_problem(app.get("/feed.atom?tag=").await, 400).await;
    assert_eq!(bad["errors"][0]["field"], "tag");
    let bad = assert_problem(app.get("/feed.json?limit=0").await, 400).await;
    assert_eq!(bad["errors"][0]["field"], "limit");
    let response = app.client.post(app.url("/feed.atom")).send().await.unwrap();
    assert_problem(response, 405).await;
}

#[tokio::test]
async fn per_query_feeds_stay_within_the_cache_budget() {
    let budget = 32 * 1024;
    let app = spawn_adjusted(|settings| settings.cache_budget = budget).await;
    for i in 0..200 {
        let response = app.get(&format!("/tags/t{i}/feed.json")).await;
        assert_eq!(response.status(), 200);
    }
    let stats = app.state.responses.stats();
    assert!(stats.bytes <= budget, "{stats:?}");
    assert!(stats.evictions > 0, "{stats:?}");
    // Parameters the list API ignores share the canonical feed's entry and self link.
    let canonical = body(&app, "/feed.atom").await.1;
    let renders = app.state.responses.stats().renders;
    for i in 0..10 {
        let path = format!("/feed.atom?utm_source={i}&limit=5");
        let response = app.get(&path).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.bytes().await.unwrap(), canonical, "{path}");
    }
    assert_eq!(app.state.responses.stats().renders, renders);
}

async fn all_ids(app: &TestApp) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for path in ["/feed.rss", "/feed.atom"] {
        out.push(ids(&parse(&body(app, path).await.1)));
    }
    let json: Value = serde_json::from_slice(&body(app, "/feed.json").await.1).unwrap();
    out.push(json_ids(&json));
    out
}

#[tokio::test]
async fn ids_survive_edits_restarts_and_a_new_public_url() {
    let dir = Arc::new(TempDir::new().unwrap());
    let first = spawn_with(dir.clone(), Some(seed_dir())).await;
    let path = post(
        &first,
        draft("Original title", at("2025-05-05T00:00:00Z"), "v1", &[]),
    )
    .await;
    let before = all_ids(&first).await;
    let guid = guid_of(&first, "original-title").await;
    assert_eq!(before[0][0], guid);
    assert!(before.iter().all(|ids| ids == &before[0]), "{before:?}");

    // Title, slug and body change: the ids do not.
    replace(
        &first,
        &path,
        draft("A new title", at("2025-05-05T00:00:00Z"), "v2", &[]),
    )
    .await;
    let feed = parse(&body(&first, "/feed.atom").await.1);
    assert_eq!(
        feed.entries[0].title.as_ref().unwrap().content,
        "A new title"
    );
    assert_eq!(all_ids(&first).await, before);
    first.stop().await;

    let second = spawn_with(dir.clone(), Some(seed_dir())).await;
    assert_eq!(all_ids(&second).await, before);
    second.stop().await;

    // Behind a proxy at another URL: links move, ids stay.
    let (_moved, port) = spawn_moved(dir, Some(seed_dir())).await;
    let atom = raw_client()
        .get(format!("http://127.0.0.1:{port}/feed.atom"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let feed = parse(&atom);
    assert_eq!(ids(&feed), before[1]);
    assert_eq!(
        feed.entries[0].links[0].href,
        "https://news.example.org/herald/news/a-new-title"
    );
}

/// Starts the service on `dir` behind a proxy at https://news.example.org/herald/, returning it
/// with the local port to call (its links name the public URL, which does not resolve here).
async fn spawn_moved(dir: Arc<TempDir>, seed: Option<std::path::PathBuf>) -> (TestApp, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut settings = settings_for(dir.path(), seed);
    settings.bind = ([127, 0, 0, 1], port).into();
    settings.public_url = Some("https://news.example.org/herald/".parse().unwrap());
    (spawn_configured(dir, settings).await, port)
}

/// A new public URL re-renders every stored body at start-up, however many there are (they are
/// read in chunks, so this crosses chunk boundaries).
#[tokio::test]
async fn a_new_public_url_re_renders_every_body() {
    let dir = Arc::new(TempDir::new().unwrap());
    let first = spawn_with(dir.clone(), None).await;
    let lines: Vec<Value> = (0..1200)
        .map(|i| {
            serde_json::json!({
                "key": format!("t:{i}"),
                "title": format!("Item {i}"),
                "published_at": "2025-05-05T00:00:00Z",
                "content_markdown": format!("See [the archive](/archive/{i})."),
            })
        })
        .collect();
    first.import_json_lines(&lines).await;
    first.stop().await;

    let (_moved, port) = spawn_moved(dir, None).await;
    // Links in responses name the public URL, so the walk follows `next_cursor` by hand.
    let first = format!("http://127.0.0.1:{port}/api/v1/news?limit=100&fields=content_html");
    let (mut bodies, mut url) = (Vec::new(), first.clone());
    loop {
        let page: Value = raw_client()
            .get(&url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for item in page["items"].as_array().unwrap() {
            bodies.push(item["content_html"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => url = format!("{first}&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(bodies.len(), 1200);
    for body in &bodies {
        assert!(
            body.contains("href=\"https://news.example.org/archive/"),
            "{body}"
        );
    }
}

/// Checks a 304 as sent: no body, the ETag and Cache-Control repeated, never `Expires`, and no
/// `Last-Modified` beside the ETag (RFC 9110 §15.4.5: a 304 carries no metadata but what
/// updates a cache, and with a strong ETag unchanged the date is unchanged too).
fn assert_not_modified(response: RawResponse, etag: &str) {
    assert_eq!(response.status, 304);
    response.assert_no_content();
    assert_eq!(response.header("etag"), Some(etag));
    assert_eq!(response.header("last-modified"), None);
    assert!(
        response
            .header("cache-control")
            .unwrap()
            .starts_with("public, max-age=")
    );
    assert_eq!(response.header("expires"), None);
}

#[tokio::test]
async fn conditional_requests_answer_304_on_feeds_and_json() {
    let app = spawn_app().await;
    post(
        &app,
        draft("Tagged x", at("2025-01-01T00:00:00Z"), "x", &["x"]),
    )
    .await;
    let item_path = format!(
        "/api/v1/news/{}",
        app.get_json("/api/v1/news").await["items"][0]["id"]
    );
    for path in [
        "/feed.atom",
        "/feed.rss",
        "/feed.json",
        "/tags/x/feed.atom",
        "/api/v1/news",
        &item_path,
    ] {
        let response = raw_get(&app, path, &[]).await;
        assert_eq!(response.status(), 200);
        let headers = response.headers().clone();
        let etag = headers["etag"].to_str().unwrap().to_owned();
        assert!(
            etag.starts_with('"') && !etag.starts_with("W/"),
            "strong: {etag}"
        );
        let last_modified = headers["last-modified"].to_str().unwrap().to_owned();
        assert_eq!(headers["cache-control"], "public, max-age=60", "{path}");
        assert!(!headers.contains_key("expires"), "{path}");
        assert_eq!(
            headers["etag"],
            etag::strong(&response.bytes().await.unwrap())
        );

        let later = "Fri, 01 Jan 2100 00:00:00 GMT";
        let earlier = "Sat, 01 Jan 2000 00:00:00 GMT";
        for headers in [
            vec![("if-none-match", etag.as_str())],
            vec![("if-none-match", &format!("\"other\", W/{etag}"))],
            vec![("if-none-match", "*")],
            vec![("if-modified-since", last_modified.as_str())],
            vec![("if-modified-since", later)],
            // If-None-Match decides when both are sent.
            vec![
                ("if-none-match", etag.as_str()),
                ("if-modified-since", earlier),
            ],
        ] {
            assert_not_modified(app.raw("GET", path, &headers).await, &etag);
        }
        for headers in [
            vec![("if-none-match", "\"stale\"")],
            vec![("if-modified-since", earlier)],
            vec![("if-modified-since", "not a date")],
            vec![("if-none-match", "\"stale\""), ("if-modified-since", later)],
        ] {
            let response = raw_get(&app, path, &headers).await;
            assert_eq!(response.status(), 200, "{path} {headers:?}");
            assert!(!response.bytes().await.unwrap().is_empty());
        }
    }
    // Liveness probes must not be answered by a cache.
    assert_eq!(
        app.get("/healthz").await.headers()["cache-control"],
        "no-store"
    );
}

mod etag {
    pub fn strong(bytes: &[u8]) -> String {
        herald::etag::strong(bytes)
    }
}

async fn etag_of(app: &TestApp, path: &str) -> String {
    let response = raw_get(app, path, &[]).await;
    assert_eq!(response.status(), 200, "{path}");
    response.headers()["etag"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn etags_change_with_content_and_only_then() {
    let app = spawn_app().await;
    let paths = ["/feed.atom", "/feed.rss", "/feed.json", "/api/v1/news"];
    let mut tags = Vec::new();
    for path in paths {
        tags.push(etag_of(&app, path).await);
    }
    for label in ["no change", "empty revision"] {
        // A revision bump that changes nothing readers see leaves the ETags alone.
        if label == "empty revision" {
            app.state.content_changed();
        }
        for (path, tag) in paths.iter().zip(&tags) {
            assert_eq!(&etag_of(&app, path).await, tag, "{label}: {path}");
        }
    }

    // Create.
    let path = post(&app, draft("Fresh", at("2025-01-01T00:00:00Z"), "x", &[])).await;
    let mut created = Vec::new();
    for (path, tag) in paths.iter().zip(&tags) {
        let now = etag_of(&app, path).await;
        assert_ne!(&now, tag, "create changes {path}");
        created.push(now);
    }
    // Edit.
    replace(
        &app,
        &path,
        draft("Fresh, edited", at("2025-01-01T00:00:00Z"), "x", &[]),
    )
    .await;
    for (path, tag) in paths.iter().zip(&created) {
        assert_ne!(&etag_of(&app, path).await, tag, "edit changes {path}");
    }
}

#[tokio::test]
async fn last_modified_moves_when_the_body_changes_without_a_newer_item() {
    let app = spawn_app().await;
    let path = post(&app, draft("Before", at("2025-01-01T00:00:00Z"), "x", &[])).await;
    let mut before = Vec::new();
    for path in ["/feed.atom", "/api/v1/news"] {
        let (headers, _) = body(&app, path).await;
        before.push(headers["last-modified"].to_str().unwrap().to_owned());
    }
    // An edit stamped earlier than the newest item (like a delete, it leaves nothing newer).
    app.clock.advance(Duration::days(-1));
    replace(
        &app,
        &path,
        draft("After", at("2025-01-01T00:00:00Z"), "x", &[]),
    )
    .await;
    for (path, last_modified) in ["/feed.atom", "/api/v1/news"].iter().zip(&before) {
        let response = raw_get(&app, path, &[("if-modified-since", last_modified)]).await;
        assert_eq!(
            response.status(),
            200,
            "{path}: the copy from before the edit is stale"
        );
        let now = response.headers()["last-modified"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_ne!(&now, last_modified, "{path}");
        assert_not_modified(
            app.raw("GET", path, &[("if-modified-since", &now)]).await,
            response.headers()["etag"].to_str().unwrap(),
        );
    }
}

#[tokio::test]
async fn scheduled_items_go_live_when_the_clock_passes_their_time() {
    let app = spawn_app().await;
    let now = app.clock.now();
    let (headers, _) = body(&app, "/feed.atom").await;
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let last_modified = headers["last-modified"].to_str().unwrap().to_owned();
    let json_etag = etag_of(&app, "/api/v1/news").await;

    post(
        &app,
        draft("Scheduled", now + Duration::hours(2), "soon", &[]),
    )
    .await;
    // Not yet public: the feed is byte for byte what it was, so its validators hold.
    assert_not_modified(
        app.raw("GET", "/feed.atom", &[("if-none-match", &etag)])
            .await,
        &etag,
    );
    assert_eq!(etag_of(&app, "/api/v1/news").await, json_etag);

    app.clock.advance(Duration::hours(1));
    assert_eq!(etag_of(&app, "/feed.atom").await, etag, "still scheduled");

    app.clock.advance(Duration::hours(1));
    let response = raw_get(
        &app,
        "/feed.atom",
        &[
            ("if-none-match", &etag),
            ("if-modified-since", &last_modified),
        ],
    )
    .await;
    assert_eq!(response.status(), 200, "the scheduled item went live");
    let new_modified = response.headers()["last-modified"]
        .to_str()
        .unwrap()
        .to_owned();
    let feed = parse(&response.bytes().await.unwrap());
    assert_eq!(titles(&feed)[0], "Scheduled");
    assert_eq!(feed.updated, Some(now + Duration::hours(2)));
    assert_ne!(new_modified, last_modified);
    // Clients that only send If-Modified-Since see it too.
    let response = raw_get(&app, "/feed.rss", &[("if-modified-since", &last_modified)]).await;
    assert_eq!(response.status(), 200);
    assert_ne!(etag_of(&app, "/api/v1/news").await, json_etag);
    let json = app.get_json("/api/v1/news").await;
    assert_eq!(json["items"][0]["title"], "Scheduled");
}

#[tokio::test]
async fn head_answers_like_get_without_a_body() {
    let app = spawn_app().await;
    for path in [
        "/feed.atom",
        "/feed.json",
        "/tags/x/feed.rss",
        "/api/v1/news",
        "/news/signing-our-head-of-engineering",
    ] {
        let get = raw_get(&app, path, &[]).await;
        let get_headers = get.headers().clone();
        let get_len = get.bytes().await.unwrap().len();
        let head = app.raw("HEAD", path, &[]).await;
        assert_eq!(head.status, 200, "{path}");
        for name in ["etag", "last-modified", "cache-control", "content-type"] {
            assert_eq!(
                head.header(name),
                Some(get_headers[name].to_str().unwrap()),
                "{path} {name}"
            );
        }
        assert_eq!(
            head.header("content-length"),
            Some(get_len.to_string().as_str()),
            "{path}"
        );
        head.assert_head_of(get_len);
        let etag = get_headers["etag"].to_str().unwrap();
        let conditional = app.raw("HEAD", path, &[("if-none-match", etag)]).await;
        assert_eq!(conditional.status, 304, "{path}");
        conditional.assert_no_content();
    }
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn unbrotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::Decompressor::new(bytes, 4096)
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[tokio::test]
async fn gzip_and_brotli_follow_accept_encoding() {
    let app = spawn_app().await;
    for path in ["/feed.atom", "/feed.rss", "/feed.json", "/api/v1/news"] {
        let (plain_headers, plain) = body(&app, path).await;
        assert!(!plain_headers.contains_key("content-encoding"));
        // Caches must key on the coding (CORS adds its own request headers to `Vary`).
        let vary = plain_headers["vary"].to_str().unwrap();
        assert!(
            vary.split(',').any(|v| v.trim() == "Accept-Encoding"),
            "{path}: {vary}"
        );
        for (accept, coding, decode) in [
            ("gzip", "gzip", gunzip as fn(&[u8]) -> Vec<u8>),
            ("gzip, deflate, br", "br", unbrotli),
            ("br;q=0.5, gzip;q=0.9", "gzip", gunzip),
            ("br", "br", unbrotli),
        ] {
            let response = raw_get(&app, path, &[("accept-encoding", accept)]).await;
            assert_eq!(response.status(), 200);
            let headers = response.headers().clone();
            assert_eq!(headers["content-encoding"], coding, "{path} {accept}");
            // Each coding is its own representation, with its own strong ETag (issue 15.6).
            assert_ne!(headers["etag"], plain_headers["etag"], "{path} {accept}");
            let bytes = response.bytes().await.unwrap();
            assert!(bytes.len() < plain.len(), "{path} {accept} compresses");
            assert_eq!(decode(&bytes), plain, "{path} {accept}");
        }
        let identity = raw_get(&app, path, &[("accept-encoding", "identity")]).await;
        assert!(!identity.headers().contains_key("content-encoding"));
        // A client decompressing by itself (reqwest's gzip/brotli) reads the same document.
        let auto = app.get(path).await.bytes().await.unwrap();
        assert_eq!(auto.to_vec(), plain, "{path}");
    }
}

/// Everything that breaks naive feed writers, in one item.
const HOSTILE_TITLE: &str = "Evil ]]> <script>alert(1)</script> \u{0}\u{1}\u{8}\u{b}\u{c}\u{1b}\u{7f}\u{fffe} & \"quotes\" 'single' 🦀🎉 \u{200f}שלום עולם\u{200e} مرحبا";
const HOSTILE_BODY: &str = "Body with ]]> and <script>alert('x')</script> and \u{1}control\u{1f} and `]]>` in code, \u{202e}RTL override, emoji 🧨.\n\n<img src=x onerror=alert(1)>\n\n[link](javascript:alert(1)) [ok](/relative?a=1&b=2)";

#[tokio::test]
async fn hostile_content_still_yields_valid_feeds() {
    let app = spawn_app().await;
    let long_title = format!("{} {}end", HOSTILE_TITLE, "Very long title ".repeat(400));
    // Text the API refuses (control characters, an over-long title) may still be stored by
    // older imports; feeds must stay valid whatever the store holds.
    seed(
        &app,
        "t:evil",
        draft(
            HOSTILE_TITLE,
            at("2025-09-09T09:09:09Z"),
            HOSTILE_BODY,
            &["évil 🦀", "]]>"],
        ),
    )
    .await;
    seed(
        &app,
        "t:long",
        draft(&long_title, at("2025-09-08T00:00:00Z"), HOSTILE_BODY, &[]),
    )
    .await;
    let expected_title: String = HOSTILE_TITLE
        .chars()
        .filter(|c| {
            !matches!(
                c,
                '\u{0}' | '\u{1}' | '\u{8}' | '\u{b}' | '\u{c}' | '\u{1b}' | '\u{7f}' | '\u{fffe}'
            )
        })
        .collect();
    for path in [
        "/feed.rss",
        "/feed.atom",
        "/feed.json",
        "/tags/%C3%A9vil%20%F0%9F%A6%80/feed.atom",
    ] {
        let (_, bytes) = body(&app, path).await;
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            !text.contains('\u{1}') && !text.contains('\u{1b}'),
            "{path}: control characters"
        );
        if path != "/feed.json" {
            assert!(!text.contains("<script"), "{path}: no live script element");
        }
        let feed = parse(&bytes);
        let first = &feed.entries[0];
        let title = &first.title.as_ref().unwrap().content;
        // RSS titles are HTML to readers, so the plain text goes in escaped (issue 15.2).
        let title = if path.ends_with(".rss") {
            title
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&")
        } else {
            title.clone()
        };
        assert_eq!(title, expected_title, "{path}");
        if !path.starts_with("/tags/") && !path.ends_with(".rss") {
            assert_eq!(
                feed.entries[1]
                    .title
                    .as_ref()
                    .unwrap()
                    .content
                    .chars()
                    .count(),
                long_title.chars().count() - 8
            );
        }
        let html = first.content.as_ref().unwrap().body.as_ref().unwrap();
        assert!(
            html.contains("]]&gt;") || html.contains("]]>"),
            "{path}: {html}"
        );
        assert!(
            !html.contains("<script") && !html.contains("onerror") && !html.contains("javascript:"),
            "{html}"
        );
        assert!(html.contains("🧨"));
        if path == "/feed.json" {
            assert_valid_json_feed(&serde_json::from_slice(&bytes).unwrap());
        } else {
            assert_dates_have_zones(&text);
        }
    }
    let tagged = parse(
        &body(&app, "/tags/%C3%A9vil%20%F0%9F%A6%80/feed.atom")
            .await
            .1,
    );
    assert_eq!(tagged.entries.len(), 1);
}

#[tokio::test]
async fn an_empty_store_has_valid_stable_feeds() {
    let dir = Arc::new(TempDir::new().unwrap());
    let app = spawn_with(dir, None).await;
    let (headers, atom) = body(&app, "/feed.atom").await;
    let feed = parse(&atom);
    assert!(feed.entries.is_empty());
    // Dated by the store (its creation), not 1970, which validators call implausible.
    assert!(
        feed.updated.unwrap() > DateTime::UNIX_EPOCH,
        "{:?}",
        feed.updated
    );
    assert!(!headers["last-modified"].to_str().unwrap().contains("1970"));
    app.clock.advance(Duration::days(3));
    assert_eq!(
        body(&app, "/feed.atom").await.1,
        atom,
        "request time is not in the feed"
    );
    let json: Value = serde_json::from_slice(&body(&app, "/feed.json").await.1).unwrap();
    assert_valid_json_feed(&json);
    assert_eq!(json["items"], serde_json::json!([]));
}

#[tokio::test]
async fn links_round_trip_through_json_feed_extension() {
    let app = spawn_app().await;
    let json: Value = serde_json::from_slice(&body(&app, "/feed.json").await.1).unwrap();
    let links: Vec<Link> =
        serde_json::from_value(json["items"][2]["_herald"]["links"].clone()).unwrap();
    assert_eq!(links.len(), 2);
    assert_eq!(links[0].title, "Cisco press release");
}
