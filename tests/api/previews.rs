//! Draft previews (issue 17, item 5): signed, item-scoped, expiring links that show a draft or
//! scheduled item privately, never through the shared cache, and that lists and feeds ignore.

use chrono::Duration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, spawn_app};

/// Creates an item as an editor and returns it.
async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let response = app
        .authed(Method::POST, "/api/v1/news", token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

/// Asks for a preview link of item `id`.
async fn preview(app: &TestApp, token: &str, id: &Value) -> Value {
    let response = app
        .authed(Method::POST, &format!("/api/v1/news/{id}/preview"), token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "private, no-store");
    response.json().await.unwrap()
}

async fn anonymous(app: &TestApp, url: &str) -> reqwest::Response {
    app.client.get(url).send().await.unwrap()
}

#[tokio::test]
async fn a_preview_link_shows_a_draft_privately_until_it_expires() {
    let app = spawn_app().await;
    let token = app.token().await;
    let draft = create(
        &app,
        &token,
        json!({"title": "Secret plans", "status": "draft"}),
    )
    .await;
    let link = preview(&app, &token, &draft["id"]).await;
    assert_eq!(link["expires_at"], "2026-01-01T13:00:00Z");

    for _ in 0..2 {
        let shown = anonymous(&app, link["url"].as_str().unwrap()).await;
        assert_eq!(shown.status(), StatusCode::OK);
        assert_eq!(shown.headers()["cache-control"], "private, no-store");
        let body: Value = shown.json().await.unwrap();
        assert_eq!(body["status"], "draft");
        assert_eq!(body["title"], "Secret plans");
    }
    let page = anonymous(&app, link["page_url"].as_str().unwrap()).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["cache-control"], "private, no-store");
    assert!(page.text().await.unwrap().contains("Secret plans"));

    // Nothing of it reached the shared cache.
    let path = format!("/api/v1/news/{}", draft["id"]);
    assert_problem(app.get(&path).await, 404).await;
    assert_problem(
        app.get(&format!("/news/{}", draft["slug"].as_str().unwrap()))
            .await,
        404,
    )
    .await;

    app.clock.advance(Duration::hours(1));
    let expired = anonymous(&app, link["url"].as_str().unwrap()).await;
    let problem = assert_problem(expired, 403).await;
    assert!(problem["detail"].as_str().unwrap().contains("expired"));
    assert_problem(
        anonymous(&app, link["page_url"].as_str().unwrap()).await,
        403,
    )
    .await;
}

#[tokio::test]
async fn scheduled_items_preview_too() {
    let app = spawn_app().await;
    let token = app.token().await;
    let later = create(
        &app,
        &token,
        json!({"title": "Tomorrow", "published_at": "2026-01-02T00:00:00Z"}),
    )
    .await;
    let link = preview(&app, &token, &later["id"]).await;
    let shown = anonymous(&app, link["url"].as_str().unwrap()).await;
    assert_eq!(shown.status(), StatusCode::OK);
    assert_eq!(shown.json::<Value>().await.unwrap()["title"], "Tomorrow");
}

#[tokio::test]
async fn tampered_or_other_item_tokens_are_refused_never_the_published_version() {
    let app = spawn_app().await;
    let token = app.token().await;
    let draft = create(&app, &token, json!({"title": "Draft A", "status": "draft"})).await;
    let public = create(&app, &token, json!({"title": "Public B"})).await;
    let link = preview(&app, &token, &draft["id"]).await;
    let good = link["token"].as_str().unwrap();

    // The published item is in the shared cache; a bad token still gets no answer from it.
    let public_path = format!("/api/v1/news/{}", public["id"]);
    assert_eq!(app.get(&public_path).await.status(), StatusCode::OK);
    let other = app.get(&format!("{public_path}?preview={good}")).await;
    let problem = assert_problem(other, 403).await;
    assert!(problem["detail"].as_str().unwrap().contains("another item"));

    let mut tampered = good.to_owned();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let draft_path = format!("/api/v1/news/{}", draft["id"]);
    for bad in [tampered.as_str(), "garbage", ""] {
        assert_problem(app.get(&format!("{draft_path}?preview={bad}")).await, 403).await;
        assert_problem(app.get(&format!("{public_path}?preview={bad}")).await, 403).await;
    }
    // A longer life written into the token breaks its signature.
    let mut parts: Vec<&str> = good.split('.').collect();
    parts[1] = "4102444800";
    let extended = parts.join(".");
    assert_problem(
        app.get(&format!("{draft_path}?preview={extended}")).await,
        403,
    )
    .await;

    // Asking for a link needs a token that may read drafts.
    let anonymous = app
        .client
        .post(app.url(&format!("/api/v1/news/{}/preview", draft["id"])))
        .send()
        .await
        .unwrap();
    assert_problem(anonymous, 401).await;
}

#[tokio::test]
async fn lists_search_and_feeds_ignore_preview_tokens() {
    let app = spawn_app().await;
    let token = app.token().await;
    let draft = create(
        &app,
        &token,
        json!({"title": "Zanzibar draft", "status": "draft"}),
    )
    .await;
    let link = preview(&app, &token, &draft["id"]).await;
    let query = format!("preview={}", link["token"].as_str().unwrap());
    for path in [
        format!("/api/v1/news?{query}"),
        format!("/api/v1/news?q=zanzibar&{query}"),
        format!("/feed.json?{query}"),
        format!("/feed.rss?{query}"),
    ] {
        let response = app.get(&path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(
            !response.text().await.unwrap().contains("Zanzibar"),
            "{path}"
        );
    }
}
