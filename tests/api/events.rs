//! Changes made by another process on the same store (`herald import` while serving) reach a
//! running server's caches through the store's change log, without a restart or a recheck.

use std::time::{Duration, Instant};

use crate::helpers::{spawn_app, test_now};

#[tokio::test]
async fn an_import_by_another_process_reaches_the_feeds_within_a_second() {
    let app = spawn_app().await;
    // Feeds are rendered once and cached: warm the cache so the test shows it is refreshed.
    let before = app.get("/feed.atom").await;
    let etag = before.headers()["etag"].clone();
    assert!(!before.text().await.unwrap().contains("Imported elsewhere"));

    // Another process: its own connection pool on the same file, as `herald import` opens.
    let other = herald::store::connect(&app.database_url).await.unwrap();
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("items.jsonl");
    std::fs::write(
        &path,
        r#"{"key":"x1","title":"Imported elsewhere","published_at":"2025-06-01T00:00:00Z","content_markdown":"Hello."}"#,
    )
    .unwrap();
    herald::import::import_path(&other, &path, &app.base, test_now())
        .await
        .unwrap();
    let imported = Instant::now();

    loop {
        let response = app.get("/feed.atom").await;
        let fresh = response.headers()["etag"] != etag;
        let body = response.text().await.unwrap();
        if body.contains("Imported elsewhere") {
            assert!(fresh, "a new body has a new ETag");
            break;
        }
        assert!(
            imported.elapsed() < Duration::from_secs(1),
            "the running server still serves the feed from before the import"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
