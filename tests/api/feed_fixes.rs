//! Issue 15's feed defects and the feed language, each through HTTP: URLs that are valid URIs,
//! plain text escaped in RSS, tags that own their feed URL, feeds that always hold the newest
//! items, `updated` and `Last-Modified` that never move backwards, one ETag per coding, and
//! `HERALD_LANGUAGE` in every format.

use serde_json::Value;

use crate::helpers::{TestApp, spawn_adjusted, spawn_app};

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
    html.replace("&lt;", "<")
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
