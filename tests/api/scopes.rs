//! Scoped tokens (issue 17, item 6): every scope boundary, expiry, `last_used_at`, listings
//! with a prefix only, the admin API and the CLI.

use std::process::Command;

use chrono::Duration;
use herald::clock::Clock;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, spawn_app};

/// Creates a token through the admin API and returns its secret and its listing.
pub async fn scoped_token(app: &TestApp, admin: &str, scopes: &[&str]) -> (String, Value) {
    let name = format!("scoped-{}", uuid::Uuid::new_v4());
    let response = app
        .authed(Method::POST, "/api/v1/tokens", admin)
        .json(&json!({"name": name, "scopes": scopes}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    (body["token"].as_str().unwrap().to_owned(), body)
}

/// Asserts a 403 whose detail names `scope`.
async fn assert_needs(response: reqwest::Response, scope: &str) {
    let problem = assert_problem(response, 403).await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains(&format!("`{scope}`")), "{detail}");
}

async fn post_item(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.authed(Method::POST, "/api/v1/news", token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn tokens_made_before_scopes_keep_full_rights() {
    let app = spawn_app().await;
    // Stored the way every token was before scopes existed: a name and a hash only.
    let token = herald::auth::generate().unwrap();
    app.state
        .store
        .create_token("old", &herald::auth::hash(&token), app.clock.now())
        .await
        .unwrap();
    let created = post_item(&app, &token, json!({"title": "Old token publishes"})).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let listed = app
        .authed(Method::GET, "/api/v1/tokens", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
    let body: Value = listed.json().await.unwrap();
    let old = body["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "old")
        .unwrap();
    assert_eq!(old["scopes"], json!(["admin"]));
}

#[tokio::test]
async fn a_write_token_makes_drafts_only() {
    let app = spawn_app().await;
    let admin = app.token().await;
    let (writer, _) = scoped_token(&app, &admin, &["write"]).await;

    let draft = post_item(
        &app,
        &writer,
        json!({"title": "A draft", "status": "draft"}),
    )
    .await;
    assert_eq!(draft.status(), StatusCode::CREATED);
    let draft: Value = draft.json().await.unwrap();
    let path = format!("/api/v1/news/{}", draft["id"]);

    // It may edit its draft, and read it back.
    let edited = app
        .authed(Method::PATCH, &path, &writer)
        .header("content-type", "application/merge-patch+json")
        .body(r#"{"summary": "better"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(edited.status(), StatusCode::OK);
    let read = app
        .authed(Method::GET, &path, &writer)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK);

    // Publishing, in any way, needs `publish`; nothing is written.
    assert_needs(
        post_item(&app, &writer, json!({"title": "Live at once"})).await,
        "publish",
    )
    .await;
    let publish = app
        .authed(Method::PATCH, &path, &writer)
        .header("content-type", "application/merge-patch+json")
        .body(r#"{"status": "published", "published_at": "2030-01-01T00:00:00Z"}"#)
        .send()
        .await
        .unwrap();
    assert_needs(publish, "publish").await;
    let seed = "/api/v1/news/signing-our-head-of-engineering";
    let edit_public = app
        .authed(Method::PATCH, seed, &writer)
        .header("content-type", "application/merge-patch+json")
        .body(r#"{"summary": "vandalised"}"#)
        .send()
        .await
        .unwrap();
    assert_needs(edit_public, "publish").await;
    assert_needs(
        app.authed(Method::DELETE, &path, &writer)
            .send()
            .await
            .unwrap(),
        "publish",
    )
    .await;
    let after: Value = app
        .authed(Method::GET, &path, &writer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(after["status"], "draft");

    // Tokens and webhooks are someone else's business.
    assert_needs(
        app.authed(Method::GET, "/api/v1/tokens", &writer)
            .send()
            .await
            .unwrap(),
        "admin",
    )
    .await;
}

#[tokio::test]
async fn publish_and_read_drafts_scopes_allow_what_they_name() {
    let app = spawn_app().await;
    let admin = app.token().await;
    let (publisher, _) = scoped_token(&app, &admin, &["write", "publish"]).await;
    let (reader, _) = scoped_token(&app, &admin, &["read:drafts"]).await;
    let (media, _) = scoped_token(&app, &admin, &["media"]).await;

    let created = post_item(
        &app,
        &publisher,
        json!({"title": "Hidden", "status": "draft"}),
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let draft: Value = created.json().await.unwrap();
    let path = format!("/api/v1/news/{}", draft["id"]);

    // `read:drafts` sees drafts; a token without it reads as the public does.
    let seen = app
        .authed(Method::GET, &path, &reader)
        .send()
        .await
        .unwrap();
    assert_eq!(seen.status(), StatusCode::OK);
    assert_eq!(seen.headers()["cache-control"], "private, no-store");
    let listed = app
        .authed(Method::GET, "/api/v1/news?status=draft", &reader)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
    let hidden = app.authed(Method::GET, &path, &media).send().await.unwrap();
    assert_eq!(hidden.status(), StatusCode::NOT_FOUND);
    let refused = app
        .authed(Method::GET, "/api/v1/news?status=scheduled", &media)
        .send()
        .await
        .unwrap();
    assert_needs(refused, "read:drafts").await;
    assert_needs(
        post_item(&app, &reader, json!({"title": "No", "status": "draft"})).await,
        "write",
    )
    .await;

    // `publish` publishes and deletes.
    let published = app
        .authed(Method::PATCH, &path, &publisher)
        .header("content-type", "application/merge-patch+json")
        .body(r#"{"status": "published"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(published.status(), StatusCode::OK);
    let deleted = app
        .authed(Method::DELETE, &path, &publisher)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn tokens_expire() {
    let app = spawn_app().await;
    let admin = app.token().await;
    let response = app
        .authed(Method::POST, "/api/v1/tokens", &admin)
        .json(&json!({"name": "brief", "scopes": ["read:drafts"], "expires_in": 60}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["expires_at"], "2026-01-01T12:01:00Z");
    let token = body["token"].as_str().unwrap().to_owned();
    let drafts = "/api/v1/news?status=draft";
    let ok = app
        .authed(Method::GET, drafts, &token)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    app.clock.advance(Duration::seconds(60));
    let expired = app
        .authed(Method::GET, drafts, &token)
        .send()
        .await
        .unwrap();
    assert_problem(expired, 401).await;
}

async fn listing(app: &TestApp, admin: &str, name: &str) -> Value {
    let body: Value = app
        .authed(Method::GET, "/api/v1/tokens", admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .cloned()
        .unwrap()
}

#[tokio::test]
async fn listings_show_a_prefix_and_use_is_recorded_once_a_minute() {
    let app = spawn_app().await;
    let admin = app.token().await;
    let (token, created) = scoped_token(&app, &admin, &["read:drafts", "write"]).await;
    let name = created["name"].as_str().unwrap();
    assert_eq!(created["scopes"], json!(["read:drafts", "write"]));

    let listed = listing(&app, &admin, name).await;
    assert_eq!(listed["prefix"], token[..12]);
    assert!(listed.get("token").is_none() && listed["last_used_at"].is_null());
    let text = listed.to_string();
    assert!(!text.contains(&token) && !text.contains(&herald::auth::hash(&token)));

    let use_it = async || {
        let r = app
            .authed(Method::GET, "/api/v1/news?status=draft", &token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    };
    use_it().await;
    assert_eq!(
        listing(&app, &admin, name).await["last_used_at"],
        "2026-01-01T12:00:00Z"
    );
    app.clock.advance(Duration::seconds(30));
    use_it().await;
    assert_eq!(
        listing(&app, &admin, name).await["last_used_at"],
        "2026-01-01T12:00:00Z"
    );
    app.clock.advance(Duration::seconds(31));
    use_it().await;
    assert_eq!(
        listing(&app, &admin, name).await["last_used_at"],
        "2026-01-01T12:01:01Z"
    );
}

#[tokio::test]
async fn the_admin_api_validates_and_revokes() {
    let app = spawn_app().await;
    let admin = app.token().await;
    let bad = app
        .authed(Method::POST, "/api/v1/tokens", &admin)
        .json(&json!({"name": "x", "scopes": ["write", "root"], "expires_in": 0}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(bad, 422).await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["scopes", "expires_in"]);

    let (token, created) = scoped_token(&app, &admin, &["write"]).await;
    let name = created["name"].as_str().unwrap();
    let twice = app
        .authed(Method::POST, "/api/v1/tokens", &admin)
        .json(&json!({"name": name, "scopes": ["write"]}))
        .send()
        .await
        .unwrap();
    assert_problem(twice, 409).await;

    let revoked = app
        .authed(Method::DELETE, &format!("/api/v1/tokens/{name}"), &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    assert_problem(
        post_item(&app, &token, json!({"title": "x", "status": "draft"})).await,
        401,
    )
    .await;
    let again = app
        .authed(Method::DELETE, &format!("/api/v1/tokens/{name}"), &admin)
        .send()
        .await
        .unwrap();
    assert_problem(again, 404).await;
}

#[tokio::test]
async fn the_cli_creates_scoped_expiring_tokens() {
    let app = spawn_app().await;
    let db = app.database_url.as_str();
    let herald = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_herald"))
            .args(args)
            .output()
            .unwrap()
    };
    let created = herald(&[
        "token",
        "create",
        "--name",
        "contributor",
        "--scope",
        "write,read:drafts",
        "--expires-in",
        "30d",
        "--database-url",
        db,
    ]);
    assert!(created.status.success(), "{created:?}");
    let token = String::from_utf8(created.stdout).unwrap().trim().to_owned();
    assert_problem(post_item(&app, &token, json!({"title": "Live"})).await, 403).await;
    let draft = post_item(&app, &token, json!({"title": "Draft", "status": "draft"})).await;
    assert_eq!(draft.status(), StatusCode::CREATED);

    let listed = herald(&["token", "list", "--database-url", db]);
    let text = String::from_utf8(listed.stdout).unwrap();
    let line = text.lines().find(|l| l.starts_with("contributor")).unwrap();
    assert!(
        line.contains(&token[..12]) && line.contains("read:drafts,write"),
        "{line}"
    );
    assert!(!text.contains(&token));

    let unknown = herald(&[
        "token",
        "create",
        "--name",
        "x",
        "--scope",
        "root",
        "--database-url",
        db,
    ]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("`root`"));
    let bad_life = herald(&[
        "token",
        "create",
        "--name",
        "y",
        "--expires-in",
        "3y",
        "--database-url",
        db,
    ]);
    assert!(!bad_life.status.success());
}
