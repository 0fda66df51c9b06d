//! Operating Herald over HTTP: metrics, readiness, request ids, and what slow or oversized
//! clients get. (Signals, crashes, logs and backups need the real binary: `ops_process`.)

use std::collections::HashMap;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{Engine, TestApp, assert_problem, engine, spawn_adjusted, spawn_app};

/// One sample of the Prometheus text format: name, labels, value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: HashMap<String, String>,
    value: f64,
}

/// Parses the text exposition format (no escapes occur in Herald's label values); panics on
/// any line that is not a comment, a blank or a sample.
fn parse_metrics(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("`series value`");
            let value: f64 = value.parse().unwrap_or_else(|_| panic!("a number: {line}"));
            let (name, labels) = match series.split_once('{') {
                None => (series, HashMap::new()),
                Some((name, rest)) => {
                    let body = rest.strip_suffix('}').expect("labels end in }");
                    let labels = body
                        .split("\",")
                        .filter(|pair| !pair.is_empty())
                        .map(|pair| {
                            let (k, v) = pair.split_once("=\"").expect("k=\"v\"");
                            (k.to_owned(), v.trim_end_matches('"').to_owned())
                        })
                        .collect();
                    (name, labels)
                }
            };
            Sample {
                name: name.to_owned(),
                labels,
                value,
            }
        })
        .collect()
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
}

async fn scrape(app: &TestApp, url: &str) -> Vec<Sample> {
    let response = app.client.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    parse_metrics(&response.text().await.unwrap())
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_cache_pool_and_items() {
    let app = spawn_app().await;
    for path in ["/api/v1/news/1", "/api/v1/news/2", "/api/v1/news/2"] {
        app.get(path).await;
    }
    assert_eq!(app.get("/no/such/page/123").await.status(), 404);
    let samples = scrape(&app, &app.url("/metrics")).await;

    let requests = "herald_http_requests_total";
    let by_key = [
        ("method", "GET"),
        ("route", "/api/v1/news/{key}"),
        ("status", "2xx"),
    ];
    assert_eq!(value(&samples, requests, &by_key), Some(3.0));
    let unmatched = [("route", "unmatched"), ("status", "4xx")];
    assert_eq!(value(&samples, requests, &unmatched), Some(1.0));
    // Bounded labels: no raw path ever becomes a label value.
    for sample in &samples {
        for value in sample.labels.values() {
            assert!(!value.contains("/api/v1/news/1"), "{sample:?}");
            assert!(!value.contains("/no/such"), "{sample:?}");
        }
    }
    let histogram = value(
        &samples,
        "herald_http_request_duration_seconds_count",
        &[("route", "/api/v1/news/{key}")],
    );
    assert_eq!(histogram, Some(3.0));

    // The second read of item 2 came from the response cache.
    let hits = value(&samples, "herald_response_cache_hits_total", &[]).unwrap();
    let misses = value(&samples, "herald_response_cache_misses_total", &[]).unwrap();
    assert!(hits >= 1.0 && misses >= 2.0, "hits {hits}, misses {misses}");
    assert!(value(&samples, "herald_response_cache_bytes", &[]).unwrap() > 0.0);
    assert!(value(&samples, "herald_response_cache_evictions_total", &[]).is_some());
    assert_eq!(
        value(&samples, "herald_response_cache_budget_bytes", &[]),
        Some(herald::config::DEFAULT_CACHE_BUDGET as f64)
    );

    let max = value(&samples, "herald_db_pool_max_connections", &[]).unwrap();
    let in_use = value(
        &samples,
        "herald_db_pool_connections",
        &[("state", "in_use")],
    )
    .unwrap();
    let idle = value(&samples, "herald_db_pool_connections", &[("state", "idle")]).unwrap();
    assert!(
        max >= 1.0 && in_use + idle <= max,
        "{in_use} + {idle} of {max}"
    );

    let public: serde_json::Value = app.get_json("/api/v1/news?count=true&limit=1").await;
    assert_eq!(
        value(&samples, "herald_items", &[("status", "published")]),
        Some(public["total"].as_i64().unwrap() as f64)
    );
    assert_eq!(
        value(&samples, "herald_items", &[("status", "draft")]),
        Some(0.0)
    );
    assert_eq!(
        value(
            &samples,
            "herald_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        Some(1.0)
    );
}

#[tokio::test]
async fn metrics_move_to_their_own_address_when_one_is_set() {
    let app = spawn_adjusted(|s| s.ops.metrics_bind = Some("127.0.0.1:0".parse().unwrap())).await;
    let port = app.metrics_port.expect("a metrics port");
    assert_ne!(port, app.addr.port());
    assert_problem(app.get("/metrics").await, 404).await;
    app.get("/api/v1/news").await;
    let samples = scrape(&app, &format!("http://127.0.0.1:{port}/metrics")).await;
    let list = [("route", "/api/v1/news"), ("status", "2xx")];
    assert_eq!(
        value(&samples, "herald_http_requests_total", &list),
        Some(1.0)
    );
}

/// Forgets the newest applied migration, as a store an older build migrated looks.
async fn forget_newest_migration(app: &TestApp) {
    let sql = "DELETE FROM _sqlx_migrations \
               WHERE version = (SELECT max(version) FROM _sqlx_migrations)";
    match engine() {
        Engine::Sqlite => {
            use sqlx::Connection;
            let mut conn = sqlx::SqliteConnection::connect(&app.database_url)
                .await
                .unwrap();
            sqlx::query(sql).execute(&mut conn).await.unwrap();
        }
        Engine::Postgres => {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&app.database_url)
                .await
                .unwrap();
            sqlx::query(sql).execute(&mut conn).await.unwrap();
        }
    }
}

#[tokio::test]
async fn readyz_answers_200_only_while_migrations_are_current() {
    let app = spawn_app().await;
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.headers()["cache-control"], "no-store");
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "ready");

    forget_newest_migration(&app).await;
    let response = app.get("/readyz").await;
    assert!(response.headers().contains_key("retry-after"));
    let problem = assert_problem(response, 503).await;
    assert!(
        problem["detail"].as_str().unwrap().contains("migrations"),
        "{problem}"
    );
    // Liveness is another question: the process and its database are fine.
    assert_eq!(app.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn every_answer_carries_a_request_id_kept_from_a_sane_incoming_one() {
    let app = spawn_app().await;
    let id_of = |response: &reqwest::Response| {
        response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned()
    };
    let kept = app
        .client
        .get(app.url("/api/v1/news"))
        .header("X-Request-Id", "edge-42:abc")
        .send()
        .await
        .unwrap();
    assert_eq!(id_of(&kept), "edge-42:abc");

    let made = id_of(&app.get("/no/such/thing").await);
    assert!(uuid::Uuid::parse_str(&made).is_ok(), "{made}");
    let another = id_of(&app.get("/no/such/thing").await);
    assert_ne!(made, another);

    for insane in ["has space", &"x".repeat(200), "quote\"d"] {
        let response = app
            .client
            .get(app.url("/healthz"))
            .header("X-Request-Id", insane)
            .send()
            .await
            .unwrap();
        let replaced = id_of(&response);
        assert!(
            uuid::Uuid::parse_str(&replaced).is_ok(),
            "{insane}: {replaced}"
        );
    }
}

#[tokio::test]
async fn oversized_request_heads_are_refused_with_431() {
    let app = spawn_adjusted(|s| s.ops.max_header_bytes = 4096).await;
    let big = "x".repeat(5000);
    let response = app
        .client
        .get(app.url("/api/v1/news"))
        .header("X-Padding", &big)
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, 431).await;
    assert!(problem["detail"].as_str().unwrap().contains("4096"));
    // Under the budget, the same request is served.
    let response = app
        .client
        .get(app.url("/api/v1/news"))
        .header("X-Padding", "x".repeat(3000))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

/// A slowloris client: a request head that never ends. The server drops it after the header
/// read time while answering everyone else.
#[tokio::test]
async fn a_client_that_never_finishes_its_request_head_is_dropped() {
    let app = spawn_adjusted(|s| s.ops.header_read_timeout = Duration::from_secs(1)).await;
    let mut slow = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    slow.write_all(b"GET /api/v1/news HTTP/1.1\r\nHost: x\r\nX-Drip: ")
        .await
        .unwrap();
    // Meanwhile the server answers.
    assert_eq!(app.get("/healthz").await.status(), 200);
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut answer)).await;
    let read = read.expect("the server closes the connection within a few seconds");
    // Closed, with a 408 or without a word (a reset) — either way the connection is gone.
    if read.is_ok() && !answer.is_empty() {
        let head = String::from_utf8_lossy(&answer);
        assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    }
}

/// An idle kept-alive connection is closed after the keep-alive setting.
#[tokio::test]
async fn idle_kept_alive_connections_are_closed() {
    let app = spawn_adjusted(|s| s.ops.keep_alive = Duration::from_secs(1)).await;
    let mut conn = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), conn.read_to_end(&mut answer)).await;
    read.expect("the idle connection is closed within a few seconds")
        .ok();
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
}
