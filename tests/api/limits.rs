//! Rate limits (issue 17, item 7): failed authentication, writes, anonymous reads, and
//! `X-Forwarded-For` believed only from configured proxies.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, assert_problem, spawn_adjusted};

async fn bad_auth(app: &TestApp, forwarded_for: Option<&str>) -> reqwest::Response {
    let mut request = app.authed(
        Method::GET,
        "/api/v1/news?status=draft",
        "hrld_not-a-real-token",
    );
    if let Some(ip) = forwarded_for {
        request = request.header("x-forwarded-for", ip);
    }
    request.send().await.unwrap()
}

async fn assert_limited(response: reqwest::Response) {
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_problem(response, 429).await;
}

#[tokio::test]
async fn failed_authentication_is_limited_and_then_blocks_good_tokens_too() {
    let app = spawn_adjusted(|s| s.integrations.rate_limit_auth_failures = 3).await;
    let good = app.token().await;
    for _ in 0..3 {
        assert_problem(bad_auth(&app, None).await, 401).await;
    }
    assert_limited(bad_auth(&app, None).await).await;
    let drafts = app
        .authed(Method::GET, "/api/v1/news?status=draft", &good)
        .send()
        .await
        .unwrap();
    assert_limited(drafts).await;
    // Anonymous reads are not limited by default.
    for _ in 0..20 {
        assert_eq!(app.get("/api/v1/news").await.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn writes_are_limited_per_token() {
    let app = spawn_adjusted(|s| s.integrations.rate_limit_writes = 2).await;
    let token = app.token().await;
    let post = async |title: &str| {
        app.authed(Method::POST, "/api/v1/news", &token)
            .json(&json!({"title": title, "status": "draft"}))
            .send()
            .await
            .unwrap()
    };
    assert_eq!(post("one").await.status(), StatusCode::CREATED);
    assert_eq!(post("two").await.status(), StatusCode::CREATED);
    assert_limited(post("three").await).await;
    let drafts: serde_json::Value = app
        .authed(Method::GET, "/api/v1/news?status=draft", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // Reads with the token still answer, and the refused write wrote nothing.
    assert_eq!(drafts["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn anonymous_reads_are_limited_when_asked() {
    let app = spawn_adjusted(|s| s.integrations.rate_limit_reads = 2).await;
    assert_eq!(app.get("/api/v1/news").await.status(), StatusCode::OK);
    assert_eq!(app.get("/feed.json").await.status(), StatusCode::OK);
    assert_limited(app.get("/api/v1/news").await).await;
}

#[tokio::test]
async fn forwarded_for_is_believed_only_from_trusted_proxies() {
    // Not trusted: every claimed address is the one connection address.
    let app = spawn_adjusted(|s| s.integrations.rate_limit_auth_failures = 1).await;
    assert_problem(bad_auth(&app, Some("192.0.2.1")).await, 401).await;
    assert_limited(bad_auth(&app, Some("192.0.2.2")).await).await;

    // Trusted: each forwarded client counts on its own.
    let app = spawn_adjusted(|s| {
        s.integrations.rate_limit_auth_failures = 1;
        s.integrations.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    assert_problem(bad_auth(&app, Some("192.0.2.1")).await, 401).await;
    assert_limited(bad_auth(&app, Some("192.0.2.1")).await).await;
    assert_problem(bad_auth(&app, Some("192.0.2.2")).await, 401).await;
}
