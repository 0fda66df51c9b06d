//! Webhooks (issue 17, items 1–4): subscriptions, Standard Webhooks signatures checked by
//! recomputing the HMAC here, retries with the same `webhook-id`, order per target, the outbox
//! surviving a stop between commit and delivery, server-side request forgery refused,
//! redelivery, secret rotation, the scope boundary and bad input. A real HTTP receiver listens
//! on loopback in this process.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use herald::clock::Clock;

use crate::helpers::{TestApp, assert_problem, seed_dir, settings_for, spawn_configured};
use crate::scopes::scoped_token;
use herald::config::Settings;

/// How the receiver answers one request.
#[derive(Debug, Clone, Copy)]
enum Reply {
    Status(u16),
    /// Reads the request, then closes the connection without answering.
    Drop,
    /// `307 Temporary Redirect` to this port on loopback (which would be followed with the
    /// body, were redirects followed).
    Redirect(u16),
}

#[derive(Debug, Clone)]
struct Received {
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// An HTTP receiver on loopback answering from a plan (then 200), recording every request.
struct Receiver {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start(plan: &[Reply]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let plan = Arc::new(Mutex::new(plan.iter().copied().collect::<VecDeque<_>>()));
        let log = received.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (log, plan) = (log.clone(), plan.clone());
                tokio::spawn(async move { serve(stream, log, plan).await });
            }
        });
        Self { addr, received }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The requests so far, once there are at least `n` (waiting up to a minute).
    async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..1200 {
            let got = self.received.lock().unwrap().clone();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "expected {n} requests, got {}",
            self.received.lock().unwrap().len()
        );
    }

    fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }
}

async fn serve(
    mut stream: TcpStream,
    log: Arc<Mutex<Vec<Received>>>,
    plan: Arc<Mutex<VecDeque<Reply>>>,
) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let headers: HashMap<String, String> = head
        .lines()
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    log.lock().unwrap().push(Received { headers, body });
    let reply = plan
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or(Reply::Status(200));
    match reply {
        Reply::Drop => drop(stream),
        Reply::Redirect(port) => {
            let answer = format!(
                "HTTP/1.1 307 X\r\nlocation: http://127.0.0.1:{port}/\r\ncontent-length: 0\r\n\
                 connection: close\r\n\r\n"
            );
            let _ = stream.write_all(answer.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
        Reply::Status(code) => {
            let answer =
                format!("HTTP/1.1 {code} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
            let _ = stream.write_all(answer.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
    }
}

/// Recomputes `v1,<base64 HMAC-SHA256(key, "id.timestamp.body")>` independently.
fn expected_signature(secret: &str, id: &str, timestamp: &str, body: &[u8]) -> String {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

fn signatures(received: &Received) -> Vec<String> {
    received
        .header("webhook-signature")
        .split(' ')
        .map(str::to_owned)
        .collect()
}

fn verifies(received: &Received, secret: &str) -> bool {
    let expected = expected_signature(
        secret,
        received.header("webhook-id"),
        received.header("webhook-timestamp"),
        &received.body,
    );
    signatures(received).contains(&expected)
}

fn fast_retries(settings: &mut Settings, schedule: &str) {
    settings.integrations.webhook_allow_private = true;
    settings.integrations.webhook_retry_schedule =
        herald::webhooks::parse_schedule(schedule).unwrap();
}

/// A seeded app whose webhooks may target loopback and retry quickly.
async fn spawn_hooked(schedule: &str) -> TestApp {
    let dir = Arc::new(TempDir::new().unwrap());
    let mut settings = settings_for(dir.path(), Some(seed_dir()));
    fast_retries(&mut settings, schedule);
    spawn_configured(dir, settings).await
}

async fn create_webhook(app: &TestApp, token: &str, body: Value) -> Value {
    let response = app
        .authed(Method::POST, "/api/v1/webhooks", token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    // The answer holds the signing secret: no cache may keep it.
    assert_eq!(response.headers()["cache-control"], "private, no-store");
    response.json().await.unwrap()
}

async fn post_item(app: &TestApp, token: &str, body: Value) -> Value {
    let response = app
        .authed(Method::POST, "/api/v1/news", token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

async fn deliveries(app: &TestApp, token: &str, id: i64) -> Vec<Value> {
    let body: Value = app
        .authed(
            Method::GET,
            &format!("/api/v1/webhooks/{id}/deliveries"),
            token,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["deliveries"].as_array().unwrap().clone()
}

/// The deliveries once the newest one has `status` (waiting up to a minute).
async fn wait_for_status(app: &TestApp, token: &str, id: i64, status: &str) -> Vec<Value> {
    for _ in 0..1200 {
        let list = deliveries(app, token, id).await;
        if list.first().is_some_and(|d| d["status"] == status) {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no delivery of webhook {id} became {status}");
}

const ALL_EVENTS: [&str; 5] = [
    "item.published",
    "item.updated",
    "item.unpublished",
    "item.deleted",
    "item.scheduled",
];

#[tokio::test]
async fn deliveries_are_signed_as_standard_webhooks_and_verify() {
    let app = spawn_hooked("100ms").await;
    let receiver = Receiver::start(&[]).await;
    let token = app.token().await;
    let created = create_webhook(
        &app,
        &token,
        json!({"url": receiver.url("/hook"), "events": ALL_EVENTS, "description": "site build"}),
    )
    .await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    assert!(STANDARD.decode(&secret[6..]).unwrap().len() >= 24);
    let id = created["id"].as_i64().unwrap();
    // Shown once: never in a read.
    let read = app
        .authed(Method::GET, &format!("/api/v1/webhooks/{id}"), &token)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    let read: Value = read.json().await.unwrap();
    assert!(read.get("secret").is_none());
    assert_eq!(read["description"], "site build");
    let listed = app
        .authed(Method::GET, "/api/v1/webhooks", &token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!listed.contains(&secret));

    // A draft is nobody's business: no event. Publishing it, editing it, deleting it are.
    let draft = post_item(
        &app,
        &token,
        json!({"title": "Hooked draft", "status": "draft"}),
    )
    .await;
    let item = post_item(&app, &token, json!({"title": "Hooked news"})).await;
    let item_id = item["id"].as_i64().unwrap();
    let patched = app
        .authed(Method::PATCH, &format!("/api/v1/news/{item_id}"), &token)
        .header("content-type", "application/merge-patch+json")
        .body(r#"{"summary": "Now with a summary"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), StatusCode::OK);
    let deleted = app
        .authed(Method::DELETE, &format!("/api/v1/news/{item_id}"), &token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);

    let got = receiver.wait_for(3).await;
    let types: Vec<String> = got
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(types, ["item.published", "item.updated", "item.deleted"]);
    for r in &got {
        assert!(verifies(r, &secret), "signature of {:?}", r.headers);
        assert!(r.header("webhook-id").starts_with("msg_"));
        assert!(r.header("webhook-timestamp").parse::<i64>().is_ok());
        assert_eq!(r.header("content-type"), "application/json");
        let body = r.json();
        assert_eq!(body["data"]["id"], item_id);
        assert_eq!(body["data"]["slug"], item["slug"]);
        assert_eq!(
            body["data"]["api_url"],
            app.url(&format!("/api/v1/news/{item_id}"))
        );
        assert!(
            body["data"]["url"]
                .as_str()
                .unwrap()
                .ends_with(item["slug"].as_str().unwrap())
        );
        assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
    }
    assert_eq!(got[0].json()["data"]["status"], "published");
    assert_eq!(got[2].json()["data"]["status"], "deleted");
    // A signature made with another secret does not verify.
    assert!(!verifies(&got[0], "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
    assert!(got.iter().all(|r| r.json()["data"]["id"] != draft["id"]));

    let list = wait_for_status(&app, &token, id, "delivered").await;
    assert_eq!(list.len(), 3);
    let mut metrics = String::new();
    for _ in 0..1200 {
        metrics = app.get("/metrics").await.text().await.unwrap();
        if metrics.contains("herald_webhook_deliveries_total{outcome=\"delivered\"} 3") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        metrics.contains("herald_webhook_deliveries_total{outcome=\"delivered\"} 3"),
        "{metrics}"
    );
    for d in &list {
        assert_eq!(d["status"], "delivered");
        assert_eq!(d["attempts"], 1);
        assert_eq!(d["response_code"], 200);
        assert!(d["duration_ms"].as_i64().is_some());
        assert!(d["next_attempt_at"].is_null());
    }
    // Finished deliveries are kept for a while, then deleted.
    let store = &app.state.store;
    let now = chrono::Utc::now();
    assert_eq!(
        store
            .prune_deliveries(now - chrono::Duration::days(1))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .prune_deliveries(now + chrono::Duration::days(1))
            .await
            .unwrap(),
        3
    );
    assert!(deliveries(&app, &token, id).await.is_empty());
}

#[tokio::test]
async fn failed_attempts_are_retried_with_the_same_webhook_id() {
    let app = spawn_hooked("100ms,100ms,100ms").await;
    let receiver = Receiver::start(&[Reply::Status(500), Reply::Drop, Reply::Status(503)]).await;
    let token = app.token().await;
    let hook = create_webhook(
        &app,
        &token,
        json!({"url": receiver.url("/"), "events": ["item.published"]}),
    )
    .await;
    let secret = hook["secret"].as_str().unwrap();
    post_item(&app, &token, json!({"title": "Retried news"})).await;
    let got = receiver.wait_for(4).await;
    let ids: Vec<&str> = got.iter().map(|r| r.header("webhook-id")).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert!(got.iter().all(|r| verifies(r, secret)));
    assert!(got.iter().all(|r| r.body == got[0].body));
    let list = wait_for_status(&app, &token, hook["id"].as_i64().unwrap(), "delivered").await;
    assert_eq!(list[0]["attempts"], 4);
    assert_eq!(list[0]["response_code"], 200);
}

#[tokio::test]
async fn a_target_gets_its_events_in_order_even_across_retries() {
    let app = spawn_hooked("200ms,200ms,200ms").await;
    // The first event fails twice: the later ones must wait for it.
    let receiver = Receiver::start(&[Reply::Status(500), Reply::Status(500)]).await;
    let token = app.token().await;
    create_webhook(
        &app,
        &token,
        json!({"url": receiver.url("/"), "events": ["item.published"]}),
    )
    .await;
    let mut slugs = Vec::new();
    for n in 0..4 {
        let item = post_item(&app, &token, json!({"title": format!("Ordered {n}")})).await;
        slugs.push(item["slug"].as_str().unwrap().to_owned());
    }
    let got = receiver.wait_for(6).await;
    let seen: Vec<String> = got
        .iter()
        .map(|r| r.json()["data"]["slug"].as_str().unwrap().to_owned())
        .collect();
    // Each event is sent only once the one before it was delivered.
    assert_eq!(seen, [0, 0, 0, 1, 2, 3].map(|i| slugs[i].clone()));
}

#[tokio::test]
async fn a_target_failing_every_attempt_is_disabled_with_a_reason() {
    let app = spawn_hooked("50ms,50ms").await;
    let receiver = Receiver::start(&[Reply::Status(500); 10]).await;
    let token = app.token().await;
    let hook = create_webhook(
        &app,
        &token,
        json!({"url": receiver.url("/"), "events": ["item.published"]}),
    )
    .await;
    let id = hook["id"].as_i64().unwrap();
    post_item(&app, &token, json!({"title": "Never arrives"})).await;
    let list = wait_for_status(&app, &token, id, "failed").await;
    assert_eq!(list[0]["attempts"], 3);
    assert_eq!(list[0]["response_code"], 500);
    assert!(list[0]["last_error"].as_str().unwrap().contains("500"));
    assert_eq!(receiver.count(), 3);
    let hook: Value = app
        .authed(Method::GET, &format!("/api/v1/webhooks/{id}"), &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(hook["enabled"], false);
    let reason = hook["disabled_reason"].as_str().unwrap();
    assert!(reason.contains("failed 3 times"), "{reason}");
    // A disabled webhook hears of nothing and redelivers nothing until enabled again.
    let delivery = list[0]["id"].as_i64().unwrap();
    let refused = app
        .authed(
            Method::POST,
            &format!("/api/v1/webhooks/{id}/deliveries/{delivery}/redeliver"),
            &token,
        )
        .send()
        .await
        .unwrap();
    assert_problem(refused, 409).await;
    let enabled = app
        .authed(Method::PATCH, &format!("/api/v1/webhooks/{id}"), &token)
        .header("content-type", "application/merge-patch+json")
        .body(r#"{"enabled": true}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(enabled.status(), StatusCode::OK);
    let enabled: Value = enabled.json().await.unwrap();
    assert_eq!(enabled["enabled"], true);
    assert!(enabled["disabled_reason"].is_null());
}

#[tokio::test]
async fn events_committed_while_nothing_delivers_are_sent_after_a_restart() {
    let receiver = Receiver::start(&[]).await;
    let dir = Arc::new(TempDir::new().unwrap());
    let mut settings = settings_for(dir.path(), Some(seed_dir()));
    fast_retries(&mut settings, "100ms");
    settings.integrations.webhook_delivery = false;
    let first = spawn_configured(dir.clone(), settings.clone()).await;
    let token = first.token().await;
    create_webhook(
        &first,
        &token,
        json!({"url": receiver.url("/"), "events": ["item.published"]}),
    )
    .await;
    let item = post_item(
        &first,
        &token,
        json!({"title": "Committed before the crash"}),
    )
    .await;
    // The first process stops between commit and delivery.
    first.stop().await;
    drop(first);
    assert_eq!(receiver.count(), 0);
    settings.integrations.webhook_delivery = true;
    let _second = spawn_configured(dir, settings).await;
    let got = receiver.wait_for(1).await;
    assert_eq!(got[0].json()["data"]["id"], item["id"]);
}

#[tokio::test]
async fn imports_and_scheduled_items_going_live_emit_events() {
    let app = spawn_hooked("100ms").await;
    let receiver = Receiver::start(&[]).await;
    let token = app.token().await;
    create_webhook(
        &app,
        &token,
        json!({"url": receiver.url("/"), "events": ["item.published", "item.scheduled"]}),
    )
    .await;
    app.import_json_lines(&[json!({
        "key": "import-1",
        "title": "Imported news",
        "published_at": "2025-12-31",
        "content_markdown": "Imported body",
    })])
    .await;
    let got = receiver.wait_for(1).await;
    assert_eq!(got[0].json()["type"], "item.published");
    assert_eq!(got[0].json()["data"]["slug"], "imported-news");

    let later = app.clock.now() + chrono::Duration::hours(1);
    let scheduled = post_item(
        &app,
        &token,
        json!({"title": "Embargoed news", "published_at": later.to_rfc3339()}),
    )
    .await;
    let got = receiver.wait_for(2).await;
    assert_eq!(got[1].json()["type"], "item.scheduled");
    assert_eq!(got[1].json()["data"]["status"], "scheduled");
    app.clock.advance(chrono::Duration::hours(2));
    let got = receiver.wait_for(3).await;
    assert_eq!(got[2].json()["type"], "item.published");
    assert_eq!(got[2].json()["data"]["id"], scheduled["id"]);
}

#[tokio::test]
async fn a_delivery_can_be_sent_again_with_the_same_webhook_id() {
    let app = spawn_hooked("100ms").await;
    let receiver = Receiver::start(&[]).await;
    let token = app.token().await;
    let hook = create_webhook(
        &app,
        &token,
        json!({"url": receiver.url("/"), "events": ["item.published"]}),
    )
    .await;
    let id = hook["id"].as_i64().unwrap();
    post_item(&app, &token, json!({"title": "Sent twice"})).await;
    receiver.wait_for(1).await;
    let first = wait_for_status(&app, &token, id, "delivered").await;
    let delivery = first[0]["id"].as_i64().unwrap();
    let again = app
        .authed(
            Method::POST,
            &format!("/api/v1/webhooks/{id}/deliveries/{delivery}/redeliver"),
            &token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::ACCEPTED);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["message_id"], first[0]["message_id"]);
    assert_ne!(again["id"], first[0]["id"]);
    let got = receiver.wait_for(2).await;
    assert_eq!(got[0].header("webhook-id"), got[1].header("webhook-id"));
    assert_eq!(got[0].body, got[1].body);
    let missing = app
        .authed(
            Method::POST,
            &format!("/api/v1/webhooks/{id}/deliveries/999999/redeliver"),
            &token,
        )
        .send()
        .await
        .unwrap();
    assert_problem(missing, 404).await;
}

#[tokio::test]
async fn a_rotated_secret_signs_beside_the_old_one() {
    let app = spawn_hooked("100ms").await;
    let receiver = Receiver::start(&[]).await;
    let token = app.token().await;
    let hook = create_webhook(
        &app,
        &token,
        json!({"url": receiver.url("/"), "events": ["item.published"]}),
    )
    .await;
    let id = hook["id"].as_i64().unwrap();
    let old = hook["secret"].as_str().unwrap().to_owned();
    let rotated = app
        .authed(
            Method::POST,
            &format!("/api/v1/webhooks/{id}/rotate-secret"),
            &token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(rotated.status(), StatusCode::OK);
    let rotated: Value = rotated.json().await.unwrap();
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert!(rotated["previous_secret_expires_at"].is_string());
    post_item(&app, &token, json!({"title": "Signed twice"})).await;
    let got = receiver.wait_for(1).await;
    assert_eq!(signatures(&got[0]).len(), 2);
    assert!(verifies(&got[0], &old));
    assert!(verifies(&got[0], &new));
}

#[tokio::test]
async fn internal_targets_are_refused_unless_allowed() {
    let receiver = Receiver::start(&[]).await;
    let dir = Arc::new(TempDir::new().unwrap());
    let mut settings = settings_for(dir.path(), Some(seed_dir()));
    settings.integrations.webhook_delivery = false;
    let app = spawn_configured(dir.clone(), settings.clone()).await;
    let token = app.token().await;
    for url in [
        "http://127.0.0.1:8080/hook".to_owned(),
        "http://10.1.2.3/hook".to_owned(),
        "http://169.254.169.254/latest/meta-data".to_owned(),
        "http://[::1]/hook".to_owned(),
        "http://192.168.0.10/".to_owned(),
        receiver.url("/").replace("127.0.0.1", "localhost"),
    ] {
        let response = app
            .authed(Method::POST, "/api/v1/webhooks", &token)
            .json(&json!({"url": url, "events": ["item.published"]}))
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, 422).await;
        assert_eq!(problem["errors"][0]["field"], "url", "{url}: {problem}");
    }
    app.stop().await;
    drop(app);

    // A name that resolved elsewhere when the webhook was made, and to loopback when it is
    // sent (DNS rebinding): the deliverer's resolver refuses it.
    settings.integrations.webhook_allow_private = true;
    let permissive = spawn_configured(dir.clone(), settings.clone()).await;
    let hook = create_webhook(
        &permissive,
        &token,
        json!({"url": receiver.url("/").replace("127.0.0.1", "localhost"), "events": ["item.published"]}),
    )
    .await;
    post_item(&permissive, &token, json!({"title": "Rebound"})).await;
    permissive.stop().await;
    drop(permissive);
    settings.integrations.webhook_allow_private = false;
    settings.integrations.webhook_delivery = true;
    settings.integrations.webhook_retry_schedule = herald::webhooks::parse_schedule("10s").unwrap();
    let strict = spawn_configured(dir, settings).await;
    let id = hook["id"].as_i64().unwrap();
    let mut last_error = String::new();
    for _ in 0..600 {
        let list = deliveries(&strict, &token, id).await;
        if let Some(error) = list[0]["last_error"].as_str() {
            last_error = error.to_owned();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(last_error.contains("may not reach"), "{last_error}");
    assert_eq!(receiver.count(), 0);
}

#[tokio::test]
async fn webhooks_need_the_webhooks_scope() {
    let app = spawn_hooked("100ms").await;
    let admin = app.token().await;
    let (writer, _) = scoped_token(&app, &admin, &["write", "publish"]).await;
    let (hooks, _) = scoped_token(&app, &admin, &["webhooks"]).await;
    let body = json!({"url": "http://93.184.216.34/hook", "events": ["item.published"]});
    for (method, path) in [
        (Method::GET, "/api/v1/webhooks"),
        (Method::POST, "/api/v1/webhooks"),
        (Method::GET, "/api/v1/webhooks/1"),
        (Method::DELETE, "/api/v1/webhooks/1"),
        (Method::POST, "/api/v1/webhooks/1/rotate-secret"),
        (Method::GET, "/api/v1/webhooks/1/deliveries"),
    ] {
        let response = app
            .authed(method.clone(), path, &writer)
            .json(&body)
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, 403).await;
        assert!(
            problem["detail"].as_str().unwrap().contains("`webhooks`"),
            "{method} {path}: {problem}"
        );
    }
    let anonymous = app
        .client
        .get(app.url("/api/v1/webhooks"))
        .send()
        .await
        .unwrap();
    assert_problem(anonymous, 401).await;
    let created = app
        .authed(Method::POST, "/api/v1/webhooks", &hooks)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let id = created.json::<Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    let deleted = app
        .authed(Method::DELETE, &format!("/api/v1/webhooks/{id}"), &hooks)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = app
        .authed(Method::GET, &format!("/api/v1/webhooks/{id}"), &hooks)
        .send()
        .await
        .unwrap();
    assert_problem(gone, 404).await;
}

#[tokio::test]
async fn bad_webhooks_are_refused_naming_the_field() {
    let app = spawn_hooked("100ms").await;
    let token = app.token().await;
    for (body, field) in [
        (
            json!({"url": "not a url", "events": ["item.published"]}),
            "url",
        ),
        (
            json!({"url": "ftp://93.184.216.34/x", "events": ["item.published"]}),
            "url",
        ),
        (json!({"events": ["item.published"]}), "url"),
        (
            json!({"url": "http://93.184.216.34/", "events": ["item.exploded"]}),
            "events[0]",
        ),
        (
            json!({"url": "http://93.184.216.34/", "events": []}),
            "events",
        ),
        (
            json!({"url": "http://93.184.216.34/", "events": "item.published"}),
            "events",
        ),
        (json!({"url": "http://93.184.216.34/"}), "events"),
        (
            json!({"url": "http://93.184.216.34/", "events": ["item.published"], "description": "x".repeat(501)}),
            "description",
        ),
        (
            json!({"url": "http://93.184.216.34/", "events": ["item.published"], "secret": "mine"}),
            "secret",
        ),
        (
            json!({"url": "http://93.184.216.34/", "events": ["item.published"], "enabled": "yes"}),
            "enabled",
        ),
    ] {
        let response = app
            .authed(Method::POST, "/api/v1/webhooks", &token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, 422).await;
        assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
    }
    let not_json = app
        .authed(Method::POST, "/api/v1/webhooks", &token)
        .header("content-type", "application/json")
        .body("[1, 2]")
        .send()
        .await
        .unwrap();
    assert_problem(not_json, 400).await;
    let hook = create_webhook(
        &app,
        &token,
        json!({"url": "http://93.184.216.34/", "events": ["item.published"]}),
    )
    .await;
    let id = hook["id"].as_i64().unwrap();
    let bad_patch = app
        .authed(Method::PATCH, &format!("/api/v1/webhooks/{id}"), &token)
        .header("content-type", "application/merge-patch+json")
        .body(r#"{"events": null}"#)
        .send()
        .await
        .unwrap();
    let problem = assert_problem(bad_patch, 422).await;
    assert_eq!(problem["errors"][0]["field"], "events");
    let bad_limit = app
        .authed(
            Method::GET,
            &format!("/api/v1/webhooks/{id}/deliveries?limit=0"),
            &token,
        )
        .send()
        .await
        .unwrap();
    assert_problem(bad_limit, 400).await;
    for path in ["/api/v1/webhooks/abc", "/api/v1/webhooks/99999"] {
        let missing = app.authed(Method::GET, path, &token).send().await.unwrap();
        assert_problem(missing, 404).await;
    }
}

#[tokio::test]
async fn replicas_on_one_store_deliver_each_event_once() {
    let app = spawn_hooked("100ms").await;
    let replica = crate::replicas::spawn_replica(&app, |s| fast_retries(s, "100ms")).await;
    let receiver = Receiver::start(&[]).await;
    let token = app.token().await;
    let hook = create_webhook(
        &app,
        &token,
        json!({"url": receiver.url("/"), "events": ["item.published"]}),
    )
    .await;
    let id = hook["id"].as_i64().unwrap();
    for n in 0..6 {
        // Written through both replicas; both deliverers are running.
        let writer = if n % 2 == 0 { &app } else { &replica };
        let response = writer
            .client
            .post(format!("http://{}/api/v1/news", writer.addr))
            .bearer_auth(&token)
            .json(&json!({"title": format!("Replicated {n}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let mut list = Vec::new();
    for _ in 0..1200 {
        list = deliveries(&app, &token, id).await;
        if list.len() == 6 && list.iter().all(|d| d["status"] == "delivered") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(list.iter().all(|d| d["status"] == "delivered"), "{list:?}");
    // A delivery claimed twice would count two attempts (the claim counts them).
    assert!(list.iter().all(|d| d["attempts"] == 1), "{list:?}");
    let got = receiver.wait_for(6).await;
    assert_eq!(got.len(), 6);
    let mut ids: Vec<&str> = got.iter().map(|r| r.header("webhook-id")).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 6);
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let app = spawn_hooked("100ms").await;
    let elsewhere = Receiver::start(&[]).await;
    let receiver = Receiver::start(&[Reply::Redirect(elsewhere.addr.port())]).await;
    let token = app.token().await;
    let hook = create_webhook(
        &app,
        &token,
        json!({"url": receiver.url("/"), "events": ["item.published"]}),
    )
    .await;
    post_item(&app, &token, json!({"title": "Redirected"})).await;
    // The 307 is a failed attempt, retried at the target itself.
    let got = receiver.wait_for(2).await;
    assert_eq!(got[0].header("webhook-id"), got[1].header("webhook-id"));
    let list = wait_for_status(&app, &token, hook["id"].as_i64().unwrap(), "delivered").await;
    assert_eq!(list[0]["attempts"], 2);
    assert_eq!(elsewhere.count(), 0);
}
