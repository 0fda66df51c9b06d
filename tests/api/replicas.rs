//! Two `herald serve` processes on one database, as behind a load balancer: a write answered by
//! one is served by the other within a second (bodies and ETags), never undone, and announced
//! to the WebSub hub once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use herald::config::Settings;
use reqwest::Method;
use serde_json::json;
use tempfile::TempDir;

use crate::helpers::{
    Engine, TestApp, runs_on, settings_for, spawn_adjusted, spawn_app, spawn_configured, test_now,
};
use crate::websub::{FakeHub, feeds_of_tag};

/// How long a write answered by one replica may take to reach another (issue 13).
const CONVERGE: Duration = Duration::from_secs(1);

/// Another server on `app`'s database with the settings replicas share (public URL, feed and
/// hub settings), adjusted by `adjust`.
pub async fn spawn_replica(app: &TestApp, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = Arc::new(TempDir::new().unwrap());
    let mut settings = settings_for(dir.path(), None);
    settings.database_url = app.database_url.clone().into();
    settings.public_url = Some(app.base.clone());
    settings.websub_hub = app.state.websub.as_ref().map(|p| p.hub().clone());
    adjust(&mut settings);
    spawn_configured(dir, settings).await
}

/// What a reader sees at `path` of this very replica (its `base` is the shared public URL,
/// which names the first one): status, ETag and body.
async fn seen(app: &TestApp, path: &str) -> (u16, Option<String>, String) {
    let response = app
        .client
        .get(format!("http://{}{path}", app.addr))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let etag = response
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, etag, response.text().await.unwrap())
}

/// Creates an item through this very replica and returns its id.
async fn create(replica: &TestApp, token: &str, item: serde_json::Value) -> i64 {
    let response = replica
        .client
        .post(format!("http://{}/api/v1/news", replica.addr))
        .bearer_auth(token)
        .json(&item)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json::<serde_json::Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap()
}

/// The resources a write shows up in.
fn paths_of(id: i64) -> Vec<String> {
    [
        "/feed.atom",
        "/feed.rss",
        "/feed.json",
        "/tags/replicated/feed.atom",
        "/api/v1/news",
        "/api/v1/news?tag=replicated",
        "/api/v1/tags",
    ]
    .iter()
    .map(|p| p.to_string())
    .chain([format!("/api/v1/news/{id}")])
    .collect()
}

/// After a write answered by `writer`: `reader` serves what `writer` serves on every path
/// within [`CONVERGE`], and keeps serving it.
async fn assert_converges(writer: &TestApp, reader: &TestApp, paths: &[String]) {
    let answered = Instant::now();
    for path in paths {
        let expected = seen(writer, path).await;
        loop {
            let got = seen(reader, path).await;
            if got == expected {
                break;
            }
            assert!(
                answered.elapsed() < CONVERGE,
                "{path}: the other replica still serves {:?}, the writer {:?}",
                (got.0, &got.1),
                (expected.0, &expected.1)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // Never back to the old answer: several watches later, still the same.
    tokio::time::sleep(2 * herald::events::WATCH_EVERY).await;
    for path in paths {
        assert_eq!(seen(reader, path).await, seen(writer, path).await, "{path}");
    }
}

#[tokio::test]
async fn writes_through_one_replica_are_served_by_the_other_within_a_second() {
    let a = spawn_app().await;
    let b = spawn_replica(&a, |_| {}).await;
    let token = a.token().await;
    let seed = seen(&a, "/feed.atom").await;
    assert_eq!(seen(&b, "/feed.atom").await, seed, "same start, same feed");

    // Create.
    let item = json!({"title": "Replicated", "tags": ["Replicated"], "published_at": "2025-12-31T00:00:00Z"});
    let id = create(&a, &token, item).await;
    let paths = paths_of(id);
    // B had rendered these before the write: warm caches must not survive it.
    assert_converges(&a, &b, &paths).await;
    assert!(seen(&b, "/feed.atom").await.2.contains("Replicated"));

    // Edit, through the other replica this time, with the token the first one was shown.
    let response = b
        .client
        .patch(format!("http://{}/api/v1/news/{id}", b.addr))
        .bearer_auth(&token)
        .header("content-type", "application/merge-patch+json")
        .body(r#"{"title": "Replicated, edited"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_converges(&b, &a, &paths).await;
    assert!(
        seen(&a, "/feed.atom")
            .await
            .2
            .contains("Replicated, edited")
    );

    // Delete.
    let response = a
        .authed(Method::DELETE, &format!("/api/v1/news/{id}"), &token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_converges(&a, &b, &paths).await;
    assert_eq!(seen(&b, &format!("/api/v1/news/{id}")).await.0, 404);
    assert_eq!(
        seen(&b, "/feed.atom").await,
        seed,
        "back to the seed's feed"
    );
}

#[tokio::test]
async fn each_write_and_each_item_going_live_is_announced_once_whatever_the_replicas() {
    let mut hub = FakeHub::start(0, true);
    let hub_url = hub.url.clone();
    let a = spawn_adjusted(|s| s.websub_hub = Some(hub_url.clone())).await;
    let b = spawn_replica(&a, |_| {}).await;
    assert!(b.state.websub.is_some(), "both replicas know the hub");
    let token = a.token().await;

    let id = create(&a, &token, json!({"title": "Once", "tags": ["Replicated"]})).await;
    assert_eq!(hub.next_urls(6).await, feeds_of_tag(&a, "replicated"));
    // B has seen the change (it serves it), and several watches later has still sent nothing.
    assert_converges(&a, &b, &paths_of(id)).await;
    tokio::time::sleep(2 * herald::events::WATCH_EVERY).await;
    assert!(
        hub.drain().is_empty(),
        "the write was announced by its replica only"
    );

    // A scheduled item goes live on every replica at its time, and is announced once.
    let due = test_now() + chrono::Duration::hours(1);
    let item =
        json!({"title": "Embargoed", "tags": ["Replicated"], "published_at": due.to_rfc3339()});
    let scheduled = create(&b, &token, item).await;
    // Nobody can see it yet: its write pings nothing (websub::writes_to_items_nobody_can_see…).
    // Both replicas take the write in before the clock moves, as they would in a real hour.
    assert_converges(&a, &b, &paths_of(scheduled)).await;
    tokio::time::sleep(2 * herald::events::WATCH_EVERY).await;
    assert!(
        hub.drain().is_empty(),
        "a scheduled item's write is not announced"
    );
    for replica in [&a, &b] {
        assert!(!seen(replica, "/feed.atom").await.2.contains("Embargoed"));
    }
    a.clock.set(due);
    b.clock.set(due);
    for replica in [&a, &b] {
        assert!(
            seen(replica, "/feed.atom").await.2.contains("Embargoed"),
            "live on every replica at its time"
        );
    }
    assert_eq!(hub.next_urls(6).await, feeds_of_tag(&a, "replicated"));
    tokio::time::sleep(4 * herald::events::WATCH_EVERY).await;
    assert!(hub.drain().is_empty(), "going live was announced once");
}

#[tokio::test]
async fn on_postgresql_a_replica_hears_of_a_write_at_once_without_polling() {
    if !runs_on(Engine::Postgres) {
        return;
    }
    let a = spawn_app().await;
    // This replica does not poll the log: only PostgreSQL's notification can tell it (its
    // cached feed would otherwise stand until the one-minute recheck).
    let b = spawn_replica(&a, |s| s.watch_every = Duration::from_secs(3600)).await;
    let before = seen(&b, "/feed.atom").await;
    let token = a.token().await;
    create(&a, &token, json!({"title": "Notified"})).await;
    let answered = Instant::now();
    loop {
        let now = seen(&b, "/feed.atom").await;
        if now.2.contains("Notified") {
            assert_ne!(now.1, before.1);
            break;
        }
        assert!(
            answered.elapsed() < Duration::from_secs(20),
            "the replica never heard of the write"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
