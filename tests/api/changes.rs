//! The change log: every write, through the API or an import, records what it did to one item
//! in the store's change log, and scheduled items going live are recorded once.

use std::sync::Arc;

use chrono::Duration;
use herald::clock::Clock;
use herald::store::{Change, ChangeKind, StoreError};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, spawn_with, test_now};

async fn empty_app() -> TestApp {
    spawn_with(Arc::new(tempfile::TempDir::new().unwrap()), None).await
}

/// Sends a write and returns the answer's body (null for 204), asserting success.
async fn send(app: &TestApp, token: &str, method: Method, path: &str, body: Value) -> Value {
    let mut request = app.authed(method.clone(), path, token);
    if !body.is_null() {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    assert!(
        response.status().is_success(),
        "{method} {path}: {response:?}"
    );
    if response.status() == 204 {
        Value::Null
    } else {
        response.json().await.unwrap()
    }
}

/// Sends a write and returns its answer with the one change it recorded, which must have
/// become the store's revision.
async fn logged(app: &TestApp, token: &str, method: Method, path: &str, body: Value) -> Change {
    let store = &app.state.store;
    let since = store.revision().await.unwrap();
    send(app, token, method, path, body).await;
    let changes = store.changes_after(since, 10).await.unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(store.revision().await.unwrap(), changes[0].seq);
    assert!(changes[0].seq > since);
    changes[0].clone()
}

fn tags(list: &[&str]) -> Vec<String> {
    list.iter().map(|t| (*t).to_owned()).collect()
}

#[tokio::test]
async fn every_api_write_records_its_change_with_old_and_new_tags() {
    let app = spawn_app().await;
    let token = app.token().await;
    let store = &app.state.store;
    let start = store.revision().await.unwrap();
    assert!(start > 0, "seeding the store recorded its items");

    let created = logged(
        &app,
        &token,
        Method::POST,
        "/api/v1/news",
        json!({"title": "Logged", "slug": "logged", "tags": ["beta", "alpha"]}),
    )
    .await;
    let id = created.item_id;
    let path = format!("/api/v1/news/{id}");
    assert_eq!(
        (created.kind, &created.tags),
        (ChangeKind::Created, &tags(&["alpha", "beta"]))
    );
    assert_eq!((created.was_public, created.is_public), (false, true));
    assert_eq!(created.at, app.clock.now());
    assert_eq!(app.get_json(&path).await["title"], "Logged");

    app.clock.advance(Duration::minutes(1));
    let patch = async |body| logged(&app, &token, Method::PATCH, &path, body).await;
    let edited = patch(json!({"tags": ["gamma", "beta"]})).await;
    assert_eq!(edited.kind, ChangeKind::Updated);
    assert_eq!(
        edited.tags,
        tags(&["alpha", "beta", "gamma"]),
        "old and new tags"
    );
    assert_eq!((edited.was_public, edited.is_public), (true, true));
    assert_eq!(edited.at, app.clock.now());

    let hidden = patch(json!({"status": "draft"})).await;
    assert_eq!(hidden.kind, ChangeKind::Unpublished);
    assert_eq!((hidden.was_public, hidden.is_public), (true, false));
    assert_eq!(hidden.tags, tags(&["beta", "gamma"]));

    let shown = patch(json!({"status": "published"})).await;
    assert_eq!(shown.kind, ChangeKind::Published);
    assert_eq!((shown.was_public, shown.is_public), (false, true));

    // Editing a draft changes nothing readers see: an update, hidden before and after.
    patch(json!({"status": "draft"})).await;
    let quiet = patch(json!({"title": "Logged again"})).await;
    assert_eq!(quiet.kind, ChangeKind::Updated);
    assert!(!quiet.is_visible());

    let deleted = logged(&app, &token, Method::DELETE, &path, Value::Null).await;
    assert_eq!(
        (deleted.kind, deleted.item_id, &deleted.tags),
        (ChangeKind::Deleted, id, &tags(&["beta", "gamma"]))
    );
    assert_eq!((deleted.was_public, deleted.is_public), (false, false));

    // The whole history, in order; a failed write records nothing.
    let conflict = app
        .authed(Method::POST, "/api/v1/news", &token)
        .json(&json!({"title": "Clash", "slug": "logged"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        conflict.status(),
        201,
        "the slug is free again after the delete"
    );
    let log = store.changes_after(start, 100).await.unwrap();
    let kinds: Vec<ChangeKind> = log.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        [
            ChangeKind::Created,
            ChangeKind::Updated,
            ChangeKind::Unpublished,
            ChangeKind::Published,
            ChangeKind::Unpublished,
            ChangeKind::Updated,
            ChangeKind::Deleted,
            ChangeKind::Created,
        ]
    );
    assert!(log.windows(2).all(|w| w[0].seq < w[1].seq));
    let before = store.revision().await.unwrap();
    let clash = app
        .authed(Method::POST, "/api/v1/news", &token)
        .json(&json!({"title": "Clash again", "slug": "logged"}))
        .send()
        .await
        .unwrap();
    assert_eq!(clash.status(), 409);
    assert_eq!(store.revision().await.unwrap(), before);
    assert_eq!(store.changes_after(before, 10).await.unwrap(), []);
}

/// The `Published` changes recorded after `seq` for item `id`, once the running server's
/// watcher has had `watches` turns to record them.
async fn went_live(app: &TestApp, seq: i64, id: i64, watches: u32) -> Vec<Change> {
    tokio::time::sleep(herald::events::WATCH_EVERY * watches).await;
    app.state
        .store
        .changes_after(seq, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.item_id == id && c.kind == ChangeKind::Published)
        .collect()
}

#[tokio::test]
async fn scheduled_items_going_live_are_recorded_once() {
    let app = empty_app().await;
    let token = app.token().await;
    let store = &app.state.store;
    let t0 = test_now();
    let schedule =
        |title: &str, at| json!({"title": title, "tags": ["b", "a"], "published_at": at});

    // The running server records a scheduled item going live when its time comes.
    let created = logged(
        &app,
        &token,
        Method::POST,
        "/api/v1/news",
        schedule("First", (t0 + Duration::hours(1)).to_rfc3339()),
    )
    .await;
    assert_eq!(
        (created.kind, created.is_public),
        (ChangeKind::Created, false)
    );
    assert!(
        went_live(&app, created.seq, created.item_id, 3)
            .await
            .is_empty(),
        "not before its time"
    );
    app.clock.set(t0 + Duration::hours(2));
    let live = went_live(&app, created.seq, created.item_id, 4).await;
    assert_eq!(live.len(), 1, "{live:?}");
    assert_eq!(live[0].tags, tags(&["a", "b"]));
    assert_eq!((live[0].was_public, live[0].is_public), (false, true));
    assert_eq!(live[0].at, app.clock.now());
    // Another process asking afterwards finds it recorded already, and so do two at once.
    let now = app.clock.now();
    assert_eq!(store.publish_due(now).await.unwrap(), []);
    let (a, b) = tokio::join!(store.publish_due(now), store.publish_due(now));
    assert_eq!((a.unwrap(), b.unwrap()), (vec![], vec![]));
    // A caller whose clock lags does not make it due again.
    assert_eq!(
        store.publish_due(now - Duration::hours(2)).await.unwrap(),
        []
    );
    assert_eq!(
        went_live(&app, created.seq, created.item_id, 2).await.len(),
        1
    );

    // Written while already public: its own change said so, and going live is no news.
    app.clock.set(t0 + Duration::minutes(150));
    let backdated = logged(
        &app,
        &token,
        Method::POST,
        "/api/v1/news",
        schedule("Backdated", (t0 + Duration::minutes(135)).to_rfc3339()),
    )
    .await;
    assert_eq!(
        (backdated.kind, backdated.is_public),
        (ChangeKind::Created, true)
    );
    app.clock.set(t0 + Duration::hours(4));
    assert!(
        went_live(&app, backdated.seq, backdated.item_id, 4)
            .await
            .is_empty()
    );

    // Several processes racing for the same moment (here the server's watcher and two direct
    // callers) record it once between them.
    let third = logged(
        &app,
        &token,
        Method::POST,
        "/api/v1/news",
        schedule("Third", (t0 + Duration::hours(5)).to_rfc3339()),
    )
    .await;
    app.clock.set(t0 + Duration::hours(6));
    let now = app.clock.now();
    let (a, b) = tokio::join!(store.publish_due(now), store.publish_due(now));
    let direct = a.unwrap().len() + b.unwrap().len();
    assert!(direct <= 1, "{direct} recorded by the direct callers");
    assert_eq!(went_live(&app, third.seq, third.item_id, 4).await.len(), 1);
}

#[tokio::test]
async fn json_lines_imports_record_created_and_updated_changes() {
    let app = empty_app().await;
    let dir = tempfile::TempDir::new().unwrap();
    let file = dir.path().join("items.jsonl");
    let line = |key: &str, title: &str, status: &str, tags: &[&str]| {
        json!({
            "key": key,
            "title": title,
            "published_at": "2021-05-01",
            "content_markdown": format!("Body of {key}."),
            "status": status,
            "tags": tags,
        })
        .to_string()
    };
    let import = async |lines: &[String]| {
        std::fs::write(&file, lines.join("\n")).unwrap();
        herald::import::import_path(&app.state.store, &file, &app.base, app.clock.now())
            .await
            .unwrap()
    };
    let store = &app.state.store;

    let report = import(&[
        line("k1", "One", "published", &["x", "a"]),
        line("k2", "Two", "draft", &[]),
        line("k3", "Three", "published", &[]),
    ])
    .await;
    assert_eq!(report.created, 3);
    let mut created = store.changes_after(0, 10).await.unwrap();
    assert_eq!(created.len(), 3, "{created:?}");
    created.sort_by_key(|c| c.item_id);
    assert!(
        created
            .iter()
            .all(|c| c.kind == ChangeKind::Created && !c.was_public)
    );
    assert_eq!(created[0].tags, tags(&["a", "x"]));
    let public: Vec<bool> = created.iter().map(|c| c.is_public).collect();
    assert_eq!(public, [true, false, true]);
    let revision = store.revision().await.unwrap();

    // Unchanged lines record nothing; a changed one records its edit with old and new tags.
    let report = import(&[
        line("k1", "One", "published", &["y"]),
        line("k2", "Two", "published", &[]),
        line("k3", "Three", "published", &[]),
        line("k4", "Four", "published", &[]),
    ])
    .await;
    assert_eq!(
        (report.created, report.updated, report.unchanged),
        (1, 2, 1)
    );
    let mut later = store.changes_after(revision, 10).await.unwrap();
    later.sort_by_key(|c| c.item_id);
    let summary: Vec<(ChangeKind, Vec<String>, bool, bool)> = later
        .into_iter()
        .map(|c| (c.kind, c.tags, c.was_public, c.is_public))
        .collect();
    assert_eq!(
        summary,
        [
            (ChangeKind::Updated, tags(&["a", "x", "y"]), true, true),
            (ChangeKind::Published, vec![], false, true),
            (ChangeKind::Created, vec![], false, true),
        ]
    );
}

#[tokio::test]
async fn a_taken_token_name_is_a_conflict_on_name() {
    let app = empty_app().await;
    let store = &app.state.store;
    let now = app.clock.now();
    store.create_token("twice", "hash-1", now).await.unwrap();
    let again = store.create_token("twice", "hash-2", now).await;
    assert!(
        matches!(again, Err(StoreError::Conflict { field: "name" })),
        "{again:?}"
    );
    // The same hash under another name is no API field's fault: a fault, not a conflict.
    let same_hash = store.create_token("other", "hash-1", now).await;
    assert!(
        matches!(same_hash, Err(StoreError::Database(_))),
        "{same_hash:?}"
    );
}
