//! `herald copy-store`: a store copied away and back answers every request byte for byte as the
//! original did (bodies and ETags), tokens included, and the counters carry on where they were.
//! The original and the final copy are SQLite files; the store in between is the engine under
//! test, so a PostgreSQL run copies SQLite → PostgreSQL → SQLite.

use std::path::Path;
use std::process::Output;
use std::sync::Arc;

use reqwest::Method;
use serde_json::{Value, json};
use tempfile::TempDir;
use url::Url;

use crate::helpers::{
    Engine, TestApp, engine, seed_dir, settings_for, spawn_configured, spawn_with,
};

/// Where every server of this test says it lives: the copies must answer as the original.
const PUBLIC_URL: &str = "http://news.test/";

async fn serve(dir: Arc<TempDir>, database_url: &str, seed: bool) -> TestApp {
    let mut settings = settings_for(dir.path(), seed.then(seed_dir));
    settings.database_url = database_url.to_owned().into();
    settings.public_url = Some(Url::parse(PUBLIC_URL).unwrap());
    // Deliveries stay queued, as written: the copies compare the outbox too.
    settings.integrations.webhook_delivery = false;
    spawn_configured(dir, settings).await
}

fn sqlite_url(dir: &Path, name: &str) -> String {
    format!("sqlite://{}", dir.join(name).display())
}

fn copy_store(from: &str, to: &str, force: bool) -> Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_herald"));
    command.args(["copy-store", "--from", from, "--to", to]);
    if force {
        command.arg("--force");
    }
    command.env_remove("DATABASE_URL").output().unwrap()
}

fn assert_copied(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "copy-store failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("counts verified"), "{stdout}");
    stdout
}

/// A request to this very server (its `base` is the shared public URL).
async fn fetch(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
) -> reqwest::Response {
    let mut request = app
        .client
        .request(method, format!("http://{}{path}", app.addr));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

/// Status, ETag, Last-Modified and body of `path`, as this server answers it.
async fn answer(app: &TestApp, path: &str, token: Option<&str>) -> (u16, Vec<String>, String) {
    let response = fetch(app, Method::GET, path, token).await;
    let headers = ["etag", "last-modified", "content-type"]
        .iter()
        .map(|name| {
            response
                .headers()
                .get(*name)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default()
        })
        .collect();
    (
        response.status().as_u16(),
        headers,
        response.text().await.unwrap(),
    )
}

async fn write(app: &TestApp, token: &str, method: Method, path: &str, body: Value) -> Value {
    let response = app
        .client
        .request(method, format!("http://{}{path}", app.addr))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{path}: {response:?}");
    response.json().await.unwrap_or(Value::Null)
}

#[tokio::test]
async fn a_store_copied_away_and_back_answers_byte_for_byte_as_before() {
    let dir = Arc::new(TempDir::new().unwrap());
    let original_url = sqlite_url(dir.path(), "original.db");
    let original = serve(dir.clone(), &original_url, true).await;
    let token = original.token().await;
    let revoked = original.revoked_token("gone").await;

    // Every kind of row: tags, links, bylines and their authors (one edited since), a source
    // key (the seed's), a draft, a scheduled item, a deleted newest item (so the next id is
    // not max(id) + 1), and webhooks: one with a rotated secret and the deliveries the writes
    // queue for it, and a deleted one, so its id is not reused either.
    let hook = original
        .webhook_with_rotated_secret(
            &token,
            json!({"url": "https://hooks.news.test/in",
                   "events": ["item.published", "item.deleted"],
                   "description": "The newsletter"}),
        )
        .await;
    let gone_hook = write(
        &original,
        &token,
        Method::POST,
        "/api/v1/webhooks",
        json!({"url": "https://hooks.news.test/gone", "events": ["item.updated"]}),
    )
    .await;
    let response = fetch(
        &original,
        Method::DELETE,
        &format!("/api/v1/webhooks/{}", gone_hook["id"]),
        Some(&token),
    )
    .await;
    assert_eq!(response.status(), 204);
    for name in ["Ada", "Grace"] {
        write(
            &original,
            &token,
            Method::POST,
            "/api/v1/authors",
            json!({"name": name, "email": "someone@news.test", "url": "https://people.test/"}),
        )
        .await;
    }
    original.clock.advance(chrono::Duration::seconds(30));
    write(
        &original,
        &token,
        Method::PATCH,
        "/api/v1/authors/grace",
        json!({"bio": "Edited later"}),
    )
    .await;
    let tagged = write(
        &original,
        &token,
        Method::POST,
        "/api/v1/news",
        json!({"title": "Copied", "summary": "With everything", "tags": ["Moving", "Press"],
               "authors": ["grace", "ada"],
               "content_markdown": "See [the docs](https://example.org/docs).",
               "published_at": "2025-12-01T10:00:00Z"}),
    )
    .await;
    let draft = write(
        &original,
        &token,
        Method::POST,
        "/api/v1/news",
        json!({"title": "Unfinished", "status": "draft", "tags": ["Moving"]}),
    )
    .await;
    write(
        &original,
        &token,
        Method::POST,
        "/api/v1/news",
        json!({"title": "Embargoed", "published_at": "2030-01-01T00:00:00Z"}),
    )
    .await;
    let doomed = write(
        &original,
        &token,
        Method::POST,
        "/api/v1/news",
        json!({"title": "Doomed"}),
    )
    .await;
    let response = fetch(
        &original,
        Method::DELETE,
        &format!("/api/v1/news/{}", doomed["id"]),
        Some(&token),
    )
    .await;
    assert_eq!(response.status(), 204);

    let public_paths = [
        "/api/v1/news".to_owned(),
        "/api/v1/news?limit=2".to_owned(),
        "/api/v1/news?tag=moving&count=true".to_owned(),
        "/api/v1/news?q=docs&sort=relevance".to_owned(),
        "/api/v1/tags".to_owned(),
        format!("/api/v1/news/{}", tagged["id"]),
        format!("/api/v1/news/{}", tagged["slug"].as_str().unwrap()),
        format!("/news/{}", tagged["slug"].as_str().unwrap()),
        "/feed.atom".to_owned(),
        "/feed.rss".to_owned(),
        "/feed.json".to_owned(),
        "/tags/moving/feed.atom".to_owned(),
        "/api/v1/authors".to_owned(),
        "/api/v1/authors/grace".to_owned(),
        "/authors/ada/feed.json".to_owned(),
    ];
    let editor_paths = [
        "/api/v1/news?status=draft".to_owned(),
        "/api/v1/news?status=scheduled".to_owned(),
        format!("/api/v1/news/{}", draft["id"]),
        "/api/v1/authors/grace".to_owned(),
        "/api/v1/webhooks".to_owned(),
        format!("/api/v1/webhooks/{}", hook["id"]),
        format!("/api/v1/webhooks/{}/deliveries", hook["id"]),
    ];
    let mut before = Vec::new();
    for path in &public_paths {
        before.push(answer(&original, path, None).await);
    }
    for path in &editor_paths {
        before.push(answer(&original, path, Some(&token)).await);
    }
    let revision = original.state.store.revision().await.unwrap();
    let hooks = original.state.store.export_webhooks().await.unwrap();
    let outbox = original
        .state
        .store
        .export_deliveries(0, 100)
        .await
        .unwrap();
    assert!(
        hooks.iter().any(|h| h.previous_secret.is_some()),
        "the rotated secret is there to copy: {hooks:?}"
    );
    assert!(
        outbox.len() >= 2,
        "the writes queued deliveries: {outbox:?}"
    );

    // Away and back: into the engine under test (an empty PostgreSQL database, or a SQLite
    // file), then back into a third store, a SQLite file.
    let (middle_url, _middle) = match engine() {
        Engine::Sqlite => (sqlite_url(dir.path(), "middle.db"), None),
        Engine::Postgres => {
            let empty = spawn_with(Arc::new(TempDir::new().unwrap()), None).await;
            empty.stop().await;
            (empty.database_url.clone(), Some(empty))
        }
    };
    let back_url = sqlite_url(dir.path(), "back.db");
    // Forced: an empty server's start-up leaves a meta entry (its public URL) behind.
    assert_copied(&copy_store(&original_url, &middle_url, true));
    assert_copied(&copy_store(&middle_url, &back_url, false));

    let back = serve(Arc::new(TempDir::new().unwrap()), &back_url, false).await;
    let mut after = Vec::new();
    for path in &public_paths {
        after.push(answer(&back, path, None).await);
    }
    for path in &editor_paths {
        after.push(answer(&back, path, Some(&token)).await);
    }
    for ((path, before), after) in public_paths
        .iter()
        .chain(&editor_paths)
        .zip(&before)
        .zip(&after)
    {
        assert_eq!(after, before, "{path}");
    }
    assert_eq!(back.state.store.revision().await.unwrap(), revision);
    // Webhooks arrive with both their secrets (signing needs them) and their outbox, so a
    // queued message is still sent after the move and signed as before.
    assert_eq!(back.state.store.export_webhooks().await.unwrap(), hooks);
    assert_eq!(
        back.state.store.export_deliveries(0, 100).await.unwrap(),
        outbox
    );

    // Tokens arrive as hashes with their revocation: the copied one writes, the revoked one
    // is refused; ids continue where the original's would, past the deleted item's.
    let response = fetch(
        &back,
        Method::GET,
        "/api/v1/news?status=draft",
        Some(&revoked),
    )
    .await;
    assert_eq!(response.status(), 401);
    let next = json!({"title": "After the move"});
    let on_original = write(
        &original,
        &token,
        Method::POST,
        "/api/v1/news",
        next.clone(),
    )
    .await;
    let on_copy = write(&back, &token, Method::POST, "/api/v1/news", next).await;
    assert_eq!(on_copy["id"], on_original["id"]);
    assert!(on_copy["id"].as_i64() > doomed["id"].as_i64());
    let next_hook = json!({"url": "https://hooks.news.test/next", "events": ["item.updated"]});
    let on_original = write(
        &original,
        &token,
        Method::POST,
        "/api/v1/webhooks",
        next_hook.clone(),
    )
    .await;
    let on_copy = write(&back, &token, Method::POST, "/api/v1/webhooks", next_hook).await;
    assert_eq!(on_copy["id"], on_original["id"]);
    assert!(on_copy["id"].as_i64() > gone_hook["id"].as_i64());
    assert!(
        back.state.store.revision().await.unwrap() > revision,
        "the change log carries on from the copied position"
    );
}

/// Runs `herald ARGS` on the store at `database_url`, as an operator would, and returns stdout.
fn herald(database_url: &str, args: &[&str]) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .output()
        .unwrap();
    assert!(output.status.success(), "herald {args:?}: {output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test]
async fn a_non_empty_target_is_refused_unless_forced_and_then_replaced() {
    let dir = Arc::new(TempDir::new().unwrap());
    let source_url = sqlite_url(dir.path(), "source.db");
    let source = serve(dir.clone(), &source_url, true).await;
    // The target is written by other processes only, which are gone when the copy runs (a
    // server in this process would keep its connections a while after it stops).
    let target_url = sqlite_url(dir.path(), "target.db");
    let lines = dir.path().join("target-only.jsonl");
    std::fs::write(
        &lines,
        r#"{"key":"t1","title":"Only in the target","published_at":"2025-01-01","content_markdown":"Hi."}"#,
    )
    .unwrap();
    herald(&target_url, &["import", lines.to_str().unwrap()]);
    let token = herald(&target_url, &["token", "create", "--name", "target-only"]);

    let refused = copy_store(&source_url, &target_url, false);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("not empty (1 items") && stderr.contains("--force"),
        "{stderr}"
    );
    assert!(
        herald(&target_url, &["token", "list"]).contains("target-only"),
        "the refused target is untouched"
    );

    let stdout = assert_copied(&copy_store(&source_url, &target_url, true));
    assert!(stdout.contains("deleted what"), "{stdout}");
    // A server on the target serves the source's news, not the deleted item.
    let replaced = serve(Arc::new(TempDir::new().unwrap()), &target_url, false).await;
    assert_eq!(
        answer(&replaced, "/feed.atom", None).await,
        answer(&source, "/feed.atom", None).await
    );
    let revoked = fetch(
        &replaced,
        Method::GET,
        "/api/v1/news?status=draft",
        Some(token.trim()),
    )
    .await;
    assert_eq!(revoked.status(), 401, "the target's own tokens are gone");

    let same = copy_store(&source_url, &source_url, true);
    assert!(
        !same.status.success(),
        "a store is never copied onto itself"
    );
}
