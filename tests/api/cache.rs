//! The shared response cache of public reads: the JSON list, one item, the tags and the item
//! page are rendered once per change and served from memory, and no write ever leaves an old
//! body or ETag behind.

use chrono::Duration;
use herald::clock::Clock;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_adjusted, spawn_app};
use crate::write::create;

/// What an anonymous reader got from one path.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    path: String,
    status: u16,
    etag: Option<String>,
    body: String,
}

async fn read(app: &TestApp, path: &str) -> Seen {
    let response = app.get(path).await;
    Seen {
        path: path.to_owned(),
        status: response.status().as_u16(),
        etag: response
            .headers()
            .get("etag")
            .map(|v| v.to_str().unwrap().to_owned()),
        body: response.text().await.unwrap(),
    }
}

/// The four kinds of cached read, for the item with `slug`.
fn paths(slug: &str) -> [String; 4] {
    [
        "/api/v1/news?limit=50".to_owned(),
        format!("/api/v1/news/{slug}"),
        "/api/v1/tags".to_owned(),
        format!("/news/{slug}"),
    ]
}

/// Reads every path twice, the second time from the cache, and returns what was seen.
async fn read_cached(app: &TestApp, slug: &str) -> Vec<Seen> {
    let mut seen = Vec::new();
    for path in paths(slug) {
        let first = read(app, &path).await;
        let hits = app.state.responses.stats().hits;
        let again = read(app, &path).await;
        assert_eq!(first, again, "{path}");
        if first.status == 200 {
            assert_eq!(app.state.responses.stats().hits, hits + 1, "{path}: a hit");
        }
        seen.push(first);
    }
    seen
}

/// Every path now answers differently from `before`: another body and another ETag, and the
/// old ETag gets the new body rather than a 304.
async fn assert_all_changed(app: &TestApp, before: &[Seen]) -> Vec<Seen> {
    let mut after = Vec::new();
    for old in before {
        let new = read(app, &old.path).await;
        assert_ne!(new.body, old.body, "{}: the old body", old.path);
        if new.status == 200 {
            assert_ne!(new.etag, old.etag, "{}: the old ETag", old.path);
        }
        if let Some(tag) = &old.etag {
            let response = app
                .client
                .get(app.url(&old.path))
                .header("if-none-match", tag)
                .send()
                .await
                .unwrap();
            assert_ne!(
                response.status(),
                304,
                "{}: the old copy revalidated",
                old.path
            );
        }
        after.push(new);
    }
    after
}

/// A published item titled `title` with `tag`, created by an editor.
async fn publish(app: &TestApp, token: &str, title: &str, tag: &str) -> Value {
    let body = json!({"title": title, "tags": [tag], "published_at": "2025-12-31T00:00:00Z"});
    create(app, token, body).await.0
}

/// An app with a published item `title`, its four reads already cached.
async fn cached_item(title: &str, tag: &str, slug: &str) -> (TestApp, String, String, Vec<Seen>) {
    let app = spawn_app().await;
    let token = app.token().await;
    let item = publish(&app, &token, title, tag).await;
    let before = read_cached(&app, slug).await;
    assert_eq!(statuses(&before), [200, 200, 200, 200]);
    let path = format!("/api/v1/news/{}", item["id"]);
    (app, token, path, before)
}

fn statuses(seen: &[Seen]) -> Vec<u16> {
    seen.iter().map(|s| s.status).collect()
}

#[tokio::test]
async fn a_create_reaches_every_cached_read() {
    let app = spawn_app().await;
    let token = app.token().await;
    let before = read_cached(&app, "fresh-news").await;
    assert_eq!(statuses(&before), [200, 404, 200, 404]);
    publish(&app, &token, "Fresh news", "fresh").await;
    let after = assert_all_changed(&app, &before).await;
    assert_eq!(statuses(&after), [200, 200, 200, 200]);
    assert!(after[0].body.contains("Fresh news"));
    assert!(after[2].body.contains("\"fresh\""));
}

#[tokio::test]
async fn an_edit_reaches_every_cached_read() {
    let (app, token, path, before) = cached_item("First words", "alpha", "first-words").await;
    let response = app
        .authed(Method::PATCH, &path, &token)
        .json(&json!({"title": "Second words", "tags": ["beta"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let after = assert_all_changed(&app, &before).await;
    assert!(after[0].body.contains("Second words"));
    assert!(after[1].body.contains("Second words"));
    assert!(after[2].body.contains("\"beta\"") && !after[2].body.contains("\"alpha\""));
    assert!(after[3].body.contains("Second words"));
}

#[tokio::test]
async fn a_delete_reaches_every_cached_read() {
    let (app, token, path, before) = cached_item("Short lived", "gone", "short-lived").await;
    let response = app
        .authed(Method::DELETE, &path, &token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let after = assert_all_changed(&app, &before).await;
    assert_eq!(statuses(&after), [200, 404, 200, 404]);
    assert!(!after[0].body.contains("Short lived"));
    assert!(!after[2].body.contains("\"gone\""));
}

#[tokio::test]
async fn a_scheduled_item_going_live_reaches_every_cached_read() {
    let app = spawn_app().await;
    let token = app.token().await;
    let due = app.clock.now() + Duration::hours(1);
    let body = json!({"title": "Embargoed", "tags": ["later"], "published_at": due.to_rfc3339()});
    create(&app, &token, body).await;
    let before = read_cached(&app, "embargoed").await;
    assert_eq!(statuses(&before), [200, 404, 200, 404]);
    app.clock.set(due);
    let after = assert_all_changed(&app, &before).await;
    assert_eq!(statuses(&after), [200, 200, 200, 200]);
    assert!(after[0].body.contains("Embargoed"));
    assert!(after[2].body.contains("\"later\""));
}

#[tokio::test]
async fn equal_requests_share_one_entry_and_one_link() {
    let app = spawn_app().await;
    let canonical = app.get("/api/v1/news?limit=2").await;
    let link = canonical.headers()["link"].to_str().unwrap().to_owned();
    let etag = canonical.headers()["etag"].clone();
    let renders = app.state.responses.stats().renders;
    for path in [
        "/api/v1/news?limit=2&utm_source=x",
        "/api/v1/news?sort=-published_at&limit=2&count=false",
        "/api/v1/news?limit=2&limit=2",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["etag"], etag, "{path}");
        assert_eq!(response.headers()["link"], link.as_str(), "{path}");
    }
    let fields = app.get("/api/v1/news?fields=id,title").await;
    let etag = fields.headers()["etag"].clone();
    let swapped = app.get("/api/v1/news?fields=title,id").await;
    assert_eq!(swapped.headers()["etag"], etag);
    assert_eq!(
        app.state.responses.stats().renders,
        renders + 1,
        "one render for the `fields` pair, none for the rest"
    );
    // The canonical Link pages on with the same parameters.
    let next = link
        .trim_start_matches('<')
        .trim_end_matches(">; rel=\"next\"");
    assert!(
        next.contains("limit=2") && next.contains("cursor="),
        "{next}"
    );
    assert!(!next.contains("utm_source"), "{next}");
}

#[tokio::test]
async fn credentials_and_drafts_never_touch_the_shared_cache() {
    let app = spawn_app().await;
    let token = app.token().await;
    let body = json!({"title": "Secret draft", "status": "draft", "slug": "secret-draft"});
    create(&app, &token, body).await;
    let before = app.state.responses.stats();
    for path in [
        "/api/v1/news",
        "/api/v1/news?status=draft",
        "/api/v1/news/secret-draft",
        "/api/v1/tags",
        "/news/1",
    ] {
        let response = app.authed(Method::GET, path, &token).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let cache_control = response.headers()["cache-control"].to_str().unwrap();
        assert!(
            cache_control.starts_with("private"),
            "{path}: {cache_control}"
        );
    }
    let after = app.state.responses.stats();
    assert_eq!(
        (after.hits, after.misses, after.entries),
        (before.hits, before.misses, before.entries)
    );
    // The editor's view of the draft never reaches anonymous readers.
    assert_eq!(app.get("/api/v1/news/secret-draft").await.status(), 404);
    let anonymous = app.get("/api/v1/news?status=draft").await;
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn many_distinct_reads_stay_within_the_budget() {
    let budget = 48 * 1024;
    let app = spawn_adjusted(|settings| settings.cache_budget = budget).await;
    for i in 0..300 {
        let path = match i % 3 {
            0 => format!("/api/v1/news?q=word{i}"),
            1 => format!("/api/v1/news?limit={}", i % 100 + 1),
            _ => format!(
                "/api/v1/news?since=2001-01-01T00:00:{:02}Z&until=2030-01-01",
                i % 60
            ),
        };
        assert_eq!(app.get(&path).await.status(), 200, "{path}");
        let stats = app.state.responses.stats();
        assert!(stats.bytes <= budget, "after {path}: {stats:?}");
    }
    let stats = app.state.responses.stats();
    assert!(stats.evictions > 0, "{stats:?}");
    assert!(stats.entries < 300, "{stats:?}");
}
