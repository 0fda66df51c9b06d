//! The write API: create, replace, merge-patch, delete; validation; If-Match; drafts and
//! scheduling on the test clock; bearer tokens; and atomicity when a write fails half-way.

use std::process::Command;

use chrono::Duration;
use herald::clock::Clock;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    Engine, TestApp, assert_problem, item_ids, runs_on, spawn_adjusted, spawn_app, test_now,
};

const SEED_SLUG: &str = "signing-our-head-of-engineering";

fn etag_of(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("etag")
        .expect("an ETag header")
        .to_str()
        .unwrap()
        .to_owned()
}

/// POSTs `body` and returns the created item and its ETag.
pub async fn create(app: &TestApp, token: &str, body: Value) -> (Value, String) {
    let response = app
        .authed(Method::POST, "/api/v1/news", token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED, "POST {body}");
    let etag = etag_of(&response);
    (response.json().await.unwrap(), etag)
}

/// Sends a write as `token`, with `If-Match` when given and a JSON body unless `body` is null.
async fn write(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    if_match: Option<&str>,
    body: Value,
) -> reqwest::Response {
    let mut request = app.authed(method, path, token);
    if let Some(tag) = if_match {
        request = request.header("if-match", tag);
    }
    if !body.is_null() {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

fn path_of(item: &Value) -> String {
    format!("/api/v1/news/{}", item["id"])
}

/// The ids a listing shows (first page of up to 100).
async fn listed(app: &TestApp, query: &str, token: Option<&str>) -> Vec<i64> {
    let mut request = app
        .client
        .get(app.url(&format!("/api/v1/news?limit=100&{query}")));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200, "{query}");
    item_ids(&response.json().await.unwrap())
}

/// Rows in `table`, which no answer shows (links and tags rows left behind).
async fn count(app: &TestApp, table: &str) -> i64 {
    app.row_count(table).await
}

#[tokio::test]
async fn post_creates_an_item_with_location_etag_and_defaults() {
    let app = spawn_app().await;
    let token = app.token().await;
    let revision = app.state.revision();
    let response = write(&app, Method::POST, "/api/v1/news", &token, None, json!({
            "title": "  Herald goes live ",
            "summary": "Short.",
            "content_markdown": "We launched. Read [the docs](https://docs.example/start) or [about us](/about).",
            "tags": [" Launch", "launch", "PRESS "],
        }))
        .await;
    assert_eq!(response.status(), 201);
    assert_eq!(
        app.state.revision(),
        revision + 1,
        "a write bumps the revision"
    );
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let etag = etag_of(&response);
    let item: Value = response.json().await.unwrap();
    assert_eq!(location, app.url(&path_of(&item)));
    assert_eq!(item["title"], "Herald goes live");
    assert_eq!(item["slug"], "herald-goes-live");
    assert_eq!(item["summary"], "Short.");
    assert_eq!(item["status"], "published");
    assert_eq!(
        item["published_at"], "2026-01-01T12:00:00Z",
        "defaults to now"
    );
    assert_eq!(item["created_at"], "2026-01-01T12:00:00Z");
    assert_eq!(item["tags"], json!(["launch", "press"]));
    // Without `links`, the body's links are the item's, made absolute like the HTML.
    assert_eq!(
        item["links"],
        json!([
            {"title": "the docs", "url": "https://docs.example/start"},
            {"title": "about us", "url": app.url("/about")},
        ])
    );
    assert!(
        item["content_html"]
            .as_str()
            .unwrap()
            .contains("<a href=\"https://docs.example/start\"")
    );

    // The Location serves the same bytes with the same ETag (uncompressed: each content coding
    // has its own), and the list shows it first.
    let got = app
        .client
        .get(&location)
        .header("accept-encoding", "identity")
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(etag_of(&got), etag);
    assert_eq!(got.json::<Value>().await.unwrap(), item);
    assert_eq!(
        listed(&app, "", None).await[0],
        item["id"].as_i64().unwrap()
    );

    // The same title again gets a suffixed slug rather than a conflict.
    let (twin, _) = create(&app, &token, json!({"title": "Herald goes live"})).await;
    assert_eq!(twin["slug"], "herald-goes-live-2");
    assert_eq!(twin["links"], json!([]));
    assert_eq!(twin["content_markdown"], "");
}

#[tokio::test]
async fn explicit_links_dates_and_slugs_are_kept_as_sent() {
    let app = spawn_app().await;
    let token = app.token().await;
    let (item, _) = create(
        &app,
        &token,
        json!({
            "title": "Old news",
            "slug": "old-news-2017",
            "published_at": "2017-06-01T10:30:15.999+02:00",
            "content_markdown": "No [body link](https://ignored.example/) is used.",
            "links": [{"title": "Press release", "url": "https://press.example/release?id=1"}],
        }),
    )
    .await;
    assert_eq!(item["slug"], "old-news-2017");
    // Converted to UTC and truncated to whole seconds.
    assert_eq!(item["published_at"], "2017-06-01T08:30:15Z");
    assert_eq!(
        item["links"],
        json!([{"title": "Press release", "url": "https://press.example/release?id=1"}])
    );
    let by_slug = app.get_json("/api/v1/news/old-news-2017").await;
    assert_eq!(by_slug["id"], item["id"]);
}

#[tokio::test]
async fn put_replaces_every_field_keeping_slug_date_and_creation_time() {
    let app = spawn_app().await;
    let token = app.token().await;
    let (item, etag) = create(
        &app,
        &token,
        json!({
            "title": "First title",
            "summary": "To be dropped",
            "published_at": "2025-12-24T18:00:00Z",
            "links": [{"title": "A", "url": "https://a.example/"}],
            "tags": ["x", "y"],
        }),
    )
    .await;
    app.clock.advance(Duration::hours(1));
    let revision = app.state.revision();
    let response = write(
        &app,
        Method::PUT,
        &path_of(&item),
        &token,
        None,
        json!({"title": "Second title", "content_markdown": "New [link](https://b.example/)."}),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(app.state.revision(), revision + 1);
    let new_etag = etag_of(&response);
    assert_ne!(new_etag, etag);
    let replaced: Value = response.json().await.unwrap();
    assert_eq!(replaced["id"], item["id"]);
    assert_eq!(replaced["title"], "Second title");
    assert_eq!(replaced["slug"], "first-title", "the permalink stays");
    assert_eq!(replaced["published_at"], "2025-12-24T18:00:00Z");
    assert_eq!(replaced["created_at"], "2026-01-01T12:00:00Z");
    assert_eq!(replaced["updated_at"], "2026-01-01T13:00:00Z");
    assert_eq!(replaced["summary"], Value::Null);
    assert_eq!(replaced["tags"], json!([]));
    assert_eq!(
        replaced["links"],
        json!([{"title": "link", "url": "https://b.example/"}])
    );

    // The next GET shows the change with the write's ETag.
    let got = app.get(&path_of(&item)).await;
    assert_eq!(etag_of(&got), new_etag);
    assert_eq!(got.json::<Value>().await.unwrap(), replaced);

    // A PUT may address the item by slug and move it to a new slug.
    let response = write(
        &app,
        Method::PUT,
        "/api/v1/news/first-title",
        &token,
        None,
        json!({"title": "Second title", "slug": "second-title"}),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_problem(app.get("/api/v1/news/first-title").await, 404).await;
    assert_eq!(
        app.get_json("/api/v1/news/second-title").await["id"],
        item["id"]
    );
}

#[tokio::test]
async fn patch_merges_and_null_removes_or_restores_defaults() {
    let app = spawn_app().await;
    let token = app.token().await;
    let (item, _) = create(
        &app,
        &token,
        json!({
            "title": "Patch me",
            "summary": "Before",
            "content_markdown": "Body with [one](https://one.example/).",
            "tags": ["keep"],
        }),
    )
    .await;
    let path = path_of(&item);

    let response = app
        .authed(Method::PATCH, &path, &token)
        .header("content-type", "application/merge-patch+json")
        .body(r#"{"summary": "After", "tags": ["Keep", "New"], "content_markdown": "Now [two](https://two.example/)."}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let patched: Value = response.json().await.unwrap();
    assert_eq!(patched["title"], "Patch me", "untouched fields stay");
    assert_eq!(patched["slug"], "patch-me");
    assert_eq!(patched["summary"], "After");
    assert_eq!(patched["tags"], json!(["keep", "new"]));
    assert_eq!(
        patched["content_markdown"],
        "Now [two](https://two.example/)."
    );
    assert_eq!(
        patched["links"],
        json!([{"title": "one", "url": "https://one.example/"}]),
        "links a patch does not touch stay"
    );

    // `null` removes: the summary goes, and links fall back to the body's.
    let response = write(
        &app,
        Method::PATCH,
        &path,
        &token,
        None,
        json!({"summary": null, "links": null}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let patched: Value = response.json().await.unwrap();
    assert_eq!(patched["summary"], Value::Null);
    assert_eq!(
        patched["links"],
        json!([{"title": "two", "url": "https://two.example/"}])
    );

    // A patch that breaks a rule is a 422 and changes nothing.
    let before = app.get_json(&path).await;
    let response = write(
        &app,
        Method::PATCH,
        &path,
        &token,
        None,
        json!({"title": "", "status": "gone"}),
    )
    .await;
    let problem = assert_problem(response, 422).await;
    assert_eq!(
        fields(&problem),
        ["status", "title"],
        "every broken field is named"
    );
    assert_eq!(app.get_json(&path).await, before);

    // Patching another item's slug onto this one is a conflict.
    let response = write(
        &app,
        Method::PATCH,
        &path,
        &token,
        None,
        json!({"slug": SEED_SLUG}),
    )
    .await;
    let problem = assert_problem(response, 409).await;
    assert_eq!(problem["errors"][0]["field"], "slug");
}

#[tokio::test]
async fn delete_removes_the_item_everywhere() {
    let app = spawn_app().await;
    let token = app.token().await;
    let (item, _) = create(
        &app,
        &token,
        json!({"title": "Short-lived", "links": [{"title": "L", "url": "https://l.example/"}], "tags": ["gone"]}),
    )
    .await;
    let path = path_of(&item);
    let links = count(&app, "news_links").await;
    let revision = app.state.revision();

    let response = app
        .raw(
            "DELETE",
            &path,
            &[("authorization", &format!("Bearer {token}"))],
        )
        .await;
    assert_eq!(response.status, 204);
    response.assert_no_content();
    assert_eq!(app.state.revision(), revision + 1);
    assert_problem(app.get(&path).await, 404).await;
    assert_problem(app.get("/news/short-lived").await, 404).await;
    assert!(
        !listed(&app, "", None)
            .await
            .contains(&item["id"].as_i64().unwrap())
    );
    assert!(listed(&app, "tag=gone", None).await.is_empty());
    assert_eq!(
        count(&app, "news_links").await,
        links - 1,
        "its links go too"
    );

    // Gone for writes as well.
    for method in [Method::DELETE, Method::PUT, Method::PATCH] {
        let response = app
            .authed(method.clone(), &path, &token)
            .json(&json!({"title": "x"}))
            .send()
            .await
            .unwrap();
        assert_problem(response, 404).await;
    }
    assert_eq!(
        app.state.revision(),
        revision + 1,
        "failed writes change nothing"
    );
}

fn fields(problem: &Value) -> Vec<String> {
    let mut fields: Vec<String> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect();
    fields.sort();
    fields
}

/// U+0000 means nothing in a news text, XML cannot carry it and PostgreSQL cannot store it:
/// a summary or body holding one is the writer's error on either engine, never a 500.
#[tokio::test]
async fn nul_characters_in_summary_or_body_are_refused() {
    let app = spawn_app().await;
    let token = app.token().await;
    let items = count(&app, "news_items").await;
    let response = app
        .authed(Method::POST, "/api/v1/news", &token)
        .json(&json!({"title": "Nul", "summary": "a\u{0}b", "content_markdown": "c\u{0}d"}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, 422).await;
    assert_eq!(fields(&problem), ["content_markdown", "summary"]);
    assert_eq!(count(&app, "news_items").await, items);
}

#[tokio::test]
async fn bad_bodies_get_400_413_415_and_422_problems() {
    let app = spawn_app().await;
    let token = app.token().await;
    let items = count(&app, "news_items").await;
    let post = || app.authed(Method::POST, "/api/v1/news", &token);

    // Malformed JSON, and JSON that is not an object.
    for body in [r#"{"title": "#, "not json", r#"["title"]"#, "null"] {
        let response = post()
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_problem(response, 400).await;
    }

    // Not JSON by its content type, or no content type at all.
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let mut request = post().body(r#"{"title": "typed wrong"}"#);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        assert_problem(request.send().await.unwrap(), 415).await;
    }

    // Over the body limit.
    let huge = format!(
        r#"{{"title": "big", "content_markdown": "{}"}}"#,
        "a".repeat(herald::api::write::MAX_BODY_BYTES)
    );
    let response = post()
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_problem(response, 413).await;

    // Within the body limit but over the Markdown rule; and every other rule at once.
    let response = post()
        .json(&json!({"title": "big", "content_markdown": "a".repeat(1024 * 1024 + 1)}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, 422).await;
    assert_eq!(fields(&problem), ["content_markdown"]);
    let response = post()
        .json(&json!({
            "title": "x".repeat(301),
            "slug": "Not a slug",
            "summary": 7,
            "published_at": "1 March 2018",
            "status": "archived",
            "links": [{"title": "Relative", "url": "/about"}, {"title": "Script", "url": "javascript:alert(1)"}, {"url": "https://ok.example/"}],
            "tags": ["ok", ""],
            "author": "someone",
        }))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, 422).await;
    assert_eq!(
        fields(&problem),
        [
            "author",
            "links[0].url",
            "links[1].url",
            "links[2].title",
            "published_at",
            "slug",
            "status",
            "summary",
            "tags[1]",
            "title",
        ]
    );
    assert!(problem["detail"].as_str().unwrap().contains("published_at"));
    let response = post()
        .json(&json!({"summary": "no title"}))
        .send()
        .await
        .unwrap();
    assert_eq!(fields(&assert_problem(response, 422).await), ["title"]);
    // A chosen slug another item holds.
    let response = post()
        .json(&json!({"title": "Clash", "slug": SEED_SLUG}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, 409).await;
    assert_eq!(problem["errors"][0]["field"], "slug");

    assert_eq!(
        count(&app, "news_items").await,
        items,
        "nothing was written"
    );
}

/// RFC 3339 allows the years 0000-9999; Herald's search index orders dates written in the years
/// 1500-2500 (as written: an offset may move the instant a few hours past either end).
#[tokio::test]
async fn published_at_is_written_in_the_years_1500_to_2500() {
    let app = spawn_app().await;
    let token = app.token().await;
    let post = |body: Value| {
        app.authed(reqwest::Method::POST, "/api/v1/news", &token)
            .json(&body)
            .send()
    };
    for (written, stored) in [
        ("1500-01-01T00:30:00+01:00", "1499-12-31T23:30:00Z"),
        ("2500-12-31T23:00:00-05:00", "2501-01-01T04:00:00Z"),
    ] {
        let response = post(json!({"title": format!("Edge {written}"), "published_at": written}))
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "{written}");
        let item: Value = response.json().await.unwrap();
        assert_eq!(item["published_at"], stored);
    }
    for written in [
        "1499-12-31T23:59:59Z",
        "2501-01-01T00:00:00Z",
        "9999-12-31T00:00:00Z",
        "0000-01-01T00:00:00Z",
    ] {
        let response = post(json!({"title": "Far", "published_at": written}))
            .await
            .unwrap();
        let problem = assert_problem(response, 422).await;
        assert_eq!(fields(&problem), ["published_at"], "{written}");
        assert!(
            problem["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("1500 to 2500")
        );
    }
}

#[tokio::test]
async fn drafts_stay_private_until_published() {
    let app = spawn_app().await;
    let token = app.token().await;
    let (draft, _) = create(
        &app,
        &token,
        json!({"title": "Secret plans", "status": "draft", "tags": ["plans"]}),
    )
    .await;
    let id = draft["id"].as_i64().unwrap();
    let path = path_of(&draft);
    assert_eq!(draft["status"], "draft");

    // Anonymous readers cannot see it anywhere.
    assert_problem(app.get(&path).await, 404).await;
    assert_problem(app.get("/api/v1/news/secret-plans").await, 404).await;
    assert_problem(app.get("/news/secret-plans").await, 404).await;
    assert!(!listed(&app, "", None).await.contains(&id));
    assert!(listed(&app, "tag=plans", None).await.is_empty());
    // Asking for drafts needs a token.
    let response = app.get("/api/v1/news?status=draft").await;
    assert_problem(response, 401).await;

    // Editors can.
    let response = write(&app, Method::GET, &path, &token, None, Value::Null).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "private, no-store");
    assert_eq!(response.json::<Value>().await.unwrap(), draft);
    assert_eq!(listed(&app, "status=draft", Some(&token)).await, [id]);
    assert!(
        !listed(&app, "status=published", Some(&token))
            .await
            .contains(&id)
    );

    // Publishing makes it public at once.
    let response = write(
        &app,
        Method::PATCH,
        &path,
        &token,
        None,
        json!({"status": "published"}),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(app.get_json(&path).await["status"], "published");
    assert!(listed(&app, "", None).await.contains(&id));
    assert!(listed(&app, "status=draft", Some(&token)).await.is_empty());
}

#[tokio::test]
async fn scheduled_items_appear_when_the_clock_reaches_them() {
    let app = spawn_app().await;
    let token = app.token().await;
    let due = test_now() + Duration::hours(2);
    let (item, _) = create(
        &app,
        &token,
        json!({"title": "Embargoed", "published_at": due.to_rfc3339()}),
    )
    .await;
    let id = item["id"].as_i64().unwrap();
    let path = path_of(&item);
    assert_eq!(item["status"], "published");

    assert_problem(app.get(&path).await, 404).await;
    assert!(!listed(&app, "", None).await.contains(&id));
    assert_eq!(listed(&app, "status=scheduled", Some(&token)).await, [id]);
    assert!(listed(&app, "status=draft", Some(&token)).await.is_empty());

    // One second early it is still hidden; at its time it is live, with no restart: caches of
    // public answers (the list above is one) learn when they go stale without a write.
    app.clock.set(due - Duration::seconds(1));
    assert_problem(app.get(&path).await, 404).await;
    assert!(!listed(&app, "", None).await.contains(&id));
    app.clock.set(due);
    assert_eq!(app.get_json(&path).await["id"], id);
    assert_eq!(listed(&app, "", None).await[0], id, "newest first");
    assert!(
        listed(&app, "status=scheduled", Some(&token))
            .await
            .is_empty()
    );

    // Moving it back into the future hides it again.
    let response = write(
        &app,
        Method::PATCH,
        &path,
        &token,
        None,
        json!({"published_at": (app.clock.now() + Duration::days(1)).to_rfc3339()}),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_problem(app.get(&path).await, 404).await;
}

#[tokio::test]
async fn if_match_guards_put_patch_and_delete() {
    let app = spawn_app().await;
    let token = app.token().await;
    let (item, etag) = create(&app, &token, json!({"title": "Contended"})).await;
    let path = path_of(&item);
    // GET and the write agree on the tag.
    assert_eq!(etag_of(&app.get(&path).await), etag);

    // A stale or weak tag fails (412), garbage is a bad request (400); neither changes anything.
    let weak = format!("W/{etag}");
    for (stale, status) in [(r#""0000""#, 412), (weak.as_str(), 412), ("not-a-tag", 400)] {
        for method in [Method::PUT, Method::PATCH, Method::DELETE] {
            let response = app
                .authed(method.clone(), &path, &token)
                .header("if-match", stale)
                .json(&json!({"title": "Lost update"}))
                .send()
                .await
                .unwrap();
            assert_problem(response, status).await;
        }
    }
    let response = app.get(&path).await;
    assert_eq!(etag_of(&response), etag);

    // The current tag (alone or in a list) lets the write through and yields a new tag.
    let response = write(
        &app,
        Method::PATCH,
        &path,
        &token,
        Some(&format!(r#""other", {etag}"#)),
        json!({"summary": "first edit"}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let second = etag_of(&response);
    assert_ne!(second, etag);

    // Another editor still holding the first tag is refused.
    let response = write(
        &app,
        Method::PUT,
        &path,
        &token,
        Some(&etag),
        json!({"title": "Overwrite"}),
    )
    .await;
    assert_problem(response, 412).await;
    assert_eq!(app.get_json(&path).await["summary"], "first edit");

    // `*` matches any existing item, but not one that does not exist.
    let response = write(
        &app,
        Method::PUT,
        &path,
        &token,
        Some("*"),
        json!({"title": "Contended", "summary": "star"}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let third = etag_of(&response);
    let response = write(
        &app,
        Method::DELETE,
        "/api/v1/news/999999",
        &token,
        Some("*"),
        Value::Null,
    )
    .await;
    assert_problem(response, 404).await;

    // DELETE with a stale tag fails; with the current one it succeeds.
    let response = write(
        &app,
        Method::DELETE,
        &path,
        &token,
        Some(&second),
        Value::Null,
    )
    .await;
    assert_problem(response, 412).await;
    let response = write(
        &app,
        Method::DELETE,
        &path,
        &token,
        Some(&third),
        Value::Null,
    )
    .await;
    assert_eq!(response.status(), 204);
}

/// Every way of not being an editor, against every write.
#[tokio::test]
async fn writes_need_a_valid_unrevoked_bearer_token() {
    // 28 bad credentials from one address: past the failed-authentication limit, which has
    // its own tests (`limits`); here every one must be a 401.
    let app = spawn_adjusted(|s| s.integrations.rate_limit_auth_failures = 0).await;
    let good = app.token().await;
    let revoked_token = app.revoked_token("leaver").await;
    let (item, etag) = create(&app, &good, json!({"title": "Guarded"})).await;
    let path = path_of(&item);
    let items = count(&app, "news_items").await;
    let revision = app.state.revision();

    let wrong = herald::auth::generate().unwrap();
    let revoked = format!("Bearer {revoked_token}");
    let wrong = format!("Bearer {wrong}");
    let lower = format!("bearer {}", good.to_uppercase());
    let basic = "Basic dXNlcjpwYXNz".to_owned();
    let credentials: [Option<&str>; 7] = [
        None,
        Some("Bearer"),
        Some("Bearer a b"),
        Some(&basic),
        Some(&wrong),
        Some(&revoked),
        Some(&lower),
    ];
    for credential in credentials {
        for (method, target) in [
            (Method::POST, "/api/v1/news".to_owned()),
            (Method::PUT, path.clone()),
            (Method::PATCH, path.clone()),
            (Method::DELETE, path.clone()),
        ] {
            let mut request = app
                .client
                .request(method.clone(), app.url(&target))
                .json(&json!({"title": "Intruder"}));
            if let Some(value) = credential {
                request = request.header("authorization", value);
            }
            let response = request.send().await.unwrap();
            assert_eq!(
                response.headers()["www-authenticate"],
                "Bearer realm=\"herald\"",
                "{method} {credential:?}"
            );
            assert_problem(response, 401).await;
        }
    }
    // Authentication comes first: no body is read for an unknown client.
    let response = app
        .client
        .post(app.url("/api/v1/news"))
        .header("content-type", "text/plain")
        .body("x".repeat(herald::api::write::MAX_BODY_BYTES + 1))
        .send()
        .await
        .unwrap();
    assert_problem(response, 401).await;

    assert_eq!(count(&app, "news_items").await, items);
    assert_eq!(app.state.revision(), revision);
    let response = app.get(&path).await;
    assert_eq!(etag_of(&response), etag, "the item is untouched");

    // Reads stay public, but credentials sent with a read must be good ones.
    assert_eq!(app.get(&path).await.status(), 200);
    let response = app
        .client
        .get(app.url(&path))
        .header("authorization", &revoked)
        .send()
        .await
        .unwrap();
    assert_problem(response, 401).await;
    // The scheme is case-insensitive; the token is not.
    let response = app
        .client
        .get(app.url(&path))
        .header("authorization", format!("bEaReR {good}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

/// A failure inside the write (forced with a trigger) rolls back the item, links and tags.
/// SQLite-only: the trigger is SQLite SQL.
#[tokio::test]
async fn a_write_that_fails_half_way_leaves_nothing_behind() {
    if !runs_on(Engine::Sqlite) {
        return;
    }
    let app = spawn_app().await;
    let token = app.token().await;
    let (item, etag) = create(
        &app,
        &token,
        json!({"title": "Stable", "links": [{"title": "A", "url": "https://a.example/"}], "tags": ["calm"]}),
    )
    .await;
    let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
    // Tags are written after the item row and its links, so this fails mid-transaction.
    sqlx::query(
        "CREATE TRIGGER no_boom BEFORE INSERT ON news_tags WHEN NEW.tag = 'boom' \
         BEGIN SELECT RAISE(ABORT, 'boom'); END",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let before = [
        count(&app, "news_items").await,
        count(&app, "news_links").await,
        count(&app, "news_tags").await,
    ];
    let revision = app.state.revision();
    let body = json!({
        "title": "Doomed",
        "links": [{"title": "B", "url": "https://b.example/"}],
        "tags": ["fine", "boom"],
    });

    let response = app
        .authed(Method::POST, "/api/v1/news", &token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_problem(response, 500).await;
    let response = app
        .authed(Method::PUT, &path_of(&item), &token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_problem(response, 500).await;

    let after = [
        count(&app, "news_items").await,
        count(&app, "news_links").await,
        count(&app, "news_tags").await,
    ];
    assert_eq!(after, before);
    assert_eq!(app.state.revision(), revision);
    assert_problem(app.get("/api/v1/news/doomed").await, 404).await;
    let response = app.get(&path_of(&item)).await;
    assert_eq!(etag_of(&response), etag);
    assert_eq!(response.json::<Value>().await.unwrap(), item);
}

fn herald(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(args)
        .output()
        .unwrap()
}

#[tokio::test]
async fn token_cli_creates_lists_and_revokes() {
    let app = spawn_app().await;
    let db = app.database_url.as_str();
    let created = herald(&[
        "token",
        "create",
        "--name",
        "publisher",
        "--database-url",
        db,
    ]);
    assert!(created.status.success(), "{created:?}");
    let token = String::from_utf8(created.stdout).unwrap().trim().to_owned();
    assert!(token.starts_with("hrld_"), "{token}");
    assert!(token.len() >= 5 + 43, "at least 256 bits: {token}");

    let (item, _) = create(&app, &token, json!({"title": "From the CLI token"})).await;

    let twice = herald(&[
        "token",
        "create",
        "--name",
        "publisher",
        "--database-url",
        db,
    ]);
    assert!(!twice.status.success());

    let list = herald(&["token", "list", "--database-url", db]);
    assert!(list.status.success(), "{list:?}");
    let text = String::from_utf8(list.stdout).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("publisher "))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(line.ends_with(" -"), "not revoked: {line}");
    assert!(!text.contains(&token), "never the token");
    assert!(
        !text.contains(&herald::auth::hash(&token)),
        "never the hash"
    );

    let revoked = herald(&["token", "revoke", "publisher", "--database-url", db]);
    assert!(revoked.status.success(), "{revoked:?}");
    let response = write(
        &app,
        Method::DELETE,
        &path_of(&item),
        &token,
        None,
        Value::Null,
    )
    .await;
    assert_problem(response, 401).await;
    let text = String::from_utf8(herald(&["token", "list", "--database-url", db]).stdout).unwrap();
    let line = text.lines().find(|l| l.starts_with("publisher ")).unwrap();
    assert!(!line.ends_with(" -"), "revoked: {line}");

    let again = herald(&["token", "revoke", "publisher", "--database-url", db]);
    assert!(!again.status.success());
}

/// Racing editors: with the same `If-Match` exactly one wins; without it, patches to different
/// fields all land (each is merged into the latest item, none overwrites another).
#[tokio::test]
async fn concurrent_writes_neither_lose_updates_nor_slip_past_if_match() {
    let app = spawn_app().await;
    let token = app.token().await;
    let (item, etag) = create(&app, &token, json!({"title": "Raced"})).await;
    let path = path_of(&item);

    let send = |body: Value, if_match: Option<String>| {
        let mut request = app.authed(Method::PATCH, &path, &token).json(&body);
        if let Some(tag) = if_match {
            request = request.header("if-match", tag);
        }
        async move { request.send().await.unwrap().status() }
    };
    let statuses = futures_util::future::join_all((0..6).map(|i| {
        send(
            json!({ "summary": format!("editor {i}") }),
            Some(etag.clone()),
        )
    }))
    .await;
    let won = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::PRECONDITION_FAILED)
        .count();
    assert_eq!((won, refused), (1, 5), "{statuses:?}");

    for round in 0..5 {
        let (a, b, c) = tokio::join!(
            send(json!({ "summary": format!("summary {round}") }), None),
            send(json!({ "title": format!("Title {round}") }), None),
            send(json!({ "tags": [format!("t{round}")] }), None),
        );
        assert_eq!([a, b, c], [StatusCode::OK; 3]);
        let now = app.get_json(&path).await;
        assert_eq!(now["summary"], format!("summary {round}"));
        assert_eq!(now["title"], format!("Title {round}"));
        assert_eq!(now["tags"], json!([format!("t{round}")]));
    }
}
