//! Which engine this run tests, said out loud: a run without PostgreSQL prints that the
//! PostgreSQL half was skipped, and CI cannot pass without it (see `.ci/run`).

use std::io::Write;
use std::sync::Arc;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    Engine, POSTGRES_VAR, TestApp, engine, runs_on, seed_dir, settings_for, spawn_adjusted,
    spawn_app, spawn_configured,
};

/// Set by `.ci/run` for its SQLite run, which it follows with the PostgreSQL one.
const SQLITE_ON_PURPOSE_VAR: &str = "HERALD_TEST_SQLITE_ONLY";

#[tokio::test]
async fn the_suite_runs_on_the_engine_asked_for() {
    let app = spawn_app().await;
    match engine() {
        Engine::Postgres => {
            assert!(herald::store::is_postgres_url(&app.database_url));
            let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
            let version: String = sqlx::query_scalar("SELECT version()")
                .fetch_one(&pool)
                .await
                .unwrap();
            pool.close().await;
            assert!(version.starts_with("PostgreSQL"), "{version}");
        }
        Engine::Sqlite => {
            assert!(app.database_url.starts_with("sqlite://"));
            // Past the harness's capture, so the line shows in a passing run.
            let _ = writeln!(
                std::io::stderr(),
                "PostgreSQL half skipped: set {POSTGRES_VAR}=postgres://USER@HOST:PORT to run \
                 this suite on PostgreSQL too (.ci/run does)"
            );
            let ci = std::env::var("CI").is_ok_and(|v| v == "true");
            let on_purpose = std::env::var(SQLITE_ON_PURPOSE_VAR).is_ok_and(|v| v == "1");
            assert!(
                !ci || on_purpose,
                "CI=true but {POSTGRES_VAR} is unset: CI must run the suite on PostgreSQL too \
                 (.ci/run sets {SQLITE_ON_PURPOSE_VAR}=1 for its SQLite run and then runs it)"
            );
        }
    }
}

/// Both engines, given the same writes, answer the same bytes: statuses, bodies, item ETags,
/// problems. Only feed GUIDs differ, being random per store. Runs in the PostgreSQL run, next
/// to an SQLite server of its own.
#[tokio::test]
async fn both_engines_answer_the_same_bytes_for_the_same_writes() {
    if !runs_on(Engine::Postgres) {
        return;
    }
    let public: url::Url = "http://herald.test/".parse().unwrap();
    let postgres = spawn_adjusted(|s| s.public_url = Some(public.clone())).await;
    let dir = Arc::new(tempfile::TempDir::new().unwrap());
    let mut settings = settings_for(dir.path(), Some(seed_dir()));
    settings.database_url = format!("sqlite://{}", dir.path().join("herald.db").display()).into();
    settings.public_url = Some(public);
    let sqlite = spawn_configured(dir, settings).await;

    let mut answers = Vec::new();
    for app in [&sqlite, &postgres] {
        answers.push(exercise(app).await);
    }
    let (on_sqlite, on_postgres) = (&answers[0], &answers[1]);
    assert_eq!(on_sqlite.len(), on_postgres.len());
    for (a, b) in on_sqlite.iter().zip(on_postgres) {
        assert_eq!(a, b);
    }
}

/// The same writes and reads on `app`; every answer as (request, status, ETag, body), feed
/// GUIDs masked.
async fn exercise(app: &TestApp) -> Vec<(String, u16, Option<String>, String)> {
    let token = app.token().await;
    let guid = regex::Regex::new("urn:uuid:[0-9a-f-]{36}").unwrap();
    // The public URL is a name only; requests go to where the server listens.
    let at = |path: &str| format!("http://{}{path}", app.addr);
    let mut answers = Vec::new();
    let writes = [
        (
            Method::POST,
            "/api/v1/news",
            json!({"title": "Zébra crossing opens", "summary": "The town's first.", "content_markdown": "A **zebra** crossing, see [map](https://example.org/map).", "tags": ["Town", "roads"], "published_at": "2025-03-01T10:00:00Z"}),
        ),
        (
            Method::POST,
            "/api/v1/news",
            json!({"title": "Head of engineering", "content_markdown": "Our new head-of-engineering likes zebras.", "tags": ["hiring"], "published_at": "2025-03-02T08:00:00Z"}),
        ),
        (
            Method::POST,
            "/api/v1/news",
            json!({"title": "Draft zebra", "status": "draft", "tags": ["town"]}),
        ),
        (
            Method::POST,
            "/api/v1/news",
            json!({"title": "Taken", "slug": "head-of-engineering"}),
        ),
        (
            Method::POST,
            "/api/v1/news",
            json!({"title": "Zebra crossing opens", "published_at": "2030-01-01T00:00:00Z"}),
        ),
        (
            Method::PATCH,
            "/api/v1/news/head-of-engineering",
            json!({"summary": "Welcome.", "tags": ["hiring", "team"]}),
        ),
        (Method::DELETE, "/api/v1/news/draft-zebra", Value::Null),
        (
            Method::POST,
            "/api/v1/news",
            json!({"title": "After the delete"}),
        ),
    ];
    for (method, path, body) in writes {
        let mut request = app
            .client
            .request(method.clone(), at(path))
            .bearer_auth(&token);
        if !body.is_null() {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let etag = response
            .headers()
            .get("etag")
            .map(|v| v.to_str().unwrap().to_owned());
        let text = response.text().await.unwrap();
        answers.push((format!("{method} {path}"), status, etag, text));
    }
    for path in [
        "/api/v1/news?limit=100",
        "/api/v1/news?limit=2&count=true",
        "/api/v1/news?q=zebra",
        "/api/v1/news?q=zebra&sort=relevance&count=true",
        "/api/v1/news?q=%22head+of%22",
        "/api/v1/news?q=zeb*&sort=published_at",
        "/api/v1/news?q=**",
        "/api/v1/news?tag=town&tag=roads",
        "/api/v1/news?since=2025-03-02&fields=id,slug",
        "/api/v1/news?sort=sideways",
        "/api/v1/tags",
        "/api/v1/news/head-of-engineering",
        "/api/v1/news/zebra-crossing-opens-2",
        "/api/v1/news/nothing-here",
        "/feed.json",
        "/feed.atom",
        "/tags/hiring/feed.rss",
    ] {
        let response = app.client.get(at(path)).send().await.unwrap();
        let status = response.status().as_u16();
        // Feed ETags hash the GUIDs, which differ; an item's and a list's do not.
        let etag = response
            .headers()
            .get("etag")
            .filter(|_| !path.contains("feed"))
            .map(|v| v.to_str().unwrap().to_owned());
        let text = guid
            .replace_all(&response.text().await.unwrap(), "urn:uuid:GUID")
            .into_owned();
        answers.push((path.to_owned(), status, etag, text));
    }
    answers
}
