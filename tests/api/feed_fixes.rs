//! Issue 15's feed defects and the feed language, each through HTTP: URLs that are valid URIs,
//! plain text escaped in RSS, tags that own their feed URL, feeds that always hold the newest
//! items, `updated` and `Last-Modified` that never move backwards, one ETag per coding, and
//! `HERALD_LANGUAGE` in every format.

use serde_json::Value;

use herald::clock::Clock;
use herald::feeds::rfc3339;

use crate::helpers::{TestApp, assert_problem, seed_dir, spawn_adjusted, spawn_app, spawn_with};

async fn text(app: &TestApp, path: &str) -> String {
    let response = app.get(path).await;
    assert_eq!(response.status(), 200, "GET {path}");
    response.text().await.unwrap()
}

#[tokio::test]
async fn every_feed_states_the_configured_language() {
    let app = spawn_app().await;
    assert!(
        text(&app, "/feed.rss")
            .await
            .contains("<language>en</language>")
    );
    assert!(text(&app, "/feed.atom").await.contains(r#"xml:lang="en""#));
    let json: Value = serde_json::from_str(&text(&app, "/feed.json").await).unwrap();
    assert_eq!(json["language"], "en");

    let app = spawn_adjusted(|s| s.feed.language = "nb-NO".to_owned()).await;
    let rss = text(&app, "/feed.rss").await;
    assert!(rss.contains("<language>nb-NO</language>"), "{rss}");
    let atom = text(&app, "/tags/press/feed.atom").await;
    assert!(atom.contains(r#"xml:lang="nb-NO""#), "{atom}");
    let json: Value = serde_json::from_str(&text(&app, "/feed.json").await).unwrap();
    assert_eq!(json["language"], "nb-NO");
}

/// The text of every `<name>` element of an XML document as an XML parser reads it: CDATA
/// unwrapped, character and entity references decoded.
fn xml_texts(xml: &str, name: &str) -> Vec<String> {
    let (open, close) = (format!("<{name}"), format!("</{name}>"));
    let mut found = Vec::new();
    for piece in xml.split(&open).skip(1) {
        // `<name>` or `<name attr…>`, not `<nameSomethingElse>`.
        let Some(rest) = piece.strip_prefix('>').or_else(|| {
            piece
                .starts_with(' ')
                .then(|| &piece[piece.find('>').unwrap() + 1..])
        }) else {
            continue;
        };
        let raw = &rest[..rest.find(&close).unwrap()];
        let mut text = String::new();
        let mut rest = raw;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix("<![CDATA[") {
                let end = after.find("]]>").unwrap();
                text.push_str(&after[..end]);
                rest = &after[end + 3..];
            } else if let Some(after) = rest.strip_prefix('&') {
                let end = after.find(';').unwrap();
                let entity = &after[..end];
                let c = match entity {
                    "lt" => '<',
                    "gt" => '>',
                    "amp" => '&',
                    "quot" => '"',
                    "apos" => '\'',
                    _ => {
                        let code = match entity.strip_prefix("#x") {
                            Some(hex) => u32::from_str_radix(hex, 16).unwrap(),
                            None => entity.strip_prefix('#').unwrap().parse().unwrap(),
                        };
                        char::from_u32(code).unwrap()
                    }
                };
                text.push(c);
                rest = &after[end + 1..];
            } else {
                let next = rest[1..].find(['&', '<']).map_or(rest.len(), |i| i + 1);
                text.push_str(&rest[..next]);
                rest = &rest[next..];
            }
        }
        found.push(text);
    }
    found
}

/// What an HTML renderer shows for `html` that holds no markup: its references decoded.
fn html_shown(html: &str) -> String {
    html.replace("&#x3C;", "<")
        .replace("&#x26;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

#[tokio::test]
async fn rss_carries_plain_text_escaped_so_readers_show_it_as_text() {
    let app = spawn_app().await;
    let token = app.token().await;
    let title = "Tom & <b>Jerry</b> </script>";
    let summary = "Mentions <script>alert(1)</script> & <iframe src=x>";
    let body = "Use `<iframe src=x>` and `<script>` wisely & well.";
    for doc in [
        serde_json::json!({"title": title, "summary": summary, "content_markdown": "x", "tags": ["<i>tag</i>"]}),
        serde_json::json!({"title": "Derived", "content_markdown": body}),
    ] {
        let response = app
            .authed(reqwest::Method::POST, "/api/v1/news", &token)
            .json(&doc)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
    }
    for path in ["/feed.rss", "/tags/%3Ci%3Etag%3C%2Fi%3E/feed.rss"] {
        let rss = text(&app, path).await;
        let (titles, descriptions, categories) = (
            xml_texts(&rss, "title"),
            xml_texts(&rss, "description"),
            xml_texts(&rss, "category"),
        );
        // RSS readers render these as HTML: what they hold must be text, not markup.
        for shown in titles.iter().chain(&descriptions).chain(&categories) {
            assert!(
                !shown.contains('<'),
                "{path}: markup reaches readers: {shown}"
            );
        }
        let titles: Vec<String> = titles.iter().map(|t| html_shown(t)).collect();
        let descriptions: Vec<String> = descriptions.iter().map(|t| html_shown(t)).collect();
        assert!(titles.iter().any(|t| t == title), "{path}: {titles:?}");
        assert!(titles.iter().any(|t| t.ends_with(": <i>tag</i>")) || path == "/feed.rss");
        assert!(
            descriptions.iter().any(|d| d == summary),
            "{descriptions:?}"
        );
        assert!(
            categories.iter().any(|c| html_shown(c) == "<i>tag</i>"),
            "{categories:?}"
        );
        if path == "/feed.rss" {
            assert!(
                descriptions.contains(&"Use <iframe src=x> and <script> wisely & well.".to_owned()),
                "{descriptions:?}"
            );
        }
    }
}

/// The `<id>`s of an Atom feed's entries, in order.
fn atom_ids(atom: &str) -> Vec<String> {
    xml_texts(atom, "entry")
        .iter()
        .map(|entry| xml_texts(&format!("<x>{entry}</x>"), "id")[0].clone())
        .collect()
}

#[tokio::test]
async fn a_feed_is_always_the_newest_items_whatever_the_sort_asked() {
    let app = spawn_adjusted(|s| s.feed.size = 2).await;
    let newest = text(&app, "/feed.atom").await;
    let oldest_first = text(&app, "/feed.atom?sort=published_at").await;
    assert_eq!(atom_ids(&oldest_first), atom_ids(&newest));
    assert_eq!(atom_ids(&newest).len(), 2);
    // The same document: `sort` is ignored, so the feed names the canonical URL as itself.
    assert_eq!(oldest_first, newest);
    let searched = text(&app, "/feed.atom?q=launch").await;
    let by_relevance = text(&app, "/feed.atom?q=launch&sort=relevance").await;
    assert_eq!(by_relevance, searched);
    // `relevance` without `q` asks for no order a feed uses: ignored too, not an error.
    assert_eq!(
        text(&app, "/feed.rss?sort=relevance").await,
        text(&app, "/feed.rss").await
    );
    // A value that is no sort at all is still a mistake worth naming.
    let response = app.get("/feed.json?sort=sideways").await;
    let problem = assert_problem(response, 400).await;
    assert_eq!(problem["errors"][0]["field"], "sort", "{problem}");
}

#[tokio::test]
async fn tags_that_are_path_segments_are_refused_and_every_tag_feed_is_its_own() {
    let app = spawn_app().await;
    let token = app.token().await;
    for tag in [".", "..", " .. "] {
        let response = app
            .authed(reqwest::Method::POST, "/api/v1/news", &token)
            .json(&serde_json::json!({"title": "Dots", "tags": ["fine", tag]}))
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, 422).await;
        assert_eq!(
            problem["errors"][0]["field"], "tags[1]",
            "{tag:?}: {problem}"
        );
    }
    // Dots that are not a whole segment are ordinary tags, with feeds of their own.
    let response = app
        .authed(reqwest::Method::POST, "/api/v1/news", &token)
        .json(&serde_json::json!({"title": "Dots", "tags": ["...", "v1.0", ".net"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let mut ids = std::collections::HashSet::new();
    for tag in ["...", "v1.0", ".net"] {
        let path = format!("/tags/{tag}/feed.atom");
        let atom = text(&app, &path).await;
        let own = app.url(&path);
        assert!(
            atom.contains(&format!(r#"<link href="{own}" rel="self""#)),
            "{tag}: {atom}"
        );
        assert!(
            ids.insert(xml_texts(&atom, "id")[0].clone()),
            "{tag}: shared id"
        );
        assert_eq!(atom_ids(&atom).len(), 1, "{tag}");
    }
    // A dot segment in a feed URL names no tag, whatever a client sends.
    // (Sent raw: an HTTP client would resolve the dots away before sending.)
    for path in ["/tags/%2E%2E/feed.atom", "/tags/%2e/feed.rss"] {
        let answer = app.raw("GET", path, &[]).await;
        assert_eq!(answer.status, 404, "{path}");
        assert_eq!(
            answer.header("content-type"),
            Some("application/problem+json")
        );
    }
}

/// GET without automatic decompression, with extra headers: status, ETag, body length.
async fn coded(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> (u16, String, usize) {
    let client = reqwest::Client::builder()
        .no_gzip()
        .no_brotli()
        .build()
        .unwrap();
    let mut request = client.get(app.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    (status, etag, response.bytes().await.unwrap().len())
}

#[tokio::test]
async fn each_content_coding_has_its_own_etag_and_any_of_them_revalidates() {
    let app = spawn_app().await;
    let codings = [
        ("identity", None),
        ("gzip", Some("gzip")),
        ("br", Some("br")),
    ];
    for path in ["/feed.atom", "/feed.json", "/api/v1/news", "/api/v1/news/1"] {
        let mut etags = Vec::new();
        for (accept, _) in codings {
            let (status, etag, _) = coded(&app, path, &[("accept-encoding", accept)]).await;
            assert_eq!(status, 200);
            etags.push(etag);
        }
        let unique: std::collections::HashSet<_> = etags.iter().collect();
        assert_eq!(
            unique.len(),
            3,
            "{path}: one ETag for several bodies: {etags:?}"
        );
        for (i, (accept, _)) in codings.iter().enumerate() {
            // The cache's own coding: 304 with the same tag.
            let (status, etag, length) = coded(
                &app,
                path,
                &[("accept-encoding", accept), ("if-none-match", &etags[i])],
            )
            .await;
            assert_eq!(
                (status, &etag, length),
                (304, &etags[i], 0),
                "{path} {accept}"
            );
            // A tag of another coding still says the content is the same: 304, and the ETag
            // names the coding this request gets.
            let other = &etags[(i + 1) % 3];
            let (status, etag, _) = coded(
                &app,
                path,
                &[("accept-encoding", accept), ("if-none-match", other)],
            )
            .await;
            assert_eq!((status, &etag), (304, &etags[i]), "{path} {accept}");
        }
    }
    // A write accepts the item's tag from a compressed answer as If-Match.
    let (_, gzip_tag, _) = coded(&app, "/api/v1/news/1", &[("accept-encoding", "gzip")]).await;
    let token = app.token().await;
    let response = app
        .authed(reqwest::Method::PATCH, "/api/v1/news/1", &token)
        .header("if-match", &gzip_tag)
        .header("content-type", "application/merge-patch+json")
        .body(r#"{"summary": "Changed"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (status, _, _) = coded(
        &app,
        "/api/v1/news/1",
        &[("accept-encoding", "gzip"), ("if-none-match", &gzip_tag)],
    )
    .await;
    assert_eq!(status, 200, "the old tag no longer matches");
}

/// Whether `url` holds only what RFC 3986 allows in a URI (brackets only around an IPv6 host).
fn is_uri(url: &str) -> bool {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-._~:/?#@!$&'()*+,;=%".contains(c);
    url.chars().all(allowed)
}

#[tokio::test]
async fn every_link_url_is_emitted_as_a_valid_uri() {
    let app = spawn_app().await;
    let token = app.token().await;
    let post = |doc: Value| {
        let app = &app;
        let token = &token;
        async move {
            app.authed(reqwest::Method::POST, "/api/v1/news", token)
                .json(&doc)
                .send()
                .await
                .unwrap()
        }
    };
    let given = post(serde_json::json!({
        "title": "Given links",
        "links": [{"title": "odd", "url": "https://a.example/x|y[1]^{2}`?q=a|b#f[g]"}],
    }))
    .await;
    assert_eq!(given.status(), 201);
    let given: Value = given.json().await.unwrap();
    assert_eq!(
        given["links"][0]["url"],
        "https://a.example/x%7Cy%5B1%5D%5E%7B2%7D%60?q=a%7Cb#f%5Bg%5D"
    );
    let body = "See [odd](<https://b.example/p q|r>) and [rel](/here|there?a=[1]) and ![i](https://c.example/i^.png).";
    let derived = post(serde_json::json!({"title": "Body links", "content_markdown": body})).await;
    assert_eq!(derived.status(), 201);
    let derived: Value = derived.json().await.unwrap();
    let urls: Vec<&str> = derived["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["url"].as_str().unwrap())
        .collect();
    assert_eq!(
        urls,
        [
            "https://b.example/p%20q%7Cr".to_owned(),
            app.url("/here%7Cthere?a=%5B1%5D"),
        ]
    );
    let html = derived["content_html"].as_str().unwrap();
    assert!(
        html.contains(r#"href="https://b.example/p%20q%7Cr""#),
        "{html}"
    );
    assert!(
        html.contains(r#"src="https://c.example/i%5E.png""#),
        "{html}"
    );
    // What cannot be made a URI is refused, naming the field.
    let refused = post(serde_json::json!({
        "title": "Broken", "links": [{"title": "t", "url": "https://[broken/"}],
    }))
    .await;
    let problem = assert_problem(refused, 422).await;
    assert_eq!(problem["errors"][0]["field"], "links[0].url", "{problem}");
    // Every href and src in every format is a URI.
    let href = regex::Regex::new(r#"(?:href|src)=\\?"([^"\\]*)\\?""#).unwrap();
    for path in ["/feed.atom", "/feed.rss", "/feed.json", "/api/v1/news"] {
        let body = text(&app, path).await;
        let found: Vec<&str> = href
            .captures_iter(&body)
            .map(|c| c.get(1).unwrap().as_str())
            .collect();
        assert!(found.len() > 3, "{path}");
        for url in found {
            assert!(is_uri(url), "{path}: {url}");
        }
    }
}

/// The feed-level `<updated>` of an Atom feed and the answer's `Last-Modified`.
async fn feed_times(app: &TestApp, path: &str) -> (String, String) {
    let response = app.get(path).await;
    assert_eq!(response.status(), 200, "{path}");
    let modified = response.headers()["last-modified"]
        .to_str()
        .unwrap()
        .to_owned();
    let atom = response.text().await.unwrap();
    (xml_texts(&atom, "updated")[0].clone(), modified)
}

fn http_time(text: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc2822(&text.replace("GMT", "+0000"))
        .unwrap()
        .to_utc()
}

#[tokio::test]
async fn feed_updated_and_last_modified_never_move_backwards_across_deletes_and_restarts() {
    let dir = std::sync::Arc::new(tempfile::TempDir::new().unwrap());
    let app = spawn_with(dir.clone(), Some(seed_dir())).await;
    let token = app.token().await;
    let created = app
        .authed(reqwest::Method::POST, "/api/v1/news", &token)
        .json(&serde_json::json!({"title": "Newest", "tags": ["press"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let paths = ["/feed.atom", "/tags/press/feed.atom"];
    let mut before = Vec::new();
    for path in paths {
        before.push(feed_times(&app, path).await);
    }
    app.clock.advance(chrono::Duration::hours(1));
    let deleted = app
        .client
        .delete(&location)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let mut after = Vec::new();
    for (path, (updated, modified)) in paths.iter().zip(&before) {
        let now = feed_times(&app, path).await;
        assert!(now.0 > *updated, "{path}: updated {updated} then {}", now.0);
        assert!(
            http_time(&now.1) > http_time(modified),
            "{path}: {modified} then {}",
            now.1
        );
        after.push(now);
    }
    app.stop().await;
    // Another process on the same store (a restart, a replica) says the same, not older.
    let again = spawn_with(dir, Some(seed_dir())).await;
    for (path, times) in paths.iter().zip(&after) {
        assert_eq!(
            &feed_times(&again, path).await,
            times,
            "{path} after a restart"
        );
    }
}

#[tokio::test]
async fn an_empty_feed_is_dated_by_the_store_not_1970() {
    let dir = std::sync::Arc::new(tempfile::TempDir::new().unwrap());
    let app = spawn_with(dir, None).await;
    let (updated, modified) = feed_times(&app, "/feed.atom").await;
    assert!(!updated.starts_with("1970"), "{updated}");
    assert!(!modified.contains("1970"), "{modified}");
    let rss = text(&app, "/feed.rss").await;
    assert!(
        !xml_texts(&rss, "lastBuildDate")[0].contains("1970"),
        "{rss}"
    );
}

async fn modified(app: &TestApp, path: &str) -> String {
    let response = app.get(path).await;
    assert_eq!(response.status(), 200, "{path}");
    response.headers()["last-modified"]
        .to_str()
        .unwrap()
        .to_owned()
}

/// Issue 12.7: writing a draft or a scheduled item must not tell anyone polling that editors
/// are at work; a public delete still moves `Last-Modified` on.
#[tokio::test]
async fn last_modified_of_public_json_ignores_drafts_and_scheduled_items() {
    let app = spawn_app().await;
    let token = app.token().await;
    let paths = ["/api/v1/news", "/api/v1/tags", "/feed.json"];
    let mut before = Vec::new();
    for path in paths {
        before.push(modified(&app, path).await);
    }
    app.clock.advance(chrono::Duration::hours(1));
    let future = rfc3339(app.clock.now() + chrono::Duration::days(3));
    for doc in [
        serde_json::json!({"title": "Secret plan", "status": "draft", "tags": ["secret"]}),
        serde_json::json!({"title": "Embargoed", "published_at": future, "tags": ["secret"]}),
    ] {
        let response = app
            .authed(reqwest::Method::POST, "/api/v1/news", &token)
            .json(&doc)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
    }
    for (path, was) in paths.iter().zip(&before) {
        assert_eq!(&modified(&app, path).await, was, "{path}: a draft showed");
    }
    app.clock.advance(chrono::Duration::hours(1));
    let deleted = app
        .authed(reqwest::Method::DELETE, "/api/v1/news/1", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    // (The tags are the same without that item: their answer, and its date, stay.)
    for (path, was) in paths
        .iter()
        .zip(&before)
        .filter(|(p, _)| **p != "/api/v1/tags")
    {
        let now = modified(&app, path).await;
        assert!(http_time(&now) > http_time(was), "{path}: {was} then {now}");
    }
}
